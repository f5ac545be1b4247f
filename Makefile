# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the project with its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench clean browser fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/roi-engine run scenarios/default.toml --out results/default

# Headless Chromium (Debian's package) for the browser test of the HTML report (tests/test_report.py).
browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium present: $(CHROMIUM)"; \
	else $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; fi

test: $(STAMP) browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

# The input fuzz tests (tests/test_fuzz.py) with many more examples than `make test` runs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -s tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) results .pytest_cache
