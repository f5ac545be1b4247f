"""What the workspace page shows of a run, built from its results cube with the report's own pieces.

Sentences, tiles, the payback table, the deprivation view and the programme cards come from
:mod:`roi_engine.outputs.report`; charts from :mod:`roi_engine.outputs.charts` and
:mod:`roi_engine.outputs.deprivation_charts`; figures from the run's
:class:`~roi_engine.results.summary.Summary` tables and :class:`~roi_engine.analyses.sharing.CostSharing`.
Money in the tables is to the pound (as ``roi-engine run`` prints it), so a figure on screen can be
checked against the command line.
"""

from __future__ import annotations

import math

import pandas as pd

from roi_engine.inputs.sharing_rule import TOTAL
from roi_engine.outputs.charts import Chart, chance, cumulative_chart, distribution_chart, who_pays_chart
from roi_engine.outputs.formatting import money, ratio, share, year
from roi_engine.outputs.report import (
    deprivation_context,
    headline_sentences,
    intervention_cards,
    key_figures,
    optimism_note,
    payback_table,
    run_info_items,
    sharing_rows,
)
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, PUBLIC
from roi_engine.results.parameters_used import basis_line
from roi_engine.results.qaly_results import at_nice_sentence

CHART_KEYS = ("who_pays", "cumulative", "distribution", "deprivation_share", "equity_plane")


def chart(results, key: str) -> Chart | None:
    """One of the report's charts for the portfolio, by key (None when the run has no such chart)."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        if key == "who_pays":
            return who_pays_chart(results)
        if key == "cumulative":
            return cumulative_chart(results)
        if key == "distribution":
            return distribution_chart(results)
        if key in ("deprivation_share", "equity_plane"):
            from roi_engine.analyses.deprivation import deprivation_results
            from roi_engine.outputs.deprivation_charts import plane_chart, share_chart

            d = deprivation_results(results)
            if d is None:
                return None
            return share_chart(d, results) if key == "deprivation_share" else plane_chart(d, results)
    return None


def chart_words(results) -> dict[str, dict[str, str]]:
    """Alt text and captions of the charts without drawing them (drawn on request, one image each)."""
    from roi_engine.analyses.deprivation import available

    keys = list(CHART_KEYS[:3]) + (list(CHART_KEYS[3:]) if available(results) else [])
    return {k: {"key": k} for k in keys}


def who_pays_table(results) -> pd.DataFrame:
    """Who pays and who gains, by sector, with the chance each comes out ahead (means over draws)."""
    frame = results.by_sector(PORTFOLIO)
    labels = results.sector_labels()
    labels.update({PUBLIC: "Public bodies together", ALL_SECTORS: "Everyone"})
    rows = []
    for sector in frame.index:
        r = frame.loc[sector]
        if sector not in (PUBLIC, ALL_SECTORS) and all(
                abs(r[c]) < 0.5
                for c in ("pv_costs_mean", "pv_benefits_cash_mean", "pv_benefits_social_mean")):
            continue
        rows.append([labels.get(sector, sector), money(r["pv_costs_mean"]), money(r["pv_benefits_cash_mean"]),
                     money(r["pv_benefits_social_mean"]), money(r["npv_mean"]),
                     f"{money(r['npv_p05'])} to {money(r['npv_p95'])}", chance(r["p_npv_gt_0"]),
                     chance(r["p_npv_cash_gt_0"])])
    return pd.DataFrame(rows, columns=["Sector", "Pays", "Gains: cash-releasing",
                                       "Gains: health and wellbeing",
                                       "Net", "Net, 90% interval", "Chance it comes out ahead",
                                       "Chance ahead in cash alone"])


def sharing_tables(results, sharing) -> dict:
    """The cost-sharing table under the chosen rule, to the pound (the rows ``roi-engine run`` prints)."""
    t = sharing.table
    labels = results.sector_labels()
    labels[TOTAL] = "Total"
    modelled, under = [], []
    for s in sharing_rows(sharing):
        r = t.loc[s]
        modelled.append([labels.get(s, s), money(r["cost_modelled"]), money(r["benefit_cash"]),
                         money(r["benefit_non_cash"]), money(r["net_modelled_mean"]),
                         f"{money(r['net_modelled_p05'])} to {money(r['net_modelled_p95'])}",
                         share(r["p_net_modelled_gt_0"])])
        under.append([labels.get(s, s), "" if s == TOTAL else ("yes" if r["contributor"] else "no"),
                      money(r["contribution_mean"]), share(r["contribution_share"]),
                      money(r["benefit_cash"]), money(r["net_rule_mean"]),
                      f"{money(r['net_rule_p05'])} to {money(r['net_rule_p95'])}",
                      share(r["p_net_rule_gt_0"])])
    notes = []
    if sharing.rule.rule == "break_even":
        g = sharing.gap
        notes.append(f"Funding gap (total cost minus what contributors could pay and still break even): "
                     f"mean {money(g['mean'])}, 90% interval {money(g['p05'])} to {money(g['p95'])}; "
                     f"chance of a gap {chance(g['p_gap'])}.")
    if sharing.rule.rule == "benefit_proportional":
        notes.append(f"In {sharing.fallback_draws:,} of {sharing.n_draws:,} draws no contributor gained "
                     "cash; those draws are split by mean cash-releasing benefit instead.")
    return {
        "rule": sharing.rule.rule, "description": sharing.rule.description, "n_draws": sharing.n_draws,
        "modelled": pd.DataFrame(modelled, columns=[
            "Sector", "Pays", "Gains: cash-releasing", "Gains: non-cash", "Net", "Net, 90% interval",
            "P(net > 0)"]),
        "under": pd.DataFrame(under, columns=[
            "Sector", "Contributes?", "Pays", "Share of cost", "Gains: cash-releasing", "Net (cash)",
            "Net (cash), 90% interval", "P(net > 0)"]),
        "notes": notes,
    }


def outcomes_table(results) -> pd.DataFrame:
    """Outcomes in natural units for the portfolio's programmes: base case, mean and 90% interval."""
    frame = results.outcomes()
    names = results.entity_names()
    rows = []
    for r in frame.itertuples(index=False):
        rows.append([names.get(r.entity, r.entity), r.outcome.replace("_", " "), r.unit,
                     f"{r.base_case:,.1f}",
                     f"{r.mean:,.1f}", f"{r.p05:,.1f} to {r.p95:,.1f}"])
    return pd.DataFrame(rows, columns=["Programme", "Outcome", "Unit", "Base case", "Mean over draws",
                                       "90% interval"])


def inputs_context(results) -> dict:
    """Local against national inputs: the one-line count and the table of the area's own values."""
    params = results.parameters
    if params is None or not len(params):
        return {"line": "", "local": None}
    basis = params["basis"].astype(str)
    local = params[basis.str.startswith("local")]
    frame = pd.DataFrame({
        "Parameter": local["name"], "What it is": local["label"], "Value": [f"{v:g}" for v in local["value"]],
        "Basis": basis[local.index], "Source": local["source"]}) if len(local) else None
    counts = {"local": len(local), "assumption": int((basis == "assumption").sum())}
    counts["national"] = len(params) - counts["local"] - counts["assumption"]
    return {"line": basis_line(params) or "", "local": frame, "counts": counts}


def page_context(run) -> dict:
    """Everything the results part of the page shows for ``run``."""
    results = run.results
    info = results.info
    society, public_purse, payback = headline_sentences(results)
    return {
        "info": info,
        "headline": {"society": society, "public_purse": public_purse, "payback": payback,
                     "at_nice": at_nice_sentence(results), "overlap": results.overlap_sentence()},
        "key_figures": key_figures(results),
        "basis_note": (f"Tiles and headline: base case. Intervals and chances: over {info.draws:,} draws. "
                       f"{info.basis}.{optimism_note(results)}"),
        "run_info": run_info_items(results),
        "charts": chart_words(results),
        "who_pays": who_pays_table(results),
        "payback_table": payback_table(results),
        "sharing": sharing_tables(results, run.sharing),
        "outcomes": outcomes_table(results),
        "inputs": inputs_context(results),
        "deprivation": deprivation_context(results),
        "cards": intervention_cards(results),
        "seconds": run.seconds,
    }


def compare_rows(a, b) -> pd.DataFrame:
    """Two runs side by side: headline figures and each sector's net position and chance of gaining."""
    def head(run):
        return run.results.headline().loc[PORTFOLIO]

    def sectors(run):
        return run.results.by_sector(PORTFOLIO)

    def cash(run):
        return run.results.summary.value("benefit_per_pound_cash", "base_case", PORTFOLIO, PUBLIC)

    def pay(run, cash_only=False):
        s = run.results.summary
        group = PUBLIC if cash_only else ALL_SECTORS
        return s.payback(PORTFOLIO, group=group, cash=cash_only, statistic="base_case")

    ha, hb = head(a), head(b)
    rows = [
        ["Area", f"{a.results.info.area_name}", f"{b.results.info.area_name}", ""],
        ["Perspective, horizon", f"{a.results.info.perspective}, {a.results.info.horizon} years",
         f"{b.results.info.perspective}, {b.results.info.horizon} years", ""],
        ["Draws", f"{a.results.info.draws:,}", f"{b.results.info.draws:,}", ""],
        ["Programmes", str(len(a.results.interventions)), str(len(b.results.interventions)), ""],
        ["Cost (PV, base case)", money(ha["pv_costs_base"]), money(hb["pv_costs_base"]),
         money(hb["pv_costs_base"] - ha["pv_costs_base"])],
        ["Benefits (PV, base case)", money(ha["pv_benefits_base"]), money(hb["pv_benefits_base"]),
         money(hb["pv_benefits_base"] - ha["pv_benefits_base"])],
        ["Net present value (base case)", money(ha["npv_base"]), money(hb["npv_base"]),
         money(hb["npv_base"] - ha["npv_base"])],
        ["Benefit per £1 (base case)", ratio(ha["benefit_per_pound_base"]),
         ratio(hb["benefit_per_pound_base"]),
         ""],
        ["Cash back per £1 of public money (base case)", ratio(cash(a)), ratio(cash(b)), ""],
        ["Chance it returns more than £1", chance(ha["p_benefit_per_pound_gt_1"]),
         chance(hb["p_benefit_per_pound_gt_1"]), ""],
        ["Payback (base case)", year(pay(a), a.results.info.horizon),
         year(pay(b), b.results.info.horizon), ""],
        ["Payback in cash to public budgets", year(pay(a, True), a.results.info.horizon),
         year(pay(b, True), b.results.info.horizon), ""],
    ]
    sa, sb = sectors(a), sectors(b)
    labels = a.results.sector_labels()
    labels.update({PUBLIC: "Public bodies together", ALL_SECTORS: "Everyone"})
    for sector in sa.index:
        if sector not in sb.index:
            continue
        na, nb = sa.loc[sector, "npv_mean"], sb.loc[sector, "npv_mean"]
        if abs(na) < 0.5 and abs(nb) < 0.5:
            continue
        rows.append([f"{labels.get(sector, sector)}: net (mean)", money(na), money(nb), money(nb - na)])
        rows.append([f"{labels.get(sector, sector)}: chance it comes out ahead",
                     chance(sa.loc[sector, "p_npv_gt_0"]), chance(sb.loc[sector, "p_npv_gt_0"]), ""])
    return pd.DataFrame(rows, columns=["", "A", "B", "B minus A"])


def seconds_text(seconds: float) -> str:
    return f"{seconds:.2f} s" if math.isfinite(seconds) else ""
