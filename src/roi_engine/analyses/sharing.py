"""Cost sharing: who pays, who gains, and what each partner would contribute under a sharing rule.

DESIGN.md section 3 ("Cost sharing"). Everything is computed per draw from the present values a run
keeps (``Results.pv``), then summarised; pandas appears only in the tables returned at the edge.

Definitions, per draw and per sector ``s`` (present values, discounted, the scenario's price year,
counting only what the run's perspective counts, as every other table does):

- ``cost_s``: the sector's cost as modelled (where the cost lines put it);
- ``cash_s``: cash-releasing benefit, fiscal + economic; ``non_cash_s``: social value (health and
  wellbeing: QALYs, WELLBYs). Non-cash value is reported but never pays a share: a partner cannot
  pay with QALYs;
- ``T = sum_s cost_s``: the total cost to be shared;
- ``contribution_s`` under the rule (below); ``net under the rule = cash_s - contribution_s``.

Rules (:data:`RULES`):

``as_modelled``
    ``contribution_s = cost_s`` for every sector: costs fall where the cost lines put them. The
    contributor set is not used (it is reported as the sectors bearing a modelled cost).
``benefit_proportional``
    ``contribution_s = T x max(cash_s, 0) / sum_{c in contributors} max(cash_c, 0)`` for contributors,
    0 for others, so every contributor that gains cash earns the same cash-releasing return
    ``sum_c max(cash_c, 0) / T`` per £1. A contributor whose cash-releasing benefit is negative in a
    draw pays nothing in that draw (it is not compensated by the others: that is a matter for an
    ``agreed`` split); without the floor, draws in which the contributors' benefits nearly cancel
    would give unbounded positive and negative contributions. In a draw where no contributor has a
    positive cash-releasing benefit the rule is undefined. Such a draw falls back to the split the
    rule gives on average: shares proportional to each contributor's *mean* positive cash-releasing
    benefit over all draws (equal shares among the contributors if none gains cash in any draw).
    Contributions still add up to the cost; sectors that never gain are not charged for draws in
    which the programme happens to do harm. Such draws are counted
    (:attr:`CostSharing.fallback_draws`) and reported under the table.
``break_even``
    ``contribution_s = max(cash_s, 0)`` for contributors, 0 for others: the most each could pay and
    still break even over the horizon. These need not add up to the cost: the funding gap
    ``T - sum_s contribution_s`` (positive = gap, negative = surplus) is reported in the total row
    and in :attr:`CostSharing.gap`.
``agreed``
    ``contribution_s = share_s x T``; shares are given for contributors only and sum to 1 (within
    :data:`SHARE_TOLERANCE`; they are then rescaled to sum to exactly 1).

Under every rule except ``as_modelled``, sectors outside the contributor set pay nothing. The
default contributors are the sectors marked ``default_contributor = yes`` in ``sectors.csv``: the
public bodies and employers; individuals and families never pay by default. A cost the cost lines
put on a non-contributor (e.g. an out-of-pocket cost) is then met by the contributors.

Public functions: :func:`cost_sharing` (the table), :func:`cumulative_net_by_sector` (year by year, as
modelled), :func:`format_cost_sharing` (terminal text), and the per-draw kernels
:func:`as_modelled_contributions`, :func:`benefit_proportional_contributions`,
:func:`break_even_contributions`, :func:`agreed_contributions` and :func:`rule_contributions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.accounting import cost_and_benefit
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.sharing_rule import (
    RULES,
    SHARE_TOLERANCE,
    TOTAL,
    SharingRule,
    default_contributors,
    parse_shares,
)
from roi_engine.model.draw_store import draw_array, draw_blocks
from roi_engine.results.cube import ALL_SECTORS, PORTFOLIO, Results
from roi_engine.results.metrics import safe_ratio, summarise
from roi_engine.results.summary import payback_statistics

# --- per-draw kernels (pure NumPy) ----------------------------------------------------------------


class Contributions(NamedTuple):
    """Per-draw contributions under a rule.

    contribution : ndarray, shape (n, S)  [GBP]
    fallback : ndarray of bool, shape (n,)
        Draws where ``benefit_proportional`` fell back to equal shares (always False otherwise).
    """

    contribution: np.ndarray
    fallback: np.ndarray


def as_modelled_contributions(cost: np.ndarray) -> np.ndarray:
    """Each sector pays its modelled cost: ``cost (n, S)`` returned as a copy. [GBP]"""
    return np.array(cost, dtype=float, copy=True)


def benefit_proportional_contributions(total_cost: np.ndarray, cash: np.ndarray, contributors: np.ndarray,
                                       fallback_weights: np.ndarray | None = None) -> Contributions:
    """Share ``total_cost`` among contributors in proportion to their positive cash-releasing benefit.

    Parameters
    ----------
    total_cost : ndarray, shape (n,)
        Cost to share in each draw. [GBP]
    cash : ndarray, shape (n, S)
        Cash-releasing (fiscal + economic) benefit by sector. [GBP]
    contributors : ndarray of bool, shape (S,)
        At least one True.
    fallback_weights : ndarray, shape (S,), optional
        Split used in draws where no contributor gains cash. Default: each contributor's mean over
        the draws of ``max(cash_s, 0)``, or equal shares among contributors if those are all 0.

    Returns
    -------
    Contributions
        ``T x max(cash_s, 0) / sum_c max(cash_c, 0)`` for contributors, 0 for others. Draws where no
        contributor has a positive cash-releasing benefit use ``fallback_weights`` (``fallback`` marks
        them). Contributions add up to ``total_cost`` in every draw.
    """
    contributors = np.asarray(contributors, dtype=bool)
    if not contributors.any():
        raise InputError("benefit_proportional needs at least one contributor")
    total_cost = np.asarray(total_cost, dtype=float)
    weight = np.where(contributors, np.maximum(np.asarray(cash, dtype=float), 0.0), 0.0)
    denominator = weight.sum(axis=-1)
    fallback = ~(denominator > 0)
    if fallback_weights is None:
        fallback_weights = weight.mean(axis=0) if weight.shape[0] else np.zeros(weight.shape[1])
    fallback_weights = np.where(contributors, np.maximum(np.asarray(fallback_weights, float), 0.0), 0.0)
    if not fallback_weights.sum() > 0:
        fallback_weights = contributors.astype(float)
    fallback_fraction = fallback_weights / fallback_weights.sum()
    fraction = np.where(fallback[:, None], fallback_fraction[None, :],
                        weight / np.where(fallback, 1.0, denominator)[:, None])
    return Contributions(total_cost[:, None] * fraction, fallback)


def break_even_contributions(cash: np.ndarray, contributors: np.ndarray) -> np.ndarray:
    """``max(cash_s, 0)`` for contributors, 0 for others, shape (n, S): the most each can pay. [GBP]"""
    return np.where(np.asarray(contributors, dtype=bool),
                    np.maximum(np.asarray(cash, dtype=float), 0.0), 0.0)


def agreed_contributions(total_cost: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``share_s x total_cost``, shape (n, S); ``shares (S,)`` sum to 1. [GBP]"""
    return np.asarray(total_cost, dtype=float)[:, None] * np.asarray(shares, dtype=float)[None, :]


def rule_contributions(rule: str, cost: np.ndarray, cash: np.ndarray, contributors: np.ndarray,
                       shares: np.ndarray | None = None) -> Contributions:
    """Per-draw contributions ``(n, S)`` under ``rule`` from costs and cash-releasing benefits ``(n, S)``."""
    cost = np.asarray(cost, dtype=float)
    no_fallback = np.zeros(cost.shape[0], dtype=bool)
    if rule == "as_modelled":
        return Contributions(as_modelled_contributions(cost), no_fallback)
    total_cost = cost.sum(axis=-1)
    if rule == "benefit_proportional":
        return benefit_proportional_contributions(total_cost, cash, contributors)
    if rule == "break_even":
        return Contributions(break_even_contributions(cash, contributors), no_fallback)
    if rule == "agreed":
        if shares is None:
            raise InputError("the 'agreed' rule needs shares")
        return Contributions(agreed_contributions(total_cost, shares), no_fallback)
    raise InputError(f"'{rule}' is not a cost-sharing rule",
                     hint=did_you_mean(rule, RULES) or f"one of {list(RULES)}")


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostSharing:
    """What :func:`cost_sharing` returns.

    Attributes
    ----------
    table : DataFrame
        One row per sector (index ``sector``) and a ``total`` row; columns described in
        :func:`cost_sharing`.
    rule : SharingRule
    entity : str
    contributors : tuple of str
        Sectors that pay under the rule (for ``as_modelled``: those bearing a modelled cost).
    draws : dict of ndarray
        Per-draw arrays: ``cost, cash, non_cash, contribution, net_rule`` (n, S) and
        ``total_cost, gap`` (n,). [GBP, discounted]
    gap : dict of float
        Funding gap ``total cost - sum of contributions`` (positive = gap, negative = surplus):
        ``mean, median, p05, p95, p_gap`` (share of draws with a gap > 0). Zero up to rounding except
        under ``break_even``.
    fallback_draws : int
        ``benefit_proportional`` draws in which no contributor gained cash, so the fallback split was
        used (0 for other rules).
    n_draws : int
    currency, price_year, perspective : str
    """

    table: pd.DataFrame
    rule: SharingRule
    entity: str
    contributors: tuple[str, ...]
    draws: dict[str, np.ndarray]
    gap: dict[str, float]
    fallback_draws: int
    n_draws: int
    currency: str
    price_year: str
    perspective: str
    horizon: int = 0


def sector_values(results: Results, entity: str = PORTFOLIO) -> dict[str, np.ndarray]:
    """Per-draw present values by sector for ``entity``: ``cost, benefit, cash, non_cash, payback``.

    Each shape (n, S); counted as the run's perspective counts them; ``payback`` is the cash basis
    (:mod:`roi_engine.results.summary`). [GBP, discounted; payback in years]
    """
    _entity_index(results, entity)
    names = ["pv_costs", "pv_benefits", "pv_benefits_cash", "pv_benefits_social", "payback_year_cash"]
    groups = list(results.groups)
    assert groups[:len(results.sectors)] == list(results.sectors)  # the sectors come first
    # views of the per-draw metrics (no copy: they may be paged to disk)
    m = results.summary.draw_metrics[names].sel(entity=entity).isel(group=slice(0, len(results.sectors)))
    return {
        "cost": m["pv_costs"].values,
        "benefit": m["pv_benefits"].values,
        "cash": m["pv_benefits_cash"].values,
        "non_cash": m["pv_benefits_social"].values,
        "payback": m["payback_year_cash"].values,
    }


def cost_sharing(results: Results, rule: SharingRule | str = "as_modelled", entity: str = PORTFOLIO,
                 sectors: SectorTable | None = None) -> CostSharing:
    """The cost-sharing table for ``entity`` (an intervention id or ``"portfolio"``) under ``rule``.

    Parameters
    ----------
    results : Results
    rule : SharingRule or str
    entity : str
    sectors : SectorTable, optional
        For the default contributors (``default_contributor = yes``); default: ``results.sector_table``
        when the run keeps it. Not needed when the rule names its contributors, or for ``as_modelled``.

    Returns
    -------
    CostSharing
        ``table`` columns (means over draws unless named otherwise; money in GBP, discounted):

        - ``contributor``: whether the sector pays under the rule;
        - as modelled: ``cost_modelled``, ``benefit_cash`` (fiscal + economic), ``benefit_non_cash``
          (social), ``net_modelled_mean/_p05/_p95`` (all counted benefits minus cost),
          ``benefit_per_pound_modelled`` (£ of benefit per £1 of modelled cost, ratio of means, NaN
          where no cost), ``p_net_modelled_gt_0``, ``payback_year_cash_median`` (cash basis; inf when the
          median draw
          never pays back within the horizon, or nothing is paid), ``p_payback_within_horizon``
          (among draws where the sector pays; NaN if it never does);
        - under the rule: ``contribution_mean/_p05/_p95``, ``contribution_share`` (of the mean total
          cost), ``net_rule_mean/_p05/_p95`` (cash-releasing benefit minus contribution: non-cash value
          is not in it), ``p_net_rule_gt_0``, ``cash_benefit_per_pound_rule_median`` (median over
          draws where the sector pays of cash benefit / contribution), ``net_rule_with_non_cash_mean``;
        - ``funding_gap_mean/_p05/_p95`` and ``p_funding_gap_gt_0``: ``break_even`` total row only;
        - ``rule, entity, currency, price_year, discounted, perspective, horizon`` on every row.
    """
    if isinstance(rule, str):
        rule = SharingRule(rule)
    sector_names = tuple(results.sectors)
    defaults = results.default_contributors
    if sectors is not None:
        if tuple(sectors.names) != sector_names:
            raise ValueError(f"the sector table {list(sectors.names)} is not the run's "
                             f"sectors {sector_names}")
        defaults = default_contributors(sectors)
    mask, shares = rule.resolve(sector_names, defaults)

    v = sector_values(results, entity)
    n, n_sectors = v["cost"].shape
    total_payback = results.summary.draw_metrics["payback_year_cash"].sel(entity=entity, group=ALL_SECTORS)
    # Per draw, a block of draws at a time (each draw's contributions depend on that draw alone):
    # every quantity by sector with the total appended as sector S, in arrays paged to disk when large.
    names = ("cost", "cash", "non_cash", "benefit", "contribution", "net_modelled", "net_rule",
             "net_rule_with_non_cash", "payback", "per_pound")
    t = {name: draw_array((n, n_sectors + 1)) for name in names}
    total_cost, gap = np.empty(n), np.empty(n)
    fallback = 0
    for block in draw_blocks(n):
        cost, cash, non_cash, benefit = (np.asarray(v[k][block], dtype=float)
                                         for k in ("cost", "cash", "non_cash", "benefit"))
        result = rule_contributions(rule.rule, cost, cash, mask, shares)
        contribution = result.contribution
        fallback += int(result.fallback.sum())
        total_cost[block] = cost.sum(axis=1)
        gap[block] = total_cost[block] - contribution.sum(axis=1)
        net_rule = cash - contribution
        for name, x in (("cost", cost), ("cash", cash), ("non_cash", non_cash), ("benefit", benefit),
                        ("contribution", contribution), ("net_modelled", benefit - cost),
                        ("net_rule", net_rule)):
            t[name][block, :n_sectors] = x
            t[name][block, n_sectors] = x.sum(axis=1)
        t["net_rule_with_non_cash"][block] = t["net_rule"][block] + t["non_cash"][block]
        t["payback"][block, :n_sectors] = v["payback"][block]
        t["payback"][block, n_sectors] = total_payback.values[block]
        paying = t["contribution"][block] > 0
        t["per_pound"][block] = np.where(paying, t["cash"][block] / np.where(
            paying, t["contribution"][block], 1.0), np.nan)
    if rule.rule == "as_modelled":
        mask = np.any(t["cost"][:, :n_sectors] != 0, axis=0)
    cost_t, cash_t, non_cash_t, benefit_t = (t[k] for k in ("cost", "cash", "non_cash", "benefit"))
    contribution_t, net_modelled_t, net_rule_t = (t[k] for k in ("contribution", "net_modelled", "net_rule"))

    net_m = summarise(net_modelled_t)
    contrib = summarise(contribution_t)
    net_r = summarise(net_rule_t)
    mean_total_cost = float(np.mean(total_cost))
    payback_stats = payback_statistics(t["payback"], results.info.horizon)
    median_payback, p_payback = payback_stats["median"], payback_stats["p_paid_back"]
    per_pound = t["per_pound"]

    frame = pd.DataFrame({
        "sector": [*sector_names, TOTAL],
        "contributor": [*mask.tolist(), bool(mask.any())],
        "cost_modelled": cost_t.mean(axis=0),
        "benefit_cash": cash_t.mean(axis=0),
        "benefit_non_cash": non_cash_t.mean(axis=0),
        "net_modelled_mean": net_m["mean"],
        "net_modelled_p05": net_m["p05"],
        "net_modelled_p95": net_m["p95"],
        "benefit_per_pound_modelled": safe_ratio(benefit_t.mean(axis=0), cost_t.mean(axis=0)),
        "p_net_modelled_gt_0": np.mean(net_modelled_t > 0, axis=0),
        "payback_year_cash_median": median_payback,
        "p_payback_cash_within_horizon": p_payback,
        "contribution_mean": contrib["mean"],
        "contribution_p05": contrib["p05"],
        "contribution_p95": contrib["p95"],
        "contribution_share": safe_ratio(contribution_t.mean(axis=0), mean_total_cost),
        "net_rule_mean": net_r["mean"],
        "net_rule_p05": net_r["p05"],
        "net_rule_p95": net_r["p95"],
        "p_net_rule_gt_0": np.mean(net_rule_t > 0, axis=0),
        "cash_benefit_per_pound_rule_median": _nanmedian(per_pound),
        "net_rule_with_non_cash_mean": t["net_rule_with_non_cash"].mean(axis=0),
    })
    gap_stats = summarise(gap)
    gap_summary = {k: float(gap_stats[k]) for k in ("mean", "median", "p05", "p95")}
    gap_summary["p_gap"] = float(np.mean(gap > 0))
    for column, key in (("funding_gap_mean", "mean"), ("funding_gap_p05", "p05"),
                        ("funding_gap_p95", "p95"), ("p_funding_gap_gt_0", "p_gap")):
        frame[column] = np.nan
        if rule.rule == "break_even":
            frame.loc[frame.index[-1], column] = gap_summary[key]
    info = results.info
    frame["rule"] = rule.rule
    frame["entity"] = entity
    frame["currency"] = info.currency
    frame["price_year"] = info.price_year
    frame["discounted"] = "yes"
    frame["perspective"] = info.perspective
    frame["horizon"] = info.horizon
    frame = frame.set_index("sector")
    frame.attrs.update(rule=rule.rule, entity=entity, currency=info.currency,
                       price_year=info.price_year, discounted=True, perspective=info.perspective)
    return CostSharing(
        table=frame, rule=rule, entity=entity,
        contributors=tuple(s for s, m in zip(sector_names, mask, strict=True) if m),
        draws={"cost": cost_t[:, :n_sectors], "cash": cash_t[:, :n_sectors],
               "non_cash": non_cash_t[:, :n_sectors], "contribution": contribution_t[:, :n_sectors],
               "net_rule": net_rule_t[:, :n_sectors], "total_cost": total_cost, "gap": gap},
        gap=gap_summary, fallback_draws=fallback, n_draws=n,
        currency=info.currency, price_year=info.price_year, perspective=info.perspective,
        horizon=info.horizon,
    )


def cumulative_net_by_sector(results: Results, entity: str = PORTFOLIO) -> pd.DataFrame:
    """Mean cumulative discounted net position as modelled, by year (rows) and sector (columns).

    Built from the run's means over draws of discounted flows (``cube['discounted_mean']``),
    counted as the perspective counts them; column ``all`` is the total over sectors. The last row is
    each sector's mean net present value. [GBP, discounted, the run's price year]
    """
    _entity_index(results, entity)
    flows = results.cube["discounted_mean"].sel(entity=entity).values  # (H, S, K)
    cost, benefit = cost_and_benefit(flows, results.weights)  # (H, S)
    cumulative = np.cumsum(benefit - cost, axis=0)
    frame = pd.DataFrame(cumulative, index=pd.RangeIndex(cumulative.shape[0], name="year"),
                         columns=pd.Index(results.sectors, name="sector"))
    frame[ALL_SECTORS] = cumulative.sum(axis=1)
    frame.attrs.update(entity=entity, currency=results.info.currency,
                       price_year=results.info.price_year, discounted=True,
                       perspective=results.info.perspective, statistic="mean over draws")
    return frame


# --- terminal text -------------------------------------------------------------------------------


def _entity_index(results: Results, entity: str) -> int:
    if entity not in results.entities:
        raise InputError(f"'{entity}' is not an intervention in this run", where="entity",
                         hint=did_you_mean(entity, results.entities)
                         or f"one of {list(results.entities)}")
    return results.entities.index(entity)


def _nanmedian(x: np.ndarray) -> np.ndarray:
    """Median over draws (axis 0) ignoring NaN; NaN where a column is all NaN (no warning)."""
    return summarise(x)["median"]


__all__ = [
    "RULES", "SHARE_TOLERANCE", "SharingRule", "CostSharing", "Contributions", "parse_shares",
    "default_contributors", "sector_values", "cost_sharing", "cumulative_net_by_sector",
    "as_modelled_contributions", "benefit_proportional_contributions",
    "break_even_contributions", "agreed_contributions", "rule_contributions",
]
