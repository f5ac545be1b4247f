"""Catalogue of bad inputs (issue 11): each gets exit code 2 and ONE line naming the file and key/cell.

Cases run the ``check`` command (read and check everything a run reads, without running it) on a copy
of the toy library, with one edit each. ``python -m pytest tests/test_bad_inputs.py -s -k print``
prints the catalogue as (case, message).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_toy, replace_in_file
from openpyxl import load_workbook

from roi_engine.cli import main

SCENARIO = "scenarios/toy.toml"
TABLE = "parameters/toy.csv"
TOY_ROW = "toy_cost,100,gamma,100,1,,,GBP per participant,2023,"


def _edit(file: str, old: str, new: str):
    def apply(root: Path) -> str:
        replace_in_file(root / file, old, new)
        return file
    return apply


def _write(file: str, transform):
    def apply(root: Path) -> str:
        path = root / file
        path.write_bytes(transform(path.read_bytes()))
        return file
    return apply


def _folder(root: Path) -> str:
    (root / SCENARIO).unlink()
    (root / SCENARIO).mkdir()
    return SCENARIO


# (case, edit, text the file name must be followed by: the key or cell, and a phrase of the message)
CASES = [
    ("decimal comma in CSV", _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", ',"100,5",gamma')),
     TABLE, "row 3, column 'value'", "write 100.5, not 100,5"),
    ("thousands separator in CSV", _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", ',"1,000",gamma')),
     TABLE, "row 3, column 'value'", "no thousands separators"),
    ("underscore in CSV", _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", ",1_000,gamma")),
     TABLE, "row 3, column 'value'", "no underscores"),
    ("non-ASCII digits in CSV", _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", ",١٠٠,gamma")),
     TABLE, "row 3, column 'value'", "use the digits 0-9"),
    ("invisible character in CSV", _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", ",1\u200b00,gamma")),
     TABLE, "row 3, column 'value'", "\\u200b"),
    ("very long text in CSV",
     _edit(TABLE, TOY_ROW, TOY_ROW.replace(",100,gamma", "," + "9x" * 5000 + ",gamma")),
     TABLE, "row 3, column 'value'", "..."),
    ("boolean horizon in TOML", _edit(SCENARIO, "horizon = 6", "horizon = true"),
     SCENARIO, "horizon", "should be a whole number (got true)"),
    ("quoted seed in TOML", _edit(SCENARIO, "seed = 7", 'seed = "7"'),
     SCENARIO, "seed", "should be a whole number (got '7')"),
    ("float horizon in TOML", _edit(SCENARIO, "horizon = 6", "horizon = 6.5"),
     SCENARIO, "horizon", "should be a whole number"),
    ("delivery years outside the horizon", _edit(SCENARIO, 'id = "toy_programme"',
                                                 'id = "toy_programme"\ndelivery_years = [2, 8]'),
     SCENARIO, "interventions[0].delivery_years", "outside the horizon"),
    ("folder where the scenario file is expected", _folder, SCENARIO, "is a folder", "is a folder"),
    ("not UTF-8 TOML", _write(SCENARIO, lambda b: b.replace(b"Toy", b"T\xf6y")),
     SCENARIO, "not a UTF-8 text file", "UTF-8"),
    ("unknown key in TOML (no pydantic jargon)", _edit(SCENARIO, "seed = 7", "sed = 7"),
     SCENARIO, "sed", "did you mean 'seed'?"),
    ("lower-case money unit", _edit(TABLE, ",GBP per QALY,", ",gbp per QALY,"),
     TABLE, "row 8, column 'unit'", "write 'GBP per QALY'"),
    ("pound sign in a money unit", _edit(TABLE, ",GBP per case,", ",£ per case,"),
     TABLE, "row 6, column 'unit'", "looks like money"),
    ("slash in a money unit", _edit(TABLE, ",GBP per QALY,", ",GBP/QALY,"),
     TABLE, "row 8, column 'unit'", "write 'GBP per QALY'"),
    ("money unit in words", _edit(TABLE, ",GBP per day,", ",pounds per day,"),
     TABLE, "row 10, column 'unit'", "write 'GBP per day'"),
    ("oddly capitalised probability unit", _edit(TABLE, ",probability per year,", ",PROBABILITY per year,"),
     TABLE, "row 4, column 'unit'", "write 'probability per year'"),
    ("percent unit", _edit(TABLE, ",share of eligible people,", ",percent of eligible people,"),
     TABLE, "row 2, column 'unit'", "25% is 0.25"),
    ("percent sign unit", _edit(TABLE, ",share of eligible people,", ",%,"),
     TABLE, "row 2, column 'unit'", "is a percentage"),
    ("inconsistent rank correlations", _edit(SCENARIO, 'id = "toy_programme"', 'id = "toy_programme"\n'
     '[[correlations]]\nbetween = ["toy_cost", "toy_value_nhs"]\nspearman = 0.6\n'
     '[[correlations]]\nbetween = ["toy_reach", "toy_rr"]\nspearman = 0.3\n'
     '[[correlations]]\nbetween = ["toy_value_nhs", "toy_cost_per_day"]\nspearman = 0.6\n'
     '[[correlations]]\nbetween = ["toy_cost", "toy_cost_per_day"]\nspearman = -0.6'),
     SCENARIO, "correlations: the rank correlations correlations[0], correlations[2] and correlations[3] "
     "cannot all hold at once", "toy_cost ~ toy_value_nhs 0.6"),
    ("reach above one in TOML", _edit(SCENARIO, 'id = "toy_programme"', 'id = "toy_programme"\nreach = 1.5'),
     SCENARIO, "interventions[0].reach", "should be at most 1 (got 1.5)"),
]


def _run(root: Path, *args: str):
    return CliRunner().invoke(main, ["check", str(root / SCENARIO), *args], catch_exceptions=False)


def _one_clean_line(result, file: Path, where: str, phrase: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "Traceback" not in line and "pydantic" not in line.lower() and "Input should" not in line
    assert f"{file.name}: " in line and where in line, line  # the path may read scenarios/../parameters
    assert phrase in line, line
    message = line.removeprefix("roi-engine: error: ")
    return message[message.index(file.parent.parent.name + "/"):] if "/" in message else message


@pytest.mark.parametrize("case, edit, file, where, phrase", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clean_line(tmp_path, case, edit, file, where, phrase):
    root = copy_toy(tmp_path / "toy")
    edit(root)
    _one_clean_line(_run(root), root / file, where, phrase)


NO_EFFECT = "toy_rr,0.8,lognormal,-0.2231435513142097,0.1,,,"


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("case, edit", [
    ("no effect (relative risk 1)", _edit(TABLE, NO_EFFECT, "toy_rr,1,fixed,,,,,")),
    ("no one reached", _edit(SCENARIO, 'id = "toy_programme"', 'id = "toy_programme"\nreach = 0')),
    ("zero baseline risk", _edit(TABLE, "toy_baseline,0.2,beta,20,80,,,", "toy_baseline,0,fixed,,,,,")),
])
@pytest.mark.parametrize("draws", ["1", "40"])
def test_a_run_without_health_gain_prints_no_runtime_warning(tmp_path, case, edit, draws):
    """No numpy RuntimeWarning reaches stderr: a share of zero health gain is NaN, said without one."""
    root = copy_toy(tmp_path / "toy")
    edit(root)
    result = CliRunner().invoke(main, ["run", str(root / SCENARIO), "--draws", draws, "-q",
                                       "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr, result.stderr


def test_bom_in_toml_is_accepted(tmp_path):
    root = copy_toy(tmp_path / "toy")
    path = root / SCENARIO
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _run(root).exit_code == 0


def test_the_unedited_toy_library_checks_clean(tmp_path):
    root = copy_toy(tmp_path / "toy")
    result = _run(root)
    assert result.exit_code == 0 and result.stderr == ""


# Workbook cases: export the toy parameters, edit one cell, check the workbook.

def _export(root: Path) -> Path:
    book = root / "toy_params.xlsx"
    result = CliRunner().invoke(main, ["params", "export", "--out", str(book),
                                       "--scenario", str(root / SCENARIO)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return book


WORKBOOK_CASES = [
    ("decimal comma in a workbook text cell", "toy", "B3", "100,5", "toy!B3", "write 100.5, not 100,5"),
    ("boolean in a workbook number cell", "toy", "B3", True, "toy!B3", "is not a number"),
    ("text horizon in the workbook", "Scenario", "B5", "6,0", "Scenario!B5", "write 6.0, not 6,0"),
    ("blank seed setting in the workbook", "Scenario", "B11", None, "Scenario!B11",
     "setting 'seed' is blank"),
]


@pytest.mark.parametrize("case, sheet, cell, value, where, phrase", WORKBOOK_CASES,
                         ids=[c[0] for c in WORKBOOK_CASES])
def test_bad_workbook_gives_one_clean_line(tmp_path, case, sheet, cell, value, where, phrase):
    root = copy_toy(tmp_path / "toy")
    book = _export(root)
    wb = load_workbook(book)
    wb[sheet][cell] = value
    wb.save(book)
    result = CliRunner().invoke(main, ["check", str(book), "--library", str(root)], catch_exceptions=False)
    _one_clean_line(result, book, where, phrase)


def _copy_sheet(wb):
    wb.copy_worksheet(wb["toy"]).title = "toy (2)"


def _add_sheet(wb):
    wb.create_sheet("my notes")["A1"] = "to check with finance"


def _set(sheet: str, cell: str, value):
    def apply(wb):
        wb[sheet][cell] = value
    return apply


# (case, edit of the openpyxl workbook, where, phrase)
WORKBOOK_EDIT_CASES = [
    ("edit to the read-only sectors sheet (public body)", _set("sectors", "C2", "no"), "sectors!A2:E2",
     "the sectors sheet is read-only"),
    ("edit to the read-only sectors sheet (label)", _set("sectors", "B3", "Someone else"), "sectors!A3:E3",
     "edit sectors.csv in the library and export again"),
    ("copied sheet", _copy_sheet, "sheet 'toy (2)' is not part of this workbook",
     "it looks like a copy of 'toy'"),
    ("extra sheet", _add_sheet, "sheet 'my notes' is not part of this workbook",
     "only the exported sheets are read"),
]


def _check_edited_book(root: Path, edit):
    book = _export(root)
    wb = load_workbook(book)
    edit(wb)
    wb.save(book)
    result = CliRunner().invoke(main, ["check", str(book), "--library", str(root)], catch_exceptions=False)
    return book, result


@pytest.mark.parametrize("case, edit, where, phrase", WORKBOOK_EDIT_CASES,
                         ids=[c[0] for c in WORKBOOK_EDIT_CASES])
def test_edited_workbook_gives_one_clean_line(tmp_path, case, edit, where, phrase):
    book, result = _check_edited_book(copy_toy(tmp_path / "toy"), edit)
    _one_clean_line(result, book, where, phrase)


def test_an_edit_to_the_readme_sheet_is_one_warning_line(tmp_path):
    book, result = _check_edited_book(copy_toy(tmp_path / "toy"), _set("README", "B2", "my own words"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"roi-engine: warning: {book}: README: the README sheet is read-only and was edited; the edits "
        "are ignored (they change no number)"]


def test_an_unedited_exported_workbook_checks_without_warnings(tmp_path):
    book, result = _check_edited_book(copy_toy(tmp_path / "toy"), lambda wb: None)
    assert result.exit_code == 0 and result.stderr == "", result.output


def test_formula_text_in_a_source_survives_export_and_check(tmp_path):
    root = copy_toy(tmp_path / "toy")
    replace_in_file(root / TABLE, TOY_ROW + '"Assumption: test fixture"',
                    TOY_ROW + '"=HYPERLINK(""http://example.com"",""x"")"')
    book = _export(root)
    cell = next(c for row in load_workbook(book)["toy"].iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=HYPERLINK"))
    assert cell.data_type == "s" and cell.quotePrefix
    result = CliRunner().invoke(main, ["check", str(book), "--library", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_control_character_in_notes_is_refused_before_the_workbook_is_written(tmp_path):
    root = copy_toy(tmp_path / "toy")
    replace_in_file(root / TABLE, TOY_ROW + '"Assumption: test fixture"',
                    TOY_ROW + '"Assumption: test\x0cfixture"')
    book = root / "out.xlsx"
    result = CliRunner().invoke(main, ["params", "export", "--out", str(book),
                                       "--scenario", str(root / SCENARIO)], catch_exceptions=False)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "control character" in result.stderr and "toy_cost" in result.stderr
    assert not book.exists()


def test_print_catalogue(tmp_path, capsys):
    """Print the catalogue (case, message); asserts each line as the tests above do."""
    rows = []
    for case, edit, file, where, phrase in CASES:
        root = copy_toy(tmp_path / f"case{len(rows)}" / "toy")
        edit(root)
        rows.append((case, _one_clean_line(_run(root), root / file, where, phrase)))
    for case, sheet, cell, value, where, phrase in WORKBOOK_CASES:
        root = copy_toy(tmp_path / f"case{len(rows)}" / "toy")
        book = _export(root)
        wb = load_workbook(book)
        wb[sheet][cell] = value
        wb.save(book)
        result = CliRunner().invoke(main, ["check", str(book), "--library", str(root)],
                                    catch_exceptions=False)
        rows.append((case, _one_clean_line(result, book, where, phrase)))
    for case, edit, where, phrase in WORKBOOK_EDIT_CASES:
        book, result = _check_edited_book(copy_toy(tmp_path / f"case{len(rows)}" / "toy"), edit)
        rows.append((case, _one_clean_line(result, book, where, phrase)))
    with capsys.disabled():
        print("\n| case | message |\n| --- | --- |")
        for case, message in rows:
            print(f"| {case} | {message[:300]} |")


def test_a_workbook_that_expands_too_far_is_refused_before_it_is_opened(tmp_path):
    import zipfile
    root = copy_toy(tmp_path / "toy")
    book = _export(root)
    bomb = root / "bomb.xlsx"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/media/padding.bin", b"\0" * (101 * 2**20))
    assert bomb.stat().st_size < 2 * 2**20
    result = CliRunner().invoke(main, ["check", str(bomb), "--library", str(root)], catch_exceptions=False)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "bomb.xlsx: the workbook would expand to 101 MB" in result.stderr
