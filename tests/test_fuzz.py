"""Fuzz the input side (issue 11): for every mutated TOML value, CSV cell or workbook cell, ``check``
either succeeds (exit 0, and then the text was a plain number: no change of meaning) or exits 2 with
one line naming the file. Never a traceback.

Bounded in ``make test``; ``make fuzz`` runs the ``fuzz`` hypothesis profile (many more examples).
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from conftest import copy_toy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError

from roi_engine.cli import main

settings.register_profile("fuzz", max_examples=600, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BOUNDED = dict(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
if FUZZ:
    settings.load_profile("fuzz")
LIMITS = {} if FUZZ else BOUNDED

PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
TRICKY = ["392,1", "1,000", "1_000", "١٢", "true", "false", '"42"', "nan", "inf", "-inf", "1e999", "0x10",
          "", " ", "\x0c", "\x1b[31m", "\u200b1", "=1+1", "@SUM(A1)", "$x$", "1e-3", "0.5", "2", "-1",
          "x" * 3000, "\ufeff1", "[1, 2]", "{a = 1}", "'0.5'", "1 000", "½", "0.5%"]
text = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12),
                 st.from_regex(r"[-+]?[0-9]{1,4}([.,_][0-9]{1,3})?(e[-+]?[0-9]{1,3})?", fullmatch=True))
COUNTS: Counter = Counter()


def _outcome(result, file_name: str, typed: str, numeric: bool, target: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (typed, result.output)
    if result.exit_code == 0:
        if numeric:  # accepted only when the text is a plain number, read as written
            assert PLAIN.fullmatch(typed.strip().strip('"')), (typed, result.output)
        COUNTS[(target, "valid")] += 1
    else:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (typed, result.stderr)
        assert file_name in lines[0] and "Traceback" not in lines[0], (typed, lines[0])
        COUNTS[(target, "clean error")] += 1


def _check(path: Path, *args: str):
    return CliRunner().invoke(main, ["check", str(path), *args])


TOML_KEYS = ["horizon = 6", "seed = 7", "draws = 2000", "chunk_size = 700", 'price_year = "2023/24"',
             'area = "E08000025"']


def test_fuzz_toml(tmp_path):
    root = copy_toy(tmp_path / "toy")
    path = root / "scenarios" / "toy.toml"
    original = path.read_text(encoding="utf-8")

    @settings(**LIMITS)
    @given(line=st.sampled_from(TOML_KEYS), value=text)
    def one(line, value):
        key = line.split(" = ")[0]
        path.write_text(original.replace(line, f"{key} = {value}"), encoding="utf-8")
        result = _check(path)
        _outcome(result, "toy.toml", value, False, "TOML")
        if result.exit_code == 0 and key in ("horizon", "seed", "draws", "chunk_size"):
            # accepted only as a TOML integer (TOML itself defines 0x10 and 1_000), never true or "7"
            parsed = tomllib.loads(f"x = {value}")["x"]
            assert isinstance(parsed, int) and not isinstance(parsed, bool), value

    one()
    assert COUNTS[("TOML", "valid")] + COUNTS[("TOML", "clean error")] > 0


CSV_ROW = "toy_cost,100,gamma,100,1,,,GBP per participant,2023,"


def test_fuzz_csv(tmp_path):
    root = copy_toy(tmp_path / "toy")
    path = root / "parameters" / "toy.csv"
    original = path.read_text(encoding="utf-8")
    scenario = root / "scenarios" / "toy.toml"

    @settings(**LIMITS)
    @given(column=st.sampled_from(["value", "p1", "p2", "price_year", "unit", "source"]), value=text)
    def one(column, value):
        cells = CSV_ROW.split(",")
        index = {"value": 1, "p1": 3, "p2": 4, "unit": 7, "price_year": 8, "source": 9}[column]
        quoted = '"' + value.replace('"', '""') + '"'
        cells[index] = quoted
        row = ",".join(cells)
        if column == "source":
            row = ",".join(CSV_ROW.split(",")[:9]) + "," + quoted
        path.write_text(original.replace(CSV_ROW + '"Assumption: test fixture"', row if column == "source"
                                         else row + '"Assumption: test fixture"'), encoding="utf-8")
        _outcome(_check(scenario), "toy.csv", value, column in ("value", "p1", "p2"), "CSV")

    one()


def test_fuzz_workbook(tmp_path):
    root = copy_toy(tmp_path / "toy")
    book = root / "toy_params.xlsx"
    result = CliRunner().invoke(main, ["params", "export", "--out", str(book),
                                       "--scenario", str(root / "scenarios" / "toy.toml")])
    assert result.exit_code == 0, result.output
    pristine = tmp_path / "pristine.xlsx"
    shutil.copy(book, pristine)

    @settings(**{**LIMITS, "max_examples": 600 if FUZZ else 12})
    @given(cell=st.sampled_from([("toy", "B3", True), ("toy", "D3", True), ("toy", "K3", False),
                                 ("Scenario", "B5", True), ("Scenario", "B11", True)]), value=text)
    def one(cell, value):
        sheet, ref, numeric = cell
        wb = load_workbook(pristine)
        try:
            wb[sheet][ref] = value
        except IllegalCharacterError:  # openpyxl refuses to store control characters: nothing to read back
            return
        wb.save(book)
        _outcome(_check(book, "--library", str(root)), "toy_params.xlsx", value, numeric, "workbook")

    one()


def test_zz_print_counts():
    """The counts by outcome (runs last in this file; -s to see them)."""
    print("\n| input | valid | clean error |\n| --- | --- | --- |")
    for target in ("TOML", "CSV", "workbook"):
        print(f"| {target} | {COUNTS[(target, 'valid')]} | {COUNTS[(target, 'clean error')]} |")
