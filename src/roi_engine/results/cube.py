"""Results of a scenario run: per-draw summaries, reduced year-level detail, and tidy tables.

Every table carries what a reader needs to interpret its money: currency (GBP), price year, whether
it is discounted, and the perspective. :class:`RunInfo` holds those settings once; tables repeat the
columns so that a CSV read on its own still says what it holds.

Tables (pandas DataFrames):

- :meth:`Results.headline`: one row per intervention and the portfolio, for printing;
- :meth:`Results.by_sector`: one row per sector, for an intervention or the portfolio;
- :meth:`Results.tidy`: everything, long (``entity, sector, metric, statistic, value, unit, ...``);
- :meth:`Results.draws`: per-draw headline metrics, for anyone who wants the raw draws;
- :meth:`Results.yearly`: mean flows by year, sector and kind, undiscounted and discounted;
- :meth:`Results.outcomes`: outcomes in natural units (participants, cases avoided).

:meth:`Results.to_dataset` gives the per-draw cube as an ``xarray.Dataset`` with named dimensions
``draw, entity, sector, kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from roi_engine.atomic import atomic_write_text
from roi_engine.inputs.accounting import KINDS, PERSPECTIVES, cost_and_benefit
from roi_engine.model.evaluation import YEAR_DETAIL_DRAWS, simulate
from roi_engine.results.metrics import QUANTILES, probability, safe_ratio, summarise

PORTFOLIO = "portfolio"
ALL_SECTORS = "all"
STATISTICS = ("base_case", "mean", "median", "p05", "p95")


@dataclass(frozen=True)
class RunInfo:
    """The settings that say what the numbers mean."""

    scenario: str
    area_name: str
    area_code: str
    price_year: str
    currency: str
    discounting: str
    perspective: str
    horizon: int
    draws: int
    seed: int
    sampling: str
    chunk_size: int
    year_detail_draws: int

    def lines(self) -> list[str]:
        """Human-readable description, one setting per line."""
        return [
            f"Scenario:     {self.scenario}",
            f"Area:         {self.area_name} ({self.area_code})",
            f"Money:        {self.currency}, {self.price_year} prices (HM Treasury GDP deflator)",
            f"Discounting:  {self.discounting}",
            f"Perspective:  {self.perspective} (benefits counted: "
            f"{', '.join(PERSPECTIVES[self.perspective])})",
            f"Horizon:      {self.horizon} years (year 0 = first year of delivery)",
            f"Draws:        {self.draws:,} ({self.sampling.upper()}, seed {self.seed})",
        ]


class Results:
    """What :func:`roi_engine.model.evaluation.run` returns.

    Attributes
    ----------
    info : RunInfo
    entities : tuple of str
        Intervention ids, then ``"portfolio"``.
    sectors : tuple of str
    pv : ndarray, shape (draws, I, S, 4)
        Present value by intervention, sector and kind (all flows, before the perspective). [GBP]
    payback : ndarray, shape (draws, I + 1, S + 1)
        Payback year; last entity = portfolio, last sector = all sectors. NaN = never / n.a.
    base : ChunkSummary
        The base case (every parameter at its point value), one draw.
    """

    def __init__(self, info, entities, sectors, weights, outcome_labels, pv, payback,
                 cumulative_net, avoided_total, participants_total, sums, base):
        self.info: RunInfo = info
        self.entities: tuple[str, ...] = tuple(entities)
        self.sectors: tuple[str, ...] = tuple(sectors)
        self.weights = weights
        self.outcome_labels = outcome_labels
        self.pv = pv
        self.payback = payback
        self.cumulative_net = cumulative_net
        self.avoided_total = avoided_total
        self.participants_total = participants_total
        self.sums = sums
        self.base = base
        self.sector_table = None  # SectorTable of the run, set by from_arrays
        self.sharing_rule = None  # SharingRule of the scenario, set by from_arrays
        self.overlap_notes: tuple[str, ...] = ()  # interventions acting on the same outcome and people

    @classmethod
    def from_arrays(cls, model, per_draw: dict, sums: dict, base) -> Results:
        """Results from the per-draw arrays and sums that :func:`roi_engine.model.evaluation.run`
        collected."""

        scenario = model.scenario
        spec = scenario.spec
        info = RunInfo(
            scenario=spec.name, area_name=scenario.area.name, area_code=scenario.area.code,
            price_year=str(scenario.price_year), currency="GBP",
            discounting=scenario.discounting.describe(), perspective=spec.perspective,
            horizon=spec.horizon, draws=spec.draws, seed=spec.seed, sampling=spec.sampling,
            chunk_size=spec.chunk_size, year_detail_draws=min(spec.draws, YEAR_DETAIL_DRAWS),
        )
        entities = [plan.spec.id for plan in model.plans] + [PORTFOLIO]
        results = cls(info, entities, scenario.sectors.names, model.weights, model.outcome_labels,
                      per_draw["pv"], per_draw["payback"], per_draw["cumulative_net"],
                      per_draw["avoided_total"], per_draw["participants_total"], sums, base)
        results.sector_table = scenario.sectors
        results.sharing_rule = scenario.sharing
        results.overlap_notes = model.overlap_notes
        return results

    def __repr__(self) -> str:
        i = self.info
        return (f"<roi_engine.Results draws={i.draws} entities={list(self.entities)} "
                f"sectors={len(self.sectors)} area={i.area_code} price_year={i.price_year} "
                f"perspective={i.perspective} horizon={i.horizon} seed={i.seed}>")

    # --- per-draw metrics ------------------------------------------------------------------------

    def _entity_pv(self, pv: np.ndarray) -> np.ndarray:
        """``pv (n, I, S, K)`` -> ``(n, I + 1, S, K)`` with the portfolio appended."""
        return np.concatenate([pv, pv.sum(axis=1, keepdims=True)], axis=1)

    def sector_metrics(self, base: bool = False) -> dict[str, np.ndarray]:
        """Per-draw metrics by entity and sector, shape ``(n, I + 1, S)`` each (plus payback)."""
        pv = self._entity_pv(self.base.pv if base else self.pv)
        cost, benefit = cost_and_benefit(pv, self.weights)
        counted = pv * self.weights
        return {
            "pv_costs": cost,
            "pv_benefits": benefit,
            "pv_benefits_fiscal": counted[..., KINDS.index("fiscal")],
            "pv_benefits_economic": counted[..., KINDS.index("economic")],
            "pv_benefits_social": counted[..., KINDS.index("social")],
            "npv": benefit - cost,
            "benefit_per_pound": safe_ratio(benefit, cost),
            "payback_year": (self.base.payback if base else self.payback)[:, :, :-1],
        }

    def total_metrics(self, base: bool = False) -> dict[str, np.ndarray]:
        """Per-draw headline metrics by entity, shape ``(n, I + 1)`` each."""
        by_sector = self.sector_metrics(base)
        cost = by_sector["pv_costs"].sum(axis=2)
        benefit = by_sector["pv_benefits"].sum(axis=2)
        participants = self.base.participants_total if base else self.participants_total
        return {
            "participants": np.concatenate([participants, participants.sum(1, keepdims=True)], 1),
            "pv_costs": cost,
            "pv_benefits": benefit,
            "npv": benefit - cost,
            "benefit_per_pound": safe_ratio(benefit, cost),
            "net_roi": safe_ratio(benefit - cost, cost),
            "payback_year": (self.base.payback if base else self.payback)[:, :, -1],
        }

    # --- tables ----------------------------------------------------------------------------------

    def _stat_rows(self, draws: dict, base: dict, index_names: tuple[str, ...],
                   index_values: tuple[tuple[str, ...], ...]) -> list[dict]:
        rows = []
        for metric, x in draws.items():
            stats = summarise(x)
            stats["base_case"] = base[metric][0]
            for statistic in STATISTICS:
                flat = np.asarray(stats[statistic]).reshape(-1)
                for labels, value in zip(index_values, flat, strict=True):
                    rows.append({**dict(zip(index_names, labels, strict=True)), "metric": metric,
                                 "statistic": statistic, "value": float(value)})
        return rows

    def tidy(self) -> pd.DataFrame:
        """Every summary statistic, long: one row per (entity, sector, metric, statistic).

        Columns ``entity, sector, metric, statistic, value, unit, currency, price_year, discounted,
        perspective, horizon``. ``sector = "all"`` rows are totals over sectors. Statistics are
        ``base_case, mean, median, p05, p95`` and, for the ``p_*`` metrics, ``probability``.
        """
        entities_all = tuple((e, ALL_SECTORS) for e in self.entities)
        rows = self._stat_rows(self.total_metrics(), self.total_metrics(base=True),
                               ("entity", "sector"), entities_all)
        pairs = tuple((e, s) for e in self.entities for s in self.sectors)
        rows += self._stat_rows(self.sector_metrics(), self.sector_metrics(base=True),
                                ("entity", "sector"), pairs)
        for (entity, sector), p in zip(entities_all, self.probabilities_total(), strict=True):
            for metric, value in p.items():
                rows.append({"entity": entity, "sector": sector, "metric": metric,
                             "statistic": "probability", "value": value})
        net_positive = self.probability_sector_net_positive().reshape(-1)
        for (entity, sector), value in zip(pairs, net_positive, strict=True):
            rows.append({"entity": entity, "sector": sector, "metric": "p_npv_gt_0",
                         "statistic": "probability", "value": float(value)})
        frame = pd.DataFrame(rows)
        frame["unit"] = frame["metric"].map(_unit)
        frame["currency"] = np.where(frame["unit"] == "GBP", self.info.currency, "")
        frame["price_year"] = np.where(frame["unit"] == "GBP", self.info.price_year, "")
        frame["discounted"] = frame["metric"].map(_discounted)
        frame["perspective"] = self.info.perspective
        frame["horizon"] = self.info.horizon
        return frame

    def probabilities_total(self) -> list[dict[str, float]]:
        """P(benefit per £1 > 1) and P(NPV > 0) for each entity (list in :attr:`entities` order)."""
        m = self.total_metrics()
        bcr = m["benefit_per_pound"]
        p_bcr = probability(np.nan_to_num(bcr, nan=-np.inf) > 1)
        p_npv = probability(m["npv"] > 0)
        return [{"p_benefit_per_pound_gt_1": float(a), "p_npv_gt_0": float(b)}
                for a, b in zip(p_bcr, p_npv, strict=True)]

    def probability_sector_net_positive(self) -> np.ndarray:
        """P(net > 0) for each entity and sector, shape ``(I + 1, S)``."""
        return probability(self.sector_metrics()["npv"] > 0)

    def headline(self) -> pd.DataFrame:
        """One row per intervention and the portfolio: the figures a summary table prints."""
        draws, base = self.total_metrics(), self.total_metrics(base=True)
        probs = self.probabilities_total()
        rows = []
        for e, entity in enumerate(self.entities):
            row = {"entity": entity}
            for metric in ("participants", "pv_costs", "pv_benefits", "npv", "benefit_per_pound",
                           "payback_year"):
                x = draws[metric][:, e]
                stats = summarise(x)
                row[f"{metric}_base"] = float(base[metric][0, e])
                for label in ("mean", "p05", "p95"):
                    row[f"{metric}_{label}"] = float(stats[label])
            row["p_payback_within_horizon"] = float(np.mean(~np.isnan(draws["payback_year"][:, e])))
            row.update(probs[e])
            rows.append(row)
        return pd.DataFrame(rows).set_index("entity")

    def by_sector(self, entity: str = PORTFOLIO) -> pd.DataFrame:
        """One row per sector for ``entity``: costs, benefits by value type, net, ratio, P(net > 0).

        Means over draws, with 5th-95th percentiles of the net position. [GBP, discounted]
        """
        e = self.entities.index(entity)
        m = self.sector_metrics()
        net_stats = summarise(m["npv"][:, e, :])
        frame = pd.DataFrame({
            "sector": self.sectors,
            "pv_costs": np.mean(m["pv_costs"][:, e, :], axis=0),
            "pv_benefits_fiscal": np.mean(m["pv_benefits_fiscal"][:, e, :], axis=0),
            "pv_benefits_economic": np.mean(m["pv_benefits_economic"][:, e, :], axis=0),
            "pv_benefits_social": np.mean(m["pv_benefits_social"][:, e, :], axis=0),
            "pv_benefits": np.mean(m["pv_benefits"][:, e, :], axis=0),
            "npv_mean": net_stats["mean"],
            "npv_p05": net_stats["p05"],
            "npv_p95": net_stats["p95"],
            "p_npv_gt_0": self.probability_sector_net_positive()[e],
            "payback_year_median": summarise(m["payback_year"][:, e, :])["median"],
        })
        frame["benefit_per_pound"] = safe_ratio(frame["pv_benefits"], frame["pv_costs"])
        return frame.set_index("sector")

    def draws(self) -> pd.DataFrame:
        """Per-draw headline metrics, long by entity: ``draw, entity, pv_costs, ...``."""
        m = self.total_metrics()
        n, n_entities = m["npv"].shape
        frame = pd.DataFrame({
            "draw": np.repeat(np.arange(n), n_entities),
            "entity": np.tile(np.array(self.entities), n),
            **{k: v.reshape(-1) for k, v in m.items()},
        })
        return frame

    def yearly(self) -> pd.DataFrame:
        """Mean flows by entity, year, sector and kind, undiscounted and discounted. [GBP]"""
        n = self.info.draws
        undiscounted = self.sums["flows_sum"] / n
        discounted = self.sums["discounted_sum"] / n
        undiscounted = np.concatenate([undiscounted, undiscounted.sum(0, keepdims=True)], 0)
        discounted = np.concatenate([discounted, discounted.sum(0, keepdims=True)], 0)
        index = pd.MultiIndex.from_product(
            [self.entities, range(self.info.horizon), self.sectors, KINDS],
            names=["entity", "year", "sector", "kind"])
        frame = pd.DataFrame({"mean_undiscounted": undiscounted.reshape(-1),
                              "mean_discounted": discounted.reshape(-1)}, index=index)
        frame = frame[(frame != 0).any(axis=1)].reset_index()
        frame["currency"] = self.info.currency
        frame["price_year"] = self.info.price_year
        return frame

    def cumulative_net_band(self) -> pd.DataFrame:
        """Cumulative discounted net benefit by entity and year: mean, 5th, 50th and 95th percentiles.

        Percentiles come from the first :attr:`RunInfo.year_detail_draws` draws (a random subsample).
        """
        rows = []
        for e, entity in enumerate(self.entities):
            stats = summarise(self.cumulative_net[:, e, :])
            for year in range(self.info.horizon):
                rows.append({"entity": entity, "year": year,
                             **{k: float(v[year]) for k, v in stats.items()}})
        return pd.DataFrame(rows)

    def outcomes(self) -> pd.DataFrame:
        """Outcomes in natural units over the horizon: base case, mean, 5th and 95th percentiles."""
        stats = summarise(self.avoided_total)
        rows = []
        for j, (entity, outcome, unit) in enumerate(self.outcome_labels):
            rows.append({"entity": entity, "outcome": outcome, "unit": f"{unit} avoided",
                         "base_case": float(self.base.avoided_total[0, j]),
                         **{k: float(v[j]) for k, v in stats.items()}})
        participants = summarise(self.participants_total)
        for i, entity in enumerate(self.entities[:-1]):
            rows.append({"entity": entity, "outcome": "participants", "unit": "persons reached",
                         "base_case": float(self.base.participants_total[0, i]),
                         **{k: float(v[i]) for k, v in participants.items()}})
        return pd.DataFrame(rows)

    def to_dataset(self) -> xr.Dataset:
        """The per-draw cube with named dimensions ``draw, entity, sector, kind``."""
        pv = self._entity_pv(self.pv)
        ds = xr.Dataset(
            {
                "pv": (("draw", "entity", "sector", "kind"), pv),
                "payback_year": (("draw", "entity", "sector_or_all"), self.payback),
            },
            coords={"draw": np.arange(pv.shape[0]), "entity": list(self.entities),
                    "sector": list(self.sectors), "kind": list(KINDS),
                    "sector_or_all": [*self.sectors, ALL_SECTORS]},
            attrs={k: v for k, v in self.info.__dict__.items()},
        )
        ds["pv"].attrs.update(units="GBP", price_year=self.info.price_year, discounted="yes")
        return ds

    # --- output ----------------------------------------------------------------------------------

    def write_csv(self, directory: str | Path) -> list[Path]:
        """Write the tidy tables as CSV into ``directory``; each file goes to a temporary name first."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tables = {
            "summary.csv": self.tidy(),
            "headline.csv": self.headline().reset_index(),
            "by_sector.csv": pd.concat({e: self.by_sector(e) for e in self.entities},
                                       names=["entity"]).reset_index(),
            "yearly.csv": self.yearly(),
            "cumulative_net.csv": self.cumulative_net_band(),
            "outcomes.csv": self.outcomes(),
            "draws.csv": self.draws(),
        }
        written = []
        for name, frame in tables.items():
            written.append(atomic_write_text(directory / name, frame.to_csv(index=False)))
        info = "\n".join(self.info.lines()) + "\n"
        written.append(atomic_write_text(directory / "run_info.txt", info))
        return written


def _unit(metric: str) -> str:
    if metric.startswith("pv_") or metric == "npv":
        return "GBP"
    if metric == "benefit_per_pound":
        return "GBP returned per GBP 1 invested"
    if metric == "net_roi":
        return "ratio (benefits - costs) / costs"
    if metric == "payback_year":
        return "year (0 = first year of delivery)"
    if metric == "participants":
        return "persons"
    return "probability"


def _discounted(metric: str) -> str:
    return "yes" if metric.startswith(("pv_", "npv", "benefit_per", "net_roi", "payback")) else ""


__all__ = ["Results", "RunInfo", "PORTFOLIO", "QUANTILES", "run"]


def run(scenario, *, progress=None) -> Results:
    """Run a scenario's Monte Carlo in chunks and return its :class:`Results`.

    ``draws``, ``seed``, ``sampling`` and ``chunk_size`` are read from the scenario's spec;
    ``progress`` is called with the number of draws finished after each chunk.
    """
    model, per_draw, sums, base = simulate(scenario, progress=progress)
    return Results.from_arrays(model, per_draw, sums, base)
