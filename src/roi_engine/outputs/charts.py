"""The report's charts, drawn with matplotlib's object-oriented API (``Figure`` on the Agg canvas).

Every figure comes from :class:`~roi_engine.results.summary.Summary`: nothing here computes a metric.
Mathtext is off (``text.parse_math = False``), so a ``$`` in a name prints as itself.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.outputs.formatting import money, ratio, share
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, Results

CHART_FILES: dict[str, str] = {
    "who_pays": "who_pays_who_gains.png",
    "cumulative": "cumulative_net_cash_flow.png",
    "distribution": "benefit_per_pound_distribution.png",
}
"""Chart key -> PNG file name in ``out_dir/charts/``."""

CHART_IDS: dict[str, str] = {
    "who_pays": "chart-who-pays",
    "cumulative": "chart-cumulative-net",
    "distribution": "chart-benefit-per-pound",
}
"""Chart key -> ``id`` of its ``<img class="chart">`` in the page."""

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
COST_COLOUR = "#D55E00"
CASH_COLOUR = "#0072B2"
NON_CASH_COLOUR = "#56B4E9"
NET_COLOUR = "#000000"
BAND_COLOUR = "#0072B2"
DPI = 110



# --- plain-English figures ---


def money_short(x: float) -> str:
    """``£1.82m``, ``£14.6m``, ``£640k``, ``£85.00``, ``-£1.2m``; ``n/a`` for NaN."""
    if x is None or not math.isfinite(x):
        return "n/a"
    v = abs(x)
    if v >= 1e9:
        text = f"£{v / 1e9:,.2f}bn"
    elif v >= 1e7:
        text = f"£{v / 1e6:,.1f}m"
    elif v >= 1e6:
        text = f"£{v / 1e6:,.2f}m"
    elif v >= 1e4:
        text = f"£{v / 1e3:,.0f}k"
    else:
        return money(x)
    return f"-{text}" if x < 0 else text


def chance(p: float) -> str:
    """A probability for a reader: ``95%``, ``over 99%``, ``under 1%``; ``n/a`` for NaN."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p >= 0.995:
        return "over 99%"  # even 100% of a finite number of draws is not certainty
    if p <= 0.005:
        return "under 1%"
    return share(p)


def year_text(year: float, horizon: int) -> str:
    """``year 2 (the 3rd year)`` or ``not within 10 years``."""
    if year is None or math.isnan(year):
        return "n/a (pays nothing)"
    if math.isinf(year):
        return f"not within {horizon} years"
    y = int(round(year))
    return f"year {y} (the {_ordinal(y + 1)} year)"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Chart:
    """One chart: its PNG bytes and the words around it."""

    key: str
    id: str
    filename: str
    title: str
    alt: str
    caption: str
    png: bytes


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _money_axis(ax, values: np.ndarray, axis: str = "x") -> None:
    """Label an axis's ticks as money: ``£20m``, ``-£1.5m``, ``£250k``, ``£40``."""
    from matplotlib.ticker import FuncFormatter

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(np.max(np.abs(finite))) if finite.size else 0.0
    scale, suffix = (1e6, "m") if top >= 1e6 else (1e3, "k") if top >= 1e3 else (1.0, "")

    def label(v: float, _pos) -> str:
        if abs(v) < 1e-9 * max(top, 1.0):
            return "£0"
        number = f"{abs(v) / scale:,.2f}".rstrip("0").rstrip(".")  # 2.5, 10, 0.25: no false rounding
        text = f"£{number}{suffix}"
        return f"-{text}" if v < 0 else text

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(FuncFormatter(label))


def who_pays_chart(results: Results, entity: str = PORTFOLIO) -> Chart:
    """Diverging bars by sector: costs to the left (negative), cash-releasing then non-cash gains stacked
    to the right, a marker at each sector's net position. Means over draws, present values."""
    info = results.info
    frame = results.by_sector(entity).loc[list(results.sectors)]
    labels = results.sector_labels()
    cash = frame["pv_benefits_cash_mean"].to_numpy()
    non_cash = frame["pv_benefits_social_mean"].to_numpy()
    cost = frame["pv_costs_mean"].to_numpy()
    net = frame["npv_mean"].to_numpy()
    active = (np.abs(cost) > 0.5) | (np.abs(cash) > 0.5) | (np.abs(non_cash) > 0.5)
    order = [i for i in np.argsort(net) if active[i]]  # biggest net gain at the top
    names = [labels.get(frame.index[i], frame.index[i]) for i in order]
    y = np.arange(len(order))
    fig, ax = _figure(10, 0.55 * max(len(order), 1) + 2.2)
    ax.barh(y, -cost[order], color=COST_COLOUR, height=0.6, label="pays (cost)")
    ax.barh(y, cash[order], color=CASH_COLOUR, height=0.6, label="gains: cash-releasing")
    ax.barh(y, non_cash[order], left=cash[order], color=NON_CASH_COLOUR, height=0.6, hatch="//",
            edgecolor="white", linewidth=0, label="gains: health and wellbeing (non-cash)")
    ax.scatter(net[order], y, marker="D", color=NET_COLOUR, zorder=3, s=28, label="net position")
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(y, names)
    _money_axis(ax, np.concatenate([cost, cash + non_cash]))
    ax.set_xlabel(f"Present value ({info.currency}, {info.price_year} prices, discounted), mean over draws")
    ax.set_title(f"Who pays and who gains: {_entity_title(results, entity)}, {info.horizon} years",
                 fontsize=12)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    parts = []
    for i in reversed(order):
        name = labels.get(frame.index[i], frame.index[i])
        bits = []
        if cost[i]:
            bits.append(f"pays {money_short(cost[i])}")
        if cash[i]:
            bits.append(f"gains {money_short(cash[i])} in cash")
        if non_cash[i]:
            bits.append(f"gains {money_short(non_cash[i])} in health and wellbeing")
        parts.append(f"{name} {', '.join(bits)} (net {money_short(net[i])})")
    alt = ("Horizontal bar chart of who pays and who gains by sector, mean present values: "
           + "; ".join(parts) + ".")
    caption = ("Costs point left, gains point right: cash-releasing gains (solid blue) then health and "
               "wellbeing valued in money (hatched light blue), which releases no cash. The diamond is "
               f"each sector's net position. Means over {info.draws:,} draws; sectors with nothing to pay "
               "or gain are left out.")
    return Chart("who_pays", CHART_IDS["who_pays"], CHART_FILES["who_pays"],
                 "Who pays and who gains", alt, caption, _png(fig))


def cumulative_chart(results: Results, entity: str = PORTFOLIO) -> Chart:
    """Cumulative discounted net cash flow by year: mean line, 90% band, payback year marked."""
    info = results.info
    band = results.summary.cumulative_net_band(ALL_SECTORS, "perspective")
    band = band[band["entity"] == entity].sort_values("year")
    cash_band = results.summary.cumulative_net_band(ALL_SECTORS, "cash")
    cash = cash_band[cash_band["entity"] == entity].sort_values("year")["mean"].to_numpy()
    years = band["year"].to_numpy()
    payback = results.summary.payback(entity, statistic="base_case")
    fig, ax = _figure(10, 4.8)
    ax.fill_between(years, band["p05"], band["p95"], color=BAND_COLOUR, alpha=0.18, linewidth=0,
                    label="90% band (5th to 95th percentile)")
    ax.plot(years, band["mean"], color=BAND_COLOUR, linewidth=2.2, marker="o", markersize=4,
            label="mean")
    ax.axhline(0, color="#333333", linewidth=1)
    if math.isfinite(payback):
        ax.axvline(payback, color=COST_COLOUR, linestyle="--", linewidth=1.5)
        value = float(band.loc[band["year"] == payback, "base_case"].iloc[0])
        ax.annotate(f"base case pays back in year {payback:.0f}", xy=(payback, value),
                    xytext=(10, 12), textcoords="offset points", color=COST_COLOUR, fontsize=10,
                    fontweight="bold", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    else:
        ax.text(0.02, 0.90, f"base case: does not pay back within {info.horizon} years",
                transform=ax.transAxes, color=COST_COLOUR, fontsize=10, fontweight="bold", va="top",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    counts_non_cash = "social" in PERSPECTIVES.get(info.perspective, ())
    if counts_non_cash:  # otherwise the cash line is the mean line
        ax.plot(years, cash[: len(years)], color="#555555", linestyle="--", linewidth=1.6, marker="s",
                markersize=3, label="cash-releasing only (mean)")
    _money_axis(ax, np.concatenate([band[["p05", "p95", "mean"]].to_numpy().ravel(), cash]), axis="y")
    ax.set_ylabel(f"Cumulative net ({info.currency}, {info.price_year} prices)")
    ax.set_xlabel("Year (0 = first year of delivery)")
    ax.set_xticks(years)
    ax.set_title(f"Cumulative discounted net benefit: {_entity_title(results, entity)}", fontsize=12)
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    last = band.iloc[-1]
    when = (f"the base case pays back in year {payback:.0f}" if math.isfinite(payback)
            else f"the base case does not pay back within {info.horizon} years")
    alt = (f"Line chart of cumulative discounted net benefit by year for {_entity_title(results, entity)}, "
           "with a "
           f"shaded 90% band; {when}. By year {int(last['year'])} the mean is {money_short(last['mean'])} "
           f"(90% band {money_short(last['p05'])} to {money_short(last['p95'])})"
           + (f"; counting cash-releasing benefits only it is {money_short(cash[-1])}." if counts_non_cash
              else "."))
    caption = (f"Benefits minus costs, added up year by year and discounted, as the {info.perspective} "
               f"perspective counts them (benefits: {', '.join(PERSPECTIVES.get(info.perspective, ()))}). "
               "The orange dashed line marks the base case's payback year: the first year from which "
               "the running total stays at or above zero. The band holds 9 in 10 simulated futures "
               f"({info.year_detail_draws:,} draws)."
               + (" The grey dashed line counts cash-releasing benefits only, leaving out health and "
                  "wellbeing." if counts_non_cash else ""))
    return Chart("cumulative", CHART_IDS["cumulative"], CHART_FILES["cumulative"],
                 "When it pays back", alt, caption, _png(fig))


def distribution_chart(results: Results, entity: str = PORTFOLIO) -> Chart:
    """Histogram of the benefit per £1 over draws, with the £1 break-even line."""
    info = results.info
    x = results.summary.draw_metrics["benefit_per_pound"].sel(entity=entity, group=ALL_SECTORS).values
    x = x[np.isfinite(x)]
    row = results.headline().loc[entity]
    p = row["p_benefit_per_pound_gt_1"]
    fig, ax = _figure(10, 4.4)
    cut = ""
    if x.size:
        high = float(np.quantile(x, 0.995))
        shown = x[x <= high]
        if shown.size < x.size:
            cut = (f" The x axis stops at the 99.5th percentile ({ratio(high)}); "
                   f"{x.size - shown.size} draws lie beyond it.")
        low, high = min(float(shown.min()), 0.95), max(high, 1.05)
        width = (high - low) / 40
        # bin edges on a grid through £1, so no bar straddles the break-even line
        edges = 1.0 + width * np.arange(math.floor((low - 1.0) / width), math.ceil((high - 1.0) / width) + 1)
        _, _, patches = ax.hist(shown, bins=edges, color=CASH_COLOUR, edgecolor="white", linewidth=0.5)
        for patch, left in zip(patches, edges[:-1], strict=True):
            if left < 1 - 1e-9:
                patch.set_facecolor(COST_COLOUR)
    ax.axvline(1.0, color="#333333", linewidth=2)
    ax.annotate("£1: break-even", xy=(1.0, 1), xycoords=("data", "axes fraction"), xytext=(5, -14),
                textcoords="offset points", fontsize=10,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})
    if math.isfinite(row["benefit_per_pound_base"]):
        ax.axvline(row["benefit_per_pound_base"], color="#333333", linestyle=":", linewidth=1.5)
        ax.annotate(f"base case {ratio(row['benefit_per_pound_base'])}",
                    xy=(row["benefit_per_pound_base"], 0.88), xycoords=("data", "axes fraction"),
                    xytext=(5, 0), textcoords="offset points", fontsize=9,
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})
    ax.text(0.98, 0.95, f"P(more than £1) = {chance(p)}", transform=ax.transAxes, ha="right", va="top",
            fontsize=11, fontweight="bold")
    ax.set_xlabel("Benefit per £1 invested (£)")
    ax.set_ylabel("Number of draws")
    ax.set_title(f"How sure is the return? Benefit per £1 over {info.draws:,} draws: "
                 f"{_entity_title(results, entity)}", fontsize=12)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    alt = (f"Histogram of the benefit per £1 invested over {info.draws:,} simulated draws for "
           f"{_entity_title(results, entity)}: base case {ratio(row['benefit_per_pound_base'])}, "
           "90% interval "
           f"{ratio(row['benefit_per_pound_p05'])} to {ratio(row['benefit_per_pound_p95'])}; a vertical line "
           f"marks £1; {chance(p)} of draws lie above it.")
    caption = ("Each bar counts the simulated futures (draws) with that benefit per £1; bars below £1 "
               "(orange) are draws in which the programme returns less than it costs." + cut)
    return Chart("distribution", CHART_IDS["distribution"], CHART_FILES["distribution"],
                 "How sure is the return?", alt, caption, _png(fig))


def _entity_title(results: Results, entity: str) -> str:
    return "the portfolio" if entity == PORTFOLIO else results.entity_names().get(entity, entity)


def build_charts(results: Results) -> list[Chart]:
    """The report's three charts for the portfolio."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        return [who_pays_chart(results), cumulative_chart(results), distribution_chart(results)]
