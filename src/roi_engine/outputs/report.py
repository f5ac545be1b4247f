"""A report for the partners round the table: one self-contained HTML page, and its charts as PNG.

:func:`write_report` writes into ``out_dir``

- ``report.html``: one file a board member can open anywhere (no network): charts embedded as base64 PNG
  data URIs, CSS inline, no external scripts or fonts. It says, in plain English, what every £1 returns
  to society and, separately, in cash to the public purse; when it pays back on each basis; shows who
  pays and who gains by sector, the cumulative discounted net with its 90% band, the distribution of
  the benefit per £1, one card per intervention, the cost-sharing table, how to read the page and where
  the data come from;
- ``charts/*.png``: the same charts as files, for slides.

The page is rendered from the Jinja2 template ``templates/report.html.j2`` with autoescaping on, so
every name, description and note a user wrote reaches the page as text. Tables come from DataFrames.
Every figure comes from :class:`~roi_engine.results.summary.Summary` and says its basis: base case
(every parameter at its point value) or a summary over draws.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.atomic import atomic_write_bytes
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.outputs.charts import (
    CHART_FILES,
    CHART_IDS,
    Chart,
    build_charts,
    chance,
    money_short,
    year_text,
)
from roi_engine.outputs.deprivation_charts import deprivation_charts
from roi_engine.outputs.formatting import money, payback_sentences, ratio, share
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, PUBLIC, Results
from roi_engine.results.parameters_used import basis_line
from roi_engine.results.qaly_results import at_nice_sentence, nhs_cost_per_qaly

REPORT_FILE = "report.html"
CHART_DIR = "charts"
TEMPLATES = Path(__file__).parent / "templates"

ATTRIBUTION: tuple[str, ...] = (
    "Population: Office for National Statistics, mid-2022 population estimates by local authority and "
    "single year of age (release MYE22UK, 26 March 2024). Source: Office for National Statistics "
    "licensed under the Open Government Licence v3.0.",
    "GDP deflator: HM Treasury, GDP deflators at market prices, December 2025 (Quarterly National "
    "Accounts), Crown copyright, Open Government Licence v3.0.",
    "Discount rates, value of a QALY and of a WELLBY: HM Treasury Green Book and its supplementary "
    "guidance, Open Government Licence v3.0.",
    "Programme evidence: cited parameter by parameter in parameters/*.csv (and the workbook's "
    "'Parameters used' sheet) and in docs/evidence.md.",
)
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

PERSPECTIVE_BENEFICIARY = {
    "societal": "to society",
    "economic": "to the economy (public budgets, employers and earnings)",
    "public_sector": "to public budgets",
}


def headline_sentences(results: Results, entity: str = PORTFOLIO) -> tuple[str, str, str]:
    """Three plain-English sentences: the return as the perspective counts it, the cash return to
    public budgets, and when it pays back on both bases. Ratios and payback are the base case."""
    info = results.info
    row = results.headline().loc[entity]
    who = PERSPECTIVE_BENEFICIARY.get(info.perspective, "")
    years = f"{info.horizon} year{'s' if info.horizon != 1 else ''}"
    if not math.isfinite(row["benefit_per_pound_base"]):
        first = (f"Nothing is invested in the base case, so there is no return per £1; the net benefit "
                 f"{who} over {years} is {money_short(row['npv_base'])} (base case).")
    else:
        first = (f"Every £1 invested returns {ratio(row['benefit_per_pound_base'])} {who} over {years} "
                 f"(base case; 90% interval over draws {ratio(row['benefit_per_pound_p05'])} to "
                 f"{ratio(row['benefit_per_pound_p95'])}); the chance it returns more than £1 is "
                 f"{chance(row['p_benefit_per_pound_gt_1'])}.")
    public = results.by_sector(entity).loc[PUBLIC]
    if not public["pv_costs_base"] > 0:
        cash_back = money_short(public["pv_benefits_cash_base"])
        second = (f"Public bodies pay nothing here; they get back {cash_back} "
                  "in cash-releasing savings (base case).")
    else:
        s = results.summary
        second = (f"Counting only cash that comes back to public budgets, every £1 of public money returns "
                  f"{ratio(s.value('benefit_per_pound_cash', 'base_case', entity, PUBLIC))} "
                  "(base case; 90% interval "
                  f"{ratio(s.value('benefit_per_pound_cash', 'p05', entity, PUBLIC))} "
                  f"to {ratio(s.value('benefit_per_pound_cash', 'p95', entity, PUBLIC))}); the chance "
                  "the public purse gets back more cash than it puts in is "
                  f"{chance(s.value('p_benefit_per_pound_cash_gt_1', '', entity, PUBLIC))}.")
    pays, cash = payback_sentences(results, entity)
    third = f"{pays}; {cash} (base case)."
    return first, second, third


def key_figures(results: Results) -> list[dict[str, str]]:
    """The four tiles under the headline: all base case, like the headline."""
    info, s = results.info, results.summary
    row = results.headline().loc[PORTFOLIO]
    payback = s.payback(PORTFOLIO, statistic="base_case")
    cash_payback = s.payback(PORTFOLIO, group=PUBLIC, cash=True, statistic="base_case")
    cash_ratio = s.value("benefit_per_pound_cash", "base_case", PORTFOLIO, PUBLIC)

    def when(year: float) -> str:
        return "n/a" if math.isnan(year) else ("not within " + f"{info.horizon} years"
                                               if math.isinf(year) else f"year {year:.0f}")

    counted = ("counting health and wellbeing" if info.perspective == "societal"
               else f"{info.perspective} perspective")
    return [
        {"key": "cost", "value": money_short(row["pv_costs_base"]),
         "label": "total cost (present value, base case)"},
        {"key": "return", "value": ratio(row["benefit_per_pound_base"]),
         "label": f"returned per £1 {PERSPECTIVE_BENEFICIARY.get(info.perspective, '')} (base case)"},
        {"key": "public-cash", "value": ratio(cash_ratio),
         "label": "cash back to public budgets per £1 of public money (base case)"},
        {"key": "payback", "value": when(payback),
         "label": f"payback {counted} (base case); cash to public budgets: {when(cash_payback)}"},
    ]


def run_info_items(results: Results) -> list[tuple[str, str]]:
    info = results.info
    return [
        ("Area", f"{info.area_name} ({info.area_code})"),
        ("Money", f"{info.currency} (£), {info.price_year} prices, converted with the HM Treasury GDP "
                  "deflator; present values"),
        ("Discounting", f"{info.discounting}; year 0 is not discounted"),
        ("Perspective", f"{info.perspective} (benefits counted: "
                        f"{', '.join(PERSPECTIVES.get(info.perspective, ()))})"),
        ("Horizon", f"{info.horizon} years (year 0 = first year of delivery)"),
        ("Uncertainty", f"{info.draws:,} Monte Carlo draws ({info.sampling.upper()}, seed {info.seed})"),
    ]


def intervention_cards(results: Results) -> list[dict]:
    """The figures on each intervention's card (text, ready to print), in run order."""
    info = results.info
    head = results.headline()
    labels = results.sector_labels()
    names = results.entity_names()
    cards = []
    for entity in results.interventions:
        r = head.loc[entity]
        frame = results.by_sector(entity).loc[list(results.sectors)]
        cost = frame["pv_costs_mean"].to_numpy()
        cash = frame["pv_benefits_cash_mean"].to_numpy()
        non_cash = frame["pv_benefits_social_mean"].to_numpy()
        gain = cash + non_cash
        total_cost = cost.sum()
        payers = [i for i in np.argsort(-cost) if total_cost > 0 and cost[i] / total_cost >= 0.005][:3]
        who_pays = ", ".join(f"{labels[results.sectors[i]]} ({share(cost[i] / total_cost)})"
                             for i in payers) or "nobody (no cost counted)"
        main = int(np.argmax(gain))
        if gain[main] > 0:
            kind = "mostly health and wellbeing" if non_cash[main] > cash[main] else "mostly cash-releasing"
            gainer = f"{labels[results.sectors[main]]} ({money_short(gain[main])}, {kind})"
        else:
            gainer = "none"
        cash_main = int(np.argmax(cash))
        cash_gainer = (f"{labels[results.sectors[cash_main]]} ({money_short(cash[cash_main])})"
                       if cash[cash_main] > 0 else "none")
        bcr = r["benefit_per_pound_base"]
        fields = {
            "People reached": (f"{r['people_reached_base']:,.0f} people "
                               f"({r['participant_years_base']:,.0f} participant-years)"),
            "Cost (present value)": money_short(r["pv_costs_base"]),
            "Benefit per £1": (f"{ratio(bcr)} (90% interval {ratio(r['benefit_per_pound_p05'])} to "
                               f"{ratio(r['benefit_per_pound_p95'])})"),
            "Chance of more than £1": chance(r["p_benefit_per_pound_gt_1"]),
            "Payback": (f"{year_text(r['payback_year_base'], info.horizon)}; "
                        f"{chance(r['p_payback_within_horizon'])} of draws pay back"),
            "Payback, cash only": year_text(r["payback_year_cash_base"], info.horizon),
            "Who pays": who_pays,
            "Main gainer": gainer,
            "Main cash gainer": cash_gainer,
            "Evidence for the effect": results.effect_grades().get(entity, ""),
        }
        cards.append({"entity": entity, "name": names.get(entity, entity),
                      "below_one": "yes" if math.isfinite(bcr) and bcr < 1 else "no",
                      "fields": list(fields.items()), **{k.lower(): v for k, v in fields.items()}})
    return cards


def payback_table(results: Results) -> pd.DataFrame:
    """P(paid back by year t), portfolio, both bases, as a display table."""
    s = results.summary
    years = list(range(results.info.horizon))
    rows = []
    for label, name, group in (("Counting everything the perspective counts", "payback_year", ALL_SECTORS),
                               ("Cash to public budgets only", "payback_year_cash", PUBLIC)):
        p = s.p_paid_back_by_year[name].sel(entity=PORTFOLIO, group=group).values
        rows.append([label, *[chance(v) for v in p]])
    return pd.DataFrame(rows, columns=["Chance paid back by", *[f"year {y}" for y in years]])


def sharing_rows(sharing) -> list[str]:
    """Sectors shown in the report's sharing tables: any cost, gain or contribution; then ``total``."""
    t = sharing.table
    shown = [s for s in t.index[:-1] if not np.allclose(
        t.loc[s, ["cost_modelled", "benefit_cash", "benefit_non_cash", "contribution_mean"]]
        .to_numpy(float), 0)]
    return [*shown, t.index[-1]]


def sharing_context(results: Results, sharing) -> dict:
    t = sharing.table
    labels = results.sector_labels()
    labels[t.index[-1]] = "Total"
    rows = sharing_rows(sharing)
    modelled, under = [], []
    for s in rows:
        r = t.loc[s]
        modelled.append([labels.get(s, s), money_short(r["cost_modelled"]), money_short(r["benefit_cash"]),
                         money_short(r["benefit_non_cash"]), money_short(r["net_modelled_mean"]),
                         f"{money_short(r['net_modelled_p05'])} to {money_short(r['net_modelled_p95'])}",
                         chance(r["p_net_modelled_gt_0"]),
                         year_text(r["payback_year_cash_median"], results.info.horizon)
                         if math.isfinite(r["p_payback_cash_within_horizon"]) else "n/a (pays nothing)"])
        contributes = "" if s == t.index[-1] else ("yes" if r["contributor"] else "no")
        under.append([labels.get(s, s), contributes, money_short(r["contribution_mean"]),
                      share(r["contribution_share"]), money_short(r["benefit_cash"]),
                      money_short(r["net_rule_mean"]),
                      f"{money_short(r['net_rule_p05'])} to {money_short(r['net_rule_p95'])}",
                      chance(r["p_net_rule_gt_0"])])
    rule = sharing.rule
    notes = ["Net cash = cash-releasing benefit minus what the sector pays under the rule. Cash payback: "
             "median over draws (draws that never pay back count as later than any year)."]
    if rule.rule == "break_even":
        g = sharing.gap
        word = "a funding gap" if g["mean"] >= 0 else "a surplus"
        notes.append(f"Funding gap (total cost minus what contributors could pay and still break even): "
                     f"mean {money(g['mean'])} ({word}), 90% interval {money(g['p05'])} to "
                     f"{money(g['p95'])}; chance of a gap {chance(g['p_gap'])}.")
    if rule.rule == "benefit_proportional":
        notes.append(f"In {sharing.fallback_draws:,} of {sharing.n_draws:,} draws no contributor gained "
                     "cash; those draws are split by mean cash-releasing benefit instead.")
    if rule.rule == "agreed":
        notes.append("Agreed shares: " + ", ".join(f"{labels.get(k, k)} {100 * v:g}%"
                                                   for k, v in rule.shares.items()) + ".")
    return {
        "rule": rule.rule, "rule_name": rule.rule.replace("_", " "), "description": rule.description,
        "n_draws": sharing.n_draws, "currency": sharing.currency, "price_year": sharing.price_year,
        "entity": "the portfolio" if sharing.entity == PORTFOLIO
        else results.entity_names().get(sharing.entity, sharing.entity),
        "modelled": pd.DataFrame(modelled, columns=[
            "Sector", "Pays", "Gains: cash-releasing", "Gains: health and wellbeing", "Net",
            "Net, 90% interval", "Chance net > 0", "Cash payback (median)"]),
        "under": pd.DataFrame(under, columns=[
            "Sector", "Contributes?", "Pays", "Share of cost", "Gains: cash-releasing", "Net cash",
            "Net cash, 90% interval", "Chance net cash > 0"]),
        "notes": notes,
    }


def how_to_read(results: Results) -> list[str]:
    info = results.info
    items = [
        f"All money is in pounds at {info.price_year} prices and is a present value: future amounts are "
        f"discounted as the HM Treasury Green Book says ({info.discounting}), so £1 next year counts for "
        "a little less than £1 today.",
        "Base case: every input at its central estimate, one run of the model. The headline, the tiles "
        "and the cards' costs, returns and payback are the base case; intervals, chances and who pays "
        "and who gains are summaries over the simulated draws.",
        "Benefit per £1: the benefits counted divided by the costs. Above £1 the benefits outweigh the "
        "costs.",
        f"90% interval: in 9 out of 10 of the {info.draws:,} simulated futures (each input drawn at "
        "random from the range the evidence allows) the figure lies in this range. A chance is the "
        "share of those futures in which something happens.",
        "Cash-releasing benefits are savings to budgets (fiscal) and gains to employers and earnings "
        "(economic). Health and wellbeing (QALYs valued as the Green Book says) is real value to people "
        "but releases no cash to any budget, which is why the public-purse figure is lower.",
        "Payback year: the first year from which the running total of discounted benefits minus costs "
        "stays at or above zero to the end of the horizon (years before anything is spent or gained do "
        "not count). Year 0 is the first year of delivery. It is given counting everything the "
        "perspective counts, and counting cash alone.",
        "People reached counts each person once; participant-years count a person once for every year "
        "they take part.",
    ]
    if results.overlap_applied:
        items.append("Where two programmes change the same outcome in the same people, their effects are "
                     "combined multiplicatively and the double count is removed: "
                     + "; ".join(results.overlap_notes) + ". " + results.overlap_sentence())
    else:
        items.append("No two programmes in this portfolio change the same outcome in the same people, so "
                     "the portfolio is the sum of the programmes.")
    if results.parameters is not None and len(results.parameters):
        params = results.parameters
        assumed = int((params["assumption"] == "yes").sum())
        items.append(f"The figures rest on {len(params)} parameters, each with its source (the workbook's "
                     f"'Parameters used' sheet); {assumed} of them are labelled assumptions rather than "
                     "published evidence.")
        inputs = basis_line(params)
        if inputs:
            items.append(inputs.replace("Inputs: ", "Which inputs are local to the area: ", 1))
    return items


INDEX_LABELS = {
    "share_of_health_gain_q1": "share of the health gain reaching the most deprived fifth",
    "gap_narrowed_qalys_per_100k": "gap narrowed: per-person gain, most minus least deprived quintile "
                                   "present (QALYs per 100,000)",
    "sii_of_gain_qalys_per_100k": "slope index of the per-person gain, least minus most deprived "
                                  "(QALYs per 100,000; below 0 narrows the gap)",
    "health_gain_qalys": "health gain, unweighted (QALY equivalents)",
    "p_gains_and_narrows": "chance the portfolio gains (NPV > 0) and narrows the gap (SII < 0)",
}


def index_label(name: str) -> str:
    if name.startswith("equity_weighted_gain_qalys_eps_"):
        return (f"health gain, equity-weighted (Atkinson, aversion "
                f"{name.rsplit('_', 1)[-1]}: England's estimate)")
    return INDEX_LABELS.get(name, name)


def deprivation_context(results: Results) -> dict | None:
    """The deprivation section: sentence, tables and notes (None when the area is not covered)."""
    from roi_engine.analyses.deprivation import deprivation_results, headline_sentence

    d = deprivation_results(results)
    if d is None:
        return None
    rows = d.quintiles[d.quintiles["entity"] == PORTFOLIO]
    quintiles = pd.DataFrame({
        "quintile": rows["quintile_label"],
        "residents": [f"{v:.0%}" for v in rows["population_share"]],
        "participant-years (base case)": [f"{v:,.0f}" for v in rows["participant_years_base"]],
        "health gain, QALY equivalents (mean, 90% interval)": [
            f"{m:,.1f} ({lo:,.1f} to {hi:,.1f})" for m, lo, hi in
            zip(rows["health_gain_qalys_mean"], rows["health_gain_qalys_p05"],
                rows["health_gain_qalys_p95"], strict=True)],
        "share of the health gain": [f"{v:.0%}" for v in rows["share_of_health_gain_mean"]],
        "PV costs (mean)": [money(v) for v in rows["pv_costs_mean"]],
        "PV benefits (mean)": [money(v) for v in rows["pv_benefits_mean"]],
    })
    idx = d.indices[d.indices["entity"] == PORTFOLIO]

    def fmt(name, v):
        if not math.isfinite(v):
            return "n/a"
        return f"{v:.0%}" if name.startswith(("share", "p_")) else f"{v:,.1f}"

    indices = pd.DataFrame({
        "measure": [index_label(n) for n in idx["index"]],
        "base case": [fmt(n, v) for n, v in zip(idx["index"], idx["base_case"], strict=True)],
        "mean over draws": [fmt(n, v) for n, v in zip(idx["index"], idx["mean"], strict=True)],
        "90% interval": ["" if not math.isfinite(lo) else f"{fmt(n, lo)} to {fmt(n, hi)}"
                         for n, lo, hi in zip(idx["index"], idx["p05"], idx["p95"], strict=True)],
    })
    profile = d.ede_profile
    ede = None
    if len(profile):
        ede = pd.DataFrame({
            "inequality aversion": [f"{e:g}" + (" (England's estimate)" if m else "")
                                    for e, m in zip(profile["epsilon"], profile["england_estimate"],
                                                    strict=True)],
            "equity-weighted health gain (mean)": [f"{v:,.1f}" for v in profile["mean"]],
            "90% interval": [f"{lo:,.1f} to {hi:,.1f}" for lo, hi in
                             zip(profile["p05"], profile["p95"], strict=True)],
        })
    return {"sentence": headline_sentence(d), "quintiles": quintiles, "indices": indices, "ede": ede,
            "notes": d.notes}


def optimism_note(results: Results) -> str:
    """A sentence when the optimism-bias adjustment is on (empty otherwise)."""
    if not results.optimism_bias:
        return ""
    return (" Optimism bias adjusted by evidence grade: costs raised and effects moved towards no effect "
            "(docs/method.md).")


def nhs_per_qaly_table(results: Results) -> pd.DataFrame | None:
    """The report's table of NHS cost per QALY gained (None when the NHS pays for nothing)."""
    frame = nhs_cost_per_qaly(results)
    if frame.empty:
        return None
    names = results.entity_names()
    return pd.DataFrame({
        "programme": [names.get(e, e) for e in frame.index],
        "NHS net cost (base case)": [money(v) for v in frame["nhs_net_cost_base"]],
        "QALYs gained (base case)": [f"{v:,.1f}" for v in frame["qalys_base"]],
        "cost per QALY (base case)": [money(v) for v in frame["cost_per_qaly_base"]],
        "90% interval": [f"{money(a)} to {money(b)}" for a, b in
                         zip(frame["cost_per_qaly_p05"], frame["cost_per_qaly_p95"], strict=True)],
        "chance below £15k / £20k / £30k": [
            f"{chance(a)} / {chance(b)} / {chance(c)}" for a, b, c in
            zip(frame["p_cost_effective_at_dhsc_15k"], frame["p_cost_effective_at_nice_20k"],
                frame["p_cost_effective_at_nice_30k"], strict=True)],
    })


def _chart_context(chart: Chart) -> dict:
    return {"key": chart.key, "id": chart.id, "alt": chart.alt, "caption": chart.caption,
            "data": base64.b64encode(chart.png).decode("ascii")}


def render_html(results: Results, sharing, charts: list[Chart], *, sensitivity=()) -> str:
    """The whole report as one HTML string (charts embedded as data URIs), from the template."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    society, public_purse, payback = headline_sentences(results)
    info = results.info
    sections = []
    for section in sensitivity:
        sections.append({"method": section.method, "title": section.title, "note": section.note,
                         "caption": section.caption, "frame": section.board_table(text=True),
                         "data": base64.b64encode(section.png).decode("ascii") if section.png else ""})
    context = {
        "info": info,
        "headline": {"society": society, "public_purse": public_purse, "payback": payback,
                     "at_nice": at_nice_sentence(results), "overlap": results.overlap_sentence()},
        "nhs_per_qaly": nhs_per_qaly_table(results),
        "key_figures": key_figures(results),
        "basis_note": (f"Tiles and headline: base case. Intervals and chances: over {info.draws:,} draws. "
                       f"{info.basis}.{optimism_note(results)}"),
        "run_info": run_info_items(results),
        "charts": {c.key: _chart_context(c) for c in charts},
        "payback_caption": (f"The chance the portfolio has paid back by each year, over {info.draws:,} "
                            "draws"),
        "payback_table": payback_table(results),
        "cards": intervention_cards(results),
        "sharing": sharing_context(results, sharing),
        "deprivation": deprivation_context(results),
        "sensitivity": sections,
        "how_to_read": how_to_read(results),
        "attribution": ATTRIBUTION,
        "ogl_url": OGL_URL,
        "n_images": len(charts) + sum(1 for s in sensitivity if s.png is not None),
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
        "script": (TEMPLATES / "report.js").read_text(encoding="utf-8"),
    }
    return env.get_template("report.html.j2").render(context)


def write_report(out_dir: str | Path, results: Results, sharing, *,
                 sensitivity=()) -> tuple[Path, list[Path]]:
    """Write ``report.html`` and ``charts/*.png`` into ``out_dir``; returns the HTML and the PNG paths."""
    out_dir = Path(out_dir)
    chart_dir = out_dir / CHART_DIR
    chart_dir.mkdir(parents=True, exist_ok=True)
    charts = build_charts(results) + deprivation_charts(results)
    pngs = [atomic_write_bytes(chart_dir / c.filename, c.png) for c in charts]
    page = render_html(results, sharing, charts, sensitivity=sensitivity)
    return atomic_write_bytes(out_dir / REPORT_FILE, page.encode("utf-8")), pngs


__all__ = [
    "write_report", "render_html", "headline_sentences", "key_figures", "intervention_cards",
    "sharing_context", "payback_table", "how_to_read", "Chart", "CHART_FILES", "CHART_IDS",
    "REPORT_FILE", "CHART_DIR", "money_short", "chance", "year_text", "build_charts",
]
