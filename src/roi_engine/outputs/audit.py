"""The audit workbook: the base case of every programme and of the portfolio as live Excel formulas.

An auditor opens it, clicks any figure and sees the formula behind it, changes one input cell and
sees the answer move. The formulas follow :mod:`roi_engine.model.engine` step by step (docs/audit.md):

- ``Parameters``: every parameter the scenario uses, at its point value in its own price year, the
  GDP-deflator factor to the scenario's price year, and the converted value (a defined name
  ``p_<parameter>`` per row, which the programme sheets use);
- ``Discounting``: the discount scheme's schedules as data, and the factor of each year by formula;
- one sheet per programme: inputs, participants by cohort, avoided outcomes by cohort and year,
  consequences over their lag profiles, costs, flows by sector and kind, discounted flows, present
  values by sector and kind, NPV, benefit per £1 and payback year;
- ``Portfolio``: present values summed over the programmes, and the cost-sharing table under the
  scenario's rule.

The one figure written as a value where the engine computes it is the overlap adjustment (units of
an outcome two programmes both prevent, removed once; docs/method.md): it is written per year with a
note, so a changed input moves everything except that adjustment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from roi_engine.atomic import atomic_output
from roi_engine.errors import InputError
from roi_engine.inputs.accounting import KINDS, perspective_weights
from roi_engine.inputs.money import VALUE_TYPE_RATE_KIND
from roi_engine.inputs.sharing_rule import default_contributors
from roi_engine.model.engine import intervention_flows
from roi_engine.model.evaluation import Model
from roi_engine.model.markov import outcome_states
from roi_engine.model.overlap import remove_double_counting
from roi_engine.model.payback import TOLERANCE
from roi_engine.outputs.audit_markov import markov_section

FIRST_YEAR_COLUMN = 4
"""Year ``y`` of the horizon sits in column ``FIRST_YEAR_COLUMN + y`` on every sheet (D = year 0)."""
BOLD = Font(bold=True)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
VALUE_FILL = PatternFill("solid", fgColor="E2EFDA")
MONEY_FORMAT = "#,##0.00"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """``text`` that a spreadsheet will show as text, never run as a formula.

    A leading ``=``, ``+``, ``-``, ``@``, tab or carriage return is escaped with an apostrophe
    (OWASP, "CSV injection"); the cell is also typed as a string by :func:`put_text`.
    """
    text = str(text)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def year_column(year: int) -> str:
    """Column letter of horizon year ``year``."""
    return get_column_letter(FIRST_YEAR_COLUMN + year)


def parameter_name(name: str) -> str:
    """The defined name of a parameter: ``p_`` and the name with anything but letters, digits,
    underscores and dots replaced by ``_``."""
    return "p_" + re.sub(r"[^A-Za-z0-9_.]", "_", name)


@dataclass
class Sheet:
    """A worksheet written row by row; ``row`` is the next free row."""

    ws: object
    row: int = 1
    money_rows: set[int] = field(default_factory=set)

    def text(self, row: int, column: int, value, *, bold: bool = False) -> None:
        cell = self.ws.cell(row=row, column=column)
        cell.value = safe_text(value)
        cell.data_type = "s"
        if bold:
            cell.font = BOLD

    def number(self, row: int, column: int, value: float, *, fill=INPUT_FILL) -> None:
        cell = self.ws.cell(row=row, column=column, value=float(value))
        if fill is not None:
            cell.fill = fill

    def formula(self, row: int, column: int, formula: str, *, number_format: str | None = None) -> None:
        cell = self.ws.cell(row=row, column=column, value="=" + formula)
        if number_format:
            cell.number_format = number_format

    def heading(self, title: str) -> int:
        self.row += 1
        self.text(self.row, 1, title, bold=True)
        self.row += 1
        return self.row - 1

    def label_row(self, label: str, detail: str = "") -> int:
        r = self.row
        self.text(r, 1, label)
        if detail:
            self.text(r, 2, detail)
        if "GBP" in detail:
            self.money_rows.add(r)
        self.row += 1
        return r

    def finish(self) -> None:
        """Money rows shown as #,##0.00 (the cells keep full precision)."""
        for r in self.money_rows:
            for cell in self.ws[r][2:]:
                cell.number_format = MONEY_FORMAT


def _note(sheet: Sheet, title: str, lines: list[str], width: int = 13) -> None:
    """Title in A1 and the how-to-read note in A2, wrapped over ``width`` columns."""
    sheet.text(1, 1, title, bold=True)
    sheet.text(2, 1, "How to read: " + " ".join(lines))
    sheet.ws.cell(row=2, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    sheet.ws.row_dimensions[2].height = 80
    sheet.row = 4


def _widths(ws, n_columns: int) -> None:
    ws.column_dimensions["A"].width = 55
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 14
    for c in range(FIRST_YEAR_COLUMN, FIRST_YEAR_COLUMN + n_columns):
        ws.column_dimensions[get_column_letter(c)].width = 15


def _years_header(sheet: Sheet, n_years: int) -> int:
    r = sheet.label_row("year", "0 = first year of delivery")
    for y in range(n_years):
        sheet.number(r, FIRST_YEAR_COLUMN + y, y, fill=None)
        sheet.ws.cell(row=r, column=FIRST_YEAR_COLUMN + y).font = BOLD
        sheet.ws.cell(row=r, column=FIRST_YEAR_COLUMN + y).number_format = "0"
    return r


# --- Parameters -------------------------------------------------------------------------------------


def _parameters_sheet(wb: Workbook, model: Model) -> None:
    sheet = Sheet(wb.create_sheet("Parameters"))
    price_year = model.scenario.price_year
    _note(sheet, "Parameters at their point values (the base case)", [
        "each row is one parameter the scenario uses. Column B is the point value in the parameter's",
        "own price year (yellow: an input you may change); E is the HM Treasury GDP-deflator factor to",
        f"the scenario's price year {price_year} (1 for a number that is not money); F = B x E is what",
        "the programme sheets use, through the defined name in column I (p_<parameter>)."])
    headers = ("parameter", "point value", "unit", "price year", "factor to scenario prices",
               f"value in {price_year} prices", "source", "notes", "defined name")
    r = sheet.row
    for c, h in enumerate(headers, start=1):
        sheet.text(r, c, h, bold=True)
    for parameter, factor in zip(model.parameters, model.price_factors, strict=True):
        r += 1
        name = parameter_name(parameter.name)
        sheet.text(r, 1, parameter.name)
        sheet.number(r, 2, parameter.value)
        sheet.text(r, 3, parameter.unit)
        sheet.text(r, 4, str(parameter.price_year) if parameter.price_year else "not money")
        sheet.number(r, 5, factor, fill=VALUE_FILL)
        sheet.formula(r, 6, f"B{r}*E{r}")
        sheet.text(r, 7, parameter.source)
        sheet.text(r, 8, parameter.notes)
        sheet.text(r, 9, name)
        wb.defined_names[name] = DefinedName(name, attr_text=f"Parameters!$F${r}")
    sheet.ws.column_dimensions["A"].width = 40
    sheet.ws.column_dimensions["G"].width = 60


# --- Discounting ------------------------------------------------------------------------------------


def _discounting_sheet(wb: Workbook, model: Model) -> dict[str, int]:
    """Write the schedules and the yearly factors; return the row of each rate kind's factors."""
    sheet = Sheet(wb.create_sheet("Discounting"))
    scheme = model.scenario.discounting
    n_years = model.scenario.horizon
    _note(sheet, f"Discounting: {scheme.describe()}", [
        "the table gives each schedule as data (yellow: the rate of each band of years, a fraction per",
        "year; change one to see every present value move). Below, the rate of each year is looked up",
        "in its band and D(0) = 1, D(t) = D(t-1) / (1 + r(t)) (Green Book). Costs, fiscal and economic",
        "flows use the standard rate; social (health and wellbeing) values the health rate."])
    r = sheet.row
    for c, h in enumerate(("rate kind", "from year", "rate (fraction per year)"), start=1):
        sheet.text(r, c, h, bold=True)
    ranges: dict[str, tuple[int, int]] = {}
    for kind, (starts, rates) in scheme.bands.items():
        first = r + 1
        for start, rate in zip(starts, rates, strict=True):
            r += 1
            sheet.text(r, 1, kind)
            sheet.number(r, 2, int(start), fill=None)
            sheet.number(r, 3, rate)
        ranges[kind] = (first, r)
        wb.defined_names[f"discount_rate_{kind}"] = DefinedName(
            f"discount_rate_{kind}", attr_text=f"Discounting!$C${first}:$C${r}")
    sheet.text(r + 1, 1, f"source: {scheme.source}" if scheme.source else "source: roi_engine data")
    sheet.row = r + 3
    year_row = _years_header(sheet, n_years)
    factor_rows = {}
    for kind, (first, last) in ranges.items():
        rate_row = sheet.label_row(f"{kind} rate in the year")
        factor_row = sheet.label_row(f"{kind} discount factor")
        for y in range(n_years):
            col, cell_year = FIRST_YEAR_COLUMN + y, f"{year_column(y)}${year_row}"
            sheet.formula(rate_row, col, f"LOOKUP({cell_year},$B${first}:$B${last},$C${first}:$C${last})")
            if y == 0:
                sheet.formula(factor_row, col, "1")
            else:
                sheet.formula(factor_row, col,
                              f"{year_column(y - 1)}{factor_row}/(1+{year_column(y)}{rate_row})")
        factor_rows[kind] = factor_row
    return factor_rows


# --- one programme ------------------------------------------------------------------------------------


@dataclass
class ProgrammeCells:
    """Where a programme sheet keeps what the portfolio sheet sums."""

    sheet: str
    pv: dict[tuple[int, int], str]
    net_row: int


def _ref(sheet: Sheet, label: str, ref, spec_id: str) -> str:
    """An input row: a parameter by its defined name, or a number given in the intervention file."""
    r = sheet.row
    sheet.text(r, 1, label)
    if isinstance(ref, str):
        sheet.text(r, 2, f"parameter {ref}")
        sheet.formula(r, 3, parameter_name(ref))
    else:
        sheet.text(r, 2, f"number in interventions/{spec_id}.toml")
        sheet.number(r, 3, float(ref))
    sheet.row += 1
    return f"$C${r}"


def _programme_sheet(wb: Workbook, model: Model, index: int, overlap_units: np.ndarray,
                     discount_rows: dict[str, int]) -> ProgrammeCells:
    plan = model.plans[index]
    spec, n_years = plan.spec, plan.n_years
    title = spec.id[:31]
    sheet = Sheet(wb.create_sheet(title))
    sectors = model.scenario.sectors.names
    weights = perspective_weights(model.scenario.perspective,
                                  np.array([s.public_body for s in model.scenario.sectors.sectors]))
    price_year = model.scenario.price_year
    _note(sheet, f"{spec.name} ({spec.id}): base case, GBP in {price_year} prices", [
        "read top to bottom. Inputs (column C) come from the Parameters sheet or the intervention file;",
        "years run across from column D (year 0). Participants per cohort = population x eligible share",
        "x reach x uptake. For each outcome, one cohort avoids participants x reduction x additionality",
        "x persistence(k) in its k-th year; a cohort starting in year j is that row shifted j years;",
        "consequences spread the avoided units over their lag profile and multiply by the value per",
        "unit. Costs follow each cohort over the cost line's cohort-years. Flows are then discounted",
        "(Discounting sheet) and summed into present values by sector and kind. Money is undiscounted",
        "until the 'discounted' rows."])
    year_row = _years_header(sheet, n_years)
    sheet.heading("Inputs")
    r = sheet.row
    sheet.text(r, 1, f"persons aged {spec.population.ages[0]}-{spec.population.ages[1]} in the area")
    sheet.text(r, 2, f"ONS mid-2022 population estimates, area {model.scenario.area.code}")
    sheet.number(r, 3, plan.population)
    population = f"$C${r}"
    sheet.row += 1
    eligible = _ref(sheet, "eligible share", spec.population.eligible_share, spec.id)
    reach = _ref(sheet, "reach", plan.reach, spec.id)
    uptake = _ref(sheet, "uptake", plan.uptake, spec.id)

    sheet.heading("Participants")
    delivery_row = sheet.label_row("cohort starts in the year (1 = yes)", "scenario delivery years")
    for y in range(n_years):
        sheet.number(delivery_row, FIRST_YEAR_COLUMN + y, plan.delivery[y])
    per_cohort_row = sheet.label_row("participants per cohort", "persons")
    sheet.formula(per_cohort_row, 3, f"{population}*{eligible}*{reach}*{uptake}")
    per_cohort = f"$C${per_cohort_row}"
    participants_row = sheet.label_row("participants starting in the year", "persons")
    for y in range(n_years):
        c = year_column(y)
        sheet.formula(participants_row, FIRST_YEAR_COLUMN + y, f"{per_cohort}*{c}${delivery_row}")
    cohorts = range(n_years)  # every year, so a changed delivery row moves outcomes as well as costs

    def open_cohorts(target_row: int, single_row: int, scale: str = "") -> None:
        """``target[y] = scale x sum_j delivery[j] x single[y - j]``: the open-cohort convolution."""
        for y in range(n_years):
            terms = [f"{year_column(j)}${delivery_row}*{year_column(y - j)}{single_row}"
                     for j in range(y + 1)]
            body = "+".join(terms)
            sheet.formula(target_row, FIRST_YEAR_COLUMN + y, f"{scale}*({body})" if scale else body)

    components: dict[tuple[int, int], list[int]] = {}
    sheet.heading("Costs (what each payer spends, undiscounted)")
    for line, cost in enumerate(spec.costs, start=1):
        label = cost.label or f"cost line {line}"
        per = "participant" if cost.per_participant is not None else "cohort"
        amount = _ref(sheet, f"{label}: amount per {per}", cost.amount, spec.id)
        profile_row = sheet.label_row(f"{label}: cohort-years with this cost (1 = yes)",
                                      "k = years since the cohort started")
        for k in range(n_years):
            sheet.number(profile_row, FIRST_YEAR_COLUMN + k, 1.0 if k in cost.years else 0.0)
        yearly_row = sheet.label_row(f"{label}: cost paid by {cost.payer}", "all cohorts, GBP")
        scale = f"{amount}*{per_cohort}" if cost.per_participant is not None else amount
        open_cohorts(yearly_row, profile_row, scale)
        components.setdefault((sectors.index(cost.payer), KINDS.index("cost")), []).append(yearly_row)

    for o, outcome in enumerate(spec.outcomes):
        sheet.heading(f"Outcome: {outcome.id} ({outcome.unit})")
        form = outcome.effect.form
        baseline = (_ref(sheet, "baseline per participant-year", outcome.baseline, spec.id)
                    if outcome.baseline is not None else None)
        effect = _ref(sheet, f"effect ({form.replace('_', ' ')})", outcome.effect.ref, spec.id)
        deadweight = _ref(sheet, "deadweight", outcome.deadweight, spec.id)
        displacement = _ref(sheet, "displacement", outcome.displacement, spec.id)
        attribution = _ref(sheet, "attribution", outcome.attribution, spec.id)
        keep = outcome.persistence
        years_full = _ref(sheet, "persistence: years at full effect", keep.years_full, spec.id)
        fade = _ref(sheet, "persistence: share of effect lost each later year", keep.fade, spec.id)
        reduction_row = sheet.label_row("avoided per participant-year at full effect", _FORM_NOTES[form])
        sheet.formula(reduction_row, 3, _reduction_formula(form, effect, baseline))
        additionality_row = sheet.label_row(
            "additionality", "(1 - deadweight)(1 - displacement)(1 - attribution)")
        sheet.formula(additionality_row, 3, f"(1-{deadweight})*(1-{displacement})*(1-{attribution})")
        persistence_row = sheet.label_row("persistence: share of the effect present",
                                          "column = years since the cohort started")
        single_row = sheet.label_row("avoided by one cohort", "by years since it started")
        for k in range(n_years):
            col = FIRST_YEAR_COLUMN + k
            sheet.formula(persistence_row, col, f"IF({year_column(k)}${year_row}<{years_full},1,"
                                                f"(1-{fade})^({year_column(k)}${year_row}-{years_full}+1))")
            sheet.formula(single_row, col, f"{per_cohort}*$C${reduction_row}*$C${additionality_row}"
                                           f"*{year_column(k)}{persistence_row}")
        cohort_rows = []
        for j in cohorts:
            cr = sheet.label_row(f"avoided by the cohort starting in year {j}", "by calendar year")
            for y in range(j, n_years):
                sheet.formula(cr, FIRST_YEAR_COLUMN + y,
                              f"{year_column(j)}${delivery_row}*{year_column(y - j)}{single_row}")
            cohort_rows.append(cr)
        total_row = sheet.label_row("avoided, all cohorts, before overlap", outcome.unit)
        overlap_row = sheet.label_row("overlap adjustment (value from the engine)", outcome.unit)
        adjusted_row = sheet.label_row("avoided, all cohorts", outcome.unit)
        for y in range(n_years):
            c, col = year_column(y), FIRST_YEAR_COLUMN + y
            sheet.formula(total_row, col, "+".join(f"{c}{cr}" for cr in cohort_rows) or "0")
            sheet.number(overlap_row, col, overlap_units[:, o][y], fill=VALUE_FILL)
            sheet.formula(adjusted_row, col, f"{c}{total_row}-{c}{overlap_row}")
        note = [n for n in model.overlap_notes if spec.id in n and f"'{outcome.id}'" in n]
        cell = sheet.ws.cell(row=overlap_row, column=2)
        if note:
            cell.value = safe_text("overlap applies: " + "; ".join(note) + ". These units are counted "
                                   "once in the portfolio; computed by the engine, so they do not move "
                                   "when an input changes.")
            cell.comment = Comment(cell.value, "roi-engine")
        else:
            cell.value = "no overlap: no other programme changes this outcome in the same people"
        for consequence in outcome.consequences:
            sector, kind = consequence.sector, consequence.value_type
            what = consequence.label or f"{sector} {kind}"
            factors = [_ref(sheet, f"{what}: value per unit, factor {n + 1}", ref, spec.id)
                       for n, ref in enumerate(consequence.factors)]
            value_row = sheet.label_row(f"{what}: value per {outcome.unit}", "product of the factors, GBP")
            sheet.formula(value_row, 3, "*".join(factors))
            lag_row = sheet.label_row(f"{what}: lag profile", "share of the value k years after the outcome")
            lag = consequence.lag[:n_years]
            for k in range(n_years):
                sheet.number(lag_row, FIRST_YEAR_COLUMN + k, lag[k] if k < len(lag) else 0.0)
            money_row = sheet.label_row(f"{what}: value to {sector} ({kind})", "GBP, undiscounted")
            for y in range(n_years):
                terms = [f"{year_column(k)}${lag_row}*{year_column(y - k)}{adjusted_row}"
                         for k in range(y + 1)]
                sheet.formula(money_row, FIRST_YEAR_COLUMN + y, f"$C${value_row}*({'+'.join(terms)})")
            components.setdefault((sectors.index(sector), KINDS.index(kind)), []).append(money_row)

    markov_column = len(spec.outcomes)  # Markov states' columns follow the outcomes' (model/engine.py)
    for m, block in enumerate(spec.markov):  # state-transition models: outputs/audit_markov.py
        states = outcome_states(block)
        linked = (overlap_units[:, markov_column + states.index(block.outcome.state)]
                  if block.outcome is not None else None)
        written = markov_section(sheet, spec.id, m, block, n_years=n_years,
                                 first_column=FIRST_YEAR_COLUMN, column=year_column, ref_row=_ref,
                                 per_cohort=per_cohort, open_cohorts=open_cohorts, sectors=sectors,
                                 overlap_units=linked, overlap_notes=model.overlap_notes,
                                 fill=VALUE_FILL)
        markov_column += len(states)
        for sector, kind, row in written.value_rows:
            components.setdefault((sector, kind), []).append(row)

    cells = sorted(components)
    sheet.heading("Flows by sector and kind (GBP, undiscounted)")
    flow_rows = {}
    for cell in cells:
        fr = sheet.label_row(f"{sectors[cell[0]]}: {KINDS[cell[1]]}", "GBP")
        for y in range(n_years):
            c = year_column(y)
            sheet.formula(fr, FIRST_YEAR_COLUMN + y, "+".join(f"{c}{r}" for r in components[cell]))
        flow_rows[cell] = fr
    sheet.heading("Discount factors (from the Discounting sheet)")
    factor_rows = {}
    for kind, source_row in discount_rows.items():
        fr = sheet.label_row(f"{kind} rate")
        for y in range(n_years):
            sheet.formula(fr, FIRST_YEAR_COLUMN + y, f"Discounting!{year_column(y)}{source_row}")
        factor_rows[kind] = fr
    sheet.heading("Discounted flows (GBP); column C: 1 if the perspective counts the cell")
    discounted_rows = {}
    for cell in cells:
        dr = sheet.label_row(f"{sectors[cell[0]]}: {KINDS[cell[1]]}, discounted", "GBP")
        sheet.number(dr, 3, weights[cell], fill=VALUE_FILL)
        rate_row = factor_rows[VALUE_TYPE_RATE_KIND[KINDS[cell[1]]]]
        for y in range(n_years):
            c = year_column(y)
            sheet.formula(dr, FIRST_YEAR_COLUMN + y, f"{c}{flow_rows[cell]}*{c}${rate_row}")
        discounted_rows[cell] = dr
    net_row = sheet.label_row("net benefit as the perspective counts it", "discounted, GBP")
    cumulative_row = sheet.label_row("cumulative net benefit", "discounted, GBP")
    reached_row = sheet.label_row("paid back from this year (1 = yes)",
                                  "cumulative net >= 0 from here to the horizon, once anything is spent")
    last = year_column(n_years - 1)
    for y in range(n_years):
        c, col = year_column(y), FIRST_YEAR_COLUMN + y
        terms = [("-" if k == 0 else "+") + f"$C${dr}*{c}{dr}" for (s, k), dr in discounted_rows.items()]
        sheet.formula(net_row, col, "".join(terms).lstrip("+") or "0")
        sheet.formula(cumulative_row, col, f"{c}{net_row}" if y == 0
                      else f"{year_column(y - 1)}{cumulative_row}+{c}{net_row}")
        sheet.formula(reached_row, col, _stays_paid_back(c, last, cumulative_row, net_row))

    sheet.heading(f"Present values by sector and kind (GBP, {price_year} prices, discounted)")
    r = sheet.row
    sheet.text(r, 1, "sector", bold=True)
    for k, kind in enumerate(KINDS):
        sheet.text(r, FIRST_YEAR_COLUMN + k, kind, bold=True)
    pv_cells = {}
    for s, name in enumerate(sectors):
        r += 1
        sheet.text(r, 1, name)
        sheet.money_rows.add(r)
        for k in range(len(KINDS)):
            if (s, k) in discounted_rows:
                dr = discounted_rows[(s, k)]
                sheet.formula(r, FIRST_YEAR_COLUMN + k, f"SUM({year_column(0)}{dr}:{last}{dr})")
                pv_cells[(s, k)] = f"{year_column(k)}{r}"
    sheet.text(r + 1, 1, "a blank cell: the programme has no flow there")
    sheet.row = r + 2
    sheet.heading(f"Headline (perspective: {model.scenario.perspective})")
    cost_terms = [f"$C${dr}*{pv_cells[c]}" for c, dr in discounted_rows.items() if c[1] == 0]
    benefit_terms = [f"$C${dr}*{pv_cells[c]}" for c, dr in discounted_rows.items() if c[1] != 0]
    costs_row = sheet.label_row("present value of costs", "GBP")
    sheet.formula(costs_row, 3, "+".join(cost_terms) or "0")
    benefits_row = sheet.label_row("present value of benefits", "GBP")
    sheet.formula(benefits_row, 3, "+".join(benefit_terms) or "0")
    npv_row = sheet.label_row("net present value", "benefits - costs, GBP")
    sheet.formula(npv_row, 3, f"C{benefits_row}-C{costs_row}")
    bcr_row = sheet.label_row("benefit per £1 invested", "benefits / costs (not the net ROI)")
    sheet.formula(bcr_row, 3, f'IF(C{costs_row}>0,C{benefits_row}/C{costs_row},"no cost")')
    payback_row = sheet.label_row("payback year", "first year from which cumulative net stays >= 0")
    sheet.formula(payback_row, 3, _payback_formula(f"C{costs_row}", reached_row, last))
    _widths(sheet.ws, max(n_years, len(KINDS)))
    sheet.ws.freeze_panes = "D4"
    sheet.finish()
    return ProgrammeCells(sheet=title, pv=pv_cells, net_row=net_row)


_FORM_NOTES = {
    "relative_risk": "baseline x (1 - RR)",
    "odds_ratio": "baseline x (1 - RR), RR = OR / (1 - p + p OR), p = baseline",
    "relative_reduction": "baseline x reduction",
    "absolute": "the effect itself (change per participant-year)",
}


def _reduction_formula(form: str, effect: str, baseline: str | None) -> str:
    if form == "relative_risk":
        return f"{baseline}*(1-{effect})"
    if form == "odds_ratio":
        return f"{baseline}*(1-{effect}/(1-{baseline}+{baseline}*{effect}))"
    if form == "relative_reduction":
        return f"{baseline}*{effect}"
    return effect


def _stays_paid_back(c: str, last: str, cumulative_row: int, net_row: int) -> str:
    """1 where the cumulative net stays >= 0 from column ``c`` to the horizon and something has been
    spent or gained by then (roi_engine.model.payback: the same definition, the same tolerance)."""
    first = year_column(0)
    return (f"IF(AND(MIN({c}{cumulative_row}:{last}{cumulative_row})>=-{TOLERANCE:g},"
            f'COUNTIF({first}{net_row}:{c}{net_row},"<>0")>0),1,0)')


def _payback_formula(costs: str, reached_row: int, last: str) -> str:
    first = year_column(0)
    return (f'IF({costs}>0,IFERROR(MATCH(1,{first}{reached_row}:{last}{reached_row},0)-1,'
            f'"not within the horizon"),"no cost")')


# --- portfolio ------------------------------------------------------------------------------------------


def _portfolio_sheet(wb: Workbook, model: Model, programmes: list[ProgrammeCells]) -> None:
    sheet = Sheet(wb.create_sheet("Portfolio"))
    scenario = model.scenario
    sectors = scenario.sectors.names
    n_years = scenario.horizon
    rule = scenario.sharing
    weights = perspective_weights(scenario.perspective,
                                  np.array([s.public_body for s in scenario.sectors.sectors]))
    _note(sheet, f"Portfolio: {scenario.spec.name}; GBP in {scenario.price_year} prices, discounted", [
        "present values are the sums of the programme sheets' present values. The cost-sharing table",
        f"applies the scenario's rule ('{rule.rule}') to the costs and cash-releasing (fiscal +",
        "economic) benefits the perspective counts; social value is shown but never pays a share."])
    r = sheet.row
    sheet.text(r, 1, "present value by sector", bold=True)
    for k, kind in enumerate(KINDS):
        sheet.text(r, FIRST_YEAR_COLUMN + k, kind, bold=True)
        sheet.text(r, FIRST_YEAR_COLUMN + len(KINDS) + k, f"counted: {kind} (1/0)", bold=True)
        sheet.ws.cell(row=r, column=FIRST_YEAR_COLUMN + len(KINDS) + k).alignment = Alignment(wrap_text=True)
    sheet.ws.row_dimensions[r].height = 30
    pv_rows = {}
    for s, name in enumerate(sectors):
        r += 1
        sheet.text(r, 1, name)
        sheet.money_rows.add(r)
        for k in range(len(KINDS)):
            parts = [f"'{p.sheet}'!{p.pv[(s, k)]}" for p in programmes if (s, k) in p.pv]
            sheet.formula(r, FIRST_YEAR_COLUMN + k, "+".join(parts) or "0")
            sheet.number(r, FIRST_YEAR_COLUMN + len(KINDS) + k, weights[s, k], fill=VALUE_FILL)
        pv_rows[name] = r
    first_pv, last_pv = pv_rows[sectors[0]], pv_rows[sectors[-1]]
    sheet.row = r + 1

    def col(k: int, counted: bool = False) -> str:
        return year_column(k + (len(KINDS) if counted else 0))

    def counted(k: int, row: int) -> str:
        return f"{col(k)}{row}*{col(k, True)}{row}"

    sheet.heading(f"Headline (perspective: {scenario.perspective})")
    costs_row = sheet.label_row("present value of costs", "GBP")
    sheet.formula(costs_row, 3, f"SUMPRODUCT({col(0)}{first_pv}:{col(0)}{last_pv},"
                                f"{col(0, True)}{first_pv}:{col(0, True)}{last_pv})")
    benefits_row = sheet.label_row("present value of benefits", "GBP")
    sheet.formula(benefits_row, 3, f"SUMPRODUCT({col(1)}{first_pv}:{col(3)}{last_pv},"
                                   f"{col(1, True)}{first_pv}:{col(3, True)}{last_pv})")
    npv_row = sheet.label_row("net present value", "GBP")
    sheet.formula(npv_row, 3, f"C{benefits_row}-C{costs_row}")
    bcr_row = sheet.label_row("benefit per £1 invested", "benefits / costs (not the net ROI)")
    sheet.formula(bcr_row, 3, f'IF(C{costs_row}>0,C{benefits_row}/C{costs_row},"no cost")')
    year_row = _years_header(sheet, n_years)
    net_row = sheet.label_row("net benefit as the perspective counts it", "sum of the programmes, GBP")
    cumulative_row = sheet.label_row("cumulative net benefit", "GBP")
    reached_row = sheet.label_row("paid back from this year (1 = yes)",
                                  "cumulative net >= 0 from here to the horizon, once anything is spent")
    for y in range(n_years):
        c, column = year_column(y), FIRST_YEAR_COLUMN + y
        sheet.formula(net_row, column, "+".join(f"'{p.sheet}'!{c}{p.net_row}" for p in programmes))
        sheet.formula(cumulative_row, column, f"{c}{net_row}" if y == 0
                      else f"{year_column(y - 1)}{cumulative_row}+{c}{net_row}")
        sheet.formula(reached_row, column,
                      _stays_paid_back(c, year_column(n_years - 1), cumulative_row, net_row))
    del year_row
    payback_row = sheet.label_row("payback year", "first year from which cumulative net stays >= 0")
    sheet.formula(payback_row, 3, _payback_formula(f"C{costs_row}", reached_row, year_column(n_years - 1)))

    _sharing_table(sheet, scenario, rule, sectors, pv_rows, counted)
    _widths(sheet.ws, max(n_years, 2 * len(KINDS), len(SHARING_COLUMNS)))
    sheet.finish()


SHARING_COLUMNS = ("cost as modelled", "cash-releasing benefit", "social value (non-cash)",
                   "contributor (1/0)", "agreed share", "weight", "contribution under the rule",
                   "net under the rule (cash - contribution)")


def _sharing_table(sheet: Sheet, scenario, rule, sectors, pv_rows, counted) -> None:
    contributors = (set(rule.contributors) if rule.contributors is not None
                    else set(default_contributors(scenario.sectors)))
    shares = dict(rule.shares or {})
    sheet.heading(f"Cost sharing under the rule '{rule.rule}' (GBP, discounted)")
    sheet.text(sheet.row, 1, safe_text(_RULE_NOTES[rule.rule]))
    sheet.row += 1
    header = sheet.row
    sheet.text(header, 1, "sector", bold=True)
    for c, h in enumerate(SHARING_COLUMNS):
        sheet.text(header, FIRST_YEAR_COLUMN + c, h, bold=True)
        sheet.ws.cell(row=header, column=FIRST_YEAR_COLUMN + c).alignment = Alignment(wrap_text=True)
    sheet.ws.row_dimensions[header].height = 45
    first = header + 1
    last = header + len(sectors)
    letters = {name: year_column(c) for c, name in enumerate(
        ("cost", "cash", "social", "contributor", "share", "weight", "contribution", "net"))}
    total_row = last + 1
    L = letters
    for s, name in enumerate(sectors):
        r = first + s
        pv = pv_rows[name]
        sheet.text(r, 1, name)
        sheet.money_rows.add(r)
        sheet.formula(r, FIRST_YEAR_COLUMN + 0, counted(0, pv))
        sheet.formula(r, FIRST_YEAR_COLUMN + 1, f"{counted(1, pv)}+{counted(2, pv)}")
        sheet.formula(r, FIRST_YEAR_COLUMN + 2, counted(3, pv))
        sheet.number(r, FIRST_YEAR_COLUMN + 3, 1.0 if name in contributors else 0.0)
        sheet.number(r, FIRST_YEAR_COLUMN + 4, float(shares.get(name, 0.0)))
        sheet.formula(r, FIRST_YEAR_COLUMN + 5, f"{L['contributor']}{r}*MAX({L['cash']}{r},0)")
        sheet.formula(r, FIRST_YEAR_COLUMN + 6, _contribution(rule.rule, r, total_row, first, last, L))
        sheet.formula(r, FIRST_YEAR_COLUMN + 7, f"{L['cash']}{r}-{L['contribution']}{r}")
    sheet.text(total_row, 1, "total", bold=True)
    sheet.money_rows.update({total_row, total_row + 1})
    for c in range(len(SHARING_COLUMNS)):
        letter = year_column(c)
        sheet.formula(total_row, FIRST_YEAR_COLUMN + c, f"SUM({letter}{first}:{letter}{last})")
    gap = total_row + 1
    sheet.text(gap, 1, "funding gap (+) or surplus (-): total cost - total contributions")
    sheet.formula(gap, 3, f"{L['cost']}{total_row}-{L['contribution']}{total_row}")
    sheet.row = gap + 1


_RULE_NOTES = {
    "as_modelled": "Each sector pays its modelled cost.",
    "benefit_proportional": "Each contributor pays the total cost x its positive cash-releasing benefit / "
                            "the contributors' total (equal shares among contributors if none gains cash).",
    "break_even": "Each contributor pays at most its positive cash-releasing benefit; the gap row shows "
                  "what is left unfunded.",
    "agreed": "Each contributor pays its agreed share of the total cost.",
}


def _contribution(rule: str, r: int, total_row: int, first: int, last: int, L: dict) -> str:
    total_cost = f"${L['cost']}${total_row}"
    if rule == "as_modelled":
        return f"{L['cost']}{r}"
    if rule == "benefit_proportional":
        weights = f"${L['weight']}${first}:${L['weight']}${last}"
        contrib = f"${L['contributor']}${first}:${L['contributor']}${last}"
        return (f"IF(SUM({weights})>0,{total_cost}*{L['weight']}{r}/SUM({weights}),"
                f"{total_cost}*{L['contributor']}{r}/SUM({contrib}))")
    if rule == "break_even":
        return f"{L['weight']}{r}"
    return f"{total_cost}*{L['share']}{r}"


# --- the workbook -----------------------------------------------------------------------------------


def overlap_units(model: Model, values: dict) -> list[np.ndarray]:
    """Units each programme gives up to overlaps in the base case, each ``(n_years, n_outcomes)``."""
    separate = [intervention_flows(plan, values, 1) for plan in model.plans]
    if not model.overlaps:
        return [np.zeros_like(f.avoided[0]) for f in separate]
    corrected, _ = remove_double_counting(model.plans, separate, model.overlaps, values, 1)
    return [(a.avoided - b.avoided)[0] for a, b in zip(separate, corrected, strict=True)]


def build_audit_workbook(model: Model) -> Workbook:
    """The audit workbook of ``model``'s base case (see the module docstring)."""
    wb = Workbook()
    wb.remove(wb.active)
    _parameters_sheet(wb, model)
    discount_rows = _discounting_sheet(wb, model)
    units = overlap_units(model, model.values(model.base_case()))
    programmes = [_programme_sheet(wb, model, i, units[i], discount_rows)
                  for i in range(len(model.plans))]
    _portfolio_sheet(wb, model, programmes)
    wb.calculation.fullCalcOnLoad = True
    return wb


def write_audit_workbook(path: str | Path, scenario) -> Path:
    """Write the audit workbook of ``scenario``'s base case to ``path`` (temporary file, then moved).

    Programmes with state-transition (Markov) outcomes have their cohort traces written as formulas
    (:mod:`roi_engine.outputs.audit_markov`).
    """
    model = Model(scenario)
    if scenario.spec.optimism_bias:
        raise InputError("the audit workbook does not yet apply the optimism-bias adjustment",
                         file=scenario.path, where="optimism_bias",
                         hint="audit it with optimism_bias = false (the adjustment: docs/method.md)")
    wb = build_audit_workbook(model)
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return Path(path)
