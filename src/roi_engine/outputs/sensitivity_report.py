"""Run one sensitivity or value-of-information method on a scenario and describe the result.

Glue between a :class:`~roi_engine.inputs.scenario.Scenario` and the pure methods in
:mod:`~roi_engine.analyses.sensitivity` and :mod:`~.voi`: builds the model and its output function,
runs the method, and returns a table and a plain-text summary that states the output, its unit, price
year and perspective.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.analyses import sensitivity as sa
from roi_engine.analyses.scalar_outputs import Output, evaluator, output_from_pv, parse_output
from roi_engine.analyses.voi import evpi, evppi_table
from roi_engine.atomic import atomic_output
from roi_engine.inputs.scenario import Scenario
from roi_engine.model.evaluation import Model
from roi_engine.outputs.formatting import money, table
from roi_engine.results.cube import PORTFOLIO


def _header(model: Model, output: Output | None, method: str) -> list[str]:
    s = model.scenario
    lines = [f"Sensitivity: {method}", f"Scenario: {s.spec.name}",
             f"Area: {s.area.name} ({s.area.code}); {s.spec.perspective} perspective; horizon "
             f"{s.horizon} years; GBP {s.price_year} prices, discounted ({s.discounting.describe()})"]
    if output is not None:
        lines.append(f"Output: {output.label} [{output.unit}]")
    return lines


def run_sensitivity(scenario: Scenario, method: str, *, output_text: str | None = None,
                    n_base: int = 1024, chart_dir: Path | None = None) -> tuple[str, pd.DataFrame]:
    """Run ``method`` and return ``(summary text, table)``; a tornado also draws its chart into
    ``chart_dir`` (``tornado.png``) when given."""
    model = Model(scenario)
    if method == "evppi":
        return _value_of_information(model)
    default = "benefit_per_pound" if method in ("tornado", "switching") else "npv"
    output = parse_output(output_text or default, model)
    f = evaluator(model, output)
    params = model.parameters
    seed = scenario.spec.seed
    names = parameter_labels(params)
    lines = _header(model, output, method)
    if method == "tornado":
        frame = sa.tornado(params, f)
        lines.append("Each parameter at its 5th and 95th percentile, the others at base; ranked by swing.")
        lines.append(table(["parameter", "5th pct value", "95th pct value", "output at 5th",
                            "output at 95th", "swing"],
                           [[names[r.parameter], f"{r.low_value:.4g}", f"{r.high_value:.4g}",
                             f"{r.output_low:,.4g}", f"{r.output_high:,.4g}", f"{r.swing:,.4g}"]
                            for r in frame.itertuples()]))
        if chart_dir is not None:
            subtitle = f"{scenario.area.name}, {scenario.horizon} years, GBP {scenario.price_year}"
            chart = tornado_chart(frame, output, Path(chart_dir) / "tornado.png", subtitle=subtitle,
                                  labels=names)
            lines.append(f"Chart: {chart}")
    elif method == "switching":
        threshold = 1.0 if output.metric == "benefit_per_pound" else 0.0
        frame = sa.switching_values(params, f, threshold)
        lines.append(f"Value of each parameter at which the output equals {threshold:g} "
                     "(others at base), searched over its 0.5th-99.5th percentile.")
        lines.append(table(["parameter", "base value", "switching value", "plausible range"],
                           [[names[r.parameter], f"{r.base_value:.4g}",
                             "none" if np.isnan(r.switching_value) else f"{r.switching_value:.4g}",
                             f"{r.range_low:.4g} to {r.range_high:.4g}"] for r in frame.itertuples()]))
    elif method == "sobol":
        frame = sa.sobol(params, f, n_base, seed=seed).reset_index()
        frame = frame.sort_values("ST", ascending=False)
        k = len(sa.uncertain_columns(params))
        lines.append(f"Sobol indices (Saltelli, N = {n_base}, {n_base * (k + 2):,} model evaluations), "
                     "95% bootstrap intervals; ranked by total index.")
        lines.append(table(["parameter", "first order S1", "total ST"],
                           [[names[r.parameter], f"{r.S1:.3f} ± {r.S1_conf:.3f}",
                             f"{r.ST:.3f} ± {r.ST_conf:.3f}"] for r in frame.itertuples()]))
    elif method == "morris":
        frame = sa.morris(params, f, n_base if n_base < 1024 else 50, seed=seed).reset_index()
        lines.append("Morris screening: mu* = mean absolute elementary effect across each parameter's "
                     "distribution; sigma = interactions or non-linearity.")
        lines.append(table(["parameter", "mu*", "sigma"],
                           [[names[r.parameter], f"{r.mu_star:,.4g}", f"{r.sigma:,.4g}"]
                            for r in frame.itertuples()]))
    elif method == "delta":
        x, y = _draws(model, output)
        frame = sa.delta(params, x, y, seed=seed).reset_index()
        lines.append(f"Borgonovo delta from the run's {len(y):,} draws (valid with correlated inputs).")
        lines.append(table(["parameter", "delta", "S1"],
                           [[names[r.parameter], f"{r.delta:.3f} ± {r.delta_conf:.3f}",
                             f"{r.S1:.3f} ± {r.S1_conf:.3f}"] for r in frame.itertuples()]))
    else:  # pragma: no cover - the CLI restricts the choice
        raise ValueError(method)
    frame.insert(0, "output", output.label)
    frame.insert(frame.columns.get_loc("parameter") + 1, "label", frame["parameter"].map(names))
    return "\n".join(lines), frame


def parameter_labels(parameters) -> dict[str, str]:
    """Parameter code -> its label (the code itself when the row has no label)."""
    return {p.name: getattr(p, "label", "") or p.name for p in parameters}


def tornado_chart(frame: pd.DataFrame, output: Output, path: Path, *, top: int = 12,
                  subtitle: str = "", labels: dict[str, str] | None = None) -> Path:
    """Draw the tornado (``frame`` from :func:`roi_engine.analyses.sensitivity.tornado`) as a PNG at ``path``.

    One bar per parameter, widest swing on top, from the output at the parameter's 5th percentile to
    the output at its 95th, around a line at the base case. Bars are named by ``labels`` (code ->
    label; a ``label`` column of ``frame`` otherwise), wrapped to two lines at most.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = frame.head(top).iloc[::-1]
    base = float(frame["base"].iloc[0])
    if labels is None:
        labels = dict(zip(frame["parameter"], frame["label"], strict=True)) if "label" in frame else {}
    names = [textwrap.shorten(labels.get(r.parameter, r.parameter), 90, placeholder="...")
             for r in rows.itertuples()]
    names = ["\n".join(textwrap.wrap(n, 48, break_on_hyphens=False)) for n in names]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.9), dpi=120)
    for y, r in enumerate(rows.itertuples()):
        ax.barh(y, r.output_low - base, left=base, color="#1f77b4", height=0.6,
                label="parameter at its 5th percentile" if y == 0 else None)
        ax.barh(y, r.output_high - base, left=base, color="#ff7f0e", height=0.6,
                label="parameter at its 95th percentile" if y == 0 else None)
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    ax.set_xlabel(f"{output.label} [{output.unit}]; base case {base:,.3g}")
    ax.set_title("One-way sensitivity (tornado)" + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_output(path) as temporary:
            fig.savefig(temporary, format="png")
    finally:
        plt.close(fig)
    return path


def _draws(model: Model, output: Output | None) -> tuple[np.ndarray, np.ndarray]:
    """The scenario's Monte Carlo draws ``x (n, P)`` and their present values, chunk by chunk."""
    spec = model.scenario.spec
    xs, pvs = [], []
    for start in range(0, spec.draws, spec.chunk_size):
        x = model.draws(start, min(start + spec.chunk_size, spec.draws), spec.draws)
        xs.append(x)
        pv = model.evaluate(x).pv
        pvs.append(output_from_pv(model, pv, output) if output is not None else pv)
    return np.concatenate(xs), np.concatenate(pvs)


def _value_of_information(model: Model, top: int = 5) -> tuple[str, pd.DataFrame]:
    """EVPI of each fund / do-not-fund decision (each intervention, the portfolio), and EVPPI for
    each uncertain parameter of that decision (and, for the portfolio, each intervention's group)."""
    x, pv = _draws(model, None)
    uncertain = [model.parameters[j].name for j in sa.uncertain_columns(model.parameters)]
    decisions = [(p.spec.id, set(p.spec.parameter_names())) for p in model.plans]
    decisions.append((PORTFOLIO, set(uncertain)))
    labels = parameter_labels(model.parameters)
    for plan in model.plans:
        labels[f"all {plan.spec.id} parameters"] = f"all {plan.spec.id} parameters together"
    rows = []
    for entity, own in decisions:
        nb = output_from_pv(model, pv, Output("npv", entity))
        common = {"decision": f"fund {entity}", "mean_npv": float(nb.mean()),
                  "p_npv_gt_0": float(np.mean(nb > 0))}
        total = evpi(nb)
        rows.append({**common, "group": "all parameters (EVPI)", "parameters": "", "value": total})
        if total <= 0:
            continue  # no decision uncertainty: every EVPPI is 0 too
        groups = {name: [name] for name in uncertain if name in own}
        if entity == PORTFOLIO:
            for plan in model.plans:
                members = [n for n in uncertain if n in set(plan.spec.parameter_names())]
                if members:
                    groups[f"all {plan.spec.id} parameters"] = members
        partial = evppi_table(nb, x, model.names, groups)
        rows += [{**common, "group": r.group, "parameters": r.parameters, "value": r.evppi}
                 for r in partial.itertuples()]
    frame = pd.DataFrame(rows)
    frame.insert(frame.columns.get_loc("group") + 1, "label", frame["group"].map(lambda g: labels.get(g, g)))
    frame["unit"] = f"GBP {model.scenario.price_year}, area and horizon of the scenario"
    lines = _header(model, None, "value of information")
    lines.append(f"Decision: fund or not; net benefit = NPV. {len(x):,} draws. EVPPI by regression "
                 f"(Strong, Oakley and Brennan 2014); the {top} largest per decision are shown.")
    shown = frame.groupby("decision", sort=False, group_keys=False).head(top + 1)
    lines.append(table(["decision", "information about", "value (EVPI / EVPPI)", "P(NPV > 0)"],
                       [[r.decision, r.label, money(r.value), f"{100 * r.p_npv_gt_0:.0f}%"]
                        for r in shown.itertuples()]))
    return "\n".join(lines), frame
