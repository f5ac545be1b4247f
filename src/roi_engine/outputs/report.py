"""A report for the partners round the table: one self-contained HTML page, and its charts as PNG.

:func:`write_report` writes into ``out_dir``

- ``report.html``: one file a board member can open anywhere (no network): charts embedded as base64 PNG
  data URIs, CSS inline, no external scripts or fonts. It says, in plain English, what every £1 returns
  to society and, separately, in cash to the public purse; shows who pays and who gains by sector, the
  cumulative discounted net cash flow with its payback year and 90% band, the distribution of the
  benefit per £1, one card per intervention, the cost-sharing table, how to read the page and where the
  data come from;
- ``charts/who_pays_who_gains.png``, ``charts/cumulative_net_cash_flow.png``,
  ``charts/benefit_per_pound_distribution.png``: the same charts as files, for slides.

Every file goes to a temporary name in its folder first and is then moved into place (``os.replace``),
so a crash leaves the old file or the new one, never half a file.

Conventions (the same as the terminal summary, :func:`roi_engine.outputs.formatting.format_summary`): costs,
benefit per £1 and payback on the cards and in the headline are the *base case* (every parameter at its
point value); intervals are the 5th to 95th percentiles over the Monte Carlo draws, and chances are
shares of draws; sector splits are means over draws. All money is present value in the run's price year.

Charts are drawn with matplotlib's object-oriented API (``matplotlib.figure.Figure`` rendered by the Agg
canvas), so nothing here touches pyplot's global state or the process's backend.

The narrative helpers (:func:`headline_sentences`, :func:`public_purse_return`, :func:`sector_labels`)
are used by :mod:`roi_engine.outputs.workbook` too, so the page and the workbook say the same thing.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.atomic import atomic_write_bytes, file_mode  # noqa: F401  (file_mode re-exported)
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.model.engine import KIND_INDEX
from roi_engine.outputs.formatting import money, ratio, share
from roi_engine.results.cube import PORTFOLIO, Results
from roi_engine.results.metrics import summarise

REPORT_FILE = "report.html"
CHART_DIR = "charts"

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

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies).
COST_COLOUR = "#D55E00"
CASH_COLOUR = "#0072B2"
NON_CASH_COLOUR = "#56B4E9"
NET_COLOUR = "#000000"
BAND_COLOUR = "#0072B2"
DPI = 110

_NON_PUBLIC_FALLBACK = ("employers", "individuals", "vcse")


# --- plain-English figures ------------------------------------------------------------------------


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
    if year is None or not math.isfinite(year):
        return f"not within {horizon} years"
    y = int(round(year))
    return f"year {y} (the {_ordinal(y + 1)} year)"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def sector_labels(results: Results) -> dict[str, str]:
    """Sector name -> human label from ``sectors.csv`` (the name itself when the run keeps no table)."""
    table = getattr(results, "sector_table", None)
    if table is None:
        return {s: s.replace("_", " ") for s in results.sectors}
    return {s.name: s.label for s in table.sectors}


def public_bodies(results: Results) -> np.ndarray:
    """Boolean mask over :attr:`Results.sectors`: ``public_body = yes`` in ``sectors.csv``."""
    table = getattr(results, "sector_table", None)
    if table is None:
        return np.array([s not in _NON_PUBLIC_FALLBACK for s in results.sectors])
    return np.array([s.public_body for s in table.sectors])


def public_purse_return(results: Results, entity: str = PORTFOLIO) -> dict[str, float]:
    """Cash-releasing return to the public purse: fiscal savings of public bodies per £1 they pay.

    Per draw, ``fiscal benefit to public bodies / cost borne by public bodies`` (present values, whatever
    the run's perspective: fiscal benefits and public costs count under all of them). Returns ``base,
    mean, p05, p95`` of that ratio, ``p_gt_1`` (chance public bodies get back more than they pay),
    ``cost_base`` and ``fiscal_base`` (base case, GBP). Ratios are NaN when public bodies pay nothing.
    """
    e = results.entities.index(entity)
    mask = public_bodies(results)

    def split(pv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pv = pv.sum(axis=1) if entity == PORTFOLIO else pv[:, e]
        cost = pv[:, mask, KIND_INDEX["cost"]].sum(axis=1)
        fiscal = pv[:, mask, KIND_INDEX["fiscal"]].sum(axis=1)
        return cost, fiscal

    cost, fiscal = split(results.pv)
    cost_base, fiscal_base = split(results.base.pv)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pound = np.where(cost > 0, fiscal / np.where(cost > 0, cost, 1.0), np.nan)
    stats = summarise(per_pound)
    valid = ~np.isnan(per_pound)
    return {
        "base": float(fiscal_base[0] / cost_base[0]) if cost_base[0] > 0 else math.nan,
        "mean": float(stats["mean"]),
        "p05": float(stats["p05"]),
        "p95": float(stats["p95"]),
        "p_gt_1": float(np.mean(per_pound[valid] > 1)) if valid.any() else math.nan,
        "cost_base": float(cost_base[0]),
        "fiscal_base": float(fiscal_base[0]),
    }


def headline_sentences(results: Results, entity: str = PORTFOLIO) -> tuple[str, str]:
    """Two plain-English sentences: the return to society (the run's perspective) and to the public purse.

    ``"Every £1 invested returns £X to society over N years (90% interval £a to £b); the chance it
    returns more than £1 is P%."`` and the cash-only sentence for public budgets. £X is the base case.
    """
    info = results.info
    row = results.headline().loc[entity]
    who = PERSPECTIVE_BENEFICIARY.get(info.perspective, "")
    years = f"{info.horizon} year{'s' if info.horizon != 1 else ''}"
    if not math.isfinite(row["benefit_per_pound_base"]):
        first = (f"Nothing is invested in the base case, so there is no return per £1; the mean net "
                 f"benefit {who} over {years} is {money_short(row['npv_mean'])}.")
    else:
        first = (f"Every £1 invested returns {ratio(row['benefit_per_pound_base'])} {who} over {years} "
                 f"(90% interval {ratio(row['benefit_per_pound_p05'])} to "
                 f"{ratio(row['benefit_per_pound_p95'])}); the chance it returns more than £1 is "
                 f"{chance(row['p_benefit_per_pound_gt_1'])}.")
    purse = public_purse_return(results, entity)
    if not math.isfinite(purse["base"]):
        second = (f"Public bodies pay nothing here; they get back {money_short(purse['fiscal_base'])} in "
                  "cash-releasing (fiscal) savings.")
    else:
        second = (f"Counting only cash that comes back to public budgets (fiscal savings), every £1 of "
                  f"public money returns {ratio(purse['base'])} (90% interval {ratio(purse['p05'])} to "
                  f"{ratio(purse['p95'])}); the chance the public purse gets back more cash than it puts "
                  f"in is {chance(purse['p_gt_1'])}.")
    return first, second


def intervention_names(scenario) -> dict[str, str]:
    """Intervention id -> its name in the library (for card titles and the workbook's Summary)."""
    return {spec.id: spec.name for _, spec in scenario.interventions}


def _pretty_id(entity: str) -> str:
    text = entity.replace("_", " ")
    return text[:1].upper() + text[1:]


# --- charts ---------------------------------------------------------------------------------------


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
    frame = results.by_sector(entity)
    labels = sector_labels(results)
    cash = (frame["pv_benefits_fiscal"] + frame["pv_benefits_economic"]).to_numpy()
    non_cash = frame["pv_benefits_social"].to_numpy()
    cost = frame["pv_costs"].to_numpy()
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
    ax.set_title(f"Who pays and who gains: {_entity_title(entity)}, {info.horizon} years", fontsize=12)
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


def payback_of_mean(band: pd.DataFrame) -> float:
    """First year in which the mean cumulative discounted net is >= 0 (NaN if never)."""
    hits = band.loc[band["mean"] >= 0, "year"]
    return float(hits.iloc[0]) if len(hits) else math.nan


def cumulative_cash_net(results: Results, entity: str = PORTFOLIO) -> np.ndarray:
    """Mean cumulative discounted net *cash* by year: cash-releasing benefits (fiscal + economic, as the
    perspective counts them) minus counted costs, summed over sectors. [GBP]"""
    mean = results.sums["discounted_sum"] / results.info.draws  # (I, H, S, K)
    flows = mean.sum(axis=0) if entity == PORTFOLIO else mean[results.entities.index(entity)]
    counted = flows * results.weights
    net = (counted[..., KIND_INDEX["fiscal"]] + counted[..., KIND_INDEX["economic"]]
           - counted[..., KIND_INDEX["cost"]])
    return np.cumsum(net.sum(axis=-1))


def cumulative_chart(results: Results, entity: str = PORTFOLIO) -> Chart:
    """Cumulative discounted net cash flow by year: mean line, 90% band, payback year marked."""
    info = results.info
    band = results.cumulative_net_band()
    band = band[band["entity"] == entity].sort_values("year")
    years = band["year"].to_numpy()
    payback = payback_of_mean(band)
    fig, ax = _figure(10, 4.8)
    ax.fill_between(years, band["p05"], band["p95"], color=BAND_COLOUR, alpha=0.18, linewidth=0,
                    label="90% band (5th to 95th percentile)")
    ax.plot(years, band["mean"], color=BAND_COLOUR, linewidth=2.2, marker="o", markersize=4,
            label="mean")
    ax.axhline(0, color="#333333", linewidth=1)
    if math.isfinite(payback):
        ax.axvline(payback, color=COST_COLOUR, linestyle="--", linewidth=1.5)
        value = float(band.loc[band["year"] == payback, "mean"].iloc[0])
        ax.annotate(f"pays back in year {payback:.0f}", xy=(payback, value),
                    xytext=(10, 12), textcoords="offset points", color=COST_COLOUR, fontsize=10,
                    fontweight="bold", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    else:
        ax.text(0.02, 0.90, f"does not pay back within {info.horizon} years (mean)",
                transform=ax.transAxes, color=COST_COLOUR, fontsize=10, fontweight="bold", va="top",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    cash = cumulative_cash_net(results, entity)
    counts_non_cash = "social" in PERSPECTIVES.get(info.perspective, ())
    if counts_non_cash:  # otherwise the cash line is the mean line
        ax.plot(years, cash[: len(years)], color="#555555", linestyle="--", linewidth=1.6, marker="s",
                markersize=3, label="cash-releasing only (mean)")
    _money_axis(ax, np.concatenate([band[["p05", "p95", "mean"]].to_numpy().ravel(), cash]), axis="y")
    ax.set_ylabel(f"Cumulative net ({info.currency}, {info.price_year} prices)")
    ax.set_xlabel("Year (0 = first year of delivery)")
    ax.set_xticks(years)
    ax.set_title(f"Cumulative discounted net benefit: {_entity_title(entity)}", fontsize=12)
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    last = band.iloc[-1]
    when = (f"the mean line crosses zero in year {payback:.0f}" if math.isfinite(payback)
            else f"the mean line stays below zero for all {info.horizon} years")
    alt = (f"Line chart of cumulative discounted net benefit by year for {_entity_title(entity)}, with a "
           f"shaded 90% band; {when}. By year {int(last['year'])} the mean is {money_short(last['mean'])} "
           f"(90% band {money_short(last['p05'])} to {money_short(last['p95'])})"
           + (f"; counting cash-releasing benefits only it is {money_short(cash[-1])}." if counts_non_cash
              else "."))
    caption = (f"Benefits minus costs, added up year by year and discounted, as the {info.perspective} "
               f"perspective counts them (benefits: {', '.join(PERSPECTIVES.get(info.perspective, ()))}). "
               "The orange dashed line marks the payback year of the mean: the first year the running "
               "total is at or above zero. The band holds 9 in 10 simulated futures "
               f"({info.year_detail_draws:,} draws)."
               + (" The grey dashed line counts cash-releasing benefits only, leaving out health and "
                  "wellbeing." if counts_non_cash else ""))
    return Chart("cumulative", CHART_IDS["cumulative"], CHART_FILES["cumulative"],
                 "When it pays back", alt, caption, _png(fig))


def distribution_chart(results: Results, entity: str = PORTFOLIO) -> Chart:
    """Histogram of the benefit per £1 over draws, with the £1 break-even line."""
    info = results.info
    e = results.entities.index(entity)
    x = results.total_metrics()["benefit_per_pound"][:, e]
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
                 f"{_entity_title(entity)}", fontsize=12)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    alt = (f"Histogram of the benefit per £1 invested over {info.draws:,} simulated draws for "
           f"{_entity_title(entity)}: base case {ratio(row['benefit_per_pound_base'])}, 90% interval "
           f"{ratio(row['benefit_per_pound_p05'])} to {ratio(row['benefit_per_pound_p95'])}; a vertical line "
           f"marks £1; {chance(p)} of draws lie above it.")
    caption = ("Each bar counts the simulated futures (draws) with that benefit per £1; bars below £1 "
               "(orange) are draws in which the programme returns less than it costs." + cut)
    return Chart("distribution", CHART_IDS["distribution"], CHART_FILES["distribution"],
                 "How sure is the return?", alt, caption, _png(fig))


def _entity_title(entity: str) -> str:
    return "the portfolio" if entity == PORTFOLIO else _pretty_id(entity)


def build_charts(results: Results) -> list[Chart]:
    """The report's three charts for the portfolio."""
    return [who_pays_chart(results), cumulative_chart(results), distribution_chart(results)]


# --- HTML -----------------------------------------------------------------------------------------


CSS = """
:root { --ink: #1b1b1b; --muted: #505a5f; --line: #b1b4b6; --panel: #f3f2f1; --accent: #005ea5;
        --good: #00703c; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #ffffff; line-height: 1.45; font-size: 16px;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
header.masthead { background: #0b0c0c; color: #ffffff; }
header.masthead div { max-width: 1180px; margin: 0 auto; padding: 20px 32px; }
header.masthead h1 { margin: 0 0 4px; font-size: 28px; }
header.masthead p { margin: 0; color: #dddddd; }
h2 { font-size: 22px; margin: 36px 0 10px; border-bottom: 3px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 18px; margin: 0 0 8px; }
.run-info { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0;
            background: var(--panel); padding: 12px 16px; border-left: 5px solid var(--accent); }
.run-info dt { font-weight: 700; }
.run-info dd { margin: 0; }
.headline { font-size: 21px; line-height: 1.4; margin: 14px 0; }
.headline strong { color: var(--accent); }
.headline.cash { font-size: 18px; }
.keyfigures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.keyfigure { background: var(--panel); padding: 12px 14px; }
.keyfigure .value { font-size: 26px; font-weight: 700; display: block; }
.keyfigure .label { color: var(--muted); font-size: 14px; }
figure { margin: 12px 0 24px; }
figure img.chart { width: 100%; max-width: 1100px; height: auto; display: block;
                   border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 14px; margin-top: 6px; max-width: 1100px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
.card { border: 1px solid var(--line); border-top: 5px solid var(--accent); padding: 14px 16px;
        background: #ffffff; }
.card dl { display: grid; grid-template-columns: 8.5em 1fr; gap: 4px 10px; margin: 0;
           font-size: 15px; }
.card dt { color: var(--muted); font-size: 14px; }
.card dd { margin: 0; font-weight: 600; }
.card.below-one { border-top-color: var(--bad); }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0 4px; }
caption { text-align: left; font-weight: 700; padding: 6px 0; font-size: 15px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
thead th { background: var(--panel); text-align: right; font-weight: 700; }
thead th:first-child, tbody th { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
.note { color: var(--muted); font-size: 14px; }
.howto li { margin-bottom: 6px; }
footer { border-top: 1px solid var(--line); margin-top: 40px; padding-top: 12px; font-size: 14px;
         color: var(--muted); }
a { color: var(--accent); }
"""

# Counts the chart images that decoded (naturalWidth > 0) once the page has loaded, so a headless
# browser's DOM dump shows whether every chart rendered.
LOAD_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img.chart"), loaded = 0;
  for (var i = 0; i < images.length; i++) {
    var img = images[i];
    img.setAttribute("data-natural-width", String(img.naturalWidth));
    if (img.complete && img.naturalWidth > 0) { loaded++; }
  }
  document.body.setAttribute("data-loaded", String(loaded));
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _figure_html(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure class="chart-figure" id="figure-{chart.key}">\n'
            f'<img class="chart" id="{chart.id}" src="data:image/png;base64,{data}" '
            f'alt="{_e(chart.alt)}">\n'
            f"<figcaption>{_e(chart.caption)}</figcaption>\n</figure>")


def _run_info_html(results: Results) -> str:
    info = results.info
    items = [
        ("Area", f"{info.area_name} ({info.area_code})"),
        ("Money", f"{info.currency} (£), {info.price_year} prices, converted with the HM Treasury GDP "
                  "deflator; present values"),
        ("Discounting", f"{info.discounting}; year 0 is not discounted"),
        ("Perspective", f"{info.perspective} (benefits counted: "
                        f"{', '.join(PERSPECTIVES.get(info.perspective, ()))})"),
        ("Horizon", f"{info.horizon} years (year 0 = first year of delivery)"),
        ("Uncertainty", f"{info.draws:,} Monte Carlo draws ({info.sampling.upper()}, seed {info.seed})"),
    ]
    rows = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<dl class="run-info" id="run-info">\n{rows}\n</dl>'


def _key_figures_html(results: Results) -> str:
    row = results.headline().loc[PORTFOLIO]
    purse = public_purse_return(results)
    band = results.cumulative_net_band()
    payback = payback_of_mean(band[band["entity"] == PORTFOLIO])
    figures = [
        (money_short(row["pv_costs_base"]), "total cost (present value, base case)"),
        (ratio(row["benefit_per_pound_base"]),
         f"returned per £1 {PERSPECTIVE_BENEFICIARY.get(results.info.perspective, '')}"),
        (ratio(purse["base"]), "cash back to public budgets per £1 of public money"),
        (f"year {payback:.0f}" if math.isfinite(payback) else "not yet",
         f"payback of the mean cash flow (within {results.info.horizon} years)"),
    ]
    cells = "\n".join(f'<div class="keyfigure"><span class="value">{_e(v)}</span>'
                      f'<span class="label">{_e(label)}</span></div>' for v, label in figures)
    return f'<div class="keyfigures" id="key-figures">\n{cells}\n</div>'


def intervention_cards(results: Results, names: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The figures on each intervention's card (text, ready to print), in run order."""
    info = results.info
    head = results.headline()
    labels = sector_labels(results)
    m = results.sector_metrics()
    cards = []
    for e, entity in enumerate(results.entities[:-1]):
        r = head.loc[entity]
        cost = m["pv_costs"][:, e, :].mean(axis=0)
        cash = (m["pv_benefits_fiscal"][:, e, :] + m["pv_benefits_economic"][:, e, :]).mean(axis=0)
        non_cash = m["pv_benefits_social"][:, e, :].mean(axis=0)
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
        cards.append({
            "entity": entity,
            "name": (names or {}).get(entity) or _pretty_id(entity),
            "cost": money_short(r["pv_costs_base"]),
            "benefit_per_pound": (f"{ratio(bcr)} (90% interval {ratio(r['benefit_per_pound_p05'])} to "
                                  f"{ratio(r['benefit_per_pound_p95'])})"),
            "p_gt_1": chance(r["p_benefit_per_pound_gt_1"]),
            "payback": (f"{year_text(r['payback_year_base'], info.horizon)}; "
                        f"{chance(r['p_payback_within_horizon'])} of draws pay back"),
            "who_pays": who_pays,
            "main_gainer": gainer,
            "main_cash_gainer": cash_gainer,
            "below_one": "yes" if math.isfinite(bcr) and bcr < 1 else "no",
            "participants": f"{r['participants_base']:,.0f}",
        })
    return cards


def _cards_html(results: Results, names: Mapping[str, str] | None) -> str:
    out = []
    for card in intervention_cards(results, names):
        extra = " below-one" if card["below_one"] == "yes" else ""
        fields = [("People reached", card["participants"]), ("Cost (present value)", card["cost"]),
                  ("Benefit per £1", card["benefit_per_pound"]),
                  ("Chance of more than £1", card["p_gt_1"]), ("Payback", card["payback"]),
                  ("Who pays", card["who_pays"]), ("Main gainer", card["main_gainer"]),
                  ("Main cash gainer", card["main_cash_gainer"])]
        rows = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in fields)
        out.append(f'<article class="card intervention-card{extra}" id="card-{_e(card["entity"])}" '
                   f'data-entity="{_e(card["entity"])}">\n<h3>{_e(card["name"])}</h3>\n'
                   f"<dl>\n{rows}\n</dl>\n</article>")
    return '<div class="cards" id="intervention-cards">\n' + "\n".join(out) + "\n</div>"


def _table_html(table_id: str, caption: str, headers: list[str], rows: list[list[str]],
                total_label: str | None = "total") -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = []
    for cells in rows:
        css = ' class="total"' if total_label is not None and cells[0] == total_label else ""
        tds = "".join(f"<td>{_e(c)}</td>" for c in cells[1:])
        body.append(f'<tr{css}><th scope="row">{_e(cells[0])}</th>{tds}</tr>')
    return (f'<table id="{table_id}" class="data-table">\n<caption>{_e(caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>")


def sharing_rows(sharing) -> list[str]:
    """Sectors shown in the report's sharing tables: any cost, gain or contribution; then ``total``."""
    t = sharing.table
    shown = [s for s in t.index[:-1] if not np.allclose(
        t.loc[s, ["cost_modelled", "benefit_cash", "benefit_non_cash", "contribution_mean"]]
        .to_numpy(float), 0)]
    return [*shown, t.index[-1]]


def _sharing_html(results: Results, sharing) -> str:
    t = sharing.table
    labels = sector_labels(results)
    rows = sharing_rows(sharing)

    labels[t.index[-1]] = "Total"

    def name(s: str) -> str:
        return labels.get(s, s)

    modelled = []
    for s in rows:
        r = t.loc[s]
        modelled.append([name(s), money_short(r["cost_modelled"]), money_short(r["benefit_cash"]),
                         money_short(r["benefit_non_cash"]), money_short(r["net_modelled_mean"]),
                         f"{money_short(r['net_modelled_p05'])} to {money_short(r['net_modelled_p95'])}",
                         chance(r["p_net_modelled_gt_0"])])
    under = []
    for s in rows:
        r = t.loc[s]
        contributes = "" if s == t.index[-1] else ("yes" if r["contributor"] else "no")
        under.append([name(s), contributes, money_short(r["contribution_mean"]),
                      share(r["contribution_share"]), money_short(r["benefit_cash"]),
                      money_short(r["net_rule_mean"]),
                      f"{money_short(r['net_rule_p05'])} to {money_short(r['net_rule_p95'])}",
                      chance(r["p_net_rule_gt_0"])])
    rule = sharing.rule
    parts = [
        f"<p>Rule: <strong>{_e(rule.rule.replace('_', ' '))}</strong>: {_e(rule.description)}. "
        f"All figures are means over {sharing.n_draws:,} draws, present values in "
        f"{_e(sharing.currency)} at {_e(sharing.price_year)} prices, for "
        f"{_e(_entity_title(sharing.entity))}. Health and wellbeing value is shown but never pays a "
        "share: a partner cannot pay with QALYs.</p>",
        _table_html("table-sharing-modelled", "As modelled: costs fall where the programmes put them",
                    ["Sector", "Pays", "Gains: cash-releasing", "Gains: health and wellbeing", "Net",
                     "Net, 90% interval", "Chance net > 0"], modelled, total_label=name(t.index[-1])),
        _table_html("table-sharing-rule", f"Under the rule '{rule.rule}': who would pay what",
                    ["Sector", "Contributes?", "Pays", "Share of cost", "Gains: cash-releasing",
                     "Net cash", "Net cash, 90% interval", "Chance net cash > 0"], under,
                    total_label=name(t.index[-1])),
    ]
    notes = ["Net cash = cash-releasing benefit minus what the sector pays under the rule."]
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
        notes.append("Agreed shares: " + ", ".join(f"{name(k)} {100 * v:g}%"
                                                   for k, v in rule.shares.items()) + ".")
    parts.append("".join(f'<p class="note">{_e(n)}</p>' for n in notes))
    return "\n".join(parts)


def _how_to_read_html(results: Results, registry: Mapping | None) -> str:
    info = results.info
    items = [
        f"All money is in pounds at {info.price_year} prices and is a present value: future amounts are "
        f"discounted as the HM Treasury Green Book says ({info.discounting}), so £1 next year counts for "
        "a little less than £1 today.",
        "Benefit per £1: the benefits counted divided by the costs. Above £1 the benefits outweigh the "
        "costs. The headline figure is the base case, every input at its central estimate.",
        f"90% interval: in 9 out of 10 of the {info.draws:,} simulated futures (each input drawn at "
        "random from the range the evidence allows) the figure lies in this range. A chance is the "
        "share of those futures in which something happens.",
        "Cash-releasing benefits are savings to budgets (fiscal) and gains to employers and earnings "
        "(economic). Health and wellbeing (QALYs valued as the Green Book says) is real value to people "
        "but releases no cash to any budget, which is why the public-purse figure is lower.",
        "Payback year: the first year in which the running total of discounted benefits minus costs "
        "reaches zero. Year 0 is the first year of delivery.",
        "The portfolio is the sum of the programmes; overlap between programmes that change the same "
        "outcome in the same people is not modelled.",
    ]
    if registry is not None and len(registry):
        params = list(registry.values())
        assumed = sum(1 for p in params if getattr(p, "is_assumption", False))
        items.append(f"The figures rest on {len(params)} parameters, each with its source (the workbook's "
                     f"'Parameters used' sheet); {assumed} of them are labelled assumptions rather than "
                     "published evidence.")
    return '<ul class="howto">\n' + "\n".join(f"<li>{_e(i)}</li>" for i in items) + "\n</ul>"


def _sensitivity_html(sections) -> str:
    """One sub-section per sensitivity method: its note, its chart if any, its top rows."""
    parts = []
    for section in sections:
        table = section.shown
        rows = [[str(v) if not isinstance(v, float) else f"{v:,.4g}" for v in record]
                for record in table.itertuples(index=False, name=None)]
        chart = ""
        if section.png is not None:
            data = base64.b64encode(section.png).decode("ascii")
            chart = (f'<figure><img class="chart" id="chart-{section.method}" '
                     f'alt="{_e(section.title)}" src="data:image/png;base64,{data}"></figure>\n')
        parts.append(f'<h3 id="h-sensitivity-{section.method}">{_e(section.title)}</h3>\n'
                     f'<p class="note">{_e(section.note)}</p>\n{chart}'
                     + _table_html(f"sensitivity-{section.method}", section.title,
                                   [str(c) for c in table.columns], rows, total_label=None))
    return "\n".join(parts)


def render_html(results: Results, sharing, charts: list[Chart], registry: Mapping | None = None, *,
                intervention_names: Mapping[str, str] | None = None, sensitivity=()) -> str:
    """The whole report as one HTML string (charts embedded as data URIs)."""
    info = results.info
    first, second = headline_sentences(results)
    by_key = {c.key: c for c in charts}
    sections = [
        f'<section id="summary" aria-labelledby="h-summary">\n<h2 id="h-summary">The answer</h2>\n'
        f'<p class="headline" id="headline-society">{_e(first)}</p>\n'
        f'<p class="headline cash" id="headline-public-purse">{_e(second)}</p>\n'
        f"{_key_figures_html(results)}\n{_run_info_html(results)}\n</section>",
        '<section id="who-pays" aria-labelledby="h-who-pays">\n'
        '<h2 id="h-who-pays">Who pays and who gains</h2>\n' + _figure_html(by_key["who_pays"])
        + "\n</section>",
        '<section id="payback" aria-labelledby="h-payback">\n'
        '<h2 id="h-payback">When it pays back</h2>\n' + _figure_html(by_key["cumulative"]) + "\n</section>",
        '<section id="certainty" aria-labelledby="h-certainty">\n'
        '<h2 id="h-certainty">How sure is the return?</h2>\n' + _figure_html(by_key["distribution"])
        + "\n</section>",
        '<section id="interventions" aria-labelledby="h-interventions">\n'
        '<h2 id="h-interventions">Programme by programme</h2>\n'
        '<p class="note">Cost, benefit per £1 and payback are the base case; intervals and chances come '
        'from the simulated draws; who pays and who gains are means over draws.</p>\n'
        + _cards_html(results, intervention_names) + "\n</section>",
        '<section id="cost-sharing" aria-labelledby="h-cost-sharing">\n'
        '<h2 id="h-cost-sharing">A fair split of the cost</h2>\n' + _sharing_html(results, sharing)
        + "\n</section>",
        *([f'<section id="sensitivity" aria-labelledby="h-sensitivity">\n'
           f'<h2 id="h-sensitivity">Which assumptions matter</h2>\n{_sensitivity_html(sensitivity)}'
           "\n</section>"] if sensitivity else []),
        '<section id="how-to-read" aria-labelledby="h-how-to-read">\n'
        '<h2 id="h-how-to-read">How to read this</h2>\n' + _how_to_read_html(results, registry)
        + "\n</section>",
    ]
    sources = "\n".join(f"<li>{_e(a)}</li>" for a in ATTRIBUTION)
    footer = (f'<footer id="sources">\n<h2>Data and attribution</h2>\n<ul>\n{sources}\n</ul>\n'
              f'<p>Open Government Licence v3.0: <a href="{OGL_URL}">{OGL_URL}</a>. Produced with '
              f"roi-engine from scenario &lsquo;{_e(info.scenario)}&rsquo;, seed {info.seed}.</p>\n</footer>")
    title = f"{info.scenario}: return on investment, who pays and who gains"
    n_images = len(charts) + sum(1 for section in sensitivity if section.png is not None)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body data-loaded="0" data-charts="{n_images}">\n'
        f'<header class="masthead"><div><h1>{_e(info.scenario)}</h1>\n'
        f"<p>{_e(info.area_name)} ({_e(info.area_code)}) &middot; {_e(info.currency)}, "
        f"{_e(info.price_year)} prices, discounted &middot; {_e(info.perspective)} perspective &middot; "
        f"{info.horizon} years &middot; {info.draws:,} draws</p></div></header>\n"
        "<main>\n" + "\n".join(sections) + "\n" + footer + "\n</main>\n"
        f"<script>{LOAD_SCRIPT}</script>\n</body>\n</html>\n"
    )


def write_report(out_dir: str | Path, results: Results, sharing, registry: Mapping | None = None, *,
                 intervention_names: Mapping[str, str] | None = None,
                 sensitivity=()) -> tuple[Path, list[Path]]:
    """Write ``report.html`` and ``charts/*.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    results : Results
    sharing : CostSharing
        From :func:`roi_engine.analyses.sharing.cost_sharing`.
    registry : mapping of name to Parameter, optional
        The parameters the run used (for the count of parameters and assumptions); pass
        :func:`roi_engine.outputs.workbook.parameters_used` of the scenario, or the whole registry.
    intervention_names : mapping of id to name, optional
        Card titles (default: the id in words).

    Returns
    -------
    (Path, list of Path)
        The HTML file and the PNG files, in the order the page shows them.
    """
    out_dir = Path(out_dir)
    chart_dir = out_dir / CHART_DIR
    chart_dir.mkdir(parents=True, exist_ok=True)
    charts = build_charts(results)
    pngs = [atomic_write_bytes(chart_dir / c.filename, c.png) for c in charts]
    page = render_html(results, sharing, charts, registry, intervention_names=intervention_names,
                       sensitivity=sensitivity)
    return atomic_write_bytes(out_dir / REPORT_FILE, page.encode("utf-8")), pngs


__all__ = [
    "write_report", "render_html", "build_charts", "who_pays_chart", "cumulative_chart",
    "distribution_chart", "cumulative_cash_net", "payback_of_mean", "headline_sentences",
    "public_purse_return", "intervention_cards", "intervention_names", "sector_labels", "public_bodies",
    "money_short", "chance", "year_text", "Chart", "CHART_FILES", "CHART_IDS", "REPORT_FILE", "CHART_DIR",
]
