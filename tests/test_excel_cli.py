"""The Excel round trip through the command line: export, check, run; bad input exits 2 on one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from roi_engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOY = Path(__file__).parent / "data" / "toy"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_export_check_and_run_from_the_workbook_give_the_same_results_as_the_csv_tables(tmp_path):
    scenario = TOY / "scenarios" / "toy.toml"
    book = tmp_path / "toy.xlsx"
    exported = invoke("params", "export", "--out", book, "--scenario", scenario)
    assert exported.exit_code == 0, exported.output
    before = book.read_bytes()
    checked = invoke("params", "check", book, "--library", TOY)
    assert checked.exit_code == 0 and "is OK" in checked.output
    from_csv = invoke("run", scenario, "--draws", "300", "--out", tmp_path / "csv")
    from_book = invoke("run", scenario, "--params", book, "--draws", "300", "--out", tmp_path / "book")
    whole_book = invoke("run", book, "--library", TOY, "--draws", "300", "--out", tmp_path / "whole")
    for result in (from_csv, from_book, whole_book):
        assert result.exit_code == 0, result.output
    reference = (tmp_path / "csv" / "summary.csv").read_bytes()
    assert (tmp_path / "book" / "summary.csv").read_bytes() == reference
    assert (tmp_path / "whole" / "summary.csv").read_bytes() == reference
    assert book.read_bytes() == before  # the input workbook is never written to


def test_export_refuses_to_replace_a_workbook_without_force(tmp_path):
    book = tmp_path / "toy.xlsx"
    assert invoke("params", "export", "--out", book, "--params", TOY / "parameters").exit_code == 0
    again = invoke("params", "export", "--out", book, "--params", TOY / "parameters")
    assert again.exit_code == 2 and "already exists" in again.output
    assert invoke("params", "export", "--out", book, "--params", TOY / "parameters",
                  "--force").exit_code == 0


def test_a_csv_renamed_to_xlsx_is_one_clear_line_and_exit_2(tmp_path):
    fake = tmp_path / "params.xlsx"
    fake.write_text("name,value\nx,1\n", encoding="utf-8")
    result = invoke("params", "check", fake)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("roi-engine: error:") and "CSV renamed" in lines[0]
    assert "Traceback" not in result.output
