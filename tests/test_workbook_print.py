"""The results workbook prints as a board pack: page setup, frozen panes and chart placement (openpyxl),
and the printed page count per sheet (LibreOffice headless to PDF, pages read with pypdf).

The page counts are printed (``pytest -s``) so that a change in layout shows up in a run's log.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import platform_tool
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.drawing.spreadsheet_drawing import TwoCellAnchor

from roi_engine.analyses.sharing import cost_sharing
from roi_engine.inputs.library import shipped_library
from roi_engine.inputs.scenario import load_scenario
from roi_engine.outputs.print_layout import FOOTER, axis_limits
from roi_engine.outputs.workbook import SHEETS, TABLE_FIRST_ROW, find_section, write_results_workbook
from roi_engine.results import run

DRAWS = 200
MAX_SUMMARY_PAGES = 2


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The default scenario's results workbook (eight programmes: the widest Summary we ship)."""
    scenario = load_scenario(shipped_library().scenarios / "default.toml").with_settings(draws=DRAWS)
    results = run(scenario)
    sharing = cost_sharing(results, results.sharing_rule)
    path = write_results_workbook(tmp_path_factory.mktemp("print") / "report.xlsx", results, sharing)
    return path, load_workbook(path), results


# --- page setup and panes (openpyxl) -----------------------------------------------------------------


def test_every_sheet_prints_landscape_one_page_wide_with_titles_and_a_footer(printed):
    _, wb, _ = printed
    assert wb.sheetnames == [*SHEETS, "Deprivation"]  # Birmingham is covered by the IMD table
    for ws in wb:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title  # one wide, as tall as needed
        assert ws.print_title_rows, ws.title
        assert ws.oddFooter.center.text == FOOTER and "&A" in FOOTER and "&P" in FOOTER
    # a data sheet repeats its table's heading row on every page
    for name in [*SHEETS[1:], "Deprivation"]:
        ws = wb[name]
        heading = TABLE_FIRST_ROW + 1
        assert ws.print_title_rows == f"${heading}:${heading}", name
        assert ws.cell(heading, 1).value and ws.cell(heading, 1).font.b, name


def test_heading_rows_and_row_names_stay_on_screen(printed):
    _, wb, _ = printed
    expected = {"Summary": "B2", "Cost sharing": "B19", "Yearly flows by sector": "B19",
                "Uncertainty": "C19", "Parameters used": "C19"}
    for name, cell in expected.items():
        assert wb[name].freeze_panes == cell, (name, wb[name].freeze_panes)
    # the frozen row is the heading row of the sheet's first table
    ws = wb["Cost sharing"]
    assert ws.cell(18, 1).value == "Figure" and ws.cell(18, 2).value == "NHS"


def test_summary_charts_sit_whole_inside_the_first_printed_page(printed):
    _, wb, _ = printed
    ws = wb["Summary"]
    breaks = [b.id for b in ws.row_breaks.brk]
    table_row = find_section(ws, "Headline table")
    assert breaks == [table_row - 1]  # the headline table starts page 2
    last_column = ws.max_column
    assert last_column == 1 + 9  # the figure names, eight programmes and the portfolio
    charts = ws._charts
    assert {type(c) for c in charts} == {BarChart, LineChart}
    spans = []
    for chart in charts:
        anchor = chart.anchor
        assert isinstance(anchor, TwoCellAnchor), type(anchor)
        top, bottom = anchor._from.row + 1, anchor.to.row + 1  # 1-based rows
        left, right = anchor._from.col + 1, anchor.to.col  # 1-based first and last whole column
        assert find_section(ws, "Charts") < top < bottom < table_row - 1, (top, bottom, table_row)
        assert 1 <= left <= right <= last_column, (left, right, last_column)
        spans.append((left, right))
    spans.sort()
    assert spans[0][1] < spans[1][0]  # side by side, not overlapping
    assert spans[0][0] == 1 and spans[1][1] == last_column


def test_charts_have_no_data_labels_and_axes_sized_to_the_data(printed):
    _, wb, results = printed
    for chart in wb["Summary"]._charts:
        for series in chart.series:
            labels = series.dLbls
            assert labels is None or not (labels.showVal or labels.showCatName or labels.showSerName)
        assert chart.x_axis.delete is False and chart.y_axis.delete is False
        refs = [s.val.numRef.f for s in chart.series]
        values = []
        for ref in refs:
            sheet, cells = ref.split("!")
            source = wb[sheet.strip("'")]
            for row in source[cells.replace("$", "")]:
                values += [c.value for c in row if isinstance(c.value, (int, float))]
        low, high = chart.y_axis.scaling.min, chart.y_axis.scaling.max
        data_low, data_high = min(min(values), 0), max(max(values), 0)
        assert low <= data_low and high >= data_high, (low, high, data_low, data_high)
        # no more than two ticks of slack on either side: a bar is never lost on an oversized axis
        step = chart.y_axis.majorUnit
        assert (data_low - low) < step and (high - data_high) < step, (low, high, step, values)
        assert (high - low) / step <= 8
    bar = next(c for c in wb["Summary"]._charts if isinstance(c, BarChart))
    assert bar.x_axis.tickLblPos == "low"  # sector names clear of the negative bars


@pytest.mark.parametrize("values, expected", [
    ([3, 7], (0, 8)), ([-18e6, 114e6], (-25e6, 125e6)), ([0.2, 0.9], (0, 1)), ([-5, -2], (-5, 0)),
    ([float("nan"), None, "text"], (0, 1)),
])
def test_axis_limits_are_round_and_hold_the_data(values, expected):
    assert axis_limits(values) == pytest.approx(expected)


# --- printed through LibreOffice --------------------------------------------------------------------


def pages_per_sheet(pdf: Path) -> Counter:
    """Printed pages per sheet, read from each page's footer ('<sheet>, page P of N')."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf (a test extra: pip install -e '.[test]') reads "
                                "the printed PDF")
    counts: Counter = Counter()
    for number, page in enumerate(pypdf.PdfReader(pdf).pages, start=1):
        found = re.findall(r"([^\n]+?), page (\d+) of (\d+)", page.extract_text())
        assert found, f"page {number} has no footer"
        sheet, page_number, _ = found[-1]
        assert int(page_number) == number
        counts[sheet.strip()] += 1
    return counts


def test_summary_prints_on_at_most_two_pages_through_libreoffice(printed, tmp_path):
    soffice = platform_tool("soffice")
    path, _, _ = printed
    profile = (tmp_path / "lo_profile").as_uri()  # a private profile: parallel runs do not clash
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "report.pdf"
    counts = pages_per_sheet(pdf)
    print("\nPrinted pages per sheet (LibreOffice, A4 landscape):",
          ", ".join(f"{name} {counts[name]}" for name in counts), f"(total {sum(counts.values())})")
    assert list(counts) == [*SHEETS, "Deprivation"]  # every sheet prints, in order
    assert 1 <= counts["Summary"] <= MAX_SUMMARY_PAGES, counts
    assert counts["Cost sharing"] <= 2, counts
    assert counts["Uncertainty"] <= 4, counts


def test_summary_still_fits_two_pages_where_the_manual_break_is_ignored(printed, tmp_path):
    """Excel ignores manual page breaks under 'fit to'; the Summary is sized so that the automatic
    break comes after the charts: printed without its break, it still takes at most two pages."""
    from openpyxl.worksheet.pagebreak import RowBreak

    soffice = platform_tool("soffice")
    path, _, _ = printed
    wb = load_workbook(path)
    wb["Summary"].row_breaks = RowBreak()
    for name in wb.sheetnames[1:]:  # every sheet but the Summary
        del wb[name]
    copy = tmp_path / "summary_only.xlsx"
    wb.save(copy)
    profile = (tmp_path / "lo_profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(copy)], check=True, capture_output=True, timeout=300)
    counts = pages_per_sheet(tmp_path / "summary_only.pdf")
    assert list(counts) == ["Summary"] and counts["Summary"] <= MAX_SUMMARY_PAGES, counts
