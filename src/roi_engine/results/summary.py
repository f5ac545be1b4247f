"""Every figure of a run, derived once from its cube: per-draw metrics, their statistics, the tables.

Definitions (DESIGN.md section 3), per draw, for each entity and each sector group (each sector,
``public`` = the public bodies together, ``all``):

- ``pv_costs`` ``C`` and ``pv_benefits`` ``B``: discounted sums counting what the perspective counts;
  ``pv_benefits_cash``: the fiscal and economic part of ``B`` (cash-releasing), ``pv_benefits_social``
  the health and wellbeing part;
- ``npv = B - C``; ``npv_cash = B_cash - C``; ``benefit_per_pound = B / C``; ``net_roi = (B - C) / C``
  (ratios NaN where nothing is invested);
- ``payback_year`` (basis ``perspective``) and ``payback_year_cash`` (basis ``cash``), as
  :func:`roi_engine.model.payback.payback_year` defines them.

Statistics: ``base_case`` (every input at its point value: one model run, not a summary of draws),
``mean``, ``median``, ``p05``, ``p95`` over draws. Payback is censored: draws that never pay back order
after the last year in the median and percentiles (so the median can be "never"), no mean is taken,
and ``p_paid_back_by_year_t`` is reported for every year ``t``. Every table states its basis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from roi_engine.inputs.accounting import KIND_INDEX, KINDS
from roi_engine.model.draw_store import draw_array, draw_blocks
from roi_engine.results.labels import ALL_SECTORS, PORTFOLIO, PUBLIC
from roi_engine.results.metrics import safe_ratio, summarise_quantiles

STATISTICS = ("base_case", "mean", "median", "p05", "p95")
MONEY_METRICS = ("pv_costs", "pv_benefits", "pv_benefits_fiscal", "pv_benefits_economic",
                 "pv_benefits_social", "pv_benefits_cash", "npv", "npv_cash")
RATIO_METRICS = ("benefit_per_pound", "net_roi", "benefit_per_pound_cash")
PAYBACK_METRICS = ("payback_year", "payback_year_cash")


def per_draw_metrics(pv: xr.DataArray, payback: xr.DataArray, weights: np.ndarray,
                     public_body: np.ndarray) -> xr.Dataset:
    """Per-draw metrics by entity and sector group from present values and payback years.

    Parameters
    ----------
    pv : DataArray (..., entity, sector, kind)
        Present values of all flows. [GBP, discounted]
    payback : DataArray (..., entity, group, basis)
    weights : ndarray, shape (sector, kind)
        The perspective's 0/1 weights.
    public_body : ndarray of bool, shape (sector,)

    Returns
    -------
    Dataset of DataArrays (..., entity, group): :data:`MONEY_METRICS`, :data:`RATIO_METRICS`,
    :data:`PAYBACK_METRICS`.
    """
    dims = (*pv.dims[:-2], "group")
    counted = pv.values * weights  # (..., E, S, K)
    public = public_body.astype(float)

    def groups(x):  # (..., E, S) -> (..., E, S + 2): each sector, public bodies, all
        return np.concatenate([x, (x * public).sum(-1, keepdims=True), x.sum(-1, keepdims=True)], -1)

    arrays = {"pv_costs": groups(counted[..., KIND_INDEX["cost"]])}
    for k in KINDS[1:]:
        arrays[f"pv_benefits_{k}"] = groups(counted[..., KIND_INDEX[k]])
    arrays["pv_benefits_cash"] = arrays["pv_benefits_fiscal"] + arrays["pv_benefits_economic"]
    arrays["pv_benefits"] = arrays["pv_benefits_cash"] + arrays["pv_benefits_social"]
    arrays["npv"] = arrays["pv_benefits"] - arrays["pv_costs"]
    arrays["npv_cash"] = arrays["pv_benefits_cash"] - arrays["pv_costs"]
    arrays["benefit_per_pound"] = safe_ratio(arrays["pv_benefits"], arrays["pv_costs"])
    arrays["benefit_per_pound_cash"] = safe_ratio(arrays["pv_benefits_cash"], arrays["pv_costs"])
    arrays["net_roi"] = safe_ratio(arrays["npv"], arrays["pv_costs"])
    basis = list(payback["basis"].values)
    arrays["payback_year"] = payback.values[..., basis.index("perspective")]
    arrays["payback_year_cash"] = payback.values[..., basis.index("cash")]
    coords = {d: payback[d].values for d in dims if d in payback.coords}
    return xr.Dataset({k: (dims, v) for k, v in arrays.items()}, coords=coords)


def draw_statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, median, 5th and 95th percentiles over draws (axis 0); NaN draws (undefined) left out."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # nanmean copies its input to zero the NaN: only worth it where there are some
        out = {"mean": np.nanmean(x, axis=0) if np.isnan(x).any() else np.mean(x, axis=0)}
        out.update(summarise_quantiles(x))
    return out


def payback_statistics(years: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Censored statistics of payback years over draws (axis 0).

    ``inf`` (never within the horizon) orders after the last year; NaN (pays nothing) is left out.
    Median and percentiles are years that occur (``inverted_cdf``), ``inf`` when that share of draws
    has not paid back; ``mean`` is NaN (undefined under censoring); ``p_paid_back_by_year`` has a
    leading axis over years ``0 .. horizon - 1``.
    """
    import warnings

    applicable = ~np.isnan(years)
    count = applicable.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = summarise_quantiles(years, method="inverted_cdf")
    out["mean"] = np.full(years.shape[1:], np.nan)
    by_year = np.stack([np.sum(applicable & (years <= t), axis=0) for t in range(horizon)])
    out["p_paid_back_by_year"] = safe_ratio(by_year, np.broadcast_to(count, by_year.shape))
    out["p_paid_back"] = safe_ratio(np.sum(np.isfinite(years), axis=0), count)
    return out


def draw_metrics_dataset(pv: xr.DataArray, payback: xr.DataArray, weights: np.ndarray,
                         public_body: np.ndarray) -> xr.Dataset:
    """:func:`per_draw_metrics` of every draw, computed in blocks of draws.

    Each metric is an array from :func:`~roi_engine.model.draw_store.draw_array` (on disk once large),
    so the memory needed is one block's, whatever the number of draws; each draw's metrics depend on
    that draw alone, so the blocks change no number.
    """
    n = pv.sizes["draw"]
    arrays: dict[str, np.ndarray] = {}
    part = None
    for block in draw_blocks(n):
        part = per_draw_metrics(pv.isel(draw=block), payback.isel(draw=block), weights, public_body)
        for name, x in part.data_vars.items():
            if name not in arrays:
                arrays[name] = draw_array((n, *x.shape[1:]), by_column=True)
            arrays[name][block] = x.values
    dims = part[next(iter(part.data_vars))].dims
    coords = {d: part[d].values for d in dims if d in part.coords and d != "draw"}
    coords["draw"] = pv["draw"].values
    return xr.Dataset({k: (dims, v) for k, v in arrays.items()}, coords=coords)


def by_entity(x: np.ndarray, statistic) -> dict[str, np.ndarray]:
    """``statistic`` (a function of a ``(draw, group)`` slab returning arrays by name) for each entity
    of ``x`` (``(draw, entity, group)``) in turn, stacked on a new entity axis before the group axis:
    only one entity's draws are copied at a time."""
    parts = [statistic(x[:, e]) for e in range(x.shape[1])]
    return {k: np.stack([p[k] for p in parts], axis=-2) for k in parts[0]}


def _probabilities(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"gt_0": np.mean(x > 0, axis=0), "gt_1": np.mean(np.nan_to_num(x, nan=-np.inf) > 1, axis=0)}


class Summary:
    """The statistics of every metric of a run, computed once from its cube.

    Per-draw metrics (:attr:`draw_metrics`) are computed in blocks of draws and statistics one entity
    at a time, so memory stays bounded as draws grow (the large arrays are paged to disk).
    """

    def __init__(self, results):
        self.results = results
        cube, info = results.cube, results.info
        self.info = info
        self._cumulative_statistics = None
        self.draw_metrics = draw_metrics_dataset(cube["pv"], cube["payback"], results.weights,
                                                 results.public_body)
        self.base_metrics = per_draw_metrics(cube["pv_base"], cube["payback_base"], results.weights,
                                             results.public_body)
        dims = ("entity", "group")
        m = self.draw_metrics
        stats = {}
        for name in (*MONEY_METRICS, *RATIO_METRICS):
            s = by_entity(m[name].values, draw_statistics)
            stats[name] = xr.concat(
                [self.base_metrics[name]] + [xr.DataArray(s[k], dims=dims) for k in STATISTICS[1:]],
                dim=pd.Index(STATISTICS, name="statistic"))
        self.p_paid_back_by_year = {}
        for name in PAYBACK_METRICS:
            s = by_entity(m[name].values, lambda x: payback_statistics(x, info.horizon))
            stats[name] = xr.concat(
                [self.base_metrics[name]] + [xr.DataArray(s[k], dims=dims) for k in STATISTICS[1:]],
                dim=pd.Index(STATISTICS, name="statistic"))
            self.p_paid_back_by_year[name] = xr.DataArray(
                s["p_paid_back_by_year"], dims=("year", *dims),
                coords={"year": np.arange(info.horizon), "entity": list(results.entities),
                        "group": list(results.groups)})
            stats[f"p_{name.replace('_year', '')}_within_horizon"] = xr.DataArray(s["p_paid_back"],
                                                                                   dims=dims)
        for name, (key, label) in {"npv": ("gt_0", "p_npv_gt_0"), "npv_cash": ("gt_0", "p_npv_cash_gt_0"),
                                   "benefit_per_pound": ("gt_1", "p_benefit_per_pound_gt_1"),
                                   "benefit_per_pound_cash": ("gt_1", "p_benefit_per_pound_cash_gt_1"),
                                   }.items():
            stats[label] = xr.DataArray(by_entity(m[name].values, _probabilities)[key], dims=dims)
        self.stats = xr.Dataset(stats).assign_coords(entity=list(results.entities),
                                                     group=list(results.groups))
        participants = cube["participant_years"]
        self.participant_years = participants
        self.people = participants * cube["distinct_share"]
        self._tables: dict = {}

    def _table(self, key, build) -> pd.DataFrame:
        """A table built once per run; each caller gets its own copy to change freely."""
        if key not in self._tables:
            self._tables[key] = build()
        return self._tables[key].copy()

    # --- one figure ----------------------------------------------------------------------------

    def value(self, metric: str, statistic: str, entity: str = PORTFOLIO, group: str = ALL_SECTORS) -> float:
        """One figure: ``metric`` (e.g. ``'npv'``) as ``statistic`` (e.g. ``'base_case'``)."""
        x = self.stats[metric]
        if "statistic" in x.dims:
            x = x.sel(statistic=statistic)
        return float(x.sel(entity=entity, group=group))

    def payback(self, entity: str = PORTFOLIO, group: str = ALL_SECTORS, cash: bool = False,
                statistic: str = "median") -> float:
        """Payback year (``inf`` never within the horizon, NaN pays nothing)."""
        return self.value("payback_year_cash" if cash else "payback_year", statistic, entity, group)

    # --- tables --------------------------------------------------------------------------------

    def headline(self) -> pd.DataFrame:
        """One row per intervention and the portfolio, sector group ``all``.

        Columns ``<metric>_<statistic>`` for PV costs and benefits, NPV, benefit per £1 and net ROI
        (base case, mean, median, 5th, 95th), payback (base case, median, 5th, 95th, both bases),
        probabilities, participant-years and distinct people reached. [GBP, discounted]
        """
        return self._table("headline", self._headline)

    def _headline(self) -> pd.DataFrame:
        s = self.stats.sel(group=ALL_SECTORS)
        frame = pd.DataFrame(index=pd.Index(self.results.entities, name="entity"))
        for name in ("pv_costs", "pv_benefits", "pv_benefits_cash", "pv_benefits_social", "npv",
                     "npv_cash", "benefit_per_pound", "benefit_per_pound_cash", "net_roi",
                     *PAYBACK_METRICS):
            for statistic in STATISTICS:
                if name in PAYBACK_METRICS and statistic == "mean":
                    continue
                suffix = "base" if statistic == "base_case" else statistic
                frame[f"{name}_{suffix}"] = s[name].sel(statistic=statistic).values
        for name in ("p_npv_gt_0", "p_npv_cash_gt_0", "p_benefit_per_pound_gt_1",
                     "p_benefit_per_pound_cash_gt_1", "p_payback_within_horizon",
                     "p_payback_cash_within_horizon"):
            frame[name] = s[name].values
        people = self._people_table()
        for column in people.columns:
            frame[column] = people[column]
        frame["basis"] = ("base_case = every input at its point value; mean/median/p05/p95 over "
                          f"{self.info.draws:,} draws; {self.info.basis}")
        return frame

    def _people_table(self) -> pd.DataFrame:
        cube = self.results.cube
        years = cube["participant_years"].values
        share = cube["distinct_share"].values
        rows = {}
        base_years = cube["participant_years_base"].values
        rows["participant_years_base"] = [*base_years, base_years.sum()]
        rows["participant_years_mean"] = [*years.mean(axis=0), years.sum(axis=1).mean()]
        rows["people_reached_base"] = [*(base_years * share), (base_years * share).sum()]
        rows["people_reached_mean"] = [*(years * share).mean(axis=0), (years * share).sum(axis=1).mean()]
        return pd.DataFrame(rows, index=pd.Index(self.results.entities, name="entity"))

    def by_sector(self, entity: str = PORTFOLIO) -> pd.DataFrame:
        """One row per sector group for ``entity``: means over draws, with the base case beside.

        Net positions have their 5th-95th percentiles; payback is the censored median over draws.
        [GBP, discounted; perspective as the run's]
        """
        return self._table(("by_sector", entity), lambda: self._by_sector(entity))

    def _by_sector(self, entity: str) -> pd.DataFrame:
        s = self.stats.sel(entity=entity)
        frame = pd.DataFrame(index=pd.Index(self.results.groups, name="sector"))
        for name in ("pv_costs", "pv_benefits_fiscal", "pv_benefits_economic", "pv_benefits_social",
                     "pv_benefits_cash", "pv_benefits", "npv", "npv_cash", "benefit_per_pound"):
            frame[f"{name}_mean"] = s[name].sel(statistic="mean").values
            frame[f"{name}_base"] = s[name].sel(statistic="base_case").values
        for name in ("npv", "npv_cash"):
            frame[f"{name}_p05"] = s[name].sel(statistic="p05").values
            frame[f"{name}_p95"] = s[name].sel(statistic="p95").values
        for name in PAYBACK_METRICS:
            frame[f"{name}_median"] = s[name].sel(statistic="median").values
            frame[f"{name}_base"] = s[name].sel(statistic="base_case").values
        for name in ("p_npv_gt_0", "p_npv_cash_gt_0", "p_payback_within_horizon",
                     "p_payback_cash_within_horizon"):
            frame[name] = s[name].values
        return frame

    def tidy(self) -> pd.DataFrame:
        """Every statistic, long: ``entity, sector, metric, statistic, value`` and what it means.

        ``sector`` is a sector, ``public`` (public bodies together) or ``all``; ``statistic`` is
        ``base_case`` (one model run at point values) or a summary over draws (``mean``, ``median``,
        ``p05``, ``p95``), or ``probability``; payback years are ``inf`` where not within the horizon.
        """
        return self._table("tidy", self._tidy)

    def _tidy(self) -> pd.DataFrame:
        parts = []
        for name, x in self.stats.data_vars.items():
            frame = x.to_dataframe(name="value").reset_index()
            if "statistic" not in frame:
                frame["statistic"] = "probability"
            frame["metric"] = name
            parts.append(frame)
        for name, x in self.p_paid_back_by_year.items():
            frame = x.to_dataframe(name="value").reset_index()
            frame["metric"] = "p_" + name.replace("_year", "") + "_by_year_" + frame.pop("year").astype(str)
            frame["statistic"] = "probability"
            parts.append(frame)
        frame = pd.concat(parts, ignore_index=True).rename(columns={"group": "sector"})
        frame = frame[frame["metric"].ne("mean") & ~((frame["metric"].isin(PAYBACK_METRICS))
                                                     & (frame["statistic"] == "mean"))]
        frame = frame[["entity", "sector", "metric", "statistic", "value"]]
        frame["unit"] = frame["metric"].map(metric_unit)
        money = frame["unit"] == "GBP"
        frame["currency"] = np.where(money, self.info.currency, "")
        frame["price_year"] = np.where(money, self.info.price_year, "")
        frame["discounted"] = frame["metric"].map(_discounted)
        frame["basis"] = np.where(frame["statistic"] == "base_case", "base case (point values)",
                                  f"over {self.info.draws:,} draws")
        frame["perspective"] = self.info.perspective
        frame["horizon"] = self.info.horizon
        return frame.reset_index(drop=True)

    DRAW_COLUMNS = ("pv_costs", "pv_benefits", "pv_benefits_cash", "npv", "npv_cash", "benefit_per_pound",
                    "net_roi", "payback_year", "payback_year_cash")

    def draws(self) -> pd.DataFrame:
        """Per-draw headline metrics (sector group ``all``), long by entity (all draws at once)."""
        return pd.concat(self.draw_blocks(self.info.draws), ignore_index=True)

    def draw_blocks(self, size: int = 20_000):
        """:meth:`draws` in blocks of ``size`` draws (long by entity within each block), so that a
        per-draw table can be written without holding it all as text or objects at once."""
        entities = np.asarray(self.results.entities)
        for draws, arrays in self.draw_arrays(size):
            yield pd.DataFrame({"draw": np.repeat(draws, len(entities)),
                                "entity": np.tile(entities, len(draws)),
                                **{c: arrays[c].ravel() for c in self.DRAW_COLUMNS}})

    def draw_arrays(self, size: int = 20_000):
        """The columns of :meth:`draws` as arrays, a block of ``size`` draws at a time: yields the block's
        draw numbers ``(draw,)`` and ``{column: ndarray (draw, entity)}`` (entities as
        ``results.entities``), for writers that need no DataFrame."""
        m = self.draw_metrics.sel(group=ALL_SECTORS, drop=True)[list(self.DRAW_COLUMNS)]
        for start in range(0, m.sizes["draw"], size):
            part = m.isel(draw=slice(start, start + size))
            yield part["draw"].values, {c: part[c].transpose("draw", "entity").values
                                        for c in self.DRAW_COLUMNS}

    def yearly(self) -> pd.DataFrame:
        """Mean flows over draws by entity, year, sector and kind, undiscounted and discounted. [GBP]"""
        return self._table("yearly", self._yearly)

    def _yearly(self) -> pd.DataFrame:
        cube = self.results.cube
        frame = xr.Dataset({"mean_undiscounted": cube["flows_mean"],
                            "mean_discounted": cube["discounted_mean"]}).to_dataframe().reset_index()
        frame = frame[(frame[["mean_undiscounted", "mean_discounted"]] != 0).any(axis=1)]
        frame = frame[["entity", "year", "sector", "kind", "mean_undiscounted", "mean_discounted"]]
        frame["currency"] = self.info.currency
        frame["price_year"] = self.info.price_year
        return frame.reset_index(drop=True)

    def cumulative_net_band(self, aggregate: str = ALL_SECTORS, basis: str = "perspective") -> pd.DataFrame:
        """Cumulative discounted net benefit by entity and year: base case, mean, 5th, 50th, 95th.

        Statistics over the first :attr:`RunInfo.year_detail_draws` draws (a random subsample).
        """
        return self._table(("cumulative_net_band", aggregate, basis),
                           lambda: self._cumulative_net_band(aggregate, basis))

    def _cumulative_net_band(self, aggregate: str, basis: str) -> pd.DataFrame:
        cube = self.results.cube
        if self._cumulative_statistics is None:  # every aggregate and basis in one pass over the draws
            self._cumulative_statistics = xr.Dataset(
                {k: (cube["cumulative_net"].dims[1:], v)
                 for k, v in draw_statistics(cube["cumulative_net"].values).items()},  # (d, E, A, B, H)
                coords={d: cube[d].values for d in cube["cumulative_net"].dims[1:] if d in cube.coords})
        s = {k: v.sel(aggregate=aggregate, basis=basis).transpose("entity", "year").values
             for k, v in self._cumulative_statistics.data_vars.items()}
        base = cube["cumulative_net_base"].sel(aggregate=aggregate, basis=basis).values
        rows = []
        for e, entity in enumerate(self.results.entities):
            for year in range(self.info.horizon):
                rows.append({"entity": entity, "year": year, "aggregate": aggregate, "basis": basis,
                             "base_case": float(base[e, year]),
                             **{k: float(v[e, year]) for k, v in s.items()}})
        return pd.DataFrame(rows)

    def outcomes(self) -> pd.DataFrame:
        """Outcomes in natural units over the horizon: base case, mean, 5th and 95th percentiles.

        People are reported twice, labelled: participant-years (a person in the programme for three
        years counts three times) and distinct people reached.
        """
        return self._table("outcomes", self._outcomes)

    def _outcomes(self) -> pd.DataFrame:
        cube = self.results.cube
        s = draw_statistics(cube["avoided"].values)
        rows = []
        for j in range(cube.sizes["outcome"]):
            rows.append({"entity": str(cube["outcome_entity"].values[j]),
                         "outcome": str(cube["outcome_id"].values[j]),
                         "unit": f"{cube['outcome_unit'].values[j]} avoided",
                         "base_case": float(cube["avoided_base"].values[j]),
                         **{k: float(v[j]) for k, v in s.items()}})
        years = cube["participant_years"].values
        share = cube["distinct_share"].values
        for label, unit, x, base in (
                ("participant_years", "participant-years (a person counts once per year of delivery)",
                 years, cube["participant_years_base"].values),
                ("people_reached", "distinct people reached", years * share,
                 cube["participant_years_base"].values * share)):
            ps = draw_statistics(x)
            for i, entity in enumerate(self.results.interventions):
                rows.append({"entity": entity, "outcome": label, "unit": unit, "base_case": float(base[i]),
                             **{k: float(v[i]) for k, v in ps.items()}})
        return pd.DataFrame(rows)

    def payback_by_year(self) -> pd.DataFrame:
        """P(paid back by year t) for every entity, sector group, basis and year (over draws)."""
        return self._table("payback_by_year", self._payback_by_year)

    def _payback_by_year(self) -> pd.DataFrame:
        parts = []
        for name, x in self.p_paid_back_by_year.items():
            frame = x.to_dataframe(name="p_paid_back_by_year").reset_index()
            frame["basis"] = "cash" if name.endswith("cash") else "perspective"
            parts.append(frame)
        frame = pd.concat(parts, ignore_index=True).rename(columns={"group": "sector"})
        return frame[["entity", "sector", "basis", "year", "p_paid_back_by_year"]]


def metric_unit(metric: str) -> str:
    """The unit of a headline metric, as ``summary.csv`` states it."""
    if metric.startswith("pv_") or metric in ("npv", "npv_cash"):
        return "GBP"
    if metric.startswith("benefit_per_pound"):
        return "GBP returned per GBP 1 invested"
    if metric == "net_roi":
        return "ratio (benefits - costs) / costs"
    if metric in PAYBACK_METRICS:
        return "year (0 = first year of delivery; inf = not within the horizon)"
    return "probability"


def _discounted(metric: str) -> str:
    return "yes" if metric.startswith(("pv_", "npv", "benefit_per", "net_roi", "payback", "p_payback",
                                       "p_npv", "p_benefit")) else ""


__all__ = ["Summary", "metric_unit", "per_draw_metrics", "payback_statistics", "draw_statistics",
           "STATISTICS", "PUBLIC"]
