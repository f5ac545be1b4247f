"""The deprivation section's charts: health gain by IMD quintile, and the equity-efficiency plane.

Figures come from :func:`roi_engine.analyses.deprivation.deprivation_results`; nothing here computes
a metric.
"""

from __future__ import annotations

import numpy as np

from roi_engine.outputs.charts import (
    CASH_COLOUR,
    COST_COLOUR,
    NON_CASH_COLOUR,
    Chart,
    _figure,
    _money_axis,
    _png,
    chance,
)
from roi_engine.results.cube import PORTFOLIO

DEPRIVATION_CHART_FILES = {"deprivation_share": "health_gain_by_deprivation.png",
                           "equity_plane": "equity_efficiency_plane.png"}
DEPRIVATION_CHART_IDS = {"deprivation_share": "chart-deprivation-share",
                         "equity_plane": "chart-equity-plane"}
PLANE_POINTS = 2_000


def share_chart(d, results) -> Chart:
    """Bars: each quintile's share of residents and of the portfolio's health gain (mean over draws)."""
    rows = d.quintiles[d.quintiles["entity"] == PORTFOLIO]
    x = np.arange(len(rows))
    fig, ax = _figure(10, 4.2)
    ax.bar(x - 0.2, rows["population_share"] * 100, width=0.4, color=NON_CASH_COLOUR,
           label="share of the area's residents")
    ax.bar(x + 0.2, rows["share_of_health_gain_mean"] * 100, width=0.4, color=CASH_COLOUR,
           label="share of the health gain (mean over draws)")
    ax.set_xticks(x, list(rows["quintile_label"]))
    ax.set_xlabel("National deprivation quintile of the neighbourhood (IMD 2019)")
    ax.set_ylabel("Per cent")
    ax.set_title("Who gains: health gain by deprivation quintile, the portfolio", fontsize=12)
    ax.legend(frameon=False, fontsize=9)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    q1 = rows.iloc[0]
    alt = (f"Bar chart by deprivation quintile: the most deprived fifth holds "
           f"{q1['population_share']:.0%} of the area's residents and receives "
           f"{q1['share_of_health_gain_mean']:.0%} of the portfolio's health gain.")
    caption = ("Pairs of bars per national deprivation quintile: the share of the area's residents "
               "living there, and the share of the portfolio's health gain (QALY equivalents) reaching "
               "them. Gains above the population share mean the programmes favour that group.")
    return Chart("deprivation_share", DEPRIVATION_CHART_IDS["deprivation_share"],
                 DEPRIVATION_CHART_FILES["deprivation_share"], "Who gains by deprivation", alt, caption,
                 _png(fig))


def plane_chart(d, results) -> Chart:
    """Scatter of draws: portfolio NPV against the narrowing of the health gap (-SII)."""
    plane = d.plane.iloc[:PLANE_POINTS]
    npv, narrowing = plane["npv"].to_numpy(), plane["narrowing_qalys_per_100k"].to_numpy()
    p = d.value(PORTFOLIO, "p_gains_and_narrows")
    fig, ax = _figure(10, 4.6)
    win = (npv > 0) & (narrowing > 0)
    ax.scatter(npv[win], narrowing[win], s=6, color=CASH_COLOUR, alpha=0.5, label="gains and narrows")
    ax.scatter(npv[~win], narrowing[~win], s=6, color=COST_COLOUR, alpha=0.5, label="other draws")
    ax.axhline(0, color="#333333", linewidth=1)
    ax.axvline(0, color="#333333", linewidth=1)
    _money_axis(ax, npv, "x")
    ax.set_xlabel(f"Net present value of the portfolio ({results.info.perspective} perspective)")
    ax.set_ylabel("Gap narrowed (-SII), QALYs per 100,000")
    ax.set_title("Equity-efficiency plane: each dot one simulated draw", fontsize=12)
    ax.text(0.98, 0.95, f"P(gains and narrows) = {chance(p)}", transform=ax.transAxes, ha="right",
            va="top", fontsize=11, fontweight="bold")
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    alt = (f"Scatter of {len(plane):,} draws: net present value against the narrowing of the health "
           f"gap between more and less deprived places; {chance(p)} of all draws gain and narrow.")
    caption = ("Top right: the portfolio both adds value and narrows the gap in health between more and "
               "less deprived places (slope index of inequality of the per-person health gain below 0). "
               f"The first {len(plane):,} draws are shown; the probability is over all draws.")
    return Chart("equity_plane", DEPRIVATION_CHART_IDS["equity_plane"],
                 DEPRIVATION_CHART_FILES["equity_plane"], "Equity-efficiency plane", alt, caption,
                 _png(fig))


def deprivation_charts(results) -> list[Chart]:
    """The two charts, or none when the run has no split by deprivation."""
    import matplotlib

    from roi_engine.analyses.deprivation import deprivation_results

    d = deprivation_results(results)
    if d is None:
        return []
    with matplotlib.rc_context({"text.parse_math": False}):
        return [share_chart(d, results), plane_chart(d, results)]


__all__ = ["deprivation_charts", "DEPRIVATION_CHART_FILES", "DEPRIVATION_CHART_IDS"]
