"""Results by deprivation: who gains, by national IMD quintile (distributional cost-effectiveness).

Supporting analysis, as NICE's 2025 methods allow: the unweighted results come first, equity-weighted
figures beside them, labelled. Everything is computed from a run's cube
(:class:`~roi_engine.results.cube.Results`), per draw, so the split has the run's uncertainty.

Method, for programme ``j`` and quintile ``q`` (1 = most deprived fifth of England's LSOAs):

- participants ``p[j, q] = N[j, q] u[j, q] / sum_q N u``, with ``N`` the area's population in the
  programme's age band in quintile ``q`` and ``u`` the relative uptake (scenario
  ``uptake_by_quintile``; equal by default). Costs split as participants do;
- baseline risk ``g[j, q] = RR_j ** ((5 - q) / 4)`` relative to quintile 5 (:func:`~roi_engine.inputs.
  deprivation.gradient_by_quintile`), ``RR_j`` the programme's ``[deprivation] risk_ratio`` draw;
  benefits and outcomes avoided split as ``p g / sum_q p g``. This is exact when the effect is a
  relative reduction of the baseline (avoided cases proportional to baseline risk) and a first-order
  approximation for odds-ratio effects. Sums over quintiles equal the area's totals exactly;
- health gain: the health and wellbeing (social) value of a programme divided by the value of a QALY,
  in QALY equivalents (for suicide prevention this values the loss of life as the library does);
- per-person gain ``dh[q] = sum_j QALY[j, q] / P[q]``, ``P`` the area's whole population in ``q``;
- slope index of inequality (SII) of ``dh`` over the area's population ranked from most deprived
  (ridit 0) to least deprived (1), weights ``P``: least minus most deprived, so a negative SII means
  larger gains in more deprived places (the gap narrows);
- the gap: ``dh`` of the most deprived quintile present in the area minus that of the least
  deprived one (positive narrows the baseline gap);
- Atkinson equally-distributed equivalent (EDE) of lifetime health ``h[q]`` (quality-adjusted life
  expectancy by quintile) plus ``dh``, for inequality aversion ``epsilon`` from 0 to 20:
  ``EDE(h) = (sum_q s_q h_q ** (1 - e)) ** (1 / (1 - e))`` (``exp(sum s ln h)`` at ``e = 1``), ``s`` the
  area's population shares. The equity-weighted gain is ``P_total (EDE(h + dh) - EDE(h))``; at
  ``epsilon = 0`` it equals the unweighted gain. England's estimated aversion (Robson et al. 2017,
  10.95) is marked;
- per draw, the portfolio "gains and narrows": NPV (run's perspective) above 0 and SII below 0.

References
----------
.. [1] Cookson R, Griffin S, Norheim OF, Culyer AJ (eds.) (2020). Distributional Cost-Effectiveness
   Analysis. Oxford University Press. doi:10.1093/med/9780198838197.001.0001
.. [2] Love-Koh J et al. (2015). The social distribution of health: estimating quality-adjusted life
   expectancy in England. Value in Health 18(5):655-662. doi:10.1016/j.jval.2015.03.1784
.. [3] Robson M et al. (2017). Eliciting the level of health inequality aversion in England. Health
   Economics 26(10):1328-1334. doi:10.1002/hec.3430
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from roi_engine.inputs.accounting import KIND_INDEX
from roi_engine.inputs.deprivation import IMD_EDITION, QUINTILE_LABELS, QUINTILES, gradient_by_quintile
from roi_engine.model.draw_store import draw_array, draw_blocks
from roi_engine.results.labels import PORTFOLIO
from roi_engine.results.metrics import summarise

EPSILONS = (0.0, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 10.95, 12.5, 15.0, 20.0)
"""Inequality aversions reported (Atkinson); 10.95 is England's estimate (Robson et al. 2017)."""
ENGLAND_EPSILON = 10.95


def atkinson_ede(health: np.ndarray, shares: np.ndarray, epsilon: float) -> np.ndarray:
    """Atkinson equally-distributed equivalent of health across groups.

    Parameters
    ----------
    health : ndarray, shape (..., Q)
        Health of each group (> 0). [QALYs]
    shares : ndarray, shape (Q,)
        Population shares (sum 1; zero shares drop a group).
    epsilon : float
        Inequality aversion (>= 0); 0 gives the mean.

    Returns
    -------
    ndarray, shape (...): the EDE. [QALYs]
    """
    health = np.asarray(health, dtype=float)
    keep = shares > 0
    h, s = health[..., keep], shares[keep] / shares[keep].sum()
    if epsilon == 0:
        return h @ s
    if epsilon == 1:
        return np.exp(np.log(h) @ s)
    # scaled by the largest group for range: EDE is homogeneous of degree 1
    top = h.max(axis=-1, keepdims=True)
    return top[..., 0] * ((h / top) ** (1 - epsilon) @ s) ** (1 / (1 - epsilon))


def slope_index(values: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Slope index of inequality: weighted least-squares slope of ``values`` on the ridit.

    Groups are ordered most to least deprived; the ridit of a group is the population share ranked
    below it plus half its own. The slope is the fitted difference between the least deprived end
    (ridit 1) and the most deprived end (0).

    Parameters
    ----------
    values : ndarray, shape (..., Q)
    population : ndarray, shape (Q,)

    Returns
    -------
    ndarray, shape (...)
    """
    w = population / population.sum()
    ridit = np.cumsum(w) - w / 2
    centred = ridit - ridit @ w
    mean = values @ w
    return ((values - mean[..., None]) * centred) @ w / (centred**2 @ w)


@dataclass(frozen=True)
class DeprivationResults:
    """Results by deprivation quintile of one run (see the module docstring for the method).

    Attributes
    ----------
    quintiles : DataFrame
        One row per entity and quintile: population, participants, health gain (QALY equivalents),
        costs and benefits, shares, per-person gain; base case and summaries over draws.
    by_sector : DataFrame
        Mean PV costs and benefits by entity, quintile and sector. [GBP, discounted]
    indices : DataFrame
        One row per entity and index: share of the health gain reaching the most deprived fifth, the
        gap, SII, P(gains and narrows), equity-weighted gains; base case, mean, p05, p95.
    ede_profile : DataFrame
        Portfolio equity-weighted health gain for each aversion in :data:`EPSILONS`.
    plane : DataFrame
        Per draw: portfolio NPV and the narrowing of inequality (-SII), for the equity-efficiency plane.
    notes : tuple of str
    """

    quintiles: pd.DataFrame
    by_sector: pd.DataFrame
    indices: pd.DataFrame
    ede_profile: pd.DataFrame
    plane: pd.DataFrame
    notes: tuple[str, ...]

    def value(self, entity: str, index: str, statistic: str = "mean") -> float:
        row = self.indices[(self.indices["entity"] == entity) & (self.indices["index"] == index)]
        return float(row[statistic].iloc[0])

    def share_to_most_deprived(self, entity: str = PORTFOLIO, statistic: str = "mean") -> float:
        """Share of the health gain reaching the most deprived fifth (quintile 1)."""
        return self.value(entity, "share_of_health_gain_q1", statistic)


def headline_sentence(d: DeprivationResults) -> str:
    """One sentence on who gains by deprivation (portfolio; means over draws), for every output."""
    q1 = d.quintiles[(d.quintiles["entity"] == PORTFOLIO) & (d.quintiles["quintile"] == 1)].iloc[0]
    share = d.value(PORTFOLIO, "share_of_health_gain_q1")
    low, high = d.value(PORTFOLIO, "share_of_health_gain_q1", "p05"), d.value(
        PORTFOLIO, "share_of_health_gain_q1", "p95")
    p = d.value(PORTFOLIO, "p_gains_and_narrows")
    # a finite number of draws never shows certainty
    chance = "over 99%" if p >= 0.995 else "under 1%" if p <= 0.005 else f"{p:.0%}"
    text = (f"{share:.0%} of the portfolio's health gain (90% interval {low:.0%} to {high:.0%}) reaches "
            f"residents of England's most deprived fifth of neighbourhoods, who are "
            f"{q1['population_share']:.0%} of the area's residents; in {chance} of draws the portfolio "
            "both gains (NPV > 0) and narrows the gap in health between more and less deprived places")
    equity = d.indices[(d.indices["entity"] == PORTFOLIO)
                       & d.indices["index"].str.startswith("equity_weighted_gain")]
    if len(equity):
        unweighted = d.value(PORTFOLIO, "health_gain_qalys")
        text += (f". Health gain {unweighted:,.0f} QALY equivalents unweighted; "
                 f"{equity['mean'].iloc[0]:,.0f} equity-weighted (Atkinson, aversion "
                 f"{ENGLAND_EPSILON:g}, England's estimate)")
    return text + "."


def available(results) -> bool:
    """True when the run's cube holds the inputs of the split (the area is covered by the table)."""
    return bool(int(results.cube.attrs.get("deprivation", 0)))


def _split_weights(cube, base: bool, block: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Cost weights ``(I, Q)`` and benefit weights ``(n, I, Q)`` (each sums to 1 over quintiles), for
    the draws in ``block``."""
    people = cube["quintile_population"].values * cube["uptake_by_quintile"].values  # (I, Q)
    total = people.sum(axis=1, keepdims=True)
    cost_w = np.divide(people, total, out=np.zeros_like(people), where=total > 0)
    rr = cube["risk_ratio_base"].values[None] if base else cube["risk_ratio"].values[block]  # (n, I)
    risk = cost_w[None] * gradient_by_quintile(rr)  # (n, I, Q)
    norm = risk.sum(axis=2, keepdims=True)
    benefit_w = np.divide(risk, norm, out=np.zeros_like(risk), where=norm > 0)
    return cost_w, benefit_w


def _quintile_quantities(pv: np.ndarray, cost_w: np.ndarray, benefit_w: np.ndarray, weights: np.ndarray,
                         qaly_value: float) -> dict[str, np.ndarray]:
    """PV costs, benefits, cash benefits, NPV and health gain by entity and quintile, per draw.

    ``pv`` is ``(n, I, S, K)`` (programmes only), ``cost_w`` ``(I, Q)``, ``benefit_w`` ``(n, I, Q)``,
    ``weights`` the perspective's ``(S, K)``. Returns ``(n, E, Q)`` arrays, the portfolio (the sum of
    the programmes) last. [GBP, discounted; health gain in QALYs]
    """
    cost = pv[..., KIND_INDEX["cost"]]  # (n, I, S)
    benefit = pv.copy()
    benefit[..., KIND_INDEX["cost"]] = 0
    counted_cost = (cost * weights[:, KIND_INDEX["cost"]]).sum(-1)  # (n, I)
    counted_benefit = (benefit * weights).sum((-1, -2))  # (n, I)
    cash = sum((benefit[..., KIND_INDEX[k]] * weights[:, KIND_INDEX[k]]).sum(-1)
               for k in ("fiscal", "economic"))
    social = benefit[..., KIND_INDEX["social"]].sum(-1)  # all social value, whatever the perspective
    q = {
        "pv_costs": counted_cost[..., None] * cost_w[None],  # (n, I, Q)
        "pv_benefits": counted_benefit[..., None] * benefit_w,
        "pv_benefits_cash": cash[..., None] * benefit_w,
        "health_gain_qalys": social[..., None] * benefit_w / qaly_value,
    }
    q = {k: np.concatenate([v, v.sum(axis=1, keepdims=True)], axis=1) for k, v in q.items()}
    q["npv"] = q["pv_benefits"] - q["pv_costs"]
    return q


def deprivation_results(results) -> DeprivationResults | None:
    """The results by deprivation of a run (computed once per run), or None when not covered."""
    if not available(results):
        return None
    cached = getattr(results, "_deprivation", None)
    if cached is None:
        cached = _compute(results)
        results._deprivation = cached
    return cached


def _compute(results) -> DeprivationResults:
    cube = results.cube
    attrs = cube.attrs
    qaly_value = float(attrs.get("qaly_value", np.nan))
    entities = list(results.entities)
    weights = results.weights  # (S, K) of the perspective
    area_pop = cube["area_population_by_quintile"].values.astype(float)  # (Q,)
    present = np.flatnonzero(area_pop > 0)
    shares = area_pop / area_pop.sum()
    health0 = cube["baseline_health"].values if "baseline_health" in cube else None

    def indices_of(g):
        with np.errstate(invalid="ignore", divide="ignore"):
            total = g.sum(-1)
            share_q1 = np.where(total != 0, g[..., 0] / total, np.nan)
            per_person = np.where(area_pop > 0, g / np.where(area_pop > 0, area_pop, 1), 0.0)
            sii = slope_index(per_person[..., present], area_pop[present])
            gap = per_person[..., present[0]] - per_person[..., present[-1]]
        out = {"share_of_health_gain_q1": share_q1,
               "gap_narrowed_qalys_per_100k": gap * 1e5,
               "sii_of_gain_qalys_per_100k": sii * 1e5,
               "health_gain_qalys": total}
        if health0 is not None:
            for eps in (ENGLAND_EPSILON,):
                h1 = health0 + per_person
                ede = atkinson_ede(h1, shares, eps) - atkinson_ede(health0, shares, eps)
                out[f"equity_weighted_gain_qalys_eps_{eps:g}"] = ede * area_pop.sum()
        return out

    cost_w, benefit_w = _split_weights(cube, True)
    per = {True: _quintile_quantities(cube["pv_base"].values[None, :-1], cost_w, benefit_w, weights,
                                      qaly_value)}
    base_idx = indices_of(per[True]["health_gain_qalys"])
    # per draw, in blocks of draws (bounded memory): the quantities by quintile, their indices, and
    # the sums for the mean share of health gain over the draws where it is defined
    pv_draws = cube["pv"].values
    n = pv_draws.shape[0]
    per[False], draw_idx = {}, {}
    share_sum = share_count = 0
    for block in draw_blocks(n):
        cost_w, benefit_w = _split_weights(cube, False, block)
        q = _quintile_quantities(pv_draws[block, :-1], cost_w, benefit_w, weights, qaly_value)
        for target, values in ((per[False], q), (draw_idx, indices_of(q["health_gain_qalys"]))):
            for name, x in values.items():
                if name not in target:
                    target[name] = draw_array((n, *x.shape[1:]), by_column=True)
                target[name][block] = x
        g = q["health_gain_qalys"]
        total = g.sum(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = g / np.where(total != 0, total, np.nan)
        finite = np.isfinite(share)
        share_sum = share_sum + np.where(finite, share, 0.0).sum(axis=0)
        share_count = share_count + finite.sum(axis=0)

    gain = per[False]["health_gain_qalys"]  # (n, E, Q)
    gain_base = per[True]["health_gain_qalys"]
    npv_portfolio = per[False]["npv"][:, -1].sum(-1)
    narrows = draw_idx["sii_of_gain_qalys_per_100k"][:, -1] < 0
    rows = []
    for name, x in draw_idx.items():
        s = summarise(x)
        for e, entity in enumerate(entities):
            rows.append({"entity": entity, "index": name, "base_case": float(base_idx[name][0, e]),
                         **{k: float(v[e]) for k, v in s.items()}})
    p = float(np.mean((npv_portfolio > 0) & narrows))
    rows.append({"entity": PORTFOLIO, "index": "p_gains_and_narrows", "base_case": np.nan,
                 "mean": p, "median": np.nan, "p05": np.nan, "p95": np.nan})
    indices = pd.DataFrame(rows)
    indices["basis"] = np.where(indices["index"] == "p_gains_and_narrows",
                                f"probability over {results.info.draws:,} draws: NPV > 0 and SII < 0",
                                f"base case; mean and 90% interval over {results.info.draws:,} draws")

    qrows = []
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN where no draw has a health gain
        share_mean = np.where(share_count > 0, share_sum / np.maximum(share_count, 1), np.nan)
    means = {metric: x.mean(axis=0) for metric, x in per[False].items()}  # (E, Q)
    gain_stats = [summarise(gain[:, e]) for e in range(gain.shape[1])]  # one programme's draws at a time
    cost_w, _ = _split_weights(cube, True)
    part_base = cube["participant_years_base"].values[:, None] * cost_w
    part_base = np.concatenate([part_base, part_base.sum(0, keepdims=True)])
    for e, entity in enumerate(entities):
        for qi, quintile in enumerate(QUINTILES):
            row = {"entity": entity, "quintile": quintile, "quintile_label": QUINTILE_LABELS[qi],
                   "area_population": float(area_pop[qi]), "population_share": float(shares[qi]),
                   "participant_years_base": float(part_base[e, qi])}
            for metric in per[False]:
                row[f"{metric}_base"] = float(per[True][metric][0, e, qi])
                row[f"{metric}_mean"] = float(means[metric][e, qi])
            s = gain_stats[e]
            row["health_gain_qalys_p05"] = float(s["p05"][qi])
            row["health_gain_qalys_p95"] = float(s["p95"][qi])
            row["share_of_health_gain_mean"] = float(share_mean[e, qi])
            row["health_gain_per_100k_mean"] = (row["health_gain_qalys_mean"] / area_pop[qi] * 1e5
                                                if area_pop[qi] > 0 else np.nan)
            qrows.append(row)
    quintiles = pd.DataFrame(qrows)
    quintiles["currency"] = results.info.currency
    quintiles["price_year"] = results.info.price_year
    quintiles["basis"] = (f"base case and means over {results.info.draws:,} draws; PVs discounted; "
                          f"{results.info.perspective} perspective; health gain in QALY equivalents")

    by_sector = _by_sector(cube, results, entities)
    ede_profile = _ede_profile(gain, gain_base, health0, shares, area_pop)
    plane = pd.DataFrame({"draw": np.arange(gain.shape[0]), "npv": npv_portfolio,
                          "narrowing_qalys_per_100k": -draw_idx["sii_of_gain_qalys_per_100k"][:, -1]})
    notes = (f"Deprivation quintiles: {IMD_EDITION}; area = {attrs.get('deprivation_districts', '')}.",
             "Unweighted results first; equity-weighted gains (Atkinson) beside them, labelled: "
             "supporting analysis, as NICE's 2025 methods allow.",
             "Participants and costs split by the area's population in each programme's age band "
             "(times relative uptake); benefits and outcomes also by each programme's baseline-risk "
             "gradient (risk ratio, most to least deprived fifth). Totals are unchanged.")
    return DeprivationResults(quintiles, by_sector, indices, ede_profile, plane, notes)


def _by_sector(cube, results, entities) -> pd.DataFrame:
    """Mean PV costs and benefits (perspective-counted) by entity, quintile and sector."""
    pv_mean = cube["pv"].values[:, :-1].mean(axis=0)  # (I, S, K)
    cost_w, _ = _split_weights(cube, True)
    weights = results.weights
    counted = pv_mean * weights
    cost = counted[..., KIND_INDEX["cost"]]  # (I, S)
    # mean of a product: draws of the benefit times their own weights, in blocks of draws
    pv_draws = cube["pv"].values
    benefit_q = 0.0
    for block in draw_blocks(pv_draws.shape[0]):
        pv = pv_draws[block, :-1] * weights
        benefit_draws = pv.sum(-1) - pv[..., KIND_INDEX["cost"]]  # (b, I, S)
        _, benefit_w = _split_weights(cube, False, block)
        benefit_q = benefit_q + np.einsum("nis,niq->iqs", benefit_draws, benefit_w)
    benefit_q = benefit_q / pv_draws.shape[0]
    cost_q = cost[:, None, :] * cost_w[:, :, None]  # (I, Q, S)
    cost_q = np.concatenate([cost_q, cost_q.sum(0, keepdims=True)])
    benefit_q = np.concatenate([benefit_q, benefit_q.sum(0, keepdims=True)])
    rows = []
    for e, entity in enumerate(entities):
        for qi, quintile in enumerate(QUINTILES):
            for s, sector in enumerate(results.sectors):
                rows.append({"entity": entity, "quintile": quintile, "sector": sector,
                             "pv_costs_mean": float(cost_q[e, qi, s]),
                             "pv_benefits_mean": float(benefit_q[e, qi, s])})
    frame = pd.DataFrame(rows)
    frame["basis"] = (f"means over {results.info.draws:,} draws; PVs discounted, {results.info.currency} "
                      f"{results.info.price_year} prices; {results.info.perspective} perspective")
    return frame


def _ede_profile(gain, gain_base, health0, shares, area_pop) -> pd.DataFrame:
    if health0 is None:
        return pd.DataFrame(columns=["epsilon", "england_estimate", "base_case", "mean", "p05", "p95"])
    rows = []
    for eps in EPSILONS:
        values = {}
        for label, g in (("draws", gain[:, -1]), ("base", gain_base[:, -1])):
            per_person = np.where(area_pop > 0, g / np.where(area_pop > 0, area_pop, 1), 0.0)
            values[label] = (atkinson_ede(health0 + per_person, shares, eps)
                             - atkinson_ede(health0, shares, eps)) * area_pop.sum()
        s = summarise(values["draws"])
        rows.append({"epsilon": eps, "england_estimate": eps == ENGLAND_EPSILON,
                     "base_case": float(values["base"][0]), **{k: float(v) for k, v in s.items()}})
    return pd.DataFrame(rows)


__all__ = ["DeprivationResults", "deprivation_results", "atkinson_ede", "slope_index", "available",
           "EPSILONS", "ENGLAND_EPSILON", "headline_sentence"]
