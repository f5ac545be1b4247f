"""What a national run writes and prints: the tidy table, the ranked chart, top and bottom ten, the check.

Files in the output folder (docs/national.md):

- ``national.csv``: one row per area and metric (area code and name, metric, perspective, sector, unit,
  base case, mean, 5th and 95th percentiles over draws);
- ``national_ranked.png``: every area ranked by the chosen metric, with its 90% interval;
- ``national_check.csv``: the sum over areas against England run as one area (whole levels only);
- ``workbooks/<code>.xlsx``: the results workbook of an area, only when asked for (``--workbooks``):
  a full single-area run of the same scenario, seed and draws (the same draws as the national run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from roi_engine.analyses.national import NationalResults
from roi_engine.atomic import atomic_output, atomic_write_text
from roi_engine.errors import InputError
from roi_engine.inputs.area_inputs import LEVELS, area_scenario, national_registry
from roi_engine.inputs.population import Area
from roi_engine.outputs.charts import BAND_COLOUR, DPI, money_short
from roi_engine.outputs.formatting import money, ratio, table

TABLE_FILE = "national.csv"
CHART_FILE = "national_ranked.png"
CHECK_FILE = "national_check.csv"
WORKBOOK_FOLDER = "workbooks"

__all__ = ["TABLE_FILE", "CHART_FILE", "CHECK_FILE", "format_national", "ranked_chart", "write_national",
           "write_area_workbooks", "default_rank_key"]


def default_rank_key(results: NationalResults) -> str:
    """Benefit per £1 under the scenario's perspective: comparable between areas of any size."""
    return f"benefit_per_pound:{results.scenario.spec.perspective}"


def _value_text(key: str, x: float) -> str:
    if key.startswith("benefit_per_pound"):
        return ratio(x)
    if key in ("qalys", "participants"):
        return "n/a" if math.isnan(x) else f"{x:,.0f}"
    return money(x)


def _ranked_rows(results: NationalResults, key: str, rows) -> list[list[str]]:
    npv = results.statistics(f"npv:{results.scenario.spec.perspective}")
    cost = results.statistics(f"pv_costs:{results.scenario.spec.perspective}")
    index = {a.code: i for i, a in enumerate(results.areas)}
    out = []
    for r in rows.itertuples(index=False):
        i = index[r.area_code]
        out.append([str(r.rank), r.area_name, r.area_code, f"{r.residents:,.0f}", money(cost["mean"][i]),
                    money(npv["mean"][i]),
                    f"{_value_text(key, r.mean)} ({_value_text(key, r.p05)} to {_value_text(key, r.p95)})"])
    return out


def format_national(results: NationalResults, rank_key: str | None = None, top: int = 10) -> str:
    """The terminal summary: settings, top and bottom ``top`` areas, the national check."""
    key = rank_key or default_rank_key(results)
    metric = results.metric(key)
    spec = results.scenario.spec
    s = results.scenario
    level = LEVELS.get(results.level, "the areas listed")
    lines = [
        f"Scenario:     {spec.name} (its programmes, reach and settings, for every area)",
        f"Areas:        {len(results.areas)} {level}",
        f"Money:        GBP, {s.price_year} prices (HM Treasury GDP deflator)",
        f"Discounting:  {s.discounting.describe()}",
        f"Perspective:  {spec.perspective} (NPV, PV costs below); every perspective in {TABLE_FILE}",
        f"Horizon:      {spec.horizon} years (year 0 = first year of delivery)",
        f"Draws:        {results.n_draws:,} ({spec.sampling.upper()}, seed {spec.seed}), the same draws in "
        "every area (common random numbers)",
        "Local inputs: " + (f"{len(results.local_parameters)} parameters take each area's own value "
                            f"({', '.join(results.local_parameters)})" if results.local and
                            results.local_parameters else
                            "none (national parameters everywhere: population scaling only)"
                            if not results.local else "none of the scenario's parameters is local"),
        f"Tasks:        {results.tasks} (area block x draw block), {results.executor}",
        "",
    ]
    ranked = results.ranking(key)
    headers = ["rank", "area", "code", "residents", "PV costs (mean)", "NPV (mean)",
               f"{metric.label}: mean (90% interval)"]
    n = min(top, len(ranked))
    lines.append(f"Top {n} areas by {metric.label} (mean over draws):")
    lines.append(table(headers, _ranked_rows(results, key, ranked.head(n)), align="rllrrrr"))
    if len(ranked) > n:
        lines.append("")
        lines.append(f"Bottom {min(n, len(ranked) - n)} areas by {metric.label}:")
        lines.append(table(headers, _ranked_rows(results, key, ranked.tail(min(n, len(ranked) - n))),
                           align="rllrrrr"))
    check = results.check()
    if check is not None:
        p = spec.perspective
        row = check.set_index("key").loc[f"npv:{p}"]
        lines.append("")
        lines.append(
            f"National check: NPV ({p}) summed over the {len(results.areas)} areas "
            f"{money(row.sum_of_areas)}; "
            f"England run as one area {money(row.england)} (means over draws); difference "
            f"{100 * row.difference:+.2f}%; largest in one draw {100 * row.max_draw_difference:.2f}% of "
            "England's mean.")
        lines.append(
            "  " + ("With national parameters everywhere the two agree to 1e-6 or better (common random "
                    "numbers; docs/national.md); the difference is what the areas' local parameters change."
                    if results.local else
                    "National parameters everywhere: the two agree to 1e-6 or better (common random numbers; "
                    "costs to rounding, benefits but for the overlap's choice of pool: docs/national.md)."))
    return "\n".join(lines)


def ranked_chart(results: NationalResults, key: str, path: Path) -> Path:
    """Every area ranked by the mean of ``key``, with its 90% interval, as a PNG."""
    from matplotlib.figure import Figure

    metric = results.metric(key)
    ranked = results.ranking(key)
    ranked = ranked[~np.isnan(ranked["mean"].to_numpy(float))]
    n = len(ranked)
    height = min(max(3.0, 0.11 * n + 1.5), 40.0)
    fig = Figure(figsize=(8.5, height), dpi=DPI)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    mean = ranked["mean"].to_numpy(float)
    low, high = ranked["p05"].to_numpy(float), ranked["p95"].to_numpy(float)
    ax.hlines(y, low, high, color=BAND_COLOUR, alpha=0.35, linewidth=2.0, label="90% interval")
    ax.plot(mean, y, "o", color="#000000", markersize=2.5, label="mean over draws")
    if metric.metric == "benefit_per_pound":
        ax.axvline(1.0, color="#D55E00", linewidth=1.0, linestyle="--", label="£1 back per £1")
    elif metric.metric in ("npv", "net_cash"):
        ax.axvline(0.0, color="#D55E00", linewidth=1.0, linestyle="--")
    step = max(1, n // 60)
    ax.set_yticks(y[::step], [f"{r}" for r in ranked["area_name"].to_numpy()[::step]], fontsize=5 if n > 60
                  else 7)
    ax.set_ylim(-1, n)
    if metric.metric in ("npv", "net_cash", "pv_costs", "pv_benefits"):
        ax.xaxis.set_major_formatter(lambda v, _pos: money_short(v))
    elif metric.metric == "benefit_per_pound":
        ax.xaxis.set_major_formatter(lambda v, _pos: f"£{v:.2f}")
    spec = results.scenario.spec
    ax.set_xlabel(f"{metric.label}, {metric.unit}")
    ax.set_title(f"The scenario '{spec.name}' in each of {n} areas, ranked by {metric.label}\n"
                 f"{results.n_draws:,} draws, the same in every area; seed {spec.seed}", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path


def write_national(out_dir: Path, results: NationalResults, rank_key: str | None = None) -> list[Path]:
    """Write the tidy table, the ranked chart and (whole levels) the check into ``out_dir``."""
    key = rank_key or default_rank_key(results)
    results.metric(key)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [atomic_write_text(out_dir / TABLE_FILE, results.table().to_csv(index=False))]
        written.append(ranked_chart(results, key, out_dir / CHART_FILE))
        check = results.check()
        if check is not None:
            written.append(atomic_write_text(out_dir / CHECK_FILE, check.to_csv(index=False)))
        return written
    except OSError as exc:
        raise InputError(f"cannot write results ({exc.strerror})", file=out_dir) from None


def _file_name(area: Area) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", area.name).strip("_").lower()
    return f"{area.code}_{slug}.xlsx"


def write_area_workbooks(out_dir: Path, results: NationalResults, areas: Sequence[Area],
                         step: Callable[[str], None] | None = None) -> list[Path]:
    """The results workbook of each of ``areas``: a full run of the scenario for that area (same seed
    and draws, so the same draws as the national run, and the same local parameters)."""
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.outputs.workbook import write_results_workbook
    from roi_engine.results import run

    known = {a.code for a in results.areas}
    for a in areas:
        if a.code not in known:
            raise InputError(f"{a} is not one of the areas of this national run", where="--workbooks-for",
                             hint="give areas of the level run (or list them with --areas)")
    national_rows = national_registry(results.scenario)
    folder = out_dir / WORKBOOK_FOLDER
    written = []
    for a in areas:
        scenario = area_scenario(results.scenario, a, national=national_rows, local=results.local)
        full = run(scenario)
        try:
            written.append(write_results_workbook(folder / _file_name(a), full,
                                                  cost_sharing(full, full.sharing_rule)))
        except OSError as exc:
            raise InputError(f"cannot write the workbook ({exc.strerror})", file=folder) from None
        if step is not None:
            step(a.code)
    return written
