"""The Markov blocks of a programme sheet of the audit workbook, as live formulas.

For each ``[[markov]]`` block (:mod:`roi_engine.model.markov`) the section writes, top to bottom:

- its inputs: the start distribution, every declared transition probability (its factors and their
  product; a band's value; a Weibull shape), and each effect's ratio and persistence;
- the comparator's probability of each declared transition by cycle, the effect's share present and
  the ratio applied by cycle, and the intervention arm's probability
  (relative risk ``p x RR(t)``; hazard ratio ``1 - (1 - p) ^ HR(t)``);
- the transition matrix of each arm by cycle, one row per entry ``P(i -> j)`` with the cycles across,
  grouped by the destination state ``j`` so that column ``j`` of the matrix is a block of rows; a
  complement (``"rest"`` or the implicit diagonal) is ``1 -`` the row's declared entries;
- the cohort trace of each arm, ``x[t + 1][j] = SUMPRODUCT(x[t], P[t][:, j])`` (column t+1 from
  column t), from the start distribution in cycle 0;
- person-years in each state by cycle under the block's cycle convention (start, end, or the mean of
  the two: half-cycle), comparator minus intervention;
- per participant: each state cost (person-years avoided x cost per year) and the QALYs gained
  (``-sum_s difference[s] x utility[s]``) x the QALY value; then all cohorts, by the same
  open-cohort convolution as every other flow (``participants per cohort x sum_j delivery[j] x
  single[y - j]``);
- person-years in each costly state avoided, all cohorts (the natural units the results report).

Labels are written as text cells (never into a formula); formulas are built only from cell
addresses, defined parameter names and numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from openpyxl.comments import Comment

from roi_engine.inputs.accounting import KINDS
from roi_engine.inputs.interventions import REST, MarkovSpec
from roi_engine.model.markov import complement_targets, outcome_states

ARMS = ("comparator", "intervention")


@dataclass
class MarkovCells:
    """Rows a caller may need: the all-cohort person-years avoided in each reported state."""

    avoided_rows: dict[str, int]
    value_rows: list[tuple[int, int, int]]  # (sector index, kind index, row): all-cohort values


def _cycle_header(sheet, first_column: int, n_cycles: int, label: str) -> int:
    r = sheet.label_row(label, "t = cycle (years since the cohort started)")
    for t in range(n_cycles + 1):
        sheet.number(r, first_column + t, t, fill=None)
        sheet.ws.cell(row=r, column=first_column + t).number_format = "0"
    return r


def _product_cell(sheet, ref_row: Callable, label: str, factors, spec_id: str) -> str:
    """Input rows for the factors of a product, then the product itself in column C."""
    if len(factors) == 1:
        return ref_row(sheet, label, factors[0], spec_id)
    cells = [ref_row(sheet, f"{label}: factor {n + 1}", f, spec_id) for n, f in enumerate(factors)]
    r = sheet.label_row(label, "product of the factors")
    sheet.formula(r, 3, "*".join(cells))
    return f"$C${r}"


def markov_section(sheet, spec_id: str, m: int, block: MarkovSpec, *, n_years: int,
                   first_column: int, column: Callable[[int], str], ref_row: Callable,
                   per_cohort: str, open_cohorts: Callable, sectors: list[str],
                   overlap_units: np.ndarray | None = None, overlap_notes: tuple[str, ...] = (),
                   fill=None) -> MarkovCells:
    """Write one Markov block of a programme sheet; return the rows the caller needs.

    ``overlap_units`` (``n_years``): person-years in the block's linked state (``outcome``) the engine
    removes as counted twice with another programme; every value of the block then keeps the share
    ``1 - units / person-years avoided`` of each year (``model/overlap.py``).
    """
    states = block.states
    n_states = len(states)
    index = {s: i for i, s in enumerate(states)}
    sheet.heading(f"Markov model {m + 1}: {block.id}")
    if block.label:
        sheet.label_row("what it models", block.label)
    sheet.label_row("states", ", ".join(states))
    convention = {"start": "start of cycle: person-years = shares at the start of each year",
                  "end": "end of cycle: person-years = shares at the end of each year",
                  "half_cycle": "half-cycle correction: person-years = mean of the shares at the "
                                "start and at the end of each year"}[block.cycle]
    sheet.label_row("cycle convention (one cycle = one year)", convention)

    # --- inputs -------------------------------------------------------------------------------
    start_cells: dict[str, str] = {}
    rest_state = None
    for state in states:
        ref = block.start.get(state, 0.0)
        if ref == REST:
            rest_state = state
            continue
        start_cells[state] = ref_row(sheet, f"start share: {state}", ref, spec_id)
    if rest_state is not None:
        r = sheet.label_row(f"start share: {rest_state}", "1 - the other start shares")
        others = [start_cells[s] for s in states if s != rest_state]
        sheet.formula(r, 3, "1-(" + "+".join(others) + ")" if others else "1")
        start_cells[rest_state] = f"$C${r}"

    declared = [t for t in block.transitions if not t.is_rest]
    base_cells, band_cells, shape_cells = [], [], []
    for t in declared:
        name = f"P({t.from_} -> {t.to})"
        base_cells.append(_product_cell(sheet, ref_row, f"{name}, cycle 0", t.factors, spec_id))
        shape_cells.append(ref_row(sheet, f"{name}: Weibull shape", t.weibull_shape, spec_id)
                           if t.weibull_shape is not None else None)
        bands = []
        for band in t.bands:
            factors = band.probability if isinstance(band.probability, tuple) else (band.probability,)
            bands.append((band.from_cycle, _product_cell(
                sheet, ref_row, f"{name} from cycle {band.from_cycle}", factors, spec_id)))
        band_cells.append(bands)
    position = {(t.from_, t.to): k for k, t in enumerate(declared)}
    effect_cells = []
    for e in block.effects:
        what = f"effect on P({e.transition[0]} -> {e.transition[1]})"
        ratio = ref_row(sheet, f"{what}: {e.form.replace('_', ' ')}", e.ref, spec_id)
        years_full = ref_row(sheet, f"{what}: years at full effect", e.persistence.years_full, spec_id)
        fade = ref_row(sheet, f"{what}: share of effect lost each later year", e.persistence.fade,
                       spec_id)
        effect_cells.append((ratio, years_full, fade))

    # --- probabilities by cycle -------------------------------------------------------------
    cycle_row = _cycle_header(sheet, first_column, n_years, "cycle")

    def cyc(t: int) -> str:
        return f"{column(t)}${cycle_row}"

    arm_rows: list[list[int]] = [[], []]  # [arm][k] row of declared transition k
    for k, t in enumerate(declared):
        r = sheet.label_row(f"comparator: P({t.from_} -> {t.to})", "by cycle")
        for c in range(n_years):
            if shape_cells[k] is not None:  # cumulative hazard rate x t^k, rate = -ln(1 - p)
                p, shape = base_cells[k], shape_cells[k]
                f = f"1-EXP(LN(1-{p})*(({cyc(c)}+1)^{shape}-{cyc(c)}^{shape}))"
            else:
                cell = base_cells[k]
                for from_cycle, band_cell in band_cells[k]:  # the last band reached wins
                    if c >= from_cycle:
                        cell = band_cell
                f = cell
            sheet.formula(r, first_column + c, f)
        arm_rows[0].append(r)
    current = list(arm_rows[0])  # the intervention arm, effect by effect
    for e, (ratio, years_full, fade) in zip(block.effects, effect_cells, strict=True):
        k = position[tuple(e.transition)]
        what = f"P({e.transition[0]} -> {e.transition[1]})"
        share_row = sheet.label_row(f"effect on {what}: share present", "by cycle")
        applied_row = sheet.label_row(f"effect on {what}: ratio applied", "1 + (ratio - 1) x share")
        r = sheet.label_row(f"intervention: {what}",
                            "p x RR" if e.form == "relative_risk" else "1 - (1 - p) ^ HR")
        for c in range(n_years):
            col, x = first_column + c, column(c)
            sheet.formula(share_row, col, f"IF({cyc(c)}<{years_full},1,(1-{fade})^({cyc(c)}-{years_full}+1))")
            sheet.formula(applied_row, col, f"1+({ratio}-1)*{x}{share_row}")
            p = f"{x}{current[k]}"
            sheet.formula(r, col, f"{p}*{x}{applied_row}" if e.form == "relative_risk"
                          else f"1-(1-MIN({p},1))^{x}{applied_row}")
        current[k] = r
    arm_rows[1] = current

    # --- matrices: entry rows grouped by destination ------------------------------------------
    rest_at = complement_targets(block, index)
    matrix_first: list[dict[int, int]] = [{}, {}]  # [arm][destination j] first row of column j
    for z, arm in enumerate(ARMS):
        sheet.heading(f"Markov {block.id}: transition matrix, {arm} "
                      "(one row per entry, cycles across; rows grouped by the state moved to)")
        for j, to in enumerate(states):
            for i, from_ in enumerate(states):
                r = sheet.label_row(f"{arm}: P({from_} -> {to})")
                if i == 0:
                    matrix_first[z][j] = r
                for c in range(n_years):
                    x = column(c)
                    if (from_, to) in position:
                        f = f"{x}{arm_rows[z][position[(from_, to)]]}"
                    elif rest_at.get(i) == j:
                        same_row = [f"{x}{arm_rows[z][k]}" for k, t in enumerate(declared)
                                    if t.from_ == from_]
                        f = "1-(" + "+".join(same_row) + ")" if same_row else "1"
                    else:
                        f = "0"
                    sheet.formula(r, first_column + c, f)

    # --- traces --------------------------------------------------------------------------------
    trace_first: list[int] = []
    for z, arm in enumerate(ARMS):
        sheet.heading(f"Markov {block.id}: cohort trace, {arm} "
                      "(share of one participant in each state at the start of each cycle)")
        first = sheet.row
        trace_first.append(first)
        last = first + n_states - 1
        for j, state in enumerate(states):
            r = sheet.label_row(f"{arm}: share in {state}", "x[t+1] = SUMPRODUCT(x[t], P[t](:, j))")
            sheet.formula(r, first_column, start_cells[state] if state in start_cells else "0")
            for t in range(1, n_years + 1):
                prev = column(t - 1)
                m0 = matrix_first[z][j]
                sheet.formula(r, first_column + t, f"SUMPRODUCT({prev}{first}:{prev}{last},"
                                                   f"{prev}{m0}:{prev}{m0 + n_states - 1})")

    sheet.heading(f"Markov {block.id}: person-years per participant, comparator - intervention")
    diff_rows: dict[str, int] = {}
    for s, state in enumerate(states):
        r = sheet.label_row(f"person-years in {state} avoided per participant", convention)
        for t in range(n_years):
            now, after = column(t), column(t + 1)
            a, b = trace_first[0] + s, trace_first[1] + s
            if block.cycle == "start":
                f = f"{now}{a}-{now}{b}"
            elif block.cycle == "end":
                f = f"{after}{a}-{after}{b}"
            else:
                f = f"0.5*(({now}{a}-{now}{b})+({after}{a}-{after}{b}))"
            sheet.formula(r, first_column + t, f)
        diff_rows[state] = r

    # --- values ----------------------------------------------------------------------------------
    value_rows: list[tuple[int, int, int, str]] = []
    for n, cost in enumerate(block.state_costs, start=1):
        what = cost.label or f"state cost {n} ({cost.state})"
        per_year = _product_cell(sheet, ref_row, f"{what}: GBP per person-year in {cost.state}",
                                 cost.factors, spec_id)
        single = sheet.label_row(f"{what}: value per participant", "person-years avoided x cost, GBP")
        for t in range(n_years):
            sheet.formula(single, first_column + t, f"{column(t)}{diff_rows[cost.state]}*{per_year}")
        total = sheet.label_row(f"{what}: value to {cost.sector} ({cost.value_type})",
                                "all cohorts, GBP, undiscounted")
        open_cohorts(total, single, per_cohort)
        value_rows.append((sectors.index(cost.sector), KINDS.index(cost.value_type), total, what))
    if block.utilities:
        weights = {state: ref_row(sheet, f"utility (QALY weight) in {state}", ref, spec_id)
                   for state, ref in block.utilities.items()}
        qaly_value = ref_row(sheet, "value of a QALY", block.qaly_value, spec_id)
        qalys = sheet.label_row("QALYs gained per participant",
                                "minus the sum over states of difference x utility")
        for t in range(n_years):
            terms = [f"{column(t)}{diff_rows[s]}*{w}" for s, w in weights.items()]
            sheet.formula(qalys, first_column + t, "-(" + "+".join(terms) + ")")
        single = sheet.label_row("QALYs: value per participant", "QALYs x value of a QALY, GBP")
        for t in range(n_years):
            sheet.formula(single, first_column + t, f"{column(t)}{qalys}*{qaly_value}")
        total = sheet.label_row(f"QALYs: value to {block.qaly_sector} (social)",
                                "all cohorts, GBP, undiscounted")
        open_cohorts(total, single, per_cohort)
        value_rows.append((sectors.index(block.qaly_sector), KINDS.index("social"), total, "QALYs"))

    avoided_rows = {}
    for state in outcome_states(block):
        r = sheet.label_row(f"person-years in {state} avoided, all cohorts", "natural units")
        open_cohorts(r, diff_rows[state], per_cohort)
        avoided_rows[state] = r
    if block.outcome is None:
        return MarkovCells(avoided_rows=avoided_rows,
                           value_rows=[(s, k, r) for s, k, r, _ in value_rows])

    # --- the overlap correction on the linked state --------------------------------------------
    state = block.outcome.state
    units = np.zeros(n_years) if overlap_units is None else overlap_units
    overlap_row = sheet.label_row("overlap adjustment (value from the engine)",
                                  f"person-years in {state} ({block.outcome.id})")
    for y in range(n_years):
        sheet.number(overlap_row, first_column + y, units[y], fill=fill)
    note = [n for n in overlap_notes if spec_id in n and f"'{block.outcome.id}'" in n]
    if note:
        text = ("overlap applies: " + "; ".join(note) + f". These person-years in {state} are counted "
                "once in the portfolio; computed by the engine, so they do not move when an input "
                "changes.")
    else:
        text = f"no overlap: no other programme changes {block.outcome.id} in the same people"
    sheet.text(overlap_row, 2, text)  # a value, escaped: never a formula
    if note:
        cell = sheet.ws.cell(row=overlap_row, column=2)
        cell.comment = Comment(cell.value, "roi-engine")
    kept_row = sheet.label_row("share of the model's values kept after the overlap",
                               "1 - adjustment / person-years avoided (1 where none are avoided)")
    avoided = avoided_rows[state]
    for y in range(n_years):
        c = column(y)
        sheet.formula(kept_row, first_column + y, f"IF({c}{avoided}=0,1,1-{c}{overlap_row}/{c}{avoided})")
    after = []
    for sector, kind, row, what in value_rows:
        r = sheet.label_row(f"{what}: value to {sectors[sector]} ({KINDS[kind]}) after the overlap",
                            "all cohorts, GBP, undiscounted")
        for y in range(n_years):
            c = column(y)
            sheet.formula(r, first_column + y, f"{c}{row}*{c}{kept_row}")
        after.append((sector, kind, r))
    return MarkovCells(avoided_rows=avoided_rows, value_rows=after)
