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
from dataclasses import dataclass, replace

import numpy as np

from roi_engine.errors import InputError
from roi_engine.inputs.accounting import CASH_KINDS, KINDS, kind_discount_factors, perspective_weights
from roi_engine.inputs.optimism import optimism_adjustments
from roi_engine.inputs.population import population_in_band
from roi_engine.inputs.scenario import Scenario
from roi_engine.model.draw_store import draw_array
from roi_engine.model.engine import KIND_INDEX, InterventionPlan, intervention_flows, resolve
from roi_engine.model.markov import outcome_states
from roi_engine.model.overlap import find_overlaps, remove_double_counting
from roi_engine.model.payback import payback_year
from roi_engine.model.sampling import chunk_rng, correlate, to_values, uniform_design

YEAR_DETAIL_DRAWS = 10_000
"""Year-by-year per-draw detail (cumulative net, for uncertainty bands) is kept for the first this
many draws only: draws are independent, so they are a random subsample, and memory stays bounded."""

SAMPLING_BLOCK = 20_000
"""Draws are sampled in fixed blocks of this many (the last may be shorter), each block a Latin
hypercube with its own rank-correlation step and its own stream ``SeedSequence(seed, spawn_key=(b,))``.
A run's numbers therefore depend on its seed and draw count only, never on the chunk size used to
evaluate it; runs of up to this many draws are stratified over all their draws."""

AGGREGATES = ("public", "all")
"""Sector totals appended to the sectors: public bodies together, and every sector."""
BASES = ("perspective", "cash")
"""What a net position counts: ``perspective`` = every benefit the scenario's perspective counts
(health and wellbeing value included under ``societal``); ``cash`` = cash-releasing benefits only
(fiscal and economic), against the same costs."""


@dataclass
class ChunkSummary:
    """Per-draw summaries of one chunk, and sums over its draws.

    Shapes use ``n`` draws, ``I`` interventions, ``S`` sectors, ``K = 4`` kinds, ``H`` years,
    ``G = S + 2`` sector groups (each sector, then :data:`AGGREGATES`), ``B = 2`` :data:`BASES` and
    ``O`` outcomes over all interventions. Entity ``I`` (the last) is the portfolio.

    Attributes
    ----------
    pv : (n, I, S, K)
        Present values by intervention, sector and kind, all flows (before the perspective). [GBP]
    payback : (n, I + 1, G, B)
        Payback year (:func:`~roi_engine.model.payback.payback_year`): a year index, ``inf`` if
        never within the horizon, NaN where the group pays nothing. [years]
    cumulative_net : (n, I + 1, 2, B, H)
        Cumulative discounted net benefit of the two aggregates, by basis. [GBP]
    avoided_total : (n, O)
        Outcome units avoided over the horizon. [outcome units]
    participants_total : (n, I)
        Participant-years: people starting the programme, summed over delivery years. [persons]
    qalys : (n, I)
        QALYs gained over the horizon, discounted at the health rate (what ``value_of_qaly``
        values). [QALYs]
    overlap_units : (n, V)
        Outcome units no longer counted twice, for each of the ``V`` overlaps (both programmes
        together). [outcome units]
    overlap_value : (n,)
        Present value of the benefits removed by the overlap correction, all sectors and kinds. [GBP]
    risk_ratio : (n, I)
        Each programme's deprivation gradient: baseline risk in the most deprived fifth over the
        least deprived fifth (``[deprivation] risk_ratio``). [ratio]
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
    qalys: np.ndarray
    overlap_units: np.ndarray
    overlap_value: np.ndarray
    risk_ratio: np.ndarray
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
        self.optimism = (optimism_adjustments([plan.spec for plan in self.plans], scenario.registry)
                         if scenario.spec.optimism_bias else {})
        deflator = scenario.deflator
        self.price_factors = np.array([_price_factor(p, deflator, scenario.price_year)
                                       for p in self.parameters])
        self.discount = kind_discount_factors(scenario.discounting, n_years)
        public = np.array([s.public_body for s in scenario.sectors.sectors])
        self.weights = perspective_weights(scenario.perspective, public)
        self.group_weights = group_weights(self.weights, public)
        n_sectors = len(scenario.sectors)
        self.aggregate_rows = np.arange(n_sectors * len(BASES), (n_sectors + len(AGGREGATES)) * len(BASES))
        self._block: tuple | None = None
        self.overlap_notes = tuple(
            f"{self.plans[o.first].spec.id} and {self.plans[o.second].spec.id} both change "
            f"'{o.outcome}' in {o.shared_population:,.0f} people of overlapping ages: risks combined "
            "multiplicatively, double counting removed (docs/method.md)" for o in self.overlaps)
        self.outcome_labels = tuple(label for plan in self.plans for label in _outcome_labels(plan))

    # --- sample ----------------------------------------------------------------------------------

    def sample(self, n_draws: int, block_index: int = 0) -> np.ndarray:
        """One sampling block of ``n_draws`` parameter draws, shape ``(n_draws, n_params)``.

        A Latin hypercube (or Monte Carlo) design over the block with its rank-correlation step,
        seeded from ``(scenario seed, block_index)``; each parameter in its own unit and price year.
        """
        spec = self.scenario.spec
        rng = chunk_rng(spec.seed, block_index)
        u = uniform_design(n_draws, len(self.names), spec.sampling, rng)
        u = correlate(u, self.names, self.scenario.correlations, rng)
        return to_values(u, self.parameters)

    def draws(self, start: int, stop: int, total: int) -> np.ndarray:
        """Rows ``start:stop`` of a run of ``total`` draws, built from :data:`SAMPLING_BLOCK` blocks.

        The same rows whatever ``start`` and ``stop`` split the run into: chunking never changes a
        number. The most recent block is kept, so consecutive chunks sample each block once.
        """
        parts = []
        for block in range(start // SAMPLING_BLOCK, (stop - 1) // SAMPLING_BLOCK + 1):
            first = block * SAMPLING_BLOCK
            if self._block is None or self._block[0] != (block, total):
                size = min(SAMPLING_BLOCK, total - first)
                self._block = ((block, total), self.sample(size, block))
            rows = self._block[1]
            parts.append(rows[max(start, first) - first:min(stop, first + SAMPLING_BLOCK) - first])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def base_case(self) -> np.ndarray:
        """All parameters at their point values, shape ``(1, n_params)``."""
        return np.array([[p.value for p in self.parameters]])

    # --- evaluate --------------------------------------------------------------------------------

    def values(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Columns of ``x`` by name, money converted to the scenario's price year."""
        converted = x * self.price_factors[None, :]
        out = {name: converted[:, j] for j, name in enumerate(self.names)}
        for name, adjust in self.optimism.items():  # optimism bias by evidence grade, when asked for
            if name in out:
                x_ = out[name]
                out[name] = x_ * adjust.factor if adjust.how == "multiply" else x_ ** adjust.factor
        return out

    def _pv_benefits(self, result) -> np.ndarray:
        """Present value of every benefit (all sectors and value types) of one programme, ``(n,)``. [GBP]"""
        _, kinds = (np.array(a, dtype=int) for a in zip(*result.cells, strict=True))
        benefit = kinds != KIND_INDEX["cost"]
        discounted = result.cell_flows[:, benefit] * self.discount.T[kinds[benefit]][None, :, :]
        return discounted.sum(axis=(1, 2))

    def evaluate(self, x: np.ndarray) -> ChunkSummary:
        """Evaluate every intervention on parameter draws ``x`` of shape ``(n_draws, n_params)``.

        Works on each intervention's touched (sector, kind) cells only: discounting, the signed
        weights of each sector group and basis, and the sums over years are small products on
        ``(n_draws, n_cells, n_years)`` arrays; present values are scattered into the full
        ``(sector, kind)`` grid at the end. Each draw's numbers depend on that draw alone.
        """
        n = x.shape[0]
        if n == 1:  # a one-row matrix product takes another BLAS path (gemv): other last bits
            return _first_of_two(self.evaluate(np.repeat(x, 2, axis=0)))
        values = self.values(x)
        n_int, n_years = len(self.plans), self.scenario.horizon
        n_sectors = len(self.scenario.sectors)
        n_groups = self.group_weights.shape[0]
        pv = np.zeros((n, n_int, n_sectors, 4))
        payback = np.empty((n, n_int + 1, n_groups))
        cumulative = np.empty((n, n_int + 1, len(self.aggregate_rows), n_years))
        flows_sum = np.zeros((n_int, n_years, n_sectors, 4))
        discounted_sum = np.zeros_like(flows_sum)
        avoided_total, avoided_sum = [], []
        participants_total = np.empty((n, n_int))
        qalys = np.empty((n, n_int))
        health_discount = self.discount[:, KIND_INDEX["social"]]
        participants_sum = np.empty((n_int, n_years))
        portfolio_net = np.zeros((n, n_groups, n_years))
        portfolio_cost = np.zeros((n, n_groups))
        separate = [intervention_flows(plan, values, n) for plan in self.plans]
        overlap_units = np.zeros((n, len(self.overlaps)))
        overlap_value = np.zeros(n)
        if self.overlaps:
            before = sum(self._pv_benefits(f) for f in separate)
            separate, removed = remove_double_counting(self.plans, separate, self.overlaps, values, n)
            overlap_units = removed.T
            overlap_value = before - sum(self._pv_benefits(f) for f in separate)
        for i, result in enumerate(separate):
            sectors, kinds = (np.array(a, dtype=int) for a in zip(*result.cells, strict=True))
            discounted = result.cell_flows * self.discount.T[kinds][None, :, :]  # (n, C, H)
            cell_pv = discounted.sum(axis=2)  # (n, C)
            pv[:, i, sectors, kinds] = cell_pv
            flows_sum[i][:, sectors, kinds] = result.cell_flows.sum(axis=0).T
            discounted_sum[i][:, sectors, kinds] = discounted.sum(axis=0).T
            signed = self.group_weights[:, sectors, kinds]  # (G, C), costs negative
            active = np.flatnonzero(np.any(signed != 0, axis=1))  # groups this programme touches
            net = signed[active] @ discounted  # (n, A, H)
            invested = cell_pv @ np.maximum(-signed[active], 0.0).T  # (n, A): counted PV of costs
            portfolio_net[:, active] += net
            portfolio_cost[:, active] += invested
            running = np.cumsum(net, axis=2)
            payback[:, i] = np.nan  # groups it does not touch pay nothing
            payback[:, i, active] = payback_year(running, net, invested > 0)
            where = np.searchsorted(active, self.aggregate_rows)
            clipped = np.minimum(where, len(active) - 1)
            found = (where < len(active)) & (active[clipped] == self.aggregate_rows)
            aggregates_i = np.zeros((n, len(self.aggregate_rows), n_years))
            aggregates_i[:, found] = running[:, where[found]]
            cumulative[:, i] = aggregates_i
            avoided_total.append(result.avoided.sum(axis=1))
            avoided_sum.append(result.avoided.sum(axis=0).T)
            participants_total[:, i] = result.participants.sum(axis=1)
            qalys[:, i] = (result.qalys * health_discount).sum(axis=1)  # not BLAS: gemv rounds by n
            participants_sum[i] = result.participants.sum(axis=0)
        running = np.cumsum(portfolio_net, axis=2)
        payback[:, n_int] = payback_year(running, portfolio_net, portfolio_cost > 0)
        cumulative[:, n_int] = running[:, self.aggregate_rows]
        shape = (n, n_int + 1, n_sectors + len(AGGREGATES), len(BASES))
        aggregates = cumulative.reshape(n, n_int + 1, len(AGGREGATES), len(BASES), n_years)
        return ChunkSummary(
            pv=pv, payback=payback.reshape(shape), cumulative_net=aggregates,
            avoided_total=np.concatenate(avoided_total, axis=1),
            participants_total=participants_total, qalys=qalys,
            overlap_units=overlap_units, overlap_value=overlap_value,
            risk_ratio=np.column_stack([resolve(plan.spec.deprivation.risk_ratio, values, n)
                                        for plan in self.plans]),
            flows_sum=flows_sum,
            discounted_sum=discounted_sum, avoided_sum=np.concatenate(avoided_sum, axis=0),
            participants_sum=participants_sum,
        )


def _outcome_labels(plan) -> list[tuple[str, str, str]]:
    """(programme, outcome id, unit) for each outcome, then each Markov state reported in natural units."""
    labels = [(plan.spec.id, o.id, o.unit) for o in plan.spec.outcomes]
    for block in plan.spec.markov:
        for state in outcome_states(block):
            labels.append((plan.spec.id, f"{block.id}.{state}",
                           f"person-years in state '{state}' ({block.label or block.id})"))
    return labels


def group_weights(weights: np.ndarray, public_body: np.ndarray) -> np.ndarray:
    """Signed weights of each (sector group, basis) on each (sector, kind) cell.

    Parameters
    ----------
    weights : ndarray, shape (S, 4)
        The perspective's 0/1 weights (:func:`~roi_engine.inputs.accounting.perspective_weights`).
    public_body : ndarray of bool, shape (S,)

    Returns
    -------
    ndarray, shape ((S + 2) * 2, S, 4)
        Row ``g * 2 + b`` gives group ``g`` (each sector, then :data:`AGGREGATES`) under basis ``b``
        (:data:`BASES`): +weight on counted benefits, -weight on counted costs, 0 elsewhere.
    """
    n_sectors = weights.shape[0]
    signed = weights * np.where(np.arange(len(KINDS)) == KIND_INDEX["cost"], -1.0, 1.0)
    cash = signed.copy()
    cash[:, [KIND_INDEX[k] for k in KINDS if k != "cost" and k not in CASH_KINDS]] = 0.0
    members = np.vstack([np.eye(n_sectors), public_body.astype(float), np.ones(n_sectors)])  # (G, S)
    by_basis = np.stack([signed, cash])  # (B, S, 4)
    out = members[:, None, :, None] * by_basis[None, :, :, :]  # (G, B, S, 4)
    return out.reshape(-1, n_sectors, len(KINDS))


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
    """Run a scenario's Monte Carlo in chunks: the model, per-draw arrays, sums over draws, base case.

    Per-draw arrays are preallocated with :func:`~roi_engine.model.draw_store.draw_array` (on disk
    once large); ``pv`` has the portfolio (sum over programmes) as its last entity.

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
    for start in range(0, spec.draws, spec.chunk_size):
        n = min(spec.chunk_size, spec.draws - start)
        summary = model.evaluate(model.draws(start, start + n, spec.draws))
        sums = _add_sums(sums, summary)
        for field, chunk in per_draw_arrays(summary).items():
            if field not in per_draw:  # preallocate once (on disk when large): no copies as draws grow
                rows = detail if field == "cumulative_net" else spec.draws
                per_draw[field] = draw_array((rows, *chunk.shape[1:]))
            target = per_draw[field]
            if start < target.shape[0]:
                keep = min(n, target.shape[0] - start)
                target[start:start + keep] = chunk[:keep]
        del summary
        if progress is not None:
            progress(n)
    base = model.evaluate(model.base_case())
    return model, per_draw, sums, base


def per_draw_arrays(summary: ChunkSummary) -> dict[str, np.ndarray]:
    """A chunk's per-draw fields as a run keeps them: :data:`PER_DRAW_FIELDS`, with the portfolio (the
    sum over programmes) appended to ``pv`` as its last entity."""
    out = {field: getattr(summary, field) for field in PER_DRAW_FIELDS}
    out["pv"] = np.concatenate([summary.pv, summary.pv.sum(axis=1, keepdims=True)], axis=1)
    return out


PER_DRAW_FIELDS = ("pv", "payback", "cumulative_net", "avoided_total", "participants_total", "qalys",
                   "overlap_units", "overlap_value", "risk_ratio")
_SUM_FIELDS = ("flows_sum", "discounted_sum", "avoided_sum", "participants_sum")


def _first_of_two(summary: ChunkSummary) -> ChunkSummary:
    """The summary of one draw from that of the same draw evaluated twice (sums halved: exact)."""
    per_draw = {f: getattr(summary, f)[:1] for f in PER_DRAW_FIELDS}
    sums = {f: getattr(summary, f) / 2 for f in _SUM_FIELDS}
    return replace(summary, **per_draw, **sums)


def _add_sums(sums: dict | None, summary: ChunkSummary) -> dict:
    if sums is None:
        return {f: getattr(summary, f).copy() for f in _SUM_FIELDS}
    for f in _SUM_FIELDS:
        sums[f] += getattr(summary, f)
    return sums


__all__ = ["Model", "ChunkSummary", "simulate", "per_draw_arrays", "YEAR_DETAIL_DRAWS", "KIND_INDEX"]
