"""The results workbook: one ``.xlsx`` the partners round the table can open, filter and chart.

:func:`write_results_workbook` writes the sheets

- ``Summary``: the plain-English headline (the same sentences as the HTML report), the headline table
  per intervention and for the portfolio (:meth:`Results.headline`, every column), and two native Excel
  charts: net position by sector (bar) and cumulative discounted net cash flow (line);
- ``Cost sharing``: the cost-sharing table (:func:`~.sharing.cost_sharing`), every sector and
  the total row, and the data behind the bar chart;
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
:func:`read_header` reads it back.

Numbers are written as numbers (with number formats), never as formatted text; an undefined value
(NaN: a ratio where nothing is invested, a payback that never happens) is an empty cell. The workbook
goes to a temporary file in the target folder and is moved into place with ``os.replace``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from roi_engine.atomic import atomic_output
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.outputs.formatting import money, share
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, Results
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
    if sensitivity:
        ws = wb.create_sheet("Sensitivity")
        row = _header(ws, results, "Sensitivity and value of information",
                      "Which assumptions the answer hangs on (roi-engine sensitivity); full tables in "
                      "sensitivity_<method>.csv beside this workbook.")
        for section in sensitivity:
            table = section.table
            row = _table(ws, row, 1, section.title, list(table.columns),
                         table.itertuples(index=False, name=None), note=section.note)

    _text_is_never_a_formula(wb)
    with atomic_output(path) as temporary:
        wb.save(temporary)
    return path


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


def _summary_sheet(ws: Worksheet, results: Results) -> int:
    from roi_engine.outputs.report import headline_sentences

    row = _header(ws, results, "Summary: return on investment by intervention and for the portfolio",
                  "All money: present values, discounted, in the price year above. Base case = every "
                  "parameter at its point value; mean, median and percentiles are over the draws. Empty "
                  "cell = undefined (nothing invested). Payback: first year from which the cumulative "
                  "discounted net stays >= 0.")
    ws.cell(row, 1, "Headline").font = _SECTION
    for sentence in headline_sentences(results):
        row += 1
        ws.cell(row, 1, sentence)
    row += 2
    head = results.headline()
    keys = list(SUMMARY_COLUMNS)
    names = results.entity_names()
    rows = []
    for entity, r in head.iterrows():
        name = "Portfolio (all the interventions)" if entity == PORTFOLIO else names.get(entity, entity)
        rows.append([entity, name, *[r[k] for k in keys]])
    ws.row_dimensions[row + 1].height = 45
    row = _table(ws, row, 1, "Headline table",
                 ["Intervention", "Name", *[SUMMARY_COLUMNS[k][0] for k in keys]], rows,
                 [None, None, *[SUMMARY_COLUMNS[k][1] for k in keys]])
    _widths(ws, {"A": 30, "B": 36, **{get_column_letter(c): 15 for c in range(3, 3 + len(keys))}})
    ws.cell(row, 1, "Charts").font = _SECTION
    return row + 1  # the charts go here


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
    rows = [[s, labels.get(s, s), *[t.loc[s, k] for k in keys]] for s in t.index]
    row = _table(ws, row, 1, "Cost-sharing table",
                 ["Sector", "Label", *[SHARING_COLUMNS[k][0] for k in keys]], rows,
                 [None, None, *[SHARING_COLUMNS[k][1] for k in keys]])
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
    _widths(ws, {"A": 30, "B": 30, **{get_column_letter(c): 16 for c in range(3, 3 + len(keys))}})
    ws.row_dimensions[TABLE_FIRST_ROW + 1].height = 60
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
    rows = []
    for entity in results.entities:
        for metric in UNCERTAINTY_METRICS:
            if (entity, metric) not in wide.index:
                continue
            r = wide.loc[(entity, metric)]
            rows.append([entity, metric, units.get(metric, ""), *[r.get(s, np.nan) for s in stats]])
    fmt = {"pv_costs": MONEY, "pv_benefits": MONEY, "npv": MONEY, "benefit_per_pound": RATIO,
           "net_roi": "0.00", "payback_year": YEAR, "payback_year_cash": YEAR, "pv_benefits_cash": MONEY,
           "npv_cash": MONEY}
    row = _table(ws, row, 1, "Headline metrics over draws",
                 ["Intervention", "Metric", "Unit", *STATISTIC_HEADINGS.values()], rows)
    # number formats depend on the metric (row), so set them after writing
    first = row - 2 - len(rows) + 1
    for i, r in enumerate(rows):
        for j in range(len(stats)):
            cell = ws.cell(first + i, 4 + j)
            if cell.value is not None:
                cell.number_format = fmt.get(r[1], "General")

    head = results.headline()
    rows = [[e, head.loc[e, "p_benefit_per_pound_gt_1"], head.loc[e, "p_npv_gt_0"],
             head.loc[e, "p_payback_within_horizon"]] for e in results.entities]
    row = _table(ws, row, 1, "Probabilities",
                 ["Intervention", "P(benefit per £1 > 1)", "P(NPV > 0)", "P(payback within horizon)"],
                 rows, [None, PROBABILITY, PROBABILITY, PROBABILITY])

    by_sector = tidy[tidy["sector"].isin(results.sectors) & (tidy["metric"] == "npv")]
    net = by_sector.pivot_table(index=["entity", "sector"], columns="statistic", values="value",
                                aggfunc="first")
    p_net = tidy[tidy["sector"].isin(results.sectors) & (tidy["metric"] == "p_npv_gt_0")] \
        .set_index(["entity", "sector"])["value"]
    m = results.summary.draw_metrics.sel(group=list(results.sectors))
    active = ((np.abs(m["pv_costs"].values).max(axis=0) > 0)
              | (np.abs(m["pv_benefits"].values).max(axis=0) > 0))
    rows = []
    for e, entity in enumerate(results.entities):
        for s, sector in enumerate(results.sectors):
            if not active[e, s]:
                continue
            r = net.loc[(entity, sector)]
            rows.append([entity, sector, *[r[k] for k in stats], p_net.loc[(entity, sector)]])
    _table(ws, row, 1, "Net position by sector over draws (sectors that pay or gain)",
           ["Intervention", "Sector", *[f"Net: {h.lower()}" for h in STATISTIC_HEADINGS.values()],
            "P(net > 0)"], rows, [None, None, *[MONEY] * len(stats), PROBABILITY])
    _widths(ws, {"A": 30, "B": 22, "C": 30, "D": 16, "E": 16, "F": 16, "G": 16, "H": 16, "I": 14})


def _parameters_sheet(ws: Worksheet, results: Results) -> None:
    row = _header(ws, results, "Parameters used",
                  "Every input number with its uncertainty, unit, price year (money only) and source. "
                  "Money values are in their own price year here; the model converts them to the price "
                  "year above.")
    table = results.parameters
    rows = [] if table is None else [
        [r.name, float(r.value), r.distribution, r.unit, r.price_year or None, r.source, r.notes or None,
         r.file or None, getattr(r, "basis", None) or None] for r in table.itertuples()]
    _table(ws, row, 1, f"Parameters ({len(rows)})",
           ["Name", "Value", "Distribution", "Unit", "Price year", "Source", "Notes", "File", "Basis"], rows,
           [None, "General", None, None, None, None, None, None, None], autofilter=True)
    _widths(ws, {"A": 36, "B": 14, "C": 40, "D": 28, "E": 11, "F": 70, "G": 40, "H": 24, "I": 30})


# --- charts ----------------------------------------------------------------------------------------


def _charts(summary: Worksheet, anchor_row: int, sharing_ws: Worksheet, bar_rows: tuple[int, int, int],
            yearly_ws: Worksheet, band_rows: tuple[int, int, int], results: Results, sharing) -> None:
    """Native Excel charts on the Summary sheet, drawing on the data blocks of the other sheets."""
    info = results.info
    heading, first, last = bar_rows
    bar = BarChart()
    bar.type = "bar"  # horizontal bars: sector names stay readable
    bar.grouping = "clustered"
    bar.title = f"Net position by sector ({sharing.entity}, mean PV, {info.currency} {info.price_year})"
    bar.y_axis.title = f"{info.currency}, {info.price_year} prices, discounted"
    bar.y_axis.number_format = MONEY
    bar.x_axis.title = "Sector"
    if last >= first:
        data = Reference(sharing_ws, min_col=2, max_col=3, min_row=heading, max_row=last)
        bar.add_data(data, titles_from_data=True)
        bar.set_categories(Reference(sharing_ws, min_col=1, min_row=first, max_row=last))
    bar.height, bar.width = 9, 18
    _show_axes(bar)
    summary.add_chart(bar, f"A{anchor_row}")

    heading, first, last = band_rows
    col = len(YEARLY_COLUMNS) + 2  # the band table's first column (Year)
    line = LineChart()
    line.title = f"Cumulative discounted net, portfolio ({info.perspective} perspective)"
    line.y_axis.title = f"{info.currency}, {info.price_year} prices"
    line.y_axis.number_format = MONEY
    line.x_axis.title = "Year (0 = first year of delivery)"
    line.add_data(Reference(yearly_ws, min_col=col + 1, max_col=col + 4, min_row=heading, max_row=last),
                  titles_from_data=True)
    line.set_categories(Reference(yearly_ws, min_col=col, min_row=first, max_row=last))
    for series, dash in zip(line.series, ("solid", "dash", "sysDot", "dash"), strict=False):
        series.graphicalProperties.line.dashStyle = dash
        series.smooth = False
    line.height, line.width = 9, 18
    _show_axes(line)
    summary.add_chart(line, f"H{anchor_row}")


def _show_axes(chart) -> None:
    # openpyxl 3.1 writes <c:delete val="1"/> unless told otherwise, which hides the axes in Excel.
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False


__all__ = ["write_results_workbook", "header_values", "read_header", "find_section", "SHEETS",
           "HEADER_FIELDS", "SUMMARY_COLUMNS", "SHARING_COLUMNS", "WORKBOOK_FILE"]
