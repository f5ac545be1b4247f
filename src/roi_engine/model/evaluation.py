"""A scenario compiled for evaluation: sample parameters, evaluate chunks of draws, collect results.

The steps are kept apart, as SALib keeps sample, evaluate and analyse apart:

- :meth:`Model.sample` gives ``X`` of shape ``(n_draws, n_params)`` in :attr:`Model.names` order, each
  parameter in its own unit and price year;
- :meth:`Model.evaluate` maps ``X`` to per-draw summaries for every intervention (one vectorised call
  per chunk; money converted to the scenario's price year with the GDP deflator on the way in);
- :func:`run` loops over chunks of draws (memory bounded), keeps per-draw summaries and reduces
  year-level detail, and returns :class:`~roi_engine.results.cube.Results`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from roi_engine.errors import InputError
from roi_engine.inputs.accounting import kind_discount_factors, perspective_weights
from roi_engine.inputs.population import population_in_band
from roi_engine.inputs.scenario import Scenario
from roi_engine.model.engine import KIND_INDEX, InterventionPlan, intervention_flows
from roi_engine.model.overlap import find_overlaps, remove_double_counting
from roi_engine.model.payback import payback_year
from roi_engine.model.sampling import chunk_rng, correlate, to_values, uniform_design

YEAR_DETAIL_DRAWS = 10_000
"""Year-by-year per-draw detail (cumulative net, for uncertainty bands) is kept for the first this
many draws only: draws are independent, so they are a random subsample, and memory stays bounded."""


@dataclass
class ChunkSummary:
    """Per-draw summaries of one chunk, and sums over its draws.

    Shapes use ``n`` draws, ``I`` interventions, ``S`` sectors, ``K = 4`` kinds, ``H`` years and
    ``O`` outcomes over all interventions.

    Attributes
    ----------
    pv : (n, I, S, K)
        Present values by intervention, sector and kind, all flows (before the perspective). [GBP]
    payback : (n, I + 1, S + 1)
        Payback year; entity ``I`` is the portfolio, sector ``S`` is all sectors. [years]
    cumulative_net : (n, I + 1, H)
        Cumulative discounted net benefit as the perspective counts it. [GBP]
    avoided_total : (n, O)
        Outcome units avoided over the horizon. [outcome units]
    participants_total : (n, I)
        People reached over the horizon. [persons]
    flows_sum, discounted_sum : (I, H, S, K)
        Sums over the chunk's draws of undiscounted and discounted flows. [GBP]
    avoided_sum : (O, H)
        Sums over draws of avoided units per year.
    participants_sum : (I, H)
    """

    pv: np.ndarray
    payback: np.ndarray
    cumulative_net: np.ndarray
    avoided_total: np.ndarray
    participants_total: np.ndarray
    flows_sum: np.ndarray
    discounted_sum: np.ndarray
    avoided_sum: np.ndarray
    participants_sum: np.ndarray


class Model:
    """A scenario ready to evaluate.

    Parameters
    ----------
    scenario : Scenario
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        n_years = scenario.horizon
        sector_index = {name: i for i, name in enumerate(scenario.sectors.names)}
        plans = []
        for item, spec in scenario.interventions:
            low, high = spec.population.ages
            delivery = np.zeros(n_years)
            years = item.delivery_years or spec.delivery.years
            delivery[[y for y in years if y < n_years]] = 1.0
            plans.append(InterventionPlan(
                spec=spec,
                population=population_in_band(scenario.area, low, high),
                delivery=delivery,
                reach=item.reach if item.reach is not None else spec.population.reach,
                uptake=item.uptake if item.uptake is not None else spec.population.uptake,
                sector_index=sector_index,
                n_years=n_years,
            ))
        self.plans: tuple[InterventionPlan, ...] = tuple(plans)
        try:
            self.overlaps = find_overlaps(self.plans, scenario.area)
        except InputError as exc:
            raise InputError(exc.message, file=scenario.path, where="interventions",
                             hint=exc.hint) from None
        names: dict[str, None] = {}
        for plan in self.plans:
            for name in plan_parameter_names(plan):
                names.setdefault(name, None)
        for c in scenario.correlations:
            names.setdefault(c.first, None)
            names.setdefault(c.second, None)
        self.names: tuple[str, ...] = tuple(names)
        self.parameters = tuple(scenario.registry[n] for n in self.names)
        deflator = scenario.deflator
        self.price_factors = np.array([_price_factor(p, deflator, scenario.price_year)
                                       for p in self.parameters])
        self.discount = kind_discount_factors(scenario.discounting, n_years)
        public = np.array([s.public_body for s in scenario.sectors.sectors])
        self.weights = perspective_weights(scenario.perspective, public)
        self.overlap_notes = tuple(
            f"{self.plans[o.first].spec.id} and {self.plans[o.second].spec.id} both change "
            f"'{o.outcome}' in {o.shared_population:,.0f} people of overlapping ages: risks combined "
            "multiplicatively, double counting removed (docs/method.md)" for o in self.overlaps)
        self.outcome_labels = tuple(
            (plan.spec.id, o.id, o.unit) for plan in self.plans for o in plan.spec.outcomes)

    # --- sample ----------------------------------------------------------------------------------

    def sample(self, n_draws: int, chunk_index: int = 0) -> np.ndarray:
        """Parameter draws for one chunk, shape ``(n_draws, n_params)``, in :attr:`names` order.

        Seeded from ``(scenario seed, chunk_index)``; each parameter in its own unit and price year.
        """
        spec = self.scenario.spec
        rng = chunk_rng(spec.seed, chunk_index)
        u = uniform_design(n_draws, len(self.names), spec.sampling, rng)
        u = correlate(u, self.names, self.scenario.correlations, rng)
        return to_values(u, self.parameters)

    def base_case(self) -> np.ndarray:
        """All parameters at their point values, shape ``(1, n_params)``."""
        return np.array([[p.value for p in self.parameters]])

    # --- evaluate --------------------------------------------------------------------------------

    def values(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Columns of ``x`` by name, money converted to the scenario's price year."""
        converted = x * self.price_factors[None, :]
        return {name: converted[:, j] for j, name in enumerate(self.names)}

    def evaluate(self, x: np.ndarray) -> ChunkSummary:
        """Evaluate every intervention on parameter draws ``x`` of shape ``(n_draws, n_params)``.

        Works on each intervention's touched (sector, kind) cells only: discounting, the
        perspective's signed weights and the sums over years are small products on
        ``(n_draws, n_years, n_cells)`` arrays; present values are scattered into the full
        ``(sector, kind)`` grid at the end.
        """
        n = x.shape[0]
        values = self.values(x)
        n_int, n_years = len(self.plans), self.scenario.horizon
        n_sectors = len(self.scenario.sectors)
        pv = np.zeros((n, n_int, n_sectors, 4))
        payback = np.full((n, n_int + 1, n_sectors + 1), np.nan)
        cumulative = np.empty((n, n_int + 1, n_years))
        flows_sum = np.zeros((n_int, n_years, n_sectors, 4))
        discounted_sum = np.zeros_like(flows_sum)
        avoided_total, avoided_sum = [], []
        participants_total = np.empty((n, n_int))
        participants_sum = np.empty((n_int, n_years))
        portfolio_net = np.zeros((n, n_sectors, n_years))
        portfolio_cost = np.zeros((n, n_sectors))
        portfolio_sectors: set[int] = set()
        separate = [intervention_flows(plan, values, n) for plan in self.plans]
        if self.overlaps:
            separate, _ = remove_double_counting(self.plans, separate, self.overlaps, values, n)
        for i, result in enumerate(separate):
            sectors, kinds = (np.array(a, dtype=int) for a in zip(*result.cells, strict=True))
            discounted = result.cell_flows * self.discount.T[kinds][None, :, :]  # (n, C, H)
            pv[:, i, sectors, kinds] = discounted.sum(axis=2)
            flows_sum[i][:, sectors, kinds] = result.cell_flows.sum(axis=0).T
            discounted_sum[i][:, sectors, kinds] = discounted.sum(axis=0).T
            # Signed, perspective-weighted cells -> yearly net of each sector touched.
            is_cost = kinds == KIND_INDEX["cost"]
            signed = self.weights[sectors, kinds] * np.where(is_cost, -1.0, 1.0)
            touched = np.unique(sectors)
            to_sector = (sectors[None, :] == touched[:, None]) * signed[None, :]  # (T, C)
            net = to_sector @ discounted  # (n, T, H)
            invested = -(to_sector * is_cost[None, :]) @ pv[:, i, sectors, kinds][:, :, None]
            invested = invested[:, :, 0]  # (n, T): perspective-counted PV of costs
            portfolio_net[:, touched] += net
            portfolio_cost[:, touched] += invested
            portfolio_sectors.update(touched.tolist())
            self._payback_into(payback[:, i], cumulative[:, i], net, invested, touched)
            avoided_total.append(result.avoided.sum(axis=1))
            avoided_sum.append(result.avoided.sum(axis=0).T)
            participants_total[:, i] = result.participants.sum(axis=1)
            participants_sum[i] = result.participants.sum(axis=0)
        touched = np.array(sorted(portfolio_sectors), dtype=int)
        self._payback_into(payback[:, n_int], cumulative[:, n_int], portfolio_net[:, touched],
                           portfolio_cost[:, touched], touched)
        return ChunkSummary(
            pv=pv, payback=payback, cumulative_net=cumulative,
            avoided_total=np.concatenate(avoided_total, axis=1),
            participants_total=participants_total, flows_sum=flows_sum,
            discounted_sum=discounted_sum, avoided_sum=np.concatenate(avoided_sum, axis=0),
            participants_sum=participants_sum,
        )

    @staticmethod
    def _payback_into(payback: np.ndarray, cumulative: np.ndarray, net: np.ndarray,
                      invested: np.ndarray, sectors: np.ndarray) -> None:
        """Fill ``payback (n, S + 1)`` and ``cumulative (n, H)`` from yearly ``net (n, T, H)``.

        ``net`` and ``invested (n, T)`` cover the sectors ``sectors`` (T of them); the others are
        left as they are (NaN: they pay nothing, so payback does not apply).
        """
        by_sector = np.cumsum(net, axis=2)  # (n, T, H)
        payback[:, sectors] = payback_year(by_sector, invested > 0)
        total = by_sector.sum(axis=1)
        cumulative[:] = total
        payback[:, -1] = payback_year(total, invested.sum(axis=1) > 0)


def plan_parameter_names(plan: InterventionPlan) -> list[str]:
    """Parameter names an intervention needs, in first-use order, with the scenario's scale overrides."""
    overridden = {"population.reach": plan.reach, "population.uptake": plan.uptake}
    names: dict[str, None] = {}
    for where, ref in plan.spec.references():
        ref = overridden.get(where, ref)
        if isinstance(ref, str):
            names.setdefault(ref, None)
    return list(names)


def _price_factor(parameter, deflator, price_year) -> float:
    """GDP-deflator factor from a money parameter's price year to the scenario's (1 for non-money)."""
    if not parameter.is_money:
        return 1.0
    try:
        return deflator.factor(parameter.price_year, price_year)
    except InputError as exc:
        raise InputError(exc.message, file=parameter.file,
                         where=f"row {parameter.row}, column 'price_year'", hint=exc.hint) from None


def simulate(scenario: Scenario, *, progress: Callable[[int], None] | None = None):
    """Run a scenario's Monte Carlo in chunks and return its :class:`~roi_engine.results.cube.Results`.

    Parameters
    ----------
    scenario : Scenario
        ``draws``, ``seed``, ``sampling`` and ``chunk_size`` are read from its spec.
    progress : callable, optional
        Called with the number of draws finished after each chunk (for a progress bar).
    """
    model = Model(scenario)
    spec = scenario.spec
    per_draw: dict[str, np.ndarray] = {}
    detail = min(spec.draws, YEAR_DETAIL_DRAWS)
    sums = None
    for chunk_index, start in enumerate(range(0, spec.draws, spec.chunk_size)):
        n = min(spec.chunk_size, spec.draws - start)
        summary = model.evaluate(model.sample(n, chunk_index))
        sums = _add_sums(sums, summary)
        for field in PER_DRAW_FIELDS:
            chunk = getattr(summary, field)
            if field not in per_draw:  # preallocate once: no copies as draws grow
                rows = detail if field == "cumulative_net" else spec.draws
                per_draw[field] = np.empty((rows, *chunk.shape[1:]))
            target = per_draw[field]
            if start < target.shape[0]:
                keep = min(n, target.shape[0] - start)
                target[start:start + keep] = chunk[:keep]
        del summary
        if progress is not None:
            progress(n)
    base = model.evaluate(model.base_case())
    return model, per_draw, sums, base


PER_DRAW_FIELDS = ("pv", "payback", "cumulative_net", "avoided_total", "participants_total")
_SUM_FIELDS = ("flows_sum", "discounted_sum", "avoided_sum", "participants_sum")


def _add_sums(sums: dict | None, summary: ChunkSummary) -> dict:
    if sums is None:
        return {f: getattr(summary, f).copy() for f in _SUM_FIELDS}
    for f in _SUM_FIELDS:
        sums[f] += getattr(summary, f)
    return sums


__all__ = ["Model", "ChunkSummary", "simulate", "YEAR_DETAIL_DRAWS", "KIND_INDEX"]
