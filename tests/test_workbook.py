"""Tests for the results workbook (outputs.workbook): written with openpyxl, read back with openpyxl.

Each sheet's numbers are compared with the Results / CostSharing table they come from, cell by cell.
"""

from __future__ import annotations

import math
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import TOY_SCENARIO
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart

from roi_engine.analyses.sharing import cost_sharing, cumulative_net_by_sector
from roi_engine.atomic import file_mode
from roi_engine.inputs.scenario import load_scenario
from roi_engine.outputs.report import headline_sentences
from roi_engine.outputs.workbook import (
    HEADER_FIELDS,
    SHARING_COLUMNS,
    SHEETS,
    SUMMARY_COLUMNS,
    find_section,
    header_values,
    read_header,
    write_results_workbook,
)
from roi_engine.results import run
from roi_engine.results.cube import PORTFOLIO

DRAWS = 300


@pytest.fixture(scope="module")
def toy():
    scenario = load_scenario(TOY_SCENARIO).with_settings(draws=DRAWS)
    results = run(scenario)
    return scenario, results


@pytest.fixture(scope="module")
def book(toy, tmp_path_factory):
    scenario, results = toy
    sharing = cost_sharing(results, "benefit_proportional")
    path = tmp_path_factory.mktemp("workbook") / "out" / "report.xlsx"
    written = write_results_workbook(path, results, sharing)
    return written, load_workbook(written), results, sharing, scenario


def same(cell_value, expected) -> bool:
    """A cell equals a table value: NaN is an empty cell, numbers to 1e-9 relative."""
    if isinstance(expected, (bool, np.bool_)):
        return cell_value == ("yes" if expected else "no")
    if isinstance(expected, (float, np.floating, int, np.integer)):
        if math.isnan(float(expected)):
            return cell_value is None
        if math.isinf(float(expected)):  # a payback year that never comes, in words
            return cell_value == "not within the horizon"
        return cell_value is not None and math.isclose(float(cell_value), float(expected),
                                                       rel_tol=1e-9, abs_tol=1e-9)
    return cell_value == expected


def table_rows(ws, title: str, column: int = 1, skip_note: bool = False):
    """Headings and data rows (lists of cell values) of the section titled ``title``."""
    top = find_section(ws, title, column) + 1 + int(skip_note)
    width = 0
    while ws.cell(top, column + width).value is not None:
        width += 1
    headings = [ws.cell(top, column + j).value for j in range(width)]
    rows, r = [], top + 1
    while ws.cell(r, column).value is not None:
        rows.append([ws.cell(r, column + j).value for j in range(width)])
        r += 1
    return headings, rows


# --- structure --------------------------------------------------------------------------------


def test_written_where_asked_with_the_five_sheets_in_order(book):
    path, wb, *_ = book
    assert path.name == "report.xlsx" and path.is_file()
    assert list(SHEETS) == ["Summary", "Cost sharing", "Yearly flows by sector", "Uncertainty",
                            "Parameters used"]
    assert wb.sheetnames == [*SHEETS, "Deprivation"]  # the toy area is covered by the IMD table
    assert not [p for p in path.parent.iterdir() if p.name != "report.xlsx"], "temporary file left behind"
    assert stat.S_IMODE(path.stat().st_mode) == file_mode()  # not mkstemp's 0600


def test_every_sheet_states_the_run_settings_in_its_header_block(book):
    _, wb, results, *_ = book
    info = results.info
    expected = {
        "Scenario": "Toy scenario", "Area": "Birmingham", "Area code": "E08000025", "Currency": "GBP",
        "Price year": "2023/24", "Discount rates": info.discounting, "Perspective": "societal",
        "Horizon (years)": 6, "Draws": DRAWS, "Seed": 7, "Sampling": "LHS",
    }
    assert header_values(results) == expected
    assert "3.5%" in info.discounting and "1.5%" in info.discounting
    for ws in wb:
        header = read_header(ws)
        assert list(header) == list(HEADER_FIELDS), ws.title
        assert header == expected, ws.title
        assert isinstance(header["Draws"], int) and isinstance(header["Seed"], int)


# --- numbers --------------------------------------------------------------------------------------


def test_summary_equals_the_headline_table(book):
    _, wb, results, *_ = book
    ws = wb["Summary"]
    # one column per intervention and the portfolio, by name; one row per figure; the codes in a row
    headings, rows = table_rows(ws, "Headline table")
    head = results.headline()
    assert headings == ["Figure", "Toy programme for tests", "Portfolio (all the interventions)"]
    assert rows[0] == ["Programme code (in the scenario file)", *results.entities] \
        == ["Programme code (in the scenario file)", "toy_programme", PORTFOLIO]
    assert [r[0] for r in rows[1:]] == [label for label, _ in SUMMARY_COLUMNS.values()]
    for key, r in zip(SUMMARY_COLUMNS, rows[1:], strict=True):
        for entity, value in zip(results.entities, r[1:], strict=True):
            assert same(value, head.loc[entity, key]), (entity, key, value, head.loc[entity, key])
    npv_row = find_section(ws, "Headline table") + 3 + list(SUMMARY_COLUMNS).index("npv_mean")
    assert ws.cell(npv_row, 1).value == "NPV (mean)" and "£" in ws.cell(npv_row, 2).number_format
    sentences = [ws.cell(find_section(ws, "Headline") + i, 1).value for i in (1, 2, 3)]
    assert sentences == list(headline_sentences(results))


def test_cost_sharing_sheet_equals_the_sharing_table(book):
    _, wb, results, sharing, _ = book
    ws = wb["Cost sharing"]
    # one column per sector, by label, and the total; one row per figure; the codes in a row
    headings, rows = table_rows(ws, "Cost-sharing table")
    t = sharing.table
    keys = [k for k in SHARING_COLUMNS if not k.startswith(("funding_gap", "p_funding_gap"))]
    labels = results.sector_labels()
    assert headings == ["Figure", *[labels[s] for s in t.index[:-1]], "Total"]
    assert rows[0] == ["Sector code", *t.index] and rows[0][-1] == "total"
    assert [r[0] for r in rows[1:]] == [SHARING_COLUMNS[k][0] for k in keys]
    for key, r in zip(keys, rows[1:], strict=True):
        for sector, value in zip(t.index, r[1:], strict=True):
            assert same(value, t.loc[sector, key]), (sector, key, value, t.loc[sector, key])
    # an undefined ratio (a sector that pays nothing) is an empty cell, not 'nan'
    assert math.isnan(t.loc["social_care", "benefit_per_pound_modelled"])
    ratio_row = rows[1 + keys.index("benefit_per_pound_modelled")]
    assert ratio_row[1 + list(t.index).index("social_care")] is None
    assert "benefit_proportional" in ws.cell(1, 1).value


def test_break_even_sheet_adds_the_funding_gap(toy, tmp_path):
    scenario, results = toy
    sharing = cost_sharing(results, "break_even")
    wb = load_workbook(write_results_workbook(tmp_path / "be.xlsx", results, sharing))
    _, rows = table_rows(wb["Cost sharing"], "Cost-sharing table")
    gap = next(r for r in rows if r[0] == "Funding gap (mean)")
    assert same(gap[-1], sharing.table.loc["total", "funding_gap_mean"])
    assert all(v is None for v in gap[1:-1])


def test_yearly_sheet_equals_results_yearly_and_the_cumulative_band(book):
    _, wb, results, *_ = book
    ws = wb["Yearly flows by sector"]
    headings, rows = table_rows(ws, "Mean flows by year, sector and kind")
    assert headings == ["Intervention", "Year", "Sector", "Kind", "Mean, undiscounted", "Mean, discounted"]
    yearly = results.yearly()
    assert len(rows) == len(yearly)
    for r, expected in zip(rows, yearly.itertuples(index=False), strict=True):
        assert r[:4] == [expected.entity, expected.year, expected.sector, expected.kind]
        assert same(r[4], expected.mean_undiscounted) and same(r[5], expected.mean_discounted)
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A")

    column = 8
    headings, rows = table_rows(ws, "Cumulative discounted net, portfolio", column, skip_note=True)
    assert headings == ["Year", "Mean", "5th percentile", "Median", "95th percentile"]
    band = results.cumulative_net_band()
    band = band[band["entity"] == PORTFOLIO]
    assert len(rows) == results.info.horizon
    for r, expected in zip(rows, band.itertuples(index=False), strict=True):
        assert r[0] == expected.year
        for value, key in zip(r[1:], ("mean", "p05", "median", "p95"), strict=True):
            assert same(value, getattr(expected, key))

    headings, rows = table_rows(ws, "Cumulative discounted net by sector, portfolio (mean)", column)
    by_sector = cumulative_net_by_sector(results)
    assert headings == ["Year", *by_sector.columns]
    for r, (year, values) in zip(rows, by_sector.iterrows(), strict=True):
        assert r[0] == year
        assert all(same(v, e) for v, e in zip(r[1:], values, strict=True))
    # the portfolio's last cumulative mean is its mean NPV
    assert same(rows[-1][-1], results.headline().loc[PORTFOLIO, "npv_mean"])


def test_uncertainty_sheet_percentiles_and_probabilities(book):
    _, wb, results, *_ = book
    ws = wb["Uncertainty"]
    tidy = results.tidy()
    headings, rows = table_rows(ws, "Headline metrics over draws")
    assert headings == ["Programme", "Figure", "Unit", "Base case", "Mean", "Median", "5th percentile",
                        "95th percentile", "Programme code", "Figure code"]
    assert len(rows) == 9 * len(results.entities)
    assert rows[0][:2] == ["Toy programme for tests", "PV costs"] and rows[0][-2:] == ["toy_programme",
                                                                                        "pv_costs"]
    rows = [[*r[-2:], *r[2:-2]] for r in rows]  # codes first, as the checks below read them
    for r in rows:
        for value, statistic in zip(r[3:], ("base_case", "mean", "median", "p05", "p95"), strict=True):
            expected = tidy[(tidy.entity == r[0]) & (tidy.sector == "all") & (tidy.metric == r[1])
                            & (tidy.statistic == statistic)]["value"]
            if r[1].startswith("payback") and statistic == "mean":  # censored: no mean is taken
                assert len(expected) == 0 and value is None
                continue
            assert len(expected) == 1 and same(value, expected.iloc[0]), (r, statistic)

    headings, rows = table_rows(ws, "Probabilities")
    assert headings == ["Programme", "P(benefit per £1 > 1)", "P(NPV > 0)", "P(payback within horizon)",
                        "Programme code"]
    head = results.headline()
    for r, entity in zip(rows, results.entities, strict=True):
        assert r[-1] == entity
        assert same(r[1], head.loc[entity, "p_benefit_per_pound_gt_1"])
        assert same(r[2], head.loc[entity, "p_npv_gt_0"])
        assert same(r[3], head.loc[entity, "p_payback_within_horizon"])
    assert 0 < rows[-1][1] <= 1

    headings, rows = table_rows(ws, "Net position by sector over draws (sectors that pay or gain)")
    assert headings[-3:] == ["P(net > 0)", "Programme code", "Sector code"]
    labels = results.sector_labels()
    assert all(r[1] == labels[r[-1]] for r in rows)
    rows = [[*r[-2:], *r[2:-2]] for r in rows]  # codes first, as the checks below read them
    p_net = results.summary.stats["p_npv_gt_0"]
    by_sector = results.by_sector(PORTFOLIO)
    listed = {(r[0], r[1]) for r in rows}
    # the toy programme touches nhs, local_authority, employers and individuals only
    assert {s for e, s in listed if e == PORTFOLIO} == {"nhs", "local_authority", "employers", "individuals"}
    for r in rows:
        assert same(r[-1], float(p_net.sel(entity=r[0], group=r[1])))
        if r[0] == PORTFOLIO:
            assert same(r[3], by_sector.loc[r[1], "npv_mean"])
            assert same(r[5], by_sector.loc[r[1], "npv_p05"]) and same(r[6], by_sector.loc[r[1], "npv_p95"])


def test_parameters_sheet_lists_exactly_the_parameters_used_with_their_sources(book):
    _, wb, results, _, scenario = book
    from roi_engine.model.evaluation import Model

    model = Model(scenario)
    used = dict(zip(model.names, model.parameters, strict=True))
    headings, rows = table_rows(wb["Parameters used"], f"Parameters ({len(used)})")
    assert headings[:7] == ["Parameter", "Name (code)", "Value", "Distribution", "Unit", "Price year",
                            "Source"]
    assert [r[0] for r in rows] == list(used)  # the toy table has no labels: the code stands in
    rows = [r[1:] for r in rows]
    assert [r[0] for r in rows] == list(used)
    assert len(used) == 9  # every row of the toy table feeds the toy programme
    for r in rows:
        p = used[r[0]]
        assert same(r[1], p.value)
        assert r[2].startswith(p.distribution.name)
        assert r[3] == p.unit
        assert r[4] == (str(p.price_year) if p.price_year else None)
        assert r[5] == p.source
    by_name = {r[0]: r for r in rows}
    assert by_name["toy_cost"][2] == "gamma (shape 100, scale 1)"
    assert by_name["toy_cost"][4] == "2023" and by_name["toy_reach"][4] is None
    assert by_name["value_of_qaly"][2] == "fixed"


# --- charts -----------------------------------------------------------------------------------------


def test_native_charts_on_the_summary_sheet_point_at_the_data(book):
    _, wb, results, *_ = book
    charts = wb["Summary"]._charts
    assert len(charts) == 2
    bar = next(c for c in charts if isinstance(c, BarChart))
    line = next(c for c in charts if isinstance(c, LineChart))
    bar_refs = [s.val.numRef.f for s in bar.series]
    assert len(bar_refs) == 2 and all(f.startswith("'Cost sharing'!") for f in bar_refs)
    line_refs = [s.val.numRef.f for s in line.series]
    assert len(line_refs) == 4 and all(f.startswith("'Yearly flows by sector'!") for f in line_refs)
    # the bar chart's data are the net positions of the sectors that pay or gain
    ws = wb["Cost sharing"]
    _, rows = table_rows(ws, "Net position by sector (chart data: sectors that pay or gain)")
    by_sector = results.by_sector(PORTFOLIO)
    assert {r[0] for r in rows} == {"NHS", "Local authority (other)", "Employers", "Individuals and families"}
    nhs = next(r for r in rows if r[0] == "NHS")
    assert same(nhs[1], by_sector.loc["nhs", "npv_mean"])
    first_data_row = find_section(ws, "Net position by sector (chart data: sectors that pay or gain)") + 2
    assert bar_refs[0].endswith(f"$B${first_data_row}:$B${first_data_row + len(rows) - 1}")
    # the line chart covers every year of the horizon
    assert line.series[0].val.numRef.f.count("$") == 4
    top, bottom = (int(x.split("$")[-1]) for x in line.series[0].val.numRef.f.split("!")[1].split(":"))
    assert bottom - top + 1 == results.info.horizon


# --- writing ------------------------------------------------------------------------------------------


def test_overwrites_in_place_and_a_failed_save_keeps_the_old_file(toy, tmp_path, monkeypatch):
    scenario, results = toy
    sharing = cost_sharing(results, "as_modelled")
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"old")
    write_results_workbook(path, results, sharing)
    assert load_workbook(path).sheetnames == [*SHEETS, "Deprivation"]
    good = path.read_bytes()

    from openpyxl import Workbook

    def broken(self, filename):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results_workbook(path, results, sharing)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]
