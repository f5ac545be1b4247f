"""Tests for roi_engine.inputs.excel: the commissioner's workbook (export, read, check, run).

- the exported workbook's layout (sheets, colours, drop-down lists, frozen headings, protection);
- round trip: the default scenario run from the CSV folder and from the exported workbook gives
  identical results, bit for bit;
- every kind of bad input gives ONE InputError naming file, sheet and cell (exact messages);
- random damage to a valid workbook gives a valid read or an InputError, never another exception;
- nothing is lost: the input workbook is never written to, and a killed export leaves the old file or
  a complete new one.
"""

from __future__ import annotations

import csv
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import TOY_DIR, TOY_SCENARIO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import MergedCell

from roi_engine.errors import InputError
from roi_engine.inputs.excel import (
    MANIFEST_SHEET,
    WorkbookInputs,
    _sheet_names,
    check_workbook,
    export_workbook,
    is_workbook,
    load_scenario_with_workbook,
    load_workbook_scenario,
    read_workbook,
)
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.scenario import ScenarioWarning, load_scenario
from roi_engine.results import run

REPO = Path(__file__).resolve().parents[1]
EXCEL_DATA = Path(__file__).resolve().parent / "data" / "excel"
TOY_PARAMETERS = TOY_DIR / "parameters"
NUMBER_HINT = " (a plain decimal number with a dot, e.g. 392.1 or 1e-3)"
TOY_INTERVENTIONS = TOY_DIR / "interventions"

# Layout of the toy workbook (tests/data/toy exported with its scenario):
#   toy: A name, B value, C distribution, D..G p1..p4, H unit, I price_year, J source, K notes;
#        rows 2..10: toy_reach, toy_cost, toy_baseline, toy_rr, toy_value_nhs, toy_qaly_loss,
#        value_of_qaly, toy_absence_days (triangular 1, 2, 4), toy_cost_per_day.
#   Scenario: settings in rows 2..13 (B4 area, B5 horizon, B6 price_year, B7 perspective, B9 sharing),
#        interventions heading in row 15 (A intervention, B reach, C uptake, D delivery_years, E programme),
#        toy_programme in row 16; cost-sharing heading in row 21 (A sector, B contributor, C agreed_share),
#        sectors in rows 22..30 (nhs, social_care, local_authority, education, employers, individuals,
#        criminal_justice, central_government, vcse); correlations heading in row 32 (A parameter_1,
#        B parameter_2, C spearman).


def registry_rows(registry: ParameterRegistry) -> list[tuple]:
    """Everything a parameter is, except where it was read from (floats compared exactly)."""
    return [(p.name, p.value.hex(), p.distribution.name, tuple(float(x).hex() for x in p.distribution.params),
             p.unit, str(p.price_year), p.source, p.notes) for p in registry.values()]


@pytest.fixture(scope="module")
def toy_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("toy_book") / "book.xlsx"
    export_workbook(path, TOY_PARAMETERS, load_scenario(TOY_SCENARIO))
    return path.read_bytes()


@pytest.fixture
def book(tmp_path, toy_bytes) -> Path:
    """A fresh copy of the toy workbook."""
    path = tmp_path / "book.xlsx"
    path.write_bytes(toy_bytes)
    return path


def edit(path: Path, change: Callable[[openpyxl.Workbook], object]) -> None:
    workbook = openpyxl.load_workbook(path)
    change(workbook)
    workbook.save(path)


def set_cells(sheet: str, **cells) -> Callable[[openpyxl.Workbook], None]:
    def change(workbook):
        for cell, value in cells.items():
            workbook[sheet][cell] = value
    return change


def edit_sheet_xml(path: Path, sheet: str, cell: str, xml: str) -> None:
    """Replace one cell's XML in a sheet (to write what openpyxl cannot: cached formula results)."""
    index = openpyxl.load_workbook(path).sheetnames.index(sheet) + 1
    member = f"xl/worksheets/sheet{index}.xml"
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            if info.filename == member:
                text, n = re.subn(rf'<c r="{cell}"( s="\d+")?[^>]*>.*?</c>|<c r="{cell}"( s="\d+")?[^>]*/>',
                                  lambda m: xml.replace("STYLE", m.group(1) or m.group(2) or ""),
                                  data.decode("utf-8"))
                assert n == 1, (member, cell)
                data = text.encode("utf-8")
            target.writestr(info, data)


# ------------------------------------------------------------------------------------------------
# Export: layout
# ------------------------------------------------------------------------------------------------


def test_exported_workbook_layout(book):
    workbook = openpyxl.load_workbook(book)
    assert workbook.sheetnames == ["README", "Scenario", "toy", "sectors", MANIFEST_SHEET]
    assert workbook[MANIFEST_SHEET].sheet_state == "veryHidden"
    assert workbook.active.title == "README"

    toy = workbook["toy"]
    assert [c.value for c in toy[1]] == ["name", "value", "distribution", "p1", "p2", "p3", "p4", "unit",
                                         "price_year", "source", "notes", "grade", "label"]
    assert toy.freeze_panes == "B2"
    assert toy["A3"].value == "toy_cost" and toy["B3"].value == 100 and toy["B3"].data_type == "n"
    assert toy["E5"].value == 0.1 and toy["D5"].value == -0.2231435513142097   # floats, not text
    assert toy["I3"].value == "2023" and toy["I3"].number_format == "@"
    assert toy["B3"].fill.fgColor.rgb.endswith("FFF2CC")      # input: light yellow
    assert toy["A3"].fill.fgColor.rgb.endswith("E7E6E6")      # read-only: grey
    assert toy.column_dimensions["J"].width == 70
    lists = {dv.formula1: str(dv.sqref) for dv in toy.data_validations.dataValidation}
    assert lists['"fixed,beta,gamma,lognormal,normal,truncnormal,triangular,pert,uniform"'].startswith("C2:")

    scenario = workbook["Scenario"]
    assert [scenario.cell(row=r, column=1).value for r in range(2, 14)] == [
        "name", "description", "area", "horizon", "price_year", "perspective", "discounting", "sharing",
        "draws", "seed", "sampling", "chunk_size"]
    assert scenario["B4"].value == "E08000025" and scenario["B5"].value == 6 and scenario["B13"].value == 700
    assert scenario["C5"].value.startswith("Years counted")
    assert [c.value for c in scenario[16]] == ["intervention", "reach", "uptake", "delivery_years",
                                               "programme"]
    assert scenario["A17"].value == "toy_programme"
    assert [c.value for c in scenario[22]][:3] == ["sector", "contributor", "agreed_share"]
    assert scenario["A23"].value == "nhs" and scenario["A31"].value == "vcse"
    assert [c.value for c in scenario[33]][:3] == ["parameter_1", "parameter_2", "spearman"]
    formulas = {dv.formula1 for dv in scenario.data_validations.dataValidation}
    assert {'"public_sector,economic,societal"', '"lhs,mc"', '"green_book,none"', '"toy_programme"',
            '"yes,no"', '"as_modelled,benefit_proportional,break_even,agreed"'} <= formulas
    assert '"' + ",".join(load_scenario(TOY_SCENARIO).sectors.names) + '"' in formulas   # sector list

    sectors = workbook["sectors"]
    assert sectors.protection.sheet
    assert '"yes,no"' in {dv.formula1 for dv in sectors.data_validations.dataValidation}

    readme = "\n".join(str(c.value) for row in workbook["README"].iter_rows() for c in row if c.value)
    for fragment in ("Light yellow: input cells", "Grey: read-only", "roi-engine params check FILE.xlsx",
                     "between 1990 and 2024", "truncnormal"):
        assert fragment in readme


def test_long_drop_down_lists_live_on_the_hidden_sheet():
    from roi_engine.inputs.excel import _ListMaker

    workbook = openpyxl.Workbook()
    lists = _ListMaker(workbook.create_sheet(MANIFEST_SHEET))
    assert lists.validation(["a", "b"], "pick").formula1 == '"a,b"'
    names = [f"programme_number_{i:02d}" for i in range(20)]
    assert lists.validation(names, "pick").formula1 == f"'{MANIFEST_SHEET}'!$F$1:$F$20"
    assert [workbook[MANIFEST_SHEET].cell(row=r, column=6).value for r in (1, 20)] == [names[0], names[-1]]


def test_export_of_the_shipped_tables_truncates_long_sheet_names(tmp_path):
    path = export_workbook(tmp_path / "all.xlsx", REPO / "parameters")
    inputs = read_workbook(path)
    assert all(len(sheet) <= 31 for sheet, _ in inputs.tables)
    assert dict(inputs.tables)["appraisal_values"] == "appraisal_values"
    long = [(sheet, table) for sheet, table in inputs.tables if len(table) > 31]
    assert all(table.startswith(sheet) for sheet, table in long)
    assert registry_rows(inputs.registry) == registry_rows(ParameterRegistry.from_dir(REPO / "parameters"))
    assert inputs.scenario_data is None
    with pytest.raises(InputError, match="the workbook has no Scenario sheet"):
        load_workbook_scenario(inputs, interventions_dir=REPO / "interventions")


def test_sheet_names_are_unique_and_short():
    names = _sheet_names(["readme", "a" * 40, "a" * 40 + "b", "x:y", "SECTORS"])
    assert names == ["readme~2", "a" * 31, "a" * 29 + "~2", "x_y", "SECTORS~2"]


def test_export_refuses_inputs_existing_files_and_other_suffixes(tmp_path):
    params = shutil.copytree(TOY_PARAMETERS, tmp_path / "parameters")
    (params / "notes.xlsx").write_bytes(b"mine")
    with pytest.raises(InputError) as info:
        export_workbook(params / "notes.xlsx", params)
    assert info.value.render() == (f"{params / 'notes.xlsx'}: refusing to overwrite an input file "
                                   "(choose another name for the workbook)")
    assert (params / "notes.xlsx").read_bytes() == b"mine"

    with pytest.raises(InputError) as info:
        export_workbook(params / "toy.csv", params)
    assert info.value.render() == f"{params / 'toy.csv'}: a workbook's name must end in .xlsx (e.g. toy.xlsx)"

    target = tmp_path / "out" / "book.xlsx"
    assert export_workbook(target, params) == target          # creates the folder
    before = target.read_bytes()
    with pytest.raises(InputError) as info:
        export_workbook(target, params)
    assert info.value.render() == (f"{target}: the file already exists "
                                   "(choose another name, or ask to replace it (--force))")
    assert target.read_bytes() == before
    export_workbook(target, params, overwrite=True)
    assert [p.name for p in target.parent.iterdir()] == ["book.xlsx"]   # no temporary file left


def test_every_scenario_setting_is_in_the_workbook():
    """A new ScenarioSpec field must be added to the Scenario sheet (export and read), or the round trip
    would silently drop it."""
    from roi_engine.inputs.excel import SETTINGS
    from roi_engine.inputs.scenario import ScenarioSpec, SharingSpec

    in_workbook = set(SETTINGS) | {"interventions", "correlations"}
    assert set(ScenarioSpec.model_fields) - {"interventions_dir", "parameters_dir"} == in_workbook
    assert set(SharingSpec.model_fields) == {"rule", "contributors", "shares"}


def test_is_workbook():
    assert is_workbook("a/b.xlsx") and is_workbook("B.XLSX") and not is_workbook("parameters")
    assert not is_workbook("scenarios/default.toml")


# ------------------------------------------------------------------------------------------------
# Reading back, round trip
# ------------------------------------------------------------------------------------------------


def test_read_gives_the_csv_registry_and_the_scenario(book):
    inputs = read_workbook(book)
    assert isinstance(inputs, WorkbookInputs)
    assert registry_rows(inputs.registry) == registry_rows(ParameterRegistry.from_dir(TOY_PARAMETERS))
    cost = inputs.registry["toy_cost"]
    assert (cost.file, cost.row) == (str(book), 3)
    assert inputs.locations["toy_cost"] == "book.xlsx!toy!A3"
    assert inputs.sectors == load_scenario(TOY_SCENARIO).sectors
    assert inputs.scenario_data == {
        "name": "Toy scenario", "area": "E08000025", "horizon": 6, "price_year": "2023/24",
        "perspective": "societal", "discounting": "green_book", "draws": 2000, "seed": 7, "sampling": "lhs",
        "chunk_size": 700, "optimism_bias": False, "sharing": {"rule": "as_modelled"},
        "interventions": [{"id": "toy_programme"}]}
    assert inputs.scenario_cells["interventions[0].reach"] == "Scenario!B17"


def test_round_trip_default_scenario_is_bit_for_bit(tmp_path):
    """The default scenario from the CSV folder and from the exported workbook: identical results."""
    from_csv = load_scenario(REPO / "scenarios" / "default.toml").with_settings(draws=400)
    path = export_workbook(tmp_path / "default.xlsx", REPO / "parameters", from_csv)
    from_book = load_workbook_scenario(path, interventions_dir=REPO / "interventions")
    from_book = from_book.with_settings(draws=400)
    assert from_book.spec.model_dump(exclude={"interventions_dir", "parameters_dir"}) == \
        from_csv.spec.model_dump(exclude={"interventions_dir", "parameters_dir"})
    assert registry_rows(from_book.registry) == registry_rows(from_csv.registry)
    assert from_book.registry["kiva_reach"].file == str(path)

    expected, got = run(from_csv), run(from_book)
    pd.testing.assert_frame_equal(got.tidy(), expected.tidy(), check_exact=True)
    assert got.pv.dtype == expected.pv.dtype and got.pv.tobytes() == expected.pv.tobytes()

    # The scenario TOML with the workbook's parameters: the same numbers again.
    with_params = load_scenario_with_workbook(REPO / "scenarios" / "default.toml", path)
    assert np.array_equal(run(with_params.with_settings(draws=400)).pv, expected.pv)


def test_edits_in_the_workbook_change_the_run(book):
    baseline = load_workbook_scenario(book, interventions_dir=TOY_INTERVENTIONS).with_settings(draws=300)
    edit(book, set_cells("toy", B3=200.0, C3="fixed", D3=None, E3=None))      # toy_cost: 100 -> 200 fixed
    edit(book, set_cells("Scenario", B17=0.25, D17="0", B9="agreed"))
    edit(book, set_cells("Scenario", B23="yes", C23=0.75, B25="yes", C25=0.25))
    edited = load_workbook_scenario(book, interventions_dir=TOY_INTERVENTIONS).with_settings(draws=300)
    assert edited.registry["toy_cost"].value == 200 and not edited.registry["toy_cost"].is_uncertain
    item = edited.interventions[0][0]
    assert (item.reach, item.delivery_years) == (0.25, (0,))
    assert (edited.sharing.rule, edited.sharing.contributors) == ("agreed", ("nhs", "local_authority"))
    assert edited.sharing.shares == {"nhs": 0.75, "local_authority": 0.25}
    assert not np.array_equal(run(edited).pv, run(baseline).pv)


def test_moved_columns_blank_rows_and_trailing_columns_are_fine(book):
    expected = registry_rows(read_workbook(book).registry)

    def shuffle(workbook):
        toy = workbook["toy"]
        rows = [[c.value for c in row] for row in toy.iter_rows(min_row=1, max_row=10, max_col=11)]
        order = [10, 3, 0, 2, 1, 4, 5, 6, 7, 9, 8]                 # notes, p1, name, distribution, ...
        for r, row in enumerate(rows, start=1):
            for c, source in enumerate(order, start=1):
                toy.cell(row=r, column=c).value = row[source]
        toy.insert_rows(5, 2)                                       # blank rows inside the table
        toy["M1"] = "   "                                           # a blank heading far right
        toy["M3"] = None
        scenario = workbook["Scenario"]
        scenario.insert_rows(15, 1)                                 # the interventions table moves down
        scenario.move_range("A17:E18", cols=2)                      # ... and right

    edit(book, shuffle)
    inputs = read_workbook(book)
    assert registry_rows(inputs.registry) == expected
    assert inputs.registry["toy_cost"].row == 3 and inputs.locations["toy_cost"] == "book.xlsx!toy!C3"
    assert inputs.scenario_data["interventions"] == [{"id": "toy_programme"}]
    assert inputs.scenario_cells["interventions[0].id"] == "Scenario!C18"


def test_formula_with_a_saved_result_is_read(book):
    edit_sheet_xml(book, "toy", "B3", '<c r="B3"STYLE><f>50*2</f><v>100</v></c>')
    assert read_workbook(book).registry["toy_cost"].value == 100.0


def test_check_workbook_summary(book):
    text = check_workbook(book, interventions_dir=TOY_INTERVENTIONS)
    assert text == (
        "book.xlsx is OK: 9 parameters in 1 tables, 8 of them uncertain, 9 marked as assumptions, 4 in money "
        "at 2023 prices; 9 sectors; scenario 'Toy scenario': Birmingham (E08000025), 1 intervention(s) "
        "(toy_programme), horizon 6 years, 2023/24 prices, societal perspective, green_book discounting, "
        "as_modelled cost sharing, 2,000 draws (lhs, seed 7).")
    assert check_workbook(book).endswith(
        "(area and programmes not looked up: give the intervention library to check them).")


# ------------------------------------------------------------------------------------------------
# Bad input: one InputError, exact message
# ------------------------------------------------------------------------------------------------


def _write_csv_renamed(path: Path) -> None:
    path.write_bytes((TOY_PARAMETERS / "toy.csv").read_bytes())


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = bytes(2000)
    path.write_bytes(bytes(data))


def _zip_of_other_things(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")


def _empty_workbook(path: Path) -> None:
    openpyxl.Workbook().save(path)


def _merge(workbook):
    workbook["toy"].merge_cells("J2:K2")


def _correlation(first: str, second: str, spearman: float):
    return set_cells("Scenario", A34=first, B34=second, C34=spearman)


def _copy_fixture(name: str):
    return lambda path: shutil.copyfile(EXCEL_DATA / name, path)


MISSING_SHEET_HINT = "restore it from a freshly exported workbook: sheets are found by name"
EXPORT_HINT = ("export a fresh workbook with 'roi-engine params export --out FILE.xlsx --scenario "
               "scenarios/NAME.toml' and copy your changes into it")
DEFLATOR_HINT = "use a price year inside that range or supply your own deflator table"
DAMAGED = ("the workbook is damaged or incomplete: it cannot be opened as an .xlsx file (it may have been "
           "cut short while copying or downloading: get a fresh copy, or export it again)")

# (id, how to spoil the toy workbook, "workbook" = edit with openpyxl / "file" = change the file itself,
#  stage: "read" = read_workbook / "scenario" = load_workbook_scenario, expected text after "FILE: ")
BAD_INPUT = [
    ("missing-sheet", lambda wb: wb.remove(wb["toy"]), "workbook", "read",
     f"sheet 'toy' is missing ({MISSING_SHEET_HINT})"),
    ("renamed-sheet", lambda wb: setattr(wb["toy"], "title", "toys"), "workbook", "read",
     "sheet 'toy' is missing (did you mean 'toys'? Rename it back: sheets are found by name)"),
    ("missing-scenario-sheet", lambda wb: wb.remove(wb["Scenario"]), "workbook", "read",
     f"sheet 'Scenario' is missing ({MISSING_SHEET_HINT})"),
    ("renamed-column", set_cells("toy", B1="valu"), "workbook", "read",
     "toy!B1: unexpected column 'valu' (did you mean 'value'?)"),
    ("deleted-column", lambda wb: wb["toy"].delete_cols(2), "workbook", "read",
     "toy!1:1: missing column 'value' (the heading row needs: name, value, distribution, p1, p2, p3, unit, "
     "price_year, source)"),
    ("duplicated-column", set_cells("toy", L1="Value"), "workbook", "read",
     "toy!L1: column 'Value' appears twice (it is also in column B)"),
    ("value-without-heading", set_cells("toy", N3="my comment"), "workbook", "read",
     "toy!N3: a value lies in a column with no heading (put comments in the 'notes' column, or clear "
     "the cell)"),
    ("text-in-number", set_cells("toy", B3="lots"), "workbook", "read",
     "toy!B3: 'lots' is not a number" + NUMBER_HINT),
    ("text-in-p1", set_cells("toy", D2="fifty"), "workbook", "read",
     "toy!D2: 'fifty' is not a number" + NUMBER_HINT),
    ("true-in-number", set_cells("toy", B3=True), "workbook", "read",
     "toy!B3: 'TRUE' is not a number" + NUMBER_HINT),
    ("negative-probability", set_cells("toy", B4=-0.2), "workbook", "read",
     "toy!B4: 'toy_baseline' is a probability but its value -0.2 is outside [0, 1]"),
    ("probability-above-one", set_cells("toy", B2=1.5), "workbook", "read",
     "toy!B2: 'toy_reach' is a probability but its value 1.5 is outside [0, 1]"),
    ("low-above-high", set_cells("toy", D9=5), "workbook", "read",
     "toy!D9:F9: low (5) must be below high (4)"),
    ("unknown-distribution", set_cells("toy", C3="gama"), "workbook", "read",
     "toy!C3: unknown distribution 'gama' (did you mean 'gamma'?)"),
    ("missing-p2", set_cells("toy", E3=None), "workbook", "read",
     "toy!E3: 'gamma' needs p2 (scale)"),
    ("duplicate-parameter", set_cells("toy", A3="toy_reach"), "workbook", "read",
     "toy!A3: duplicate parameter name 'toy_reach' (first defined at toy!A2)"),
    ("no-parameter-rows", lambda wb: wb["toy"].delete_rows(2, 20), "workbook", "read",
     "toy!A2: the table has no parameter rows (restore the rows from a freshly exported workbook)"),
    ("price-year-outside-deflator", set_cells("toy", I3="2030"), "workbook", "read",
     f"toy!I3: price year 2030 is outside the deflator table, which covers 1990 to 2024 ({DEFLATOR_HINT})"),
    ("price-year-not-a-year", set_cells("toy", I3="2023/25"), "workbook", "read",
     "toy!I3: '2023/25' is not a price year (write a calendar year like 2022 or a financial year like "
     "2022/23)"),
    ("money-without-price-year", set_cells("toy", I3=None), "workbook", "read",
     "toy!I3: 'toy_cost' is money (GBP per participant) but has no price year (e.g. 2023/24 or 2022)"),
    ("formula-without-result", set_cells("toy", B3="=100*2"), "workbook", "read",
     "toy!B3: the formula '=100*2' has no saved result (open the workbook in Excel and save it, so the "
     "result is stored, or type the number)"),
    ("merged-cells", _merge, "workbook", "read",
     "toy!J2:K2: merged cells in a table (unmerge them with Home > Merge & Center, and put one value in "
     "each cell)"),
    ("unknown-sector", set_cells("sectors", A5="educaton"), "workbook", "read",
     "sectors!A5: 'educaton' is not a sector (did you mean 'education'? The sectors sheet is read-only)"),
    ("sector-not-yes-no", set_cells("sectors", C2="maybe"), "workbook", "read",
     "sectors!C2: 'maybe' is not yes or no"),
    ("unknown-parameter", _correlation("toy_cst", "toy_rr", 0.3), "workbook", "read",
     "Scenario!A34: unknown parameter 'toy_cst' (did you mean 'toy_cost'?)"),
    ("correlated-fixed-parameter", _correlation("value_of_qaly", "toy_rr", 0.3), "workbook", "scenario",
     "Scenario!A34: 'value_of_qaly' is fixed, so it cannot be correlated"),
    ("unknown-setting", set_cells("Scenario", A5="hoizon"), "workbook", "read",
     "Scenario!A5: unknown setting 'hoizon' (did you mean 'horizon'?)"),
    ("unknown-perspective", set_cells("Scenario", B7="societl"), "workbook", "read",
     "Scenario!B7: unknown perspective 'societl' (did you mean 'societal'?)"),
    ("text-horizon", set_cells("Scenario", B5="ten"), "workbook", "read",
     "Scenario!B5: 'ten' is not a number" + NUMBER_HINT),
    ("blank-area", set_cells("Scenario", B4=None), "workbook", "read",
     "Scenario!B4: setting 'area' needs a value"),
    ("deleted-setting", lambda wb: wb["Scenario"].delete_rows(4), "workbook", "read",
     "Scenario!A:A: setting 'area' is missing (add a row 'area' to the settings table)"),
    ("reach-above-one", set_cells("Scenario", B17=1.5), "workbook", "read",
     "Scenario!B17: should be at most 1 (got 1.5)"),
    ("bad-delivery-years", set_cells("Scenario", D17="0, one"), "workbook", "read",
     "Scenario!D17: '0, one' is not a list of years (whole numbers from 0 separated by commas, e.g. "
     "0, 1, 2, 3; blank: the programme's own years)"),
    ("no-interventions", set_cells("Scenario", A17=None), "workbook", "read",
     "Scenario!16:16: the scenario has no interventions (type a programme's id in the 'intervention' "
     "column below the headings)"),
    ("interventions-heading-overwritten", set_cells("Scenario", A16="toy_programme"), "workbook", "read",
     "Scenario!A:A: the interventions table is missing (it starts with a heading row: intervention, reach, "
     "uptake, delivery_years)"),
    ("unknown-intervention", set_cells("Scenario", A17="toy_programm"), "workbook", "scenario",
     "Scenario!A17: unknown intervention 'toy_programm' (did you mean 'toy_programme'?)"),
    ("unknown-sector-in-cost-sharing", set_cells("Scenario", A26="educaton"), "workbook", "read",
     "Scenario!A26: 'educaton' is not a sector (did you mean 'education'?)"),
    ("contributor-not-yes-no", set_cells("Scenario", B23="maybe"), "workbook", "read",
     "Scenario!B23: 'maybe' is not yes or no"),
    ("unknown-sharing-rule", set_cells("Scenario", B9="benefit_proportionl"), "workbook", "read",
     "Scenario!B9: 'benefit_proportionl' is not a cost-sharing rule (did you mean 'benefit_proportional'?)"),
    ("agreed-shares-do-not-add-up",
     set_cells("Scenario", B9="agreed", B23="yes", C23=0.5, B25="yes", C25=0.3), "workbook", "read",
     "Scenario!C22: agreed shares sum to 0.8, not 1 (nhs=0.5, local_authority=0.3)"),
    ("share-for-a-non-contributor", set_cells("Scenario", B9="agreed", B23="yes", C23=0.5, C25=0.5),
     "workbook", "read", "Scenario!C25: 'local_authority' has a share but is not a contributor "
                         "(contributors are ['nhs']; add 'local_authority' to them to give it a share)"),
    ("unknown-area", set_cells("Scenario", B4="Birmingam"), "workbook", "scenario",
     "Scenario!B4: 'Birmingam' is not an area name or GSS code (did you mean 'Birmingham' (E08000025)?)"),
    ("scenario-price-year-outside-deflator", set_cells("Scenario", B6="2031/32"), "workbook", "scenario",
     "Scenario!B6: price year 2031/32 needs calendar years 2031 and 2032, but the deflator table covers "
     f"1990 to 2024 ({DEFLATOR_HINT})"),
    ("hidden-sheet-deleted", lambda wb: wb.remove(wb[MANIFEST_SHEET]), "workbook", "read",
     f"not a workbook made by roi-engine: its hidden sheet '_roi_engine' is missing ({EXPORT_HINT})"),
    ("hidden-sheet-changed", set_cells(MANIFEST_SHEET, A3="tabel"), "workbook", "read",
     f"the hidden sheet '_roi_engine' has been changed ({EXPORT_HINT})"),
    ("excel-error-value", lambda p: edit_sheet_xml(p, "toy", "B3", '<c r="B3"STYLE t="e"><f>1/0</f>'
                                                                   '<v>#DIV/0!</v></c>'), "file", "read",
     "toy!B3: the cell shows the Excel error #DIV/0! (fix the formula or type the value)"),
    ("empty-workbook", _empty_workbook, "file", "read",
     "the workbook is empty (start from an exported workbook: roi-engine params export --out FILE.xlsx "
     "--scenario scenarios/NAME.toml)"),
    ("zero-bytes", lambda p: p.write_bytes(b""), "file", "read",
     "the file is empty (0 bytes), not an .xlsx workbook (it may not have finished saving or copying: get "
     "a fresh copy, or export it again)"),
    ("csv-renamed", _write_csv_renamed, "file", "read",
     "not an Excel workbook: it is a text file, perhaps a CSV renamed to .xlsx (open it in Excel and save "
     "it as 'Excel Workbook (*.xlsx)', or give the folder of CSV tables instead)"),
    ("binary-not-zip", lambda p: p.write_bytes(bytes(range(256)) * 4), "file", "read",
     "not an Excel workbook: .xlsx files are zip archives and this one is not (open it in Excel and save it "
     "as 'Excel Workbook (*.xlsx)')"),
    ("truncated", _truncate, "file", "read", DAMAGED),
    ("corrupt-zip", _corrupt, "file", "read", DAMAGED),
    ("zip-but-not-xlsx", _zip_of_other_things, "file", "read", DAMAGED),
    ("password-protected", _copy_fixture("password_protected.xlsx"), "file", "read",
     "the workbook is password-protected (encrypted), so it cannot be read (in Excel: File > Info > "
     "Protect Workbook > Encrypt with Password, delete the password, save, and try again)"),
    ("old-xls", _copy_fixture("old_excel_97.xlsx"), "file", "read",
     "this is an old Excel 97-2003 (.xls) file, not an .xlsx workbook (open it in Excel and save it as "
     "'Excel Workbook (*.xlsx)')"),
    ("not-found", lambda p: p.unlink(), "file", "read", "file not found"),
    ("folder", lambda p: (p.unlink(), p.mkdir()), "file", "read",
     "is a folder, not an .xlsx workbook (a folder of CSV tables is read as such, not as a workbook)"),
]


@pytest.mark.parametrize(("spoil", "kind", "stage", "expected"), [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_input_error_naming_file_sheet_and_cell(book, spoil, kind, stage, expected):
    if kind == "workbook":
        edit(book, spoil)
    else:
        spoil(book)
    with pytest.raises(InputError) as info:
        inputs = read_workbook(book)
        assert stage == "scenario", "read_workbook accepted it"
        load_workbook_scenario(inputs, interventions_dir=TOY_INTERVENTIONS)
    assert info.value.render() == f"{book}: {expected}"
    assert info.value.file == str(book)
    with pytest.raises(InputError) as again:
        check_workbook(book, interventions_dir=TOY_INTERVENTIONS)
    assert again.value.render() == info.value.render()


def test_bad_input_table_covers_the_issue_cases():
    ids = {case[0] for case in BAD_INPUT}
    assert len(ids) == len(BAD_INPUT)
    assert {"missing-sheet", "renamed-sheet", "renamed-column", "text-in-number", "negative-probability",
            "probability-above-one", "low-above-high", "unknown-distribution", "unknown-sector",
            "unknown-parameter", "price-year-outside-deflator", "empty-workbook", "csv-renamed", "truncated",
            "corrupt-zip", "password-protected", "formula-without-result", "merged-cells"} <= ids


# ------------------------------------------------------------------------------------------------
# Random damage: a valid read or an InputError, never anything else
# ------------------------------------------------------------------------------------------------

SHEETS = ["README", "Scenario", "toy", "sectors", MANIFEST_SHEET]
CELL_VALUES = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-10**6, max_value=10**6),
    st.booleans(),
    st.sampled_from(["beta", "pert", "fixed", "2023/24", "2030", "yes", "no", "=1/0", "=A1*2", "-1", "1e309",
                     "toy_cost", "toy_programme", "0, 1", "societal", "intervention", "spearman", "table",
                     "name", "value", "#N/A", " "]),
)
MUTATIONS = st.one_of(
    st.tuples(st.just("cell"), st.sampled_from(SHEETS), st.integers(1, 36), st.integers(1, 13), CELL_VALUES),
    st.tuples(st.just("delete_sheet"), st.sampled_from(SHEETS)),
    st.tuples(st.just("rename_heading"), st.sampled_from(["Scenario", "toy", "sectors"]), st.integers(1, 11),
              st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ", max_size=10)),
    st.tuples(st.just("merge"), st.sampled_from(SHEETS), st.integers(1, 34), st.integers(1, 11),
              st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("delete_rows"), st.sampled_from(["Scenario", "toy", "sectors"]), st.integers(1, 34),
              st.integers(1, 3)),
)


def _apply(workbook: openpyxl.Workbook, mutation: tuple) -> None:
    kind, sheet, *rest = mutation
    if sheet not in workbook.sheetnames:
        return
    ws = workbook[sheet]
    if kind == "cell":
        row, col, value = rest
        if not isinstance(ws.cell(row=row, column=col), MergedCell):  # an earlier merge covers it
            ws.cell(row=row, column=col).value = value
    elif kind == "delete_sheet":
        if len(workbook.sheetnames) > 1:
            workbook.remove(ws)
    elif kind == "rename_heading":
        col, text = rest
        if not isinstance(ws.cell(row=1, column=col), MergedCell):
            ws.cell(row=1, column=col).value = text
    elif kind == "merge":
        row, col, down, right = rest
        if down or right:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + down, end_column=col + right)
    elif kind == "delete_rows":
        row, count = rest
        ws.delete_rows(row, count)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3),
       truncate=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.999)))
def test_random_damage_gives_a_valid_read_or_an_input_error(tmp_path_factory, toy_bytes, mutations, truncate):
    path = tmp_path_factory.mktemp("fuzz") / "book.xlsx"
    path.write_bytes(toy_bytes)
    workbook = openpyxl.load_workbook(path)
    for mutation in mutations:
        _apply(workbook, mutation)
    workbook.save(path)
    if truncate is not None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * truncate)])
    try:
        with warnings.catch_warnings(record=True) as caught:  # a warning is an allowed outcome...
            warnings.simplefilter("always")
            inputs = read_workbook(path)
    except InputError as exc:
        assert exc.file == str(path) and "\n" not in exc.render()
        return
    for warning in caught:  # ...when it is a scenario warning of one line naming the file
        assert issubclass(warning.category, ScenarioWarning), warning
        assert str(path) in str(warning.message) and "\n" not in str(warning.message)
    assert isinstance(inputs.registry, ParameterRegistry)
    try:
        load_workbook_scenario(inputs, interventions_dir=TOY_INTERVENTIONS)
    except InputError as exc:
        assert "\n" not in exc.render()


# ------------------------------------------------------------------------------------------------
# Nothing is lost
# ------------------------------------------------------------------------------------------------


def test_reading_and_checking_never_write_to_the_workbook(book):
    os.utime(book, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (book.read_bytes(), book.stat().st_mtime_ns)
    read_workbook(book)
    check_workbook(book, interventions_dir=TOY_INTERVENTIONS)
    load_workbook_scenario(book, interventions_dir=TOY_INTERVENTIONS)
    assert (book.read_bytes(), book.stat().st_mtime_ns) == before
    assert sorted(p.name for p in book.parent.iterdir()) == ["book.xlsx"]


def _big_parameter_folder(folder: Path, tables: int, copies: int) -> int:
    """A parameter folder of ``tables`` tables, each the toy table repeated ``copies`` times."""
    folder.mkdir()
    shutil.copy(TOY_PARAMETERS / "sectors.csv", folder)
    with (TOY_PARAMETERS / "toy.csv").open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    for t in range(tables):
        with (folder / f"table_{t}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for k in range(copies):
                writer.writerows([f"{row[0]}_{t}_{k}", *row[1:]] for row in rows)
    return tables * copies * len(rows)


EXPORT_LOOP = textwrap.dedent("""
    import sys
    from roi_engine.inputs.excel import export_workbook
    target, folder = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    n = 0
    while True:
        export_workbook(target, folder, None, overwrite=True)
        n += 1
        print(f"exported {n}", flush=True)
""")


def test_a_killed_export_leaves_the_old_file_or_a_complete_new_one(tmp_path):
    folder = tmp_path / "big"
    n_params = _big_parameter_folder(folder, tables=5, copies=25)      # 1,125 parameters
    target = tmp_path / "out" / "book.xlsx"
    export_workbook(target, TOY_PARAMETERS)                             # the old, complete file
    old = target.read_bytes()
    rng = random.Random(20261123)
    outcomes = []
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", EXPORT_LOOP, str(target), str(folder)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 2.0))                               # one export takes about 1 s
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert target.exists(), "the old file vanished"
        data = target.read_bytes()
        if data == old:
            outcomes.append("old")
            continue
        openpyxl.load_workbook(target).close()                          # a complete .xlsx ...
        assert len(read_workbook(target).registry) == n_params          # ... with every parameter
        outcomes.append("new")
        old = data
    # Temporary files of killed exports may be left, hidden and named after the target; never the target.
    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert all(re.fullmatch(r"\.book\.xlsx\..+\.tmp", name) for name in leftovers), leftovers
    assert outcomes  # which happened is random: both are fine
