"""The results workbook: one ``.xlsx`` the partners round the table can open, filter and chart.

:func:`write_results_workbook` writes the sheets

- ``Summary``: the plain-English headline (the same sentences as the HTML report), two native Excel
  charts side by side (net position by sector, bar; cumulative discounted net cash flow, line), then,
  from the second printed page, the headline table (:meth:`Results.headline`, every column) with one
  column per intervention and the portfolio, named, and one row per figure (the codes in a row);
- ``Cost sharing``: the cost-sharing table (:func:`~.sharing.cost_sharing`), one column per sector (by
  label) and the total, one row per figure, and the data behind the bar chart;
- ``Yearly flows by sector``: mean flows by intervention, year, sector and kind, undiscounted and
  discounted (:meth:`Results.yearly`), the portfolio's cumulative discounted net with its 90% band
  (:meth:`Results.cumulative_net_band`) and by sector (:func:`~.cumulative_net_by_sector`);
- ``Uncertainty``: base case, mean, median, 5th and 95th percentiles of the headline metrics
  (:meth:`Results.tidy`), P(benefit per £1 > 1), P(NPV > 0) and P(payback within the horizon) per
  intervention, and the net position with P(net > 0) for every sector that pays or gains;
- ``Parameters used``: name, value, distribution, unit, price year, source (and notes, file).

Every sheet opens with the same header block (:data:`HEADER_FIELDS`): scenario, area, currency, price
year, discount rates, perspective, horizon, draws, seed and sampling, one per row, label in column A and
value in column B, so a sheet copied out on its own still says what its numbers mean.
:func:`read_header` reads it back. Every sheet prints A4 landscape, one page wide, with its table's
heading row on every page, and keeps its heading rows and row names on screen
(:mod:`~roi_engine.outputs.print_layout`).

Numbers are written as numbers (with number formats), never as formatted text; an undefined value
(NaN: a ratio where nothing is invested, a payback that never happens) is an empty cell. The workbook
goes to a temporary file in the target folder and is moved into place with ``os.replace``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from roi_engine.atomic import atomic_output
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.outputs.formatting import money, share
from roi_engine.outputs.print_layout import plain_chart, set_print_layout
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, Results
from roi_engine.results.qaly_results import NICE_LOWER, at_qaly_value, nhs_cost_per_qaly
from roi_engine.text import write_text_cell

WORKBOOK_FILE = "report.xlsx"

SHEETS = ("Summary", "Cost sharing", "Yearly flows by sector", "Uncertainty", "Parameters used")
"""Sheet names, in workbook order."""

HEADER_FIELDS = ("Scenario", "Area", "Area code", "Currency", "Price year", "Discount rates",
                 "Perspective", "Horizon (years)", "Draws", "Seed", "Sampling")
"""Labels of the header block on every sheet (column A, rows 3 to 13; values in column B)."""

HEADER_FIRST_ROW = 3
TABLE_FIRST_ROW = HEADER_FIRST_ROW + len(HEADER_FIELDS) + 3
"""Row of the first section title under the header block (a note row and a blank row between)."""

MONEY = '£#,##0;-£#,##0'
RATIO = '£#,##0.00'
PROBABILITY = '0%'
COUNT = '#,##0'
YEAR = '0'

SUMMARY_COLUMNS: dict[str, tuple[str, str | None]] = {
    "people_reached_base": ("People reached (base case)", COUNT),
    "participant_years_base": ("Participant-years (base case)", COUNT),
    "pv_costs_base": ("PV costs (base case)", MONEY),
    "pv_costs_mean": ("PV costs (mean)", MONEY),
    "pv_costs_p05": ("PV costs (5th percentile)", MONEY),
    "pv_costs_p95": ("PV costs (95th percentile)", MONEY),
    "pv_benefits_base": ("PV benefits (base case)", MONEY),
    "pv_benefits_mean": ("PV benefits (mean)", MONEY),
    "pv_benefits_p05": ("PV benefits (5th percentile)", MONEY),
    "pv_benefits_p95": ("PV benefits (95th percentile)", MONEY),
    "npv_base": ("NPV (base case)", MONEY),
    "npv_mean": ("NPV (mean)", MONEY),
    "npv_p05": ("NPV (5th percentile)", MONEY),
    "npv_p95": ("NPV (95th percentile)", MONEY),
    "benefit_per_pound_base": ("Benefit per £1 (base case)", RATIO),
    "benefit_per_pound_mean": ("Benefit per £1 (mean)", RATIO),
    "benefit_per_pound_p05": ("Benefit per £1 (5th percentile)", RATIO),
    "benefit_per_pound_p95": ("Benefit per £1 (95th percentile)", RATIO),
    "payback_year_base": ("Payback year (base case)", YEAR),
    "payback_year_median": ("Payback year (median over draws)", YEAR),
    "payback_year_p05": ("Payback year (5th percentile)", YEAR),
    "payback_year_p95": ("Payback year (95th percentile)", YEAR),
    "p_payback_within_horizon": ("P(payback within horizon)", PROBABILITY),
    "payback_year_cash_base": ("Payback year, cash only (base case)", YEAR),
    "payback_year_cash_median": ("Payback year, cash only (median over draws)", YEAR),
    "p_payback_cash_within_horizon": ("P(cash payback within horizon)", PROBABILITY),
    "p_benefit_per_pound_gt_1": ("P(benefit per £1 > 1)", PROBABILITY),
    "p_npv_gt_0": ("P(NPV > 0)", PROBABILITY),
}
"""Summary table: column of :meth:`Results.headline` -> (heading, number format), in sheet order."""

SHARING_COLUMNS: dict[str, tuple[str, str | None]] = {
    "contributor": ("Contributes under the rule", None),
    "cost_modelled": ("Pays as modelled (cost)", MONEY),
    "benefit_cash": ("Gains: cash-releasing (fiscal + economic)", MONEY),
    "benefit_non_cash": ("Gains: non-cash (health and wellbeing)", MONEY),
    "net_modelled_mean": ("Net as modelled (mean)", MONEY),
    "net_modelled_p05": ("Net as modelled (5th percentile)", MONEY),
    "net_modelled_p95": ("Net as modelled (95th percentile)", MONEY),
    "benefit_per_pound_modelled": ("Benefit per £1 of modelled cost", RATIO),
    "p_net_modelled_gt_0": ("P(net as modelled > 0)", PROBABILITY),
    "payback_year_cash_median": ("Cash payback year (median over draws)", YEAR),
    "p_payback_cash_within_horizon": ("P(cash payback within horizon)", PROBABILITY),
    "contribution_mean": ("Pays under the rule (mean)", MONEY),
    "contribution_p05": ("Pays under the rule (5th percentile)", MONEY),
    "contribution_p95": ("Pays under the rule (95th percentile)", MONEY),
    "contribution_share": ("Share of the total cost", PROBABILITY),
    "net_rule_mean": ("Net cash under the rule (mean)", MONEY),
    "net_rule_p05": ("Net cash under the rule (5th percentile)", MONEY),
    "net_rule_p95": ("Net cash under the rule (95th percentile)", MONEY),
    "p_net_rule_gt_0": ("P(net cash under the rule > 0)", PROBABILITY),
    "cash_benefit_per_pound_rule_median": ("Cash £ per £1 paid (median)", RATIO),
    "net_rule_with_non_cash_mean": ("Net under the rule incl. non-cash (mean)", MONEY),
    "funding_gap_mean": ("Funding gap (mean)", MONEY),
    "funding_gap_p05": ("Funding gap (5th percentile)", MONEY),
    "funding_gap_p95": ("Funding gap (95th percentile)", MONEY),
    "p_funding_gap_gt_0": ("P(funding gap > 0)", PROBABILITY),
}
"""Cost-sharing table: column of ``CostSharing.table`` -> (heading, number format), in sheet order.
The funding-gap columns appear only under the ``break_even`` rule."""

YEARLY_COLUMNS = ("entity", "year", "sector", "kind", "mean_undiscounted", "mean_discounted")
UNCERTAINTY_METRICS = ("pv_costs", "pv_benefits", "pv_benefits_cash", "npv", "npv_cash", "benefit_per_pound",
                       "net_roi", "payback_year", "payback_year_cash")
STATISTIC_HEADINGS = {"base_case": "Base case", "mean": "Mean", "median": "Median",
                      "p05": "5th percentile", "p95": "95th percentile"}

_TITLE = Font(bold=True, size=14)
_SECTION = Font(bold=True, size=12)
_BOLD = Font(bold=True)
_NOTE = Font(italic=True, color="505A5F")
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_BLOCK_FILL = PatternFill("solid", fgColor="F3F2F1")


# --- public API ------------------------------------------------------------------------------------


def write_results_workbook(path: str | Path, results: Results, sharing, *,
                           sensitivity: Sequence = ()) -> Path:
    """Write the results workbook to ``path`` (``.xlsx``) and return the path.

    Parameters
    ----------
    path : str or Path
        The folder is created if missing. Written to a temporary file beside it, then moved into place.
    results : Results
    sharing : CostSharing
        From :func:`roi_engine.analyses.sharing.cost_sharing` (its entity is named on the sheet).
    sensitivity : sequence of SensitivitySection, optional
        Sensitivity results (:func:`roi_engine.outputs.sensitivity_sections.collect_sections`), written to a
        sixth sheet, "Sensitivity", when given.
    """
    from roi_engine.analyses.sharing import cumulative_net_by_sector

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}

    summary_refs = _summary_sheet(sheets["Summary"], results)
    bar_data = _sharing_sheet(sheets["Cost sharing"], results, sharing)
    line_data = _yearly_sheet(sheets["Yearly flows by sector"], results, cumulative_net_by_sector(results))
    _uncertainty_sheet(sheets["Uncertainty"], results)
    _parameters_sheet(sheets["Parameters used"], results)
    _charts(sheets["Summary"], summary_refs, sheets["Cost sharing"], bar_data,
            sheets["Yearly flows by sector"], line_data, results, sharing)
    _print_layouts(sheets, summary_refs)
    _deprivation_sheet(wb, results)
    if sensitivity:
        ws = wb.create_sheet("Sensitivity")
        row = _header(ws, results, "Sensitivity and value of information",
                      "Which assumptions the answer hangs on (roi-engine sensitivity); full tables in "
                      "sensitivity_<method>.csv beside this workbook.")
        for section in sensitivity:
            table = section.board_table(text=False, rows=None)
            row = _table(ws, row, 1, section.title, list(table.columns),
                         table.itertuples(index=False, name=None),
                         note=f"{section.note} {section.caption.replace('The ', 'Here: the ', 1)}.")
        set_print_layout(ws, title_rows=None, freeze="B2")

    _text_is_never_a_formula(wb)
    with atomic_output(path) as temporary:
        wb.save(temporary)
    return path


FROZEN_COLUMNS = {"Cost sharing": 1, "Yearly flows by sector": 1, "Uncertainty": 2, "Parameters used": 2}
"""Data sheets: how many leading columns stay on screen (the row's names), beside the heading rows."""


def _print_layouts(sheets: Mapping[str, Worksheet], summary: SummaryLayout) -> None:
    """Page setup of every sheet (:mod:`~roi_engine.outputs.print_layout`). The Summary prints the
    header block, the headline and the charts on page 1 and the headline table on page 2, with the
    sheet's title on both; a data sheet repeats its table's heading row on every page and keeps the
    heading row and the row names on screen."""
    set_print_layout(sheets["Summary"], title_rows=(1, 1), freeze="B2", break_before=[summary.table_row])
    heading = TABLE_FIRST_ROW + 1  # each data sheet's first table: title, then its heading row
    for name, columns in FROZEN_COLUMNS.items():
        set_print_layout(sheets[name], title_rows=(heading, heading),
                         freeze=f"{get_column_letter(columns + 1)}{heading + 1}")


DEPRIVATION_SHEET = "Deprivation"


def _deprivation_sheet(wb: Workbook, results: Results) -> None:
    """Sheet 'Deprivation': results by national IMD quintile, when the area is covered."""
    from roi_engine.analyses.deprivation import deprivation_results, headline_sentence

    d = deprivation_results(results)
    if d is None:
        return
    ws = wb.create_sheet(DEPRIVATION_SHEET)
    heading = TABLE_FIRST_ROW + 1
    set_print_layout(ws, title_rows=(heading, heading), freeze=f"C{heading + 1}")
    row = _header(ws, results, "Who gains by deprivation",
                  headline_sentence(d) + " " + " ".join(d.notes))
    columns = ["entity", "quintile_label", "population_share", "participant_years_base",
               "health_gain_qalys_base", "health_gain_qalys_mean", "health_gain_qalys_p05",
               "health_gain_qalys_p95", "share_of_health_gain_mean", "pv_costs_mean", "pv_benefits_mean",
               "pv_benefits_cash_mean", "npv_mean"]
    frame = d.quintiles[columns]
    row = _table(ws, row, 1, "By quintile (unweighted; health gain in QALY equivalents; money: PV, "
                 f"{results.info.currency} {results.info.price_year} prices)", columns,
                 frame.itertuples(index=False, name=None))
    columns = ["entity", "index", "base_case", "mean", "p05", "p95", "basis"]
    row = _table(ws, row, 1, "Inequality measures (unweighted first; equity-weighted labelled)", columns,
                 d.indices[columns].itertuples(index=False, name=None))
    if len(d.ede_profile):
        columns = list(d.ede_profile.columns)
        _table(ws, row, 1, "Equity-weighted health gain of the portfolio by inequality aversion "
               "(Atkinson; England's estimate marked)", columns,
               d.ede_profile.itertuples(index=False, name=None))


def _text_is_never_a_formula(wb: Workbook) -> None:
    """This workbook writes no formulas: any cell openpyxl took for one holds a user's text (a name,
    a source, a note starting with '=', '+', '-' or '@'); store it as text, quote-prefixed."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = cell.value if isinstance(cell.value, str) else ""
                if cell.data_type == "f" or (text[:1] and text[0] in "=+-@"):
                    write_text_cell(cell, ILLEGAL_CHARACTERS_RE.sub("", str(cell.value)))


def header_values(results: Results) -> dict[str, object]:
    """The header block every sheet carries, :data:`HEADER_FIELDS` -> value (numbers as numbers)."""
    info = results.info
    return {
        "Scenario": info.scenario,
        "Area": info.area_name,
        "Area code": info.area_code,
        "Currency": info.currency,
        "Price year": info.price_year,
        "Discount rates": info.discounting,
        "Perspective": info.perspective,
        "Horizon (years)": info.horizon,
        "Draws": info.draws,
        "Seed": info.seed,
        "Sampling": info.sampling.upper(),
    }


def read_header(ws: Worksheet) -> dict[str, object]:
    """Read a sheet's header block back: label (column A) -> value (column B)."""
    out = {}
    for row in range(HEADER_FIRST_ROW, HEADER_FIRST_ROW + len(HEADER_FIELDS)):
        label = ws.cell(row, 1).value
        if label is not None:
            out[str(label)] = ws.cell(row, 2).value
    return out


def find_section(ws: Worksheet, title: str, column: int = 1) -> int:
    """Row number of the section whose title cell (in ``column``) is ``title``; the headings are on the
    next row and the data start the row after. Raises KeyError if there is none."""
    for row in range(1, ws.max_row + 1):
        if ws.cell(row, column).value == title:
            return row
    raise KeyError(f"no section '{title}' in sheet '{ws.title}'")


# --- sheets ----------------------------------------------------------------------------------------


_HEADER_NOTES = {
    "Currency": "pound sterling",
    "Price year": "money converted to this price year with the HM Treasury GDP deflator",
    "Discount rates": "HM Treasury Green Book; year 0 is not discounted",
    "Horizon (years)": "year 0 = first year of delivery",
    "Draws": "Monte Carlo draws; intervals are 5th to 95th percentiles over draws",
    "Seed": "the same seed gives the same numbers",
}


def _header(ws: Worksheet, results: Results, title: str, note: str) -> int:
    """Title, the header block and a note; returns the first free row (:data:`TABLE_FIRST_ROW`)."""
    ws.cell(1, 1, title).font = _TITLE
    perspective_note = (f"benefits counted: {', '.join(PERSPECTIVES.get(results.info.perspective, ()))}")
    for i, (label, value) in enumerate(header_values(results).items()):
        row = HEADER_FIRST_ROW + i
        ws.cell(row, 1, label).font = _BOLD
        ws.cell(row, 1).fill = _BLOCK_FILL
        cell = ws.cell(row, 2, value)
        cell.fill = _BLOCK_FILL
        cell.alignment = Alignment(horizontal="left")
        if isinstance(value, int):
            cell.number_format = "0" if label == "Seed" else COUNT
        extra = perspective_note if label == "Perspective" else _HEADER_NOTES.get(label)
        if extra:
            ws.cell(row, 3, extra).font = _NOTE
    ws.cell(HEADER_FIRST_ROW + len(HEADER_FIELDS), 1, note).font = _NOTE
    ws.column_dimensions["A"].width = 28
    return TABLE_FIRST_ROW


def _value(x):
    """A cell value: numbers as Python numbers, NaN/inf as empty, booleans as yes/no."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, str):
        return ILLEGAL_CHARACTERS_RE.sub("", x)  # control characters pasted from Word: removed
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isinf(x):
            return "not within the horizon"  # a payback year that never comes
        return x if math.isfinite(x) else None
    return x


def _table(ws: Worksheet, row: int, col: int, title: str | None, headings: Sequence[str],
           rows: Iterable[Sequence], formats: Sequence[str | None] | None = None,
           note: str | None = None, autofilter: bool = False) -> int:
    """Write a titled table at (row, col); returns the first free row after it (one blank row)."""
    if title is not None:
        ws.cell(row, col, title).font = _SECTION
        row += 1
    if note is not None:
        ws.cell(row, col, note).font = _NOTE
        row += 1
    head = row
    for j, heading in enumerate(headings):
        cell = ws.cell(row, col + j, heading)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    formats = list(formats or [None] * len(headings))
    for values in rows:
        row += 1
        for j, v in enumerate(values):
            cell = ws.cell(row, col + j, _value(v))
            if formats[j] and cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = formats[j]
    if autofilter and row > head:
        last = get_column_letter(col + len(headings) - 1)
        ws.auto_filter.ref = f"{get_column_letter(col)}{head}:{last}{row}"
    return row + 2


def _widths(ws: Worksheet, widths: Mapping[str, float]) -> None:
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width


SUMMARY_LABEL_WIDTH = 46
SUMMARY_MIN_WIDTH = 170
"""Characters: the Summary is at least this wide, so that its two charts sit side by side on one page."""
CHART_HEIGHT_CM = 9.0
CHART_ROWS = 18
"""Rows of the chart block: the charts span the first 17 (9 cm at the default 15 pt a row). Small enough
that the header block, the headline and the charts fit one page at the one-page-wide scale even where
the manual page break is not honoured (Excel ignores manual breaks under 'fit to'), so that an automatic
break never falls inside a chart."""
PORTFOLIO_NAME = "Portfolio (all the interventions)"


@dataclass(frozen=True)
class SummaryLayout:
    """Where things sit on the Summary sheet: the chart block, the table and the sheet's width."""

    chart_row: int
    table_row: int
    widths: tuple[float, ...]


def _summary_sheet(ws: Worksheet, results: Results) -> SummaryLayout:
    """The board's page: the header block, the headline sentences and the charts (printed page 1), then
    the headline table (page 2), one column per intervention and the portfolio, one row per figure."""
    from roi_engine.outputs.report import headline_sentences

    row = _header(ws, results, "Summary: return on investment by intervention and for the portfolio",
                  "All money: present values, discounted, in the price year above. Base case = every "
                  "parameter at its point value; mean, median and percentiles are over the draws. Empty "
                  "cell = undefined (nothing invested). Payback: first year from which the cumulative "
                  "discounted net stays >= 0.")
    entities = list(results.entities)
    width = max(16.0, (SUMMARY_MIN_WIDTH - SUMMARY_LABEL_WIDTH) / len(entities))
    widths = (SUMMARY_LABEL_WIDTH, *[width] * len(entities))
    last = len(widths)
    _wrap_across(ws, row - 3, last)  # the note under the header block
    ws.cell(row, 1, "Headline").font = _SECTION
    for sentence in headline_sentences(results):
        row += 1
        ws.cell(row, 1, sentence)
        _wrap_across(ws, row, last)
    row += 2
    ws.cell(row, 1, "Charts").font = _SECTION
    chart_row = row + 1
    row = chart_row + CHART_ROWS
    ws.cell(row, 1, "Chart data: the 'Cost sharing' and 'Yearly flows by sector' sheets. Means over "
                    "draws; the band is the 5th to 95th percentile.").font = _NOTE
    table_row = row + 2

    head = results.headline()
    names = results.entity_names()
    headings = ["Figure", *[PORTFOLIO_NAME if e == PORTFOLIO else names.get(e, e) for e in entities]]
    rows = [["Programme code (in the scenario file)", *entities]]
    rows += [[label, *[head.loc[e, key] for e in entities]] for key, (label, _) in SUMMARY_COLUMNS.items()]
    _table(ws, table_row, 1, "Headline table", headings, rows)
    _format_figure_rows(ws, table_row + 3, [f for _, f in SUMMARY_COLUMNS.values()], len(entities))
    for j in range(len(entities)):  # the codes: small, shrunk to their column rather than spilling over
        cell = ws.cell(table_row + 2, 2 + j)
        cell.font = Font(size=8, color="505A5F")
        cell.alignment = Alignment(horizontal="right", shrink_to_fit=True)
    lines = max(math.ceil(len(h) / max(width - 2, 1)) for h in headings[1:])
    ws.row_dimensions[table_row + 1].height = 15 * max(1, lines)
    _widths(ws, {get_column_letter(c): w for c, w in enumerate(widths, start=1)})
    return SummaryLayout(chart_row, table_row, widths)


def _format_figure_rows(ws: Worksheet, first_row: int, formats: Sequence, n_columns: int, *,
                        tall_over: int = 0) -> None:
    """Number formats of a table laid out one row per figure (columns from B): row ``i`` takes
    ``formats[i]``; a text cell ('not within the horizon') wraps in its own cell, and its row is made
    taller when the text is longer than ``tall_over`` characters."""
    for i, number_format in enumerate(formats):
        for j in range(n_columns):
            cell = ws.cell(first_row + i, 2 + j)
            if number_format and cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = number_format
            elif isinstance(cell.value, str):
                cell.alignment = Alignment(wrap_text=True, horizontal="right", vertical="top")
                if len(cell.value) > tall_over:
                    ws.row_dimensions[cell.row].height = 30


def _wrap_across(ws: Worksheet, row: int, last_column: int) -> None:
    """Let the long text in column A of ``row`` wrap within the sheet's printed width (two lines)."""
    ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_column)
    ws.row_dimensions[row].height = 30


def _sharing_sheet(ws: Worksheet, results: Results, sharing) -> tuple[int, int, int]:
    from roi_engine.outputs.report import sharing_rows

    t = sharing.table
    rule = sharing.rule
    note = (f"Rule '{rule.rule}': {rule.description}. Entity: {sharing.entity}. Means over "
            f"{sharing.n_draws:,} draws unless a percentile is named. Cash-releasing = fiscal + economic; "
            "non-cash (health and wellbeing) is shown but never pays a share.")
    row = _header(ws, results, f"Cost sharing: {sharing.entity}, rule '{rule.rule}'", note)
    keys = [k for k in SHARING_COLUMNS if k in t.columns
            and (not k.startswith(("funding_gap", "p_funding_gap")) or rule.rule == "break_even")]
    labels = results.sector_labels()
    labels[t.index[-1]] = "Total"
    # one column per sector (and the total), one row per figure: it prints one page wide, readable
    sectors = list(t.index)
    rows = [["Sector code", *sectors]]
    rows += [[SHARING_COLUMNS[k][0], *[t.loc[s, k] for s in sectors]] for k in keys]
    table_row = row
    row = _table(ws, row, 1, "Cost-sharing table", ["Figure", *[labels.get(s, s) for s in sectors]], rows)
    _format_figure_rows(ws, table_row + 3, [SHARING_COLUMNS[k][1] for k in keys], len(sectors),
                        tall_over=12)
    _wrap_across(ws, TABLE_FIRST_ROW - 3, 1 + len(sectors))  # the note under the header block
    for j in range(len(sectors)):
        cell = ws.cell(table_row + 2, 2 + j)
        cell.font = Font(size=8, color="505A5F")
        cell.alignment = Alignment(horizontal="right", shrink_to_fit=True)
    notes = []
    if rule.rule == "benefit_proportional":
        notes.append(f"Draws in which no contributor gained cash (split by mean cash-releasing benefit "
                     f"instead): {sharing.fallback_draws:,} of {sharing.n_draws:,}.")
    if rule.rule == "break_even":
        g = sharing.gap
        notes.append(f"Funding gap (total cost minus what contributors could pay and break even; negative "
                     f"= surplus): mean {money(g['mean'])}, 90% interval {money(g['p05'])} to "
                     f"{money(g['p95'])}; P(gap > 0) = {share(g['p_gap'])}.")
    if rule.rule == "agreed":
        notes.append("Agreed shares: " + ", ".join(f"{k} {100 * v:g}%" for k, v in rule.shares.items()))
    for i, text in enumerate(notes):  # under the blank row that ends the table
        ws.cell(row + i, 1, text).font = _NOTE
    row += len(notes) + 1 if notes else 0
    shown = [s for s in sharing_rows(sharing) if s != t.index[-1]]
    title_row = row
    chart_rows = [[labels.get(s, s), t.loc[s, "net_modelled_mean"], t.loc[s, "net_rule_mean"]] for s in shown]
    _table(ws, row, 1, "Net position by sector (chart data: sectors that pay or gain)",
           ["Sector", "Net as modelled (mean)", "Net cash under the rule (mean)"], chart_rows,
           [None, MONEY, MONEY])
    _widths(ws, {"A": 44, "B": 22, "C": 22, **{get_column_letter(c): 15 for c in range(4, 2 + len(sectors))}})
    ws.row_dimensions[TABLE_FIRST_ROW + 1].height = 45
    ws.row_dimensions[title_row + 1].height = 30  # the chart data's wrapped headings
    return title_row + 1, title_row + 2, title_row + 1 + len(chart_rows)


def _yearly_sheet(ws: Worksheet, results: Results, by_sector: pd.DataFrame) -> tuple[int, int, int]:
    row = _header(ws, results, "Yearly flows by sector (means over draws)",
                  "Mean flows by intervention, year, sector and kind: cost, fiscal, economic, social "
                  "(all flows, before the perspective). Use the filters. Right: the portfolio's cumulative "
                  "discounted net as the perspective counts it.")
    yearly = results.yearly()
    _table(ws, row, 1, "Mean flows by year, sector and kind",
           ["Intervention", "Year", "Sector", "Kind", "Mean, undiscounted", "Mean, discounted"],
           yearly[list(YEARLY_COLUMNS)].itertuples(index=False), [None, YEAR, None, None, MONEY, MONEY],
           autofilter=True)
    band = results.cumulative_net_band()
    band = band[band["entity"] == PORTFOLIO].sort_values("year")
    col = len(YEARLY_COLUMNS) + 2
    next_row = _table(ws, row, col, "Cumulative discounted net, portfolio",
                      ["Year", "Mean", "5th percentile", "Median", "95th percentile"],
                      band[["year", "mean", "p05", "median", "p95"]].itertuples(index=False),
                      [YEAR, MONEY, MONEY, MONEY, MONEY],
                      note=f"Percentiles over the first {results.info.year_detail_draws:,} draws.")
    band_rows = (row + 2, row + 3, row + 2 + len(band))  # headings, first and last data row
    _table(ws, next_row, col, "Cumulative discounted net by sector, portfolio (mean)",
           ["Year", *by_sector.columns], ([y, *vals] for y, vals in zip(by_sector.index,
                                                                       by_sector.to_numpy(), strict=True)),
           [YEAR, *[MONEY] * by_sector.shape[1]])
    _widths(ws, {"A": 30, "B": 8, "C": 20, "D": 10, "E": 18, "F": 18,
                 **{get_column_letter(c): 16 for c in range(col, col + by_sector.shape[1] + 1)}})
    return band_rows


def _uncertainty_sheet(ws: Worksheet, results: Results) -> None:
    row = _header(ws, results, "Uncertainty: distributions over draws and probabilities",
                  "Base case = every parameter at its point value; the other statistics are over the "
                  "Monte Carlo draws. P(...) = share of draws.")
    tidy = results.tidy()
    totals = tidy[tidy["sector"] == ALL_SECTORS]
    stats = list(STATISTIC_HEADINGS)
    wide = totals[totals["statistic"].isin(stats)].pivot_table(
        index=["entity", "metric"], columns="statistic", values="value", aggfunc="first", dropna=False)
    units = totals.drop_duplicates(["metric"]).set_index("metric")["unit"]
    names = {e: _entity_name(results, e) for e in results.entities}
    sector_labels = results.sector_labels()
    rows = []
    for entity in results.entities:
        for metric in UNCERTAINTY_METRICS:
            if (entity, metric) not in wide.index:
                continue
            r = wide.loc[(entity, metric)]
            rows.append([names[entity], METRIC_LABELS[metric], units.get(metric, ""),
                         *[r.get(s, np.nan) for s in stats], entity, metric])
    fmt = {"pv_costs": MONEY, "pv_benefits": MONEY, "npv": MONEY, "benefit_per_pound": RATIO,
           "net_roi": "0.00", "payback_year": YEAR, "payback_year_cash": YEAR, "pv_benefits_cash": MONEY,
           "npv_cash": MONEY}
    row = _table(ws, row, 1, "Headline metrics over draws",
                 ["Programme", "Figure", "Unit", *STATISTIC_HEADINGS.values(), "Programme code",
                  "Figure code"], rows)
    # number formats depend on the metric (row), so set them after writing
    first = row - 2 - len(rows) + 1
    for i, r in enumerate(rows):
        for j in range(len(stats)):
            cell = ws.cell(first + i, 4 + j)
            if cell.value is not None:
                cell.number_format = fmt.get(r[-1], "General")

    head = results.headline()
    rows = [[names[e], head.loc[e, "p_benefit_per_pound_gt_1"], head.loc[e, "p_npv_gt_0"],
             head.loc[e, "p_payback_within_horizon"], e] for e in results.entities]
    row = _table(ws, row, 1, "Probabilities",
                 ["Programme", "P(benefit per £1 > 1)", "P(NPV > 0)", "P(payback within horizon)",
                  "Programme code"], rows, [None, PROBABILITY, PROBABILITY, PROBABILITY, None])

    by_sector = tidy[tidy["sector"].isin(results.sectors) & (tidy["metric"] == "npv")]
    net = by_sector.pivot_table(index=["entity", "sector"], columns="statistic", values="value",
                                aggfunc="first")
    p_net = tidy[tidy["sector"].isin(results.sectors) & (tidy["metric"] == "p_npv_gt_0")] \
        .set_index(["entity", "sector"])["value"]
    m = results.summary.draw_metrics[["pv_costs", "pv_benefits"]].isel(group=slice(0, len(results.sectors)))
    active = np.zeros(m["pv_costs"].shape[1:], dtype=bool)  # (entity, sector): pays or gains in some draw
    for name in ("pv_costs", "pv_benefits"):  # reductions over draws: no per-draw copy
        active |= (m[name].max("draw").values > 0) | (m[name].min("draw").values < 0)
    rows = []
    for e, entity in enumerate(results.entities):
        for s, sector in enumerate(results.sectors):
            if not active[e, s]:
                continue
            r = net.loc[(entity, sector)]
            rows.append([names[entity], sector_labels.get(sector, sector), *[r[k] for k in stats],
                         p_net.loc[(entity, sector)], entity, sector])
    row = _table(ws, row, 1, "Net position by sector over draws (sectors that pay or gain)",
                 ["Programme", "Sector", *[f"Net: {h.lower()}" for h in STATISTIC_HEADINGS.values()],
                  "P(net > 0)", "Programme code", "Sector code"], rows,
                 [None, None, *[MONEY] * len(stats), PROBABILITY, None, None])
    row = _qaly_tables(ws, row, results)
    _widths(ws, {"A": 44, "B": 30, "C": 30, "D": 16, "E": 16, "F": 16, "G": 16, "H": 16, "I": 22, "J": 22})


METRIC_LABELS = {"pv_costs": "PV costs", "pv_benefits": "PV benefits",
                 "pv_benefits_cash": "PV benefits, cash-releasing", "npv": "NPV",
                 "npv_cash": "NPV, cash only",
                 "benefit_per_pound": "Benefit per £1", "net_roi": "Net ROI ((benefits - costs) / costs)",
                 "payback_year": "Payback year", "payback_year_cash": "Payback year, cash only"}
"""The Uncertainty sheet's figures in words (their codes, as in summary.csv, in the last column)."""


def _entity_name(results: Results, entity: str) -> str:
    return PORTFOLIO_NAME if entity == PORTFOLIO else results.entity_names().get(entity, entity)


def _qaly_tables(ws: Worksheet, row: int, results: Results) -> int:
    """The result at GBP 20,000 per QALY and the NHS cost per QALY gained (results.qaly_results), and
    the size of the overlap correction."""
    overlap = results.overlap_correction()
    if not overlap.empty:
        rows = [[name, r.units_removed_base, r.units_removed_mean, r.units_removed_p05, r.units_removed_p95]
                for name, r in overlap.iterrows()]
        row = _table(ws, row, 1, results.overlap_sentence(),
                     ["Overlap (programmes: outcome)", "Units removed (base case)", "Mean", "5th percentile",
                      "95th percentile"], rows, [None, "#,##0", "#,##0", "#,##0", "#,##0"])
    at = at_qaly_value(results, NICE_LOWER)
    rows = [[_entity_name(results, e), *at.loc[e, ["benefit_per_pound_base", "benefit_per_pound_p05",
                                                     "benefit_per_pound_p95", "p_benefit_per_pound_gt_1"]]]
            for e in at.index]
    row = _table(ws, row, 1, f"Benefit per £1 with QALYs valued at £{NICE_LOWER:,.0f} "
                 f"({results.info.price_year} prices; every other input as in the run)",
                 ["Programme", "Base case", "5th percentile", "95th percentile", "P(> £1)"], rows,
                 [None, RATIO, RATIO, RATIO, PROBABILITY])
    per_qaly = nhs_cost_per_qaly(results)
    if per_qaly.empty:
        return row
    rows = [[_entity_name(results, e), r["nhs_net_cost_base"], r["qalys_base"], r["cost_per_qaly_base"],
             r["cost_per_qaly_p05"], r["cost_per_qaly_p95"], r["p_cost_effective_at_dhsc_15k"],
             r["p_cost_effective_at_nice_20k"], r["p_cost_effective_at_nice_30k"]]
            for e, r in per_qaly.iterrows()]
    return _table(ws, row, 1, "NHS cost per QALY gained (NHS costs minus NHS cash savings; base case, "
                  "interval and chances over draws)",
                  ["Programme", "NHS net cost", "QALYs gained", "Cost per QALY", "5th percentile",
                   "95th percentile", "P(< £15k)", "P(< £20k)", "P(< £30k)"], rows,
                  [None, MONEY, "#,##0.0", MONEY, MONEY, MONEY, PROBABILITY, PROBABILITY, PROBABILITY])


def _parameters_sheet(ws: Worksheet, results: Results) -> None:
    row = _header(ws, results, "Parameters used",
                  "Every input number with its uncertainty, unit, price year (money only) and source. "
                  "Money values are in their own price year here; the model converts them to the price "
                  "year above.")
    table = results.parameters
    rows = [] if table is None else [
        [getattr(r, "label", "") or r.name, r.name, float(r.value), r.distribution, r.unit,
         r.price_year or None, r.source, r.notes or None, r.file or None, getattr(r, "basis", None) or None]
        for r in table.itertuples()]
    _table(ws, row, 1, f"Parameters ({len(rows)})",
           ["Parameter", "Name (code)", "Value", "Distribution", "Unit", "Price year", "Source", "Notes",
            "File", "Basis"], rows,
           [None, None, "General", None, None, None, None, None, None, None], autofilter=True)
    _widths(ws, {"A": 44, "B": 30, "C": 12, "D": 30, "E": 28, "F": 11, "G": 70, "H": 40, "I": 22, "J": 30})


# --- charts ----------------------------------------------------------------------------------------


def _chart_anchor(row: int, first_column: int, last_column: int) -> TwoCellAnchor:
    """A chart spanning columns ``first_column`` to ``last_column`` (1-based, whole) and the
    :data:`CHART_ROWS` - 1 rows from ``row``: it moves and sizes with its cells, so it stays inside the
    sheet's printed width and above the page break, whatever the column widths."""
    gap = 0 if first_column == 1 else 180_000  # EMU (0.5 cm) between two charts side by side
    return TwoCellAnchor(editAs="twoCell",
                         _from=AnchorMarker(col=first_column - 1, colOff=gap, row=row - 1, rowOff=0),
                         to=AnchorMarker(col=last_column, colOff=0, row=row - 1 + CHART_ROWS - 1, rowOff=0))


def _column_cm(width: float) -> float:
    """Printed width of a column ``width`` characters wide (Excel: 7 pixels a character plus 5, 96 dpi)."""
    return (width * 7 + 5) / 96 * 2.54


def _charts(summary: Worksheet, layout: SummaryLayout, sharing_ws: Worksheet, bar_rows: tuple[int, int, int],
            yearly_ws: Worksheet, band_rows: tuple[int, int, int], results: Results, sharing) -> None:
    """Native Excel charts on the Summary sheet, drawing on the data blocks of the other sheets: side by
    side in the chart block, each half the sheet's printed width, so both print whole on page 1."""
    info = results.info
    total_cm = sum(_column_cm(w) for w in layout.widths)
    chart_width = total_cm / 2 - 0.4  # informative only: the anchors fix the size
    second, left = len(layout.widths), 0.0
    for i, w in enumerate(layout.widths, start=1):  # the first column starting past the middle
        if left >= total_cm / 2:
            second = i
            break
        left += _column_cm(w)
    second = min(second, len(layout.widths))

    heading, first, last = bar_rows
    bar = BarChart()
    bar.type = "bar"  # horizontal bars: sector names stay readable
    bar.grouping = "clustered"
    bar.y_axis.title = f"{info.currency} million, {info.price_year} prices, discounted"
    bar.y_axis.number_format = MONEY
    bar.x_axis.title = None
    values = []
    if last >= first:
        data = Reference(sharing_ws, min_col=2, max_col=3, min_row=heading, max_row=last)
        bar.add_data(data, titles_from_data=True)
        bar.set_categories(Reference(sharing_ws, min_col=1, min_row=first, max_row=last))
        values = [sharing_ws.cell(r, c).value for r in range(first, last + 1) for c in (2, 3)]
    bar.height, bar.width = CHART_HEIGHT_CM, chart_width
    plain_chart(bar, values=values, bar=True, title=f"Net position by sector ({sharing.entity}, mean PV)")
    summary.add_chart(bar, _chart_anchor(layout.chart_row, 1, second - 1))

    heading, first, last = band_rows
    col = len(YEARLY_COLUMNS) + 2  # the band table's first column (Year)
    line = LineChart()
    line.y_axis.title = f"{info.currency} million, {info.price_year} prices"
    line.y_axis.number_format = MONEY
    line.x_axis.title = "Year (0 = first year of delivery)"
    line.add_data(Reference(yearly_ws, min_col=col + 1, max_col=col + 4, min_row=heading, max_row=last),
                  titles_from_data=True)
    line.set_categories(Reference(yearly_ws, min_col=col, min_row=first, max_row=last))
    for series, dash in zip(line.series, ("solid", "dash", "sysDot", "dash"), strict=False):
        series.graphicalProperties.line.dashStyle = dash
        series.smooth = False
    line.height, line.width = CHART_HEIGHT_CM, chart_width
    plain_chart(line, values=[yearly_ws.cell(r, c).value for r in range(first, last + 1)
                              for c in range(col + 1, col + 5)],
                title=f"Cumulative discounted net, portfolio ({info.perspective} perspective)")
    summary.add_chart(line, _chart_anchor(layout.chart_row, second, len(layout.widths)))


__all__ = ["write_results_workbook", "header_values", "read_header", "find_section", "SHEETS",
           "HEADER_FIELDS", "SUMMARY_COLUMNS", "SHARING_COLUMNS", "WORKBOOK_FILE"]
