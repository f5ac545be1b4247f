"""Tables, terminal text and CSV files of a portfolio optimisation (:mod:`roi_engine.analyses.optimise`).

Files (each row states its basis in the header lines of the terminal text and in ``basis`` columns):

- ``optimise_choice.csv``: the chosen portfolio, programme by programme, and its total;
- ``optimise_frontier.csv``: the best portfolio at each budget on the grid, expected net benefit with
  its 90% band over draws;
- ``optimise_probability.csv``: P(each programme, at each level, is in the optimal portfolio), from
  solving the problem in each of the first draws; the EVPI;
- ``optimise_budgets.csv``: each budget, the expected outlay, P(outlay > budget), shadow prices;
- ``optimise_candidates.csv``: the best portfolios of the additive model re-evaluated with overlap;
- ``optimise_chosen.toml``: the chosen portfolio as a scenario, for ``roi-engine run``;
- ``optimise_frontier.png``: the frontier chart; ``optimise.xlsx``: the tables as one workbook;
  ``optimise.html``: a self-contained page with the frontier chart and the tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.analyses.optimise import (
    Optimisation,
    band,
    cash_return_probability,
    entry_order,
    most_deprived_gain_share,
    payer_mask,
)
from roi_engine.atomic import atomic_write_text
from roi_engine.errors import InputError
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.outputs.formatting import money, share, table

CHOSEN_SCENARIO = "optimise_chosen.toml"


def basis_lines(opt: Optimisation) -> list[str]:
    """What every figure is: area, money, discounting, perspective, horizon, draws."""
    scenario = opt.lv.model.scenario
    spec = scenario.spec
    perspective = opt.lv.perspective
    counted = (f"{perspective.removeprefix('cash:')}'s cash: its fiscal and economic gains minus its costs"
               if perspective.startswith("cash:") else
               f"benefits counted: {', '.join(PERSPECTIVES[perspective])}")
    return [
        f"Scenario:     {spec.name}",
        f"Area:         {scenario.area.name} ({scenario.area.code})",
        f"Money:        GBP, {scenario.price_year} prices (HM Treasury GDP deflator)",
        f"Discounting:  {scenario.discounting.describe()}",
        f"Objective:    expected net benefit, {perspective} perspective ({counted})",
        f"Horizon:      {spec.horizon} years (year 0 = first year of delivery)",
        f"Draws:        {spec.draws:,} ({spec.sampling.upper()}, seed {spec.seed}); every level on the "
        "same draws",
        f"Scale levels: multiples of the scenario's reach; per-draw solves on the first "
        f"{len(opt.per_draw.best):,} draws",
    ]


def _budget_text(opt: Optimisation) -> str:
    if not opt.constraints.budgets:
        return "no budget (unconstrained)"
    parts = [f"{b.payer} {money(b.amount)}{' a year' if b.yearly else ' (PV)'}"
             for b in opt.constraints.budgets]
    m = min(opt.constraints.chance_draws, opt.lv.n_draws)
    if opt.constraints.alpha is not None:
        parts.append(f"P(a PV budget is exceeded) <= {opt.constraints.alpha:g} over the first {m:,} draws")
    for target in opt.constraints.cash_returns:
        parts.append(f"{target.label} over the first {m:,} draws")
    if opt.constraints.equity is not None:
        parts.append(f"the most deprived fifth's share of the expected health gain >= "
                     f"{opt.constraints.equity:g} x its share of residents")
    return "; ".join(parts)


def choice_table(opt: Optimisation) -> pd.DataFrame:
    """One row per programme (funded or not) and a ``portfolio`` row: level, reach, net benefit with
    its 90% band, PV costs of each payer with a budget, P(in optimal portfolio)."""
    lv, x = opt.lv, opt.choice.x
    payers = _payers(opt)
    probability = opt.programme_probability()
    rows = []
    for j, pid in enumerate(lv.ids):
        options = lv.options_of(j)
        funded = [o for o in options if x[o]]
        row = {"programme": pid, "name": lv.names[j]}
        if funded:
            o = funded[0]
            mean, p5, p95 = band(lv.nb[:, o])
            row.update(level=float(lv.option_level[o]), reach=float(lv.option_reach[o]),
                       net_benefit_mean=mean, net_benefit_p5=p5, net_benefit_p95=p95,
                       p_net_benefit_positive=float((lv.nb[:, o] > 0).mean()))
            for payer, mask in payers.items():
                row[f"pv_cost_{payer}"] = float(lv.cost_pv[:, o][:, mask].sum(axis=1).mean())
        else:
            row.update(level=0.0, reach=0.0, net_benefit_mean=0.0, net_benefit_p5=0.0,
                       net_benefit_p95=0.0, p_net_benefit_positive=math.nan)
            for payer in payers:
                row[f"pv_cost_{payer}"] = 0.0
        row["p_in_optimal_portfolio"] = float(probability[j])
        rows.append(row)
    exact = opt.exact
    mean, p5, p95 = band(exact)
    total = {"programme": "portfolio", "name": "Chosen portfolio (overlap removed)",
             "level": math.nan, "reach": math.nan, "net_benefit_mean": mean, "net_benefit_p5": p5,
             "net_benefit_p95": p95, "p_net_benefit_positive": float((exact > 0).mean())}
    for payer, mask in payers.items():
        total[f"pv_cost_{payer}"] = float((lv.cost_pv[:, :, mask].sum(axis=2) @ x.astype(float)).mean())
    total["p_in_optimal_portfolio"] = math.nan
    rows.append(total)
    frame = pd.DataFrame(rows)
    frame["basis"] = _basis(opt)
    return frame


def _payers(opt: Optimisation) -> dict[str, np.ndarray]:
    """Payers to show costs for: every budgeted one, else every sector that pays something."""
    lv = opt.lv
    names = [b.payer for b in opt.constraints.budgets]
    if not names:
        paying = lv.cost_pv.mean(axis=0).sum(axis=0) > 0
        names = [s for s, p in zip(lv.sectors, paying, strict=True) if p]
    names = list(dict.fromkeys(names))
    return {p: payer_mask(p, lv.sectors, lv.public_body) for p in names}


def _basis(opt: Optimisation) -> str:
    scenario = opt.lv.model.scenario
    return (f"GBP {scenario.price_year} prices, PV ({scenario.discounting.describe()}); "
            f"{opt.lv.perspective} perspective; {scenario.horizon}-year horizon; "
            f"{opt.lv.n_draws} draws")


def frontier_table(opt: Optimisation) -> pd.DataFrame:
    """The frontier: budget multiplier, each budget, the best portfolio, expected net benefit (exact,
    with overlap) and its 5th and 95th percentiles over draws, and the additive objective."""
    rows = []
    for point in opt.points:
        row = {k: v for k, v in point.items() if k != "x"}
        row = {"budget_factor": row.pop("factor"), **row}
        row["net_benefit_mean"] = row.pop("mean")
        row["net_benefit_p5"] = row.pop("p5")
        row["net_benefit_p95"] = row.pop("p95")
        row["net_benefit_additive"] = row.pop("additive")
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["basis"] = _basis(opt)
    return frame


def probability_table(opt: Optimisation) -> pd.DataFrame:
    """Per option: P(in the per-draw optimal portfolio) at that level; per programme (``level`` =
    ``any``): P(funded at any level); the EVPI in its own row."""
    lv = opt.lv
    p = opt.probability_in_optimal()
    by_programme = opt.programme_probability()
    rows = []
    for j, pid in enumerate(lv.ids):
        for o in lv.options_of(j):
            rows.append({"programme": pid, "level": f"{lv.option_level[o]:g}",
                         "reach": float(lv.option_reach[o]),
                         "expected_net_benefit": float(lv.nb[:, o].mean()),
                         "p_in_optimal_portfolio": float(p[o]),
                         "chosen": bool(opt.choice.x[o])})
        rows.append({"programme": pid, "level": "any", "reach": math.nan,
                     "expected_net_benefit": math.nan, "p_in_optimal_portfolio": float(by_programme[j]),
                     "chosen": bool(opt.choice.x[lv.options_of(j)].any())})
    rows.append({"programme": "evpi", "level": "", "reach": math.nan,
                 "expected_net_benefit": opt.per_draw.evpi, "p_in_optimal_portfolio": math.nan,
                 "chosen": False})
    frame = pd.DataFrame(rows)
    frame["draws_solved"] = len(opt.per_draw.best)
    frame["basis"] = _basis(opt)
    return frame


def budgets_table(opt: Optimisation) -> pd.DataFrame:
    """Each budget: amount, expected outlay at the choice, P(PV outlay > budget), shadow prices."""
    lv, x = opt.lv, opt.choice.x.astype(float)
    exceed = opt.exceed_probability()
    shadow = {s["budget"]: s for s in opt.shadow}
    rows = []
    for b in opt.constraints.budgets:
        mask = payer_mask(b.payer, lv.sectors, lv.public_body)
        if b.yearly:
            outlay = float((lv.cost_year_mean[:, mask, :].sum(axis=1) * x[:, None]).sum(axis=0).max())
        else:
            outlay = float((lv.cost_pv[:, :, mask].sum(axis=2) @ x).mean())
        s = shadow.get(b.label, {})
        rows.append({"budget": b.label, "payer": b.payer, "amount": b.amount,
                     "basis": "each year, undiscounted expected costs" if b.yearly
                     else "PV of expected costs over the horizon",
                     "expected_outlay": outlay, "p_outlay_exceeds": exceed.get(b.label, math.nan),
                     "shadow_price_milp": s.get("milp", math.nan), "milp_step": s.get("step", math.nan),
                     "shadow_price_lp": s.get("lp", math.nan)})
    return pd.DataFrame(rows, columns=["budget", "payer", "amount", "basis", "expected_outlay",
                                       "p_outlay_exceeds", "shadow_price_milp", "milp_step",
                                       "shadow_price_lp"])


def candidates_table(opt: Optimisation) -> pd.DataFrame:
    """The best portfolios of the additive model, re-evaluated exactly (overlap removed)."""
    rows = []
    for rank, (choice, exact, overlapped) in enumerate(opt.candidates, start=1):
        mean, p5, p95 = band(exact)
        rows.append({"rank_additive": rank, "portfolio": opt.lv.describe(choice.x),
                     "net_benefit_additive": choice.objective, "net_benefit_exact": mean,
                     "net_benefit_p5": p5, "net_benefit_p95": p95, "overlap_applied": overlapped,
                     "best": rank - 1 == opt.best})
    return pd.DataFrame(rows)


def format_optimisation(opt: Optimisation) -> str:
    """The terminal text: basis, the choice, the frontier, entry order, budgets, P(in optimal), EVPI."""
    lv = opt.lv
    out = [*basis_lines(opt), f"Budgets:      {_budget_text(opt)}", ""]
    choice = choice_table(opt)
    payers = list(_payers(opt))
    headers = ["programme", "level", "reach", "E[net benefit]", "90% interval",
               *[f"PV cost {p}" for p in payers], "P(in optimal)"]
    rows = []
    for r in choice.itertuples(index=False):
        d = r._asdict()
        funded = r.programme == "portfolio" or r.level > 0
        rows.append([r.programme,
                     "" if r.programme == "portfolio" else (f"{r.level:g}" if funded else "not funded"),
                     "" if not funded or r.programme == "portfolio" else f"{r.reach:.3g}",
                     money(r.net_benefit_mean) if funded else "",
                     f"{money(r.net_benefit_p5)} to {money(r.net_benefit_p95)}" if funded else "",
                     *[money(d[f"pv_cost_{p}"]) if funded else "" for p in payers],
                     "" if r.programme == "portfolio" else share(r.p_in_optimal_portfolio)])
    out += ["Chosen portfolio (the programme rows are additive; the portfolio row has overlap removed):",
            table(headers, rows), ""]
    best = opt.candidates[opt.best]
    if len(opt.candidates) > 1:
        overlap = "applied to some" if any(c[2] for c in opt.candidates) else "applies to none"
        out.append(f"Checked the {len(opt.candidates)} best portfolios of the additive model exactly "
                   f"(overlap {overlap}); the best exactly is additive rank {opt.best + 1}.")
    if best[2]:
        out.append(f"Overlap changes its expected net benefit from {money(best[0].objective)} "
                   f"(additive) to {money(float(best[1].mean()))}.")
    out.append("")
    budgets = budgets_table(opt)
    if len(budgets):
        rows = [[r.budget, money(r.amount), money(r.expected_outlay),
                 "" if math.isnan(r.p_outlay_exceeds) else share(r.p_outlay_exceeds),
                 _price(r.shadow_price_milp), _price(r.shadow_price_lp)]
                for r in budgets.itertuples(index=False)]
        out += ["Budgets (shadow price = extra expected net benefit per extra £1: 'MILP' re-solves with "
                "the budget 1% higher; 'LP' is the LP relaxation's dual value):",
                table(["budget", "amount", "expected outlay", "P(outlay > budget)", "shadow (MILP)",
                       "shadow (LP)"], rows), ""]
    fifth = most_deprived_gain_share(lv, opt.choice.x)
    if fifth is not None:
        out += [f"Most deprived fifth (IMD 2019 quintile 1): {share(fifth)} of the choice's expected health "
                f"gain; {share(lv.most_deprived_population_share)} of residents (additive model, "
                "docs/deprivation.md).", ""]
    if opt.constraints.cash_returns:
        met = cash_return_probability(lv, opt.constraints, opt.choice.x)
        out += ["Cash-return constraints at the choice (over all draws, additive model): " + "; ".join(
            f"{label.split(') >=')[0]}) = {share(p)}" for label, p in met.items()), ""]
    frontier = frontier_table(opt)
    budget_columns = [c for c in frontier.columns if c.startswith("budget:")]
    rows = [[f"{r['budget_factor']:.2f}", *[money(r[c]) for c in budget_columns],
             money(r["net_benefit_mean"]), f"{money(r['net_benefit_p5'])} to {money(r['net_benefit_p95'])}",
             r["portfolio"] if r["portfolio"] == "infeasible"
             else "0" if r["portfolio"] == "nothing" else str(len(r["portfolio"].split(", ")))]
            for _, r in frontier.iterrows()]
    out += ["Efficiency frontier (every budget times the factor; exact expected net benefit of the best "
            "portfolio there):",
            table(["factor", *[c.removeprefix("budget:") for c in budget_columns], "E[net benefit]",
                   "90% interval", "programmes"], rows), ""]
    order = entry_order(lv, opt.points)
    out.append("Order programmes enter as the budget grows: " + "; ".join(
        f"{pid} (x{f:.2f}, level {level:g})" if f is not None else f"{pid} (never)"
        for pid, f, level in order))
    out.append("")
    out.append(f"Portfolio EVPI (E over draws of the best portfolio's net benefit minus the best expected "
               f"one's, first {len(opt.per_draw.best):,} draws): {money(opt.per_draw.evpi)}")
    return "\n".join(out)


def _toml_value(value) -> str:
    """A TOML literal: strings, numbers and booleans as JSON writes them (the same syntax), lists,
    and dicts as inline tables."""
    import json

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} has no TOML form here")
    return json.dumps(value, ensure_ascii=False)


def chosen_scenario_text(opt: Optimisation) -> str | None:
    """The chosen portfolio as a scenario TOML (``roi-engine run`` gives its full results), with the
    library folders written out absolutely; None when the parameters do not come from CSV tables
    (a workbook), which a TOML cannot name."""
    from roi_engine.analyses.optimise import chosen_reach

    scenario = opt.lv.model.scenario
    reach = chosen_reach(opt.lv, opt.choice.x)
    if not reach:
        return None
    files = {Path(p.file) for p in scenario.registry.values() if p.file}
    if not files or any(f.suffix.lower() != ".csv" for f in files):
        return None
    parameters_dir = next(iter(files)).parent.resolve()
    interventions_dir = next(iter(scenario.library.paths.values())).parent.resolve()
    spec = scenario.spec.model_dump(mode="json", exclude_none=True)
    basis = f"{_budget_text(opt)}; {opt.lv.perspective} perspective"
    lines = ["# The portfolio `roi-engine optimise` chose (docs/optimise.md), from",
             f"# {scenario.path} with {basis}.",
             "# Run it for its full results: roi-engine run THIS_FILE"]
    spec["name"] = f"{spec['name']} (optimised)"
    spec["interventions_dir"], spec["parameters_dir"] = str(interventions_dir), str(parameters_dir)
    tables = {}
    for key, value in spec.items():
        if key == "interventions":
            continue
        if isinstance(value, dict) and key == "sharing":
            tables[key] = value
        elif key == "correlations":
            tables[key] = value
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for item in spec["interventions"]:
        if item["id"] not in reach:
            continue
        item["reach"] = reach[item["id"]]
        lines += ["", "[[interventions]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items())]
    for item in tables.get("correlations", []):
        lines += ["", "[[correlations]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items())]
    if "sharing" in tables:
        lines += ["", "[sharing]", *(f"{k} = {_toml_value(v)}" for k, v in tables["sharing"].items())]
    return "\n".join(lines) + "\n"


def _price(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"£{x:,.2f}"


def timing_table(opt: Optimisation) -> str:
    """Seconds by step."""
    total = sum(opt.timings.values())
    rows = [[name, f"{seconds:.2f}", share(seconds / total if total else math.nan)]
            for name, seconds in opt.timings.items()]
    rows.append(["total", f"{total:.2f}", "100%"])
    return table(["step", "seconds", "share"], rows)


FRONTIER_CHART = "optimise_frontier.png"
WORKBOOK = "optimise.xlsx"


def frontier_chart(opt: Optimisation, path: Path) -> Path:
    """The efficiency frontier as a PNG: expected net benefit of the best portfolio (exact, with
    overlap) and its 90% band over draws, against the budget factor, the chosen budget marked."""
    from matplotlib.figure import Figure

    from roi_engine.outputs.charts import BAND_COLOUR, DPI, NET_COLOUR, money_short

    frame = frontier_table(opt).dropna(subset=["net_benefit_mean"])
    budget_columns = [c for c in frame.columns if c.startswith("budget:")]
    total = frame[budget_columns].sum(axis=1) if budget_columns else frame["budget_factor"]
    fig = Figure(figsize=(7.5, 4.2), dpi=DPI)
    ax = fig.add_subplot()
    ax.fill_between(total, frame["net_benefit_p5"], frame["net_benefit_p95"], color=BAND_COLOUR,
                    alpha=0.18, step="post", label="90% interval over draws")
    ax.step(total, frame["net_benefit_mean"], where="post", color=NET_COLOUR, label="expected net benefit")
    given = sum(b.amount for b in opt.constraints.budgets)
    if given > 0:
        ax.axvline(given, color="#999999", linestyle="--", linewidth=1, label="budget given")
    ax.yaxis.set_major_formatter(lambda v, _: money_short(v))
    ax.xaxis.set_major_formatter(lambda v, _: money_short(v))
    payers = " + ".join(c.removeprefix("budget:") for c in budget_columns) or "budget"
    ax.set_xlabel(f"budget ({payers}), GBP {opt.lv.model.scenario.price_year} prices")
    ax.set_ylabel(f"net benefit ({opt.lv.perspective}), PV")
    ax.set_title("Efficiency frontier: the best portfolio at each budget", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    from roi_engine.atomic import atomic_output

    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_workbook(opt: Optimisation, path: Path) -> Path:
    """The tables as one workbook (sheets Basis, Choice, Frontier, Probability, Budgets, Candidates)."""
    basis = pd.DataFrame({"setting": [line.split(":", 1)[0] for line in basis_lines(opt)]
                          + ["Budgets"],
                          "value": [line.split(":", 1)[1].strip() for line in basis_lines(opt)]
                          + [_budget_text(opt)]})
    sheets = {"Basis": basis, "Choice": choice_table(opt), "Frontier": frontier_table(opt),
              "Probability": probability_table(opt), "Budgets": budgets_table(opt),
              "Candidates": candidates_table(opt)}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for column in sheet.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 60)
    return path


PAGE = "optimise.html"


def html_page(opt: Optimisation, chart_png: bytes) -> str:
    """A self-contained web page: the basis, the choice, the budgets, the frontier chart and table,
    the order programmes enter, P(in the optimal portfolio) and the EVPI (the terminal's content)."""
    import base64
    from html import escape

    def html_table(headers: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    lv = opt.lv
    choice = choice_table(opt)
    payers = list(_payers(opt))
    rows = []
    for r in choice.itertuples(index=False):
        d = r._asdict()
        funded = r.programme == "portfolio" or r.level > 0
        level = "" if r.programme == "portfolio" else (f"{r.level:g}" if funded else "not funded")
        rows.append([r.name, level,
                     money(r.net_benefit_mean) if funded else "",
                     f"{money(r.net_benefit_p5)} to {money(r.net_benefit_p95)}" if funded else "",
                     *[money(d[f"pv_cost_{p}"]) if funded else "" for p in payers],
                     "" if r.programme == "portfolio" else share(r.p_in_optimal_portfolio)])
    choice_html = html_table(["programme", "level (x reach)", "expected net benefit", "90% interval",
                              *[f"PV cost: {p}" for p in payers], "P(in optimal portfolio)"], rows)
    budgets = budgets_table(opt)
    budgets_html = html_table(
        ["budget", "amount", "expected outlay", "P(outlay > budget)", "shadow price (MILP)",
         "shadow price (LP)"],
        [[r.budget, money(r.amount), money(r.expected_outlay),
          "" if math.isnan(r.p_outlay_exceeds) else share(r.p_outlay_exceeds),
          _price(r.shadow_price_milp), _price(r.shadow_price_lp)] for r in budgets.itertuples(index=False)])
    frontier = frontier_table(opt)
    columns = [c for c in frontier.columns if c.startswith("budget:")]
    frontier_html = html_table(
        ["factor", *[c.removeprefix("budget:") for c in columns], "portfolio", "expected net benefit",
         "90% interval"],
        [[f"{r['budget_factor']:.2f}", *[money(r[c]) for c in columns], r["portfolio"],
          money(r["net_benefit_mean"]), f"{money(r['net_benefit_p5'])} to {money(r['net_benefit_p95'])}"]
         for _, r in frontier.iterrows()])
    order = "; ".join(f"{pid} (x{f:.2f}, level {level:g})" if f is not None else f"{pid} (never)"
                      for pid, f, level in entry_order(lv, opt.points))
    fifth = most_deprived_gain_share(lv, opt.choice.x)
    equity = (f"<p>Most deprived fifth (IMD 2019 quintile 1): {share(fifth)} of the choice's expected "
              f"health gain; {share(lv.most_deprived_population_share)} of residents.</p>"
              if fifth is not None else "")
    basis = "".join(f"<li>{escape(line)}</li>"
                    for line in [*basis_lines(opt), f"Budgets: {_budget_text(opt)}"])
    chart = base64.b64encode(chart_png).decode("ascii")
    title = escape(f"Which programmes, at what scale: {lv.model.scenario.spec.name}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
        color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 100%; height: auto; }}
.basis {{ font-size: 0.9em; color: #444; }}
</style></head><body>
<h1>{title}</h1>
<ul class="basis">{basis}</ul>
<h2>The chosen portfolio</h2>
<p>Programme rows are additive; the portfolio row has overlap between programmes removed.</p>
{choice_html}
{equity}
<h2>Budgets and their shadow prices</h2>
<p>Shadow price: extra expected net benefit per extra £1 of the budget. MILP: re-solved with the
budget 1% higher; LP: the dual value of the LP relaxation.</p>
{budgets_html}
<h2>Efficiency frontier</h2>
<img src="data:image/png;base64,{chart}" alt="Efficiency frontier: expected net benefit of the best
portfolio and its 90% interval against the budget">
{frontier_html}
<p>Order programmes enter as the budget grows: {escape(order)}</p>
<h2>How sure is the choice</h2>
<p>P(in optimal portfolio) is the share of the first {len(opt.per_draw.best):,} draws whose own best
portfolio funds the programme. Portfolio EVPI (what resolving all uncertainty before choosing would be
worth): {escape(money(opt.per_draw.evpi))}.</p>
</body></html>
"""


def write_optimisation(out_dir: Path, opt: Optimisation) -> list[Path]:
    """Write the five CSV tables and, when it can be written, ``optimise_chosen.toml`` (the chosen
    portfolio as a scenario) into ``out_dir``; returns their paths."""
    tables = {"optimise_choice.csv": choice_table(opt), "optimise_frontier.csv": frontier_table(opt),
              "optimise_probability.csv": probability_table(opt),
              "optimise_budgets.csv": budgets_table(opt),
              "optimise_candidates.csv": candidates_table(opt)}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [atomic_write_text(out_dir / name, frame.to_csv(index=False))
                   for name, frame in tables.items()]
        chart = frontier_chart(opt, out_dir / FRONTIER_CHART)
        written.append(chart)
        written.append(atomic_write_text(out_dir / PAGE, html_page(opt, chart.read_bytes())))
        from roi_engine.atomic import atomic_output

        with atomic_output(out_dir / WORKBOOK) as tmp:
            write_workbook(opt, Path(tmp))
        written.append(out_dir / WORKBOOK)
        text = chosen_scenario_text(opt)
        if text is not None:
            written.append(atomic_write_text(out_dir / CHOSEN_SCENARIO, text))
        return written
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None


__all__ = ["CHOSEN_SCENARIO", "chosen_scenario_text", "choice_table", "frontier_table", "probability_table",
           "budgets_table", "candidates_table",
           "format_optimisation", "timing_table", "write_optimisation", "basis_lines"]
