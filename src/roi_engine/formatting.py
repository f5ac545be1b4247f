"""Plain-text tables for the terminal: the run summary, area search results, the intervention list."""

from __future__ import annotations

import math

import numpy as np

from .results import PORTFOLIO, Results


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


def year(x: float) -> str:
    return "never" if math.isnan(x) else f"year {x:.0f}"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A fixed-width text table; ``align`` is one 'l' or 'r' per column (default: first left)."""
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w)
                         for c, w, a in zip(cells, widths, align, strict=True))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def format_summary(results: Results) -> str:
    """The summary a ``roi-engine run`` prints: settings, headline per intervention, portfolio by sector."""
    info = results.info
    head = results.headline()
    lines = ["roi-engine results", "==================", *info.lines(),
             "All money: present values, discounted, "
             f"{info.currency} {info.price_year} prices. Intervals: 5th-95th percentile over draws.",
             ""]
    rows = []
    for entity, r in head.iterrows():
        rows.append([
            entity,
            f"{r['participants_base']:,.0f}",
            money(r["pv_costs_base"]),
            money(r["pv_benefits_base"]),
            f"{money(r['npv_mean'])} ({money(r['npv_p05'])} to {money(r['npv_p95'])})",
            f"{ratio(r['benefit_per_pound_base'])} ({ratio(r['benefit_per_pound_p05'])} to "
            f"{ratio(r['benefit_per_pound_p95'])})",
            share(r["p_benefit_per_pound_gt_1"]),
            year(r["payback_year_base"]),
        ])
    lines.append(table(["intervention", "participants", "PV costs", "PV benefits",
                        "NPV mean (90% interval)", "benefit per £1, base (90% interval)",
                        "P(>£1)", "payback (base)"], rows))
    lines += ["", "Participants and PV columns: base case (every parameter at its point value)."]
    lines += [f"Overlap: {note}" for note in results.overlap_notes]
    lines.append("")

    sectors = results.by_sector(PORTFOLIO)
    sector_rows = []
    for sector, r in sectors.iterrows():
        if np.allclose([r["pv_costs"], r["pv_benefits"]], 0):
            continue
        sector_rows.append([
            sector, money(r["pv_costs"]),
            money(r["pv_benefits_fiscal"] + r["pv_benefits_economic"]),
            money(r["pv_benefits_social"]), money(r["npv_mean"]),
            f"{money(r['npv_p05'])} to {money(r['npv_p95'])}", share(r["p_npv_gt_0"]),
        ])
    lines.append(f"Who pays and who gains (portfolio, means over {info.draws:,} draws):")
    lines.append(table(["sector", "pays", "gains: cash-releasing", "gains: health/wellbeing",
                        "net", "net 90% interval", "P(net > 0)"], sector_rows))
    outcomes = results.outcomes()
    lines += ["", "Outcomes over the horizon (mean, 90% interval):"]
    lines.append(table(
        ["intervention", "outcome", "mean", "90% interval"],
        [[r.entity, r.unit, f"{r.mean:,.0f}", f"{r.p05:,.0f} to {r.p95:,.0f}"]
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
