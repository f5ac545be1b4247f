# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the project with its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CAN_INSTALL := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && echo yes)

.PHONY: demo test lint bench clean browser platform docs libreoffice fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs,web,dask]"
	@# bytecode once, as a regular install does: an editable one leaves it to the first import,
	@# which never writes it where PYTHONDONTWRITEBYTECODE is set (every run then compiles the package)
	$(BIN)/python -m compileall -q src/roi_engine
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/roi-engine run scenarios/default.toml --out results/default

# Debian packages some tests need: headless Chromium for the browser tests of the HTML report
# (tests/test_report.py) and of the workspace (tests/test_workspace_browser.py, through Playwright's
# Python package with this system browser: Playwright's own browser download is never used). Installing needs root or sudo; without either this says so and carries on,
# and the tests that need a missing program are listed at the end of the run.
platform:
	@if [ -x "$(CHROMIUM)" ]; then echo "platform: chromium present ($(CHROMIUM))"; \
	elif [ "$(CAN_INSTALL)" = yes ]; then $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; \
	else echo "platform: chromium missing and cannot be installed (needs root or sudo);" \
	          "the tests that need it will not pass (see README, 'What the tests need')"; fi

browser: platform

# Headless LibreOffice Calc (Debian's package) recalculates the audit workbook (tests/test_audit.py).
libreoffice:
	@if command -v soffice >/dev/null 2>&1; then echo "soffice present: $$(command -v soffice)"; \
	elif [ "$(CAN_INSTALL)" = yes ]; then $(SUDO) apt-get update && $(SUDO) apt-get install -y libreoffice-calc; \
	else echo "platform: soffice missing and cannot be installed (needs root or sudo);" \
	          "the audit tests will not pass (see README, 'What the tests need')"; fi

test: $(STAMP) platform libreoffice
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The documentation site (Sphinx): docs/_build/html/index.html
docs: $(STAMP)
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html
	@echo "Documentation: docs/_build/html/index.html"

# The input fuzz tests (tests/test_fuzz.py) with many more examples than `make test` runs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -s tests/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) results .pytest_cache docs/_build
