"""The result at another value of a QALY, and the NHS cost per QALY gained against UK thresholds.

Both come from the cube's QALYs gained (``qalys[draw, intervention]``: every consequence or Markov
block valued through ``value_of_qaly``, discounted at the health rate) and its present values:

- **at another value** ``w`` of a QALY: benefits ``B(w) = B - Q (v - w)`` where the perspective counts
  health value (``v`` the run's value), so the benefit per £1 is what the run would give with QALYs
  valued at ``w`` and every other input the same draw. The headline shows it beside the run's value
  at NICE's £20,000;
- **NHS cost per QALY gained** (NHS perspective), for programmes the NHS pays for: the NHS's net cost
  ``C_nhs - S_nhs`` (its costs minus its cash-releasing savings) over the QALYs gained, with the
  probability over draws that the programme is cost-effective at £15,000, £20,000 and £30,000 per QALY
  (net monetary benefit ``k Q - (C_nhs - S_nhs) > 0``, which stays defined where QALYs are near zero).

The thresholds are in the scenario's price year, as :mod:`roi_engine.inputs.valuation` states them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from roi_engine.inputs.accounting import KIND_INDEX
from roi_engine.model.draw_store import draw_blocks
from roi_engine.results.labels import PORTFOLIO
from roi_engine.results.metrics import safe_ratio, summarise

NICE_LOWER = 20_000.0
THRESHOLDS = {"dhsc_15k": 15_000.0, "nice_20k": 20_000.0, "nice_30k": 30_000.0}
NHS = "nhs"


def _with_portfolio(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, x.sum(axis=-1, keepdims=True)], axis=-1)


def qalys_gained(results, base: bool = False) -> np.ndarray:
    """QALYs gained per draw ``(n, E)`` (``(1, E)`` for the base case), portfolio last. [QALYs]"""
    cube = results.cube
    q = cube["qalys_base"].values[None] if base else cube["qalys"].values
    return _with_portfolio(q)


def counted_cost_benefit(pv: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PV costs and benefits counted by the perspective, all sectors together, per draw and entity.

    ``pv`` is ``(n, E, S, K)``, ``weights`` the perspective's ``(S, K)``; returns two ``(n, E)``
    arrays, computed in blocks of draws (bounded memory). [GBP, discounted]
    """
    cost, benefit = np.empty(pv.shape[:2]), np.empty(pv.shape[:2])
    for block in draw_blocks(pv.shape[0]):
        counted = pv[block] * weights
        cost[block] = counted[..., KIND_INDEX["cost"]].sum(-1)
        benefit[block] = counted.sum((-1, -2)) - cost[block]
    return cost, benefit


def at_qaly_value(results, value: float = NICE_LOWER) -> pd.DataFrame:
    """Benefit per £1 (all sectors, the run's perspective) with QALYs valued at ``value`` instead.

    Returns one row per entity: ``benefit_per_pound_base`` and the mean, median, p05, p95 over draws,
    ``p_benefit_per_pound_gt_1``, and ``npv_base``. [GBP in the run's prices, discounted]
    """
    cube, info = results.cube, results.info
    v = float(cube.attrs.get("qaly_value", np.nan))
    counts_health = float(results.weights[:, KIND_INDEX["social"]].max())
    out = {}
    for base in (True, False):
        pv = cube["pv_base"].values[None] if base else cube["pv"].values  # (n, E, S, K)
        cost, benefit = counted_cost_benefit(pv, results.weights)
        benefit = benefit - qalys_gained(results, base) * (v - value) * counts_health
        out[base] = (benefit, cost)
    ratio_draws = safe_ratio(*out[False])
    stats = summarise(ratio_draws)
    frame = pd.DataFrame({
        "benefit_per_pound_base": safe_ratio(*out[True])[0],
        **{f"benefit_per_pound_{k}": v_ for k, v_ in stats.items()},
        "p_benefit_per_pound_gt_1": np.mean(np.nan_to_num(ratio_draws, nan=-np.inf) > 1, axis=0),
        "npv_base": (out[True][0] - out[True][1])[0],
    }, index=pd.Index(results.entities, name="entity"))
    frame["qaly_value"] = value
    frame["basis"] = (f"QALYs valued at GBP {value:,.0f} ({info.price_year} prices) instead of GBP {v:,.0f}; "
                      f"every other input as in the run; base case, and over {info.draws:,} draws; "
                      f"{info.basis}")
    return frame


def nhs_cost_per_qaly(results) -> pd.DataFrame:
    """NHS cost per QALY gained for each programme the NHS pays for (and the portfolio).

    Columns: ``nhs_net_cost_base`` [GBP], ``qalys_base`` [QALYs], ``cost_per_qaly_base`` and the
    median, p05, p95 over draws [GBP per QALY], and ``p_cost_effective_at_<threshold>``.
    """
    cube, info = results.cube, results.info
    if NHS not in results.sectors:
        return pd.DataFrame()
    rows = {}
    for base in (True, False):
        pv = cube["pv_base"].values[None] if base else cube["pv"].values
        nhs = pv[:, :, results.sectors.index(NHS), :]  # (n, E, K)
        savings = nhs[..., KIND_INDEX["fiscal"]] + nhs[..., KIND_INDEX["economic"]]
        rows[base] = (nhs[..., KIND_INDEX["cost"]], nhs[..., KIND_INDEX["cost"]] - savings,
                      qalys_gained(results, base))
    paid, net, q = rows[True]
    pays = paid[0] > 0
    _, net_d, q_d = rows[False]
    ratio_draws = safe_ratio(net_d, q_d)
    stats = summarise(np.where(q_d > 0, ratio_draws, np.nan))
    frame = pd.DataFrame({
        "nhs_costs_base": paid[0], "nhs_net_cost_base": net[0], "qalys_base": q[0],
        "cost_per_qaly_base": safe_ratio(net, q)[0],
        "cost_per_qaly_median": stats["median"], "cost_per_qaly_p05": stats["p05"],
        "cost_per_qaly_p95": stats["p95"],
        **{f"p_cost_effective_at_{name}": np.mean(k * q_d - net_d > 0, axis=0)
           for name, k in THRESHOLDS.items()},
    }, index=pd.Index(results.entities, name="entity"))
    frame = frame[pays | (frame.index == PORTFOLIO)]
    frame["basis"] = (f"NHS perspective: NHS costs minus NHS cash-releasing savings over QALYs gained; "
                      f"PV, {info.currency} {info.price_year} prices; base case, and over {info.draws:,} "
                      "draws (cost-effective: threshold x QALYs - net cost > 0)")
    return frame


def at_nice_sentence(results, entity: str = PORTFOLIO) -> str:
    """The headline's companion: the benefit per £1 with QALYs at £20,000 (base case and interval)."""
    v = float(results.cube.attrs.get("qaly_value", np.nan))
    if not np.isfinite(v) or float(results.weights[:, KIND_INDEX["social"]].max()) == 0:
        return ""
    row = at_qaly_value(results, NICE_LOWER).loc[entity]
    return (f"With QALYs valued at £{NICE_LOWER:,.0f} (NICE's lower threshold) instead of £{v:,.0f} "
            f"({results.info.price_year} prices), "
            f"every £1 returns £{row['benefit_per_pound_base']:.2f} (base case; 90% interval "
            f"£{row['benefit_per_pound_p05']:.2f} to £{row['benefit_per_pound_p95']:.2f}).")


__all__ = ["at_nice_sentence", "at_qaly_value", "nhs_cost_per_qaly", "qalys_gained", "THRESHOLDS",
           "NICE_LOWER"]
