"""Plain-text tables for the terminal: the run summary, area search results, the intervention list."""

from __future__ import annotations

import math

import numpy as np

from roi_engine.analyses.sharing import CostSharing
from roi_engine.inputs.sharing_rule import TOTAL
from roi_engine.results.cube import PORTFOLIO, Results
from roi_engine.results.parameters_used import basis_line
from roi_engine.results.qaly_results import at_nice_sentence, nhs_cost_per_qaly


def money(x: float) -> str:
    """``£1,234,567`` (or ``-£1,234``); ``n/a`` for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    text = f"£{abs(x):,.2f}" if abs(x) < 100 and x != 0 else f"£{abs(x):,.0f}"
    return f"-{text}" if x < 0 else text


def ratio(x: float) -> str:
    return "n/a" if math.isnan(x) else f"£{x:,.2f}"


def share(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.0f}%"


def year(x: float, horizon: int | None = None) -> str:
    """A payback year in words: ``year 2``; ``never`` (within the horizon); ``n/a`` (pays nothing)."""
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return f"not within {horizon} years" if horizon else "never"
    return f"year {x:.0f}"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A fixed-width text table; ``align`` is one 'l' or 'r' per column (default: first left)."""
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w)
                         for c, w, a in zip(cells, widths, align, strict=True))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def nhs_cost_per_qaly_lines(results) -> list[str]:
    """Terminal table: NHS cost per QALY gained for the programmes the NHS pays for."""
    frame = nhs_cost_per_qaly(results)
    if frame.empty:
        return []
    rows = [[entity, money(r["nhs_net_cost_base"]), f"{r['qalys_base']:,.1f}", money(r["cost_per_qaly_base"]),
             f"{money(r['cost_per_qaly_p05'])} to {money(r['cost_per_qaly_p95'])}",
             share(r["p_cost_effective_at_dhsc_15k"]), share(r["p_cost_effective_at_nice_20k"]),
             share(r["p_cost_effective_at_nice_30k"])] for entity, r in frame.iterrows()]
    return ["", "NHS cost per QALY gained (NHS perspective: NHS costs minus NHS cash savings; base case, "
                f"interval and chances over {results.info.draws:,} draws):",
            table(["intervention", "NHS net cost", "QALYs gained", "per QALY", "90% interval",
                   "P(< £15k)", "P(< £20k)", "P(< £30k)"], rows)]


def deprivation_line(results) -> str:
    """The terminal's line on who gains by deprivation (or why there is none)."""
    from roi_engine.analyses.deprivation import deprivation_results, headline_sentence

    d = deprivation_results(results)
    if d is None:
        return "By deprivation: " + results.cube.attrs.get("deprivation_note", "not available") + "."
    return "By deprivation (IMD 2019 quintiles, means over draws): " + headline_sentence(d)


def payback_sentences(results: Results, entity: str = PORTFOLIO) -> tuple[str, str]:
    """The payback figure in words, on both bases side by side (base case).

    First: the payback year counting everything the perspective counts (health and wellbeing value
    under ``societal``); second: whether the cash returned to public budgets repays their outlay.
    """
    horizon = results.info.horizon
    summary = results.summary
    counted = "counting health and wellbeing value" if results.info.perspective == "societal" \
        else f"on the {results.info.perspective} perspective"
    full = summary.payback(entity, cash=False, statistic="base_case")
    cash = summary.payback(entity, group="public", cash=True, statistic="base_case")
    if math.isnan(full):
        first = "Nothing is paid, so payback does not apply"
    elif math.isinf(full):
        first = f"It does not pay back within {horizon} years {counted}"
    else:
        first = f"It pays back in {year(full)} {counted}"
    if math.isnan(cash):
        second = "public budgets pay nothing"
    elif math.isinf(cash):
        second = f"the cash returned to public budgets does not repay their outlay within {horizon} years"
    else:
        second = f"the cash returned to public budgets repays their outlay in {year(cash)}"
    return first, second


def format_summary(results: Results) -> str:
    """The summary a ``roi-engine run`` prints: settings, headline per intervention, portfolio by sector."""
    info = results.info
    head = results.headline()
    names = results.entity_names()
    lines = ["roi-engine results", "==================", *info.lines(),
             "All money: present values, discounted, "
             f"{info.currency} {info.price_year} prices. Intervals: 5th-95th percentile over draws.",
             ""]
    rows = []
    for entity, r in head.iterrows():
        rows.append([
            entity,
            f"{r['people_reached_base']:,.0f}",
            money(r["pv_costs_base"]),
            money(r["pv_benefits_base"]),
            money(r["npv_base"]),
            f"{money(r['npv_p05'])} to {money(r['npv_p95'])}",
            f"{ratio(r['benefit_per_pound_base'])} ({ratio(r['benefit_per_pound_p05'])} to "
            f"{ratio(r['benefit_per_pound_p95'])})",
            share(r["p_benefit_per_pound_gt_1"]),
            year(r["payback_year_base"], info.horizon),
            year(r["payback_year_cash_base"], info.horizon),
        ])
    lines.append(table(["intervention", "people reached", "PV costs", "PV benefits", "NPV",
                        "NPV 90% interval", "benefit per £1 (90% interval)", "P(>£1)", "payback",
                        "payback (cash only)"], rows))
    lines += ["", "People reached, PV costs, PV benefits, NPV, benefit per £1 and payback: base case "
                  "(every parameter at its point value). Intervals and P(>£1): over "
                  f"{info.draws:,} draws. Payback: first year from which the cumulative discounted net "
                  "stays >= 0; 'cash only' counts cash-releasing benefits alone."]
    first, second = payback_sentences(results)
    lines.append(f"Portfolio (base case): {first[:1].lower()}{first[1:]}; {second}.")
    at_nice = at_nice_sentence(results)
    if at_nice:
        lines.append(f"Portfolio: {at_nice[:1].lower()}{at_nice[1:]}")
    lines += nhs_cost_per_qaly_lines(results)
    if results.overlap_notes:
        lines += [f"Overlap: {note}" for note in results.overlap_notes]
        lines.append(results.overlap_sentence())
    else:
        lines.append("Overlap: no two programmes change the same outcome in the same people; the "
                     "portfolio is the sum of its programmes.")
    inputs = basis_line(results.parameters)
    if inputs:
        lines.append(inputs)
    grades = results.effect_grades()
    if grades:
        lines.append("Evidence behind each programme's effect (grade): "
                     + "; ".join(f"{k}: {v}" for k, v in grades.items()) + ".")
    if results.optimism_bias:
        lines.append("Optimism bias: costs raised and effects moved towards no effect by evidence grade "
                     "(docs/method.md).")
    lines.append(deprivation_line(results))
    lines.append("")
    if len(names) > 1:
        lines.append("Programmes: " + "; ".join(f"{k} = {v}" for k, v in names.items()
                                                if k != PORTFOLIO) + ".")
        lines.append("")

    sectors = results.by_sector(PORTFOLIO)
    sector_rows = []
    for sector, r in sectors.iterrows():
        if np.allclose([r["pv_costs_mean"], r["pv_benefits_mean"]], 0):
            continue
        sector_rows.append([
            sector, money(r["pv_costs_mean"]), money(r["pv_benefits_cash_mean"]),
            money(r["pv_benefits_social_mean"]), money(r["npv_mean"]),
            f"{money(r['npv_p05'])} to {money(r['npv_p95'])}", share(r["p_npv_gt_0"]),
        ])
    lines.append(f"Who pays and who gains (portfolio, means over {info.draws:,} draws; 'public' = the "
                 "public bodies together):")
    lines.append(table(["sector", "pays", "gains: cash-releasing", "gains: health/wellbeing",
                        "net", "net 90% interval", "P(net > 0)"], sector_rows))
    outcomes = results.outcomes()
    lines += ["", f"Outcomes over the horizon (base case; mean and 90% interval over {info.draws:,} draws):"]
    lines.append(table(
        ["intervention", "outcome", "base case", "mean", "90% interval"],
        [[r.entity, r.unit, f"{r.base_case:,.0f}", f"{r.mean:,.0f}", f"{r.p05:,.0f} to {r.p95:,.0f}"]
         for r in outcomes.itertuples()]))
    return "\n".join(lines)


def format_areas(areas) -> str:
    rows = [[a.code, a.name, a.kind] for a in areas]
    return table(["code", "name", "kind"], rows, align="lll")


def format_interventions(library, registry) -> str:
    """One row per intervention: life stage, target ages, cost per participant and its price year."""
    rows = []
    for key, spec in library.items():
        costs, years = [], set()
        for cost in spec.costs:
            if cost.per_participant is None:
                continue
            ref = cost.per_participant
            if isinstance(ref, str):
                param = registry[ref]
                costs.append(param.value * len(cost.years))
                if param.price_year:
                    years.add(str(param.price_year))
            else:
                costs.append(float(ref) * len(cost.years))
        low, high = spec.population.ages
        rows.append([key, spec.life_stage, f"{low}-{high}",
                     money(sum(costs)) if costs else "n/a", ", ".join(sorted(years)) or "n/a",
                     spec.name])
    return table(["id", "life stage", "ages", "cost per participant", "price year", "name"], rows,
                 align="llrrll")


def format_cost_sharing(sharing: CostSharing) -> str:
    """Plain-text cost-sharing tables for the terminal: as modelled, then under the rule."""
    t = sharing.table
    rule = sharing.rule.rule
    lines = [f"Cost sharing for {sharing.entity}: rule '{rule}' ({sharing.rule.description})",
             f"All money: present values, discounted, {sharing.currency} {sharing.price_year} prices; "
             f"means over {sharing.n_draws:,} draws; {sharing.perspective} perspective.",
             "Cash-releasing = fiscal + economic; non-cash = health and wellbeing (social) value, shown "
             "but never paying a share.", ""]
    shown = [s for s in t.index[:-1] if not np.allclose(
        t.loc[s, ["cost_modelled", "benefit_cash", "benefit_non_cash", "contribution_mean"]]
        .to_numpy(float), 0)]
    rows = [*shown, TOTAL]

    modelled = []
    for s in rows:
        r = t.loc[s]
        modelled.append([s, money(r["cost_modelled"]), money(r["benefit_cash"]),
                         money(r["benefit_non_cash"]), money(r["net_modelled_mean"]),
                         f"{money(r['net_modelled_p05'])} to {money(r['net_modelled_p95'])}",
                         ratio(r["benefit_per_pound_modelled"]), share(r["p_net_modelled_gt_0"]),
                         _payback_text(r["payback_year_cash_median"], r["p_payback_cash_within_horizon"],
                                       sharing.horizon)])
    lines.append("As modelled (costs where the cost lines put them):")
    lines.append(table(["sector", "pays", "gains: cash-releasing", "gains: non-cash", "net",
                        "net 90% interval", "benefit per £1", "P(net > 0)", "cash payback (median)"],
                       modelled))
    lines += ["", f"Under the rule '{rule}':"]
    under = []
    for s in rows:
        r = t.loc[s]
        contributes = "" if s == TOTAL else ("yes" if r["contributor"] else "no")
        under.append([s, contributes, money(r["contribution_mean"]),
                      share(r["contribution_share"]), money(r["benefit_cash"]),
                      money(r["net_rule_mean"]),
                      f"{money(r['net_rule_p05'])} to {money(r['net_rule_p95'])}",
                      share(r["p_net_rule_gt_0"]), ratio(r["cash_benefit_per_pound_rule_median"]),
                      money(r["benefit_non_cash"])])
    lines.append(table(["sector", "contributes?", "pays", "share of cost", "gains: cash-releasing",
                        "net (cash)", "net (cash) 90% interval", "P(net > 0)", "cash £ per £1 paid",
                        "+ non-cash"], under))
    notes = ["", "net (cash) = cash-releasing benefit minus contribution; cash £ per £1 paid: median "
                 "over draws in which the sector pays."]
    idle = [s for s in t.index[:-1] if s not in shown and t.loc[s, "contributor"]]
    if idle:
        notes.append(f"Contributors with nothing to pay or gain: {', '.join(idle)}.")
    if rule == "break_even":
        g = sharing.gap
        word = "a funding gap" if g["mean"] >= 0 else "a surplus"
        notes.append(f"Funding gap = total cost minus what the contributors could pay and still break "
                     f"even (negative = surplus): mean {money(g['mean'])} ({word}), 90% interval "
                     f"{money(g['p05'])} to {money(g['p95'])}; P(gap > 0) = {share(g['p_gap'])}.")
    if rule == "benefit_proportional":
        notes.append(f"Draws in which no contributor gains cash, split by mean cash-releasing benefit "
                     f"instead: {sharing.fallback_draws:,} of {sharing.n_draws:,}.")
    if rule == "agreed":
        agreed = ", ".join(f"{k} {100 * v:g}%" for k, v in sharing.rule.shares.items())
        notes.append(f"Agreed shares: {agreed}.")
    return "\n".join(lines + notes)


# --- helpers -------------------------------------------------------------------------------------


def _payback_text(median: float, within: float, horizon: int) -> str:
    """Median payback over draws (censored: never-paid-back draws order last) and P(paid back)."""
    if math.isnan(within):
        return "n/a (pays nothing)"
    return f"{year(median, horizon)} ({share(within)} of draws pay back)"
