"""Area as a dimension: one scenario evaluated for many areas at once, on the same parameter draws.

The design (docs/national.md):

1. **Sample once.** Parameter draws are sampled once per sampling block
   (:data:`~roi_engine.model.evaluation.SAMPLING_BLOCK` draws, stream ``SeedSequence(seed,
   spawn_key=(block,))``), exactly as :meth:`Model.sample <roi_engine.model.evaluation.Model.sample>`
   does for a single area: the uniform design and its rank-correlation step are shared by every area
   (common random numbers). National parameters take the same values in every area; a local parameter
   takes, in each area, that area's inverse CDF of the *same* uniform number, so draw ``d`` of
   Birmingham and draw ``d`` of Manchester are the same state of the world seen through two
   populations.
2. **Stack areas on the draw axis.** A task evaluates an (area block, draw block) pair as one array of
   ``n = areas x draws`` rows (area-major): each row carries its area's population in every
   programme's target ages and its area's local parameter values, and the existing vectorised kernels
   (:func:`~roi_engine.model.engine.intervention_flows`, Markov blocks included, and
   :func:`~roi_engine.model.overlap.remove_double_counting`) run once over all rows. There is no
   Python loop over areas or draws in the kernels; the only per-area step is one vectorised inverse-CDF
   call per local parameter (a handful of the scenario's parameters). Area-invariant programmes
   (:meth:`AreaModel.scaled_programmes`) are evaluated once per draw for one person and multiplied by
   each area's population: exact, since their flows are proportional to it.
3. **Reduce at once.** Each task returns per-row present values reduced to a few portfolio figures
   (:attr:`AreaModel.metric_names`: for each perspective the PV of counted costs and benefits; the
   cash-releasing net position of the public bodies and of each paying sector; QALYs; participant-years);
   years, sectors and programmes are summed away inside the task, so the full
   per-draw cube never exists for all areas.

Each row's numbers depend on its area and draw alone, and sampling depends only on the seed and the
number of draws, so any split into blocks, in any order, on any executor gives the same numbers bit for
bit (``tests/test_national.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from roi_engine.inputs.accounting import CASH_KINDS, KIND_INDEX, KINDS, PERSPECTIVES, perspective_weights
from roi_engine.inputs.population import Area, population_in_band
from roi_engine.inputs.scenario import Scenario
from roi_engine.model.engine import intervention_flows
from roi_engine.model.evaluation import SAMPLING_BLOCK, Model, plan_parameter_names
from roi_engine.model.overlap import remove_double_counting
from roi_engine.model.sampling import chunk_rng, correlate, to_values, uniform_design

PUBLIC = "public"
"""The public bodies together (as in the results cube)."""

__all__ = ["AreaModel", "AreaInputs", "SampleBlock", "draw_blocks", "PUBLIC"]


@dataclass(frozen=True)
class AreaInputs:
    """What differs between the areas of a national run.

    Attributes
    ----------
    areas : tuple of Area
    population : ndarray, shape (A, I)
        Persons in each programme's target ages, per area. [persons]
    shared_population : ndarray, shape (A, V)
        Persons in the shared ages of each overlap (:attr:`Model.overlaps`), per area. [persons]
    local_columns : tuple of int
        Columns of :attr:`Model.names` whose parameter differs between areas.
    local_parameters : tuple of tuple of Parameter, shape (A, L)
        Each area's row of every local column.
    residents : ndarray, shape (A,)
        All residents, every age. [persons]
    """

    areas: tuple[Area, ...]
    population: np.ndarray
    shared_population: np.ndarray
    local_columns: tuple[int, ...]
    local_parameters: tuple[tuple, ...]
    residents: np.ndarray

    def __len__(self) -> int:
        return len(self.areas)

    def local_values(self, area_index: int, u_local: np.ndarray) -> np.ndarray:
        """Area ``area_index``'s local parameter values from the shared uniform numbers, ``(n, L)``."""
        out = np.empty(u_local.shape)
        for col, p in enumerate(self.local_parameters[area_index]):
            out[:, col] = p.distribution.ppf(u_local[:, col], p.value)
        return out


@dataclass(frozen=True)
class SampleBlock:
    """One sampling block's draws: national values of every parameter and the uniforms of local ones.

    Attributes
    ----------
    index : int
        The sampling block (its stream is ``SeedSequence(seed, spawn_key=(index,))``).
    x : ndarray, shape (n, P)
        Every parameter at the template's (national) rows, as :meth:`Model.sample` gives them.
    u_local : ndarray, shape (n, L)
        The uniform numbers (after rank correlation) of the local columns.
    """

    index: int
    x: np.ndarray
    u_local: np.ndarray


def draw_blocks(total: int, size: int) -> list[tuple[int, int, int]]:
    """Draw blocks of at most ``size`` draws that never straddle a sampling block.

    Returns
    -------
    list of (sampling block, start, stop)
        ``start:stop`` are draw indices of the whole run.
    """
    size = max(int(size), 1)
    out = []
    for block in range((total + SAMPLING_BLOCK - 1) // SAMPLING_BLOCK):
        first, last = block * SAMPLING_BLOCK, min((block + 1) * SAMPLING_BLOCK, total)
        out.extend((block, s, min(s + size, last)) for s in range(first, last, size))
    return out


def _draw_metric_names(sectors: tuple[str, ...]) -> tuple[str, ...]:
    names = [f"{p}.{m}" for p in PERSPECTIVES for m in ("pv_costs", "pv_benefits")]
    names += [f"net_cash.{s}" for s in sectors]
    return (*names, "qalys", "participants")


class AreaModel:
    """A scenario compiled once, evaluated for blocks of areas and draws.

    Parameters
    ----------
    scenario : Scenario
        The scenario with its parameters at their national rows (the template: names, plans, overlaps,
        price factors, discounting and optimism adjustments are the same for every area).
    """

    def __init__(self, scenario: Scenario):
        self.model = Model(scenario)
        model = self.model
        self.names = model.names
        sectors = scenario.sectors
        self.sector_names = tuple(sectors.names)
        public = np.array([s.public_body for s in sectors.sectors])
        self.public_body = public
        self.perspective_weights = {p: perspective_weights(p, public) for p in PERSPECTIVES}
        payers = sorted({model.plans[i].sector_index[c.payer] for i in range(len(model.plans))
                         for c in model.plans[i].spec.costs})
        self.net_groups = (PUBLIC, *(self.sector_names[s] for s in payers))
        self.metric_names = _draw_metric_names(self.net_groups)
        self._scaled: tuple | None = None

    # --- inputs ------------------------------------------------------------------------------------

    def area_inputs(self, scenarios: list[Scenario]) -> AreaInputs:
        """Per-area populations and local parameters from each area's scenario (same programmes)."""
        model = self.model
        template = [model.scenario.registry[n] for n in self.names]
        areas = tuple(s.area for s in scenarios)
        population = np.array([[population_in_band(a, *plan.spec.population.ages) for plan in model.plans]
                               for a in areas]).reshape(len(areas), len(model.plans))
        shared = np.array([[_shared_population(a, model.plans, ov) for ov in model.overlaps]
                           for a in areas]).reshape(len(areas), len(model.overlaps))
        rows = [[s.registry[n] for n in self.names] for s in scenarios]
        local = tuple(j for j in range(len(self.names))
                      if any(r[j] is not template[j] and r[j] != template[j] for r in rows))
        params = tuple(tuple(r[j] for j in local) for r in rows)
        residents = np.array([population_in_band(a, 0, 90) for a in areas])
        return AreaInputs(areas, population, shared, local, params, residents)

    # --- sample ------------------------------------------------------------------------------------

    def sample(self, block: int, size: int, local_columns: tuple[int, ...]) -> SampleBlock:
        """Sampling block ``block`` of ``size`` draws: the steps of :meth:`Model.sample`, keeping the
        uniform numbers of the local columns."""
        spec = self.model.scenario.spec
        rng = chunk_rng(spec.seed, block)
        u = uniform_design(size, len(self.names), spec.sampling, rng)
        u = correlate(u, self.names, self.model.scenario.correlations, rng)
        return SampleBlock(block, to_values(u, self.model.parameters), u[:, list(local_columns)].copy())

    def sampling_block_size(self, block: int, total: int) -> int:
        return min(SAMPLING_BLOCK, total - block * SAMPLING_BLOCK)

    # --- evaluate ----------------------------------------------------------------------------------

    def stacked_parameters(self, inputs: AreaInputs, areas: slice, x: np.ndarray,
                           u_local: np.ndarray) -> np.ndarray:
        """Parameter rows for areas ``areas`` x the draws of ``x``: area-major, ``(A_b * n, P)``."""
        index = range(*areas.indices(len(inputs)))
        n = x.shape[0]
        out = np.tile(x, (len(index), 1))
        if inputs.local_columns:
            cols = list(inputs.local_columns)
            for k, a in enumerate(index):
                out[k * n:(k + 1) * n, cols] = inputs.local_values(a, u_local)
        return out

    def base_parameters(self, inputs: AreaInputs) -> np.ndarray:
        """Every area's point values, one row per area, ``(A, P)``."""
        base = np.tile(self.model.base_case(), (len(inputs), 1))
        for k, params in enumerate(inputs.local_parameters):
            base[k, list(inputs.local_columns)] = [p.value for p in params]
        return base

    def scaled_programmes(self, inputs: AreaInputs) -> frozenset[int]:
        """Programmes whose flows are the same per person in every area: evaluated once per draw for
        one person and multiplied by each area's population.

        A programme qualifies when it uses no local parameter, has no cost per cohort (a fixed cost is
        not proportional to population) and shares no outcome with another programme (the overlap
        correction depends on both). Its flows are then exactly linear in the population of its target
        ages (participants, costs per participant, outcomes avoided and their consequences, Markov
        traces: all proportional to the cohort), so scaling is the same model, not an approximation;
        ``tests/test_national.py`` checks it against the stacked evaluation and a single-area run.
        """
        key = inputs.local_columns
        if self._scaled is None or self._scaled[0] != key:
            local = {self.names[j] for j in key}
            overlapping = {i for ov in self.model.overlaps for i in (ov.first, ov.second)}
            found = frozenset(
                i for i, plan in enumerate(self.model.plans)
                if i not in overlapping and not local.intersection(plan_parameter_names(plan))
                and all(c.per_participant is not None for c in plan.spec.costs))
            self._scaled = (key, found)
        return self._scaled[1]

    def evaluate(self, inputs: AreaInputs, areas: slice, x: np.ndarray) -> dict[str, np.ndarray]:
        """Portfolio figures (:attr:`metric_names`) of areas ``areas`` on parameter rows ``x``.

        Parameters
        ----------
        inputs : AreaInputs
        areas : slice
            Areas of ``inputs`` the rows belong to, area-major (``len(x)`` is a multiple of their number).
        x : ndarray, shape (A_b * n, P)
            From :meth:`stacked_parameters` or :meth:`base_parameters`.

        Returns
        -------
        dict of str to ndarray, shape (A_b, n)
        """
        index = np.arange(len(inputs))[areas]
        if x.shape[0] == len(index):
            # One draw per area: the kernels' 1-row matrix products would take another BLAS path (gemv)
            # whose last bits differ from gemm's; with every row doubled they take gemm's, as any block.
            doubled = self.evaluate(inputs, areas, np.repeat(x, 2, axis=0))
            return {k: v[:, :1].copy() for k, v in doubled.items()}
        model = self.model
        rows = x.shape[0]
        per_area = rows // len(index)
        scaled = self.scaled_programmes(inputs)
        values = model.values(x)
        plans = [None if i in scaled
                 else replace(plan, population=np.repeat(inputs.population[index, i], per_area))
                 for i, plan in enumerate(model.plans)]
        flows = [None if plan is None else intervention_flows(plan, values, rows) for plan in plans]
        if model.overlaps:
            overlaps = [replace(ov, shared_population=np.repeat(inputs.shared_population[index, v], per_area))
                        for v, ov in enumerate(model.overlaps)]
            flows, _ = remove_double_counting(plans, flows, overlaps, values, rows)
        if scaled:  # area-invariant programmes: one evaluation per person, scaled by each area's population
            unit_values = model.values(x[:per_area])
            for i in scaled:
                flows[i] = intervention_flows(replace(model.plans[i], population=1.0), unit_values, per_area)
        n_sectors, n_kinds = len(self.sector_names), model.discount.shape[1]
        pv = np.zeros((len(index), per_area, n_sectors, n_kinds))  # programmes added in scenario order
        qalys = np.zeros((len(index), per_area))
        participants = np.zeros((len(index), per_area))
        health = model.discount[:, KIND_INDEX["social"]]
        for i, result in enumerate(flows):  # as Model.evaluate computes each programme's present values
            sectors, kinds = (np.array(a, dtype=int) for a in zip(*result.cells, strict=True))
            discounted = result.cell_flows * model.discount.T[kinds][None, :, :]  # (n, C, H)
            own = np.zeros((discounted.shape[0], n_sectors, n_kinds))
            own[:, sectors, kinds] = discounted.sum(axis=2)
            own_qalys = (result.qalys * health).sum(axis=1)  # not a BLAS product: exact per row
            own_participants = result.participants.sum(axis=1)
            if i in scaled:
                people = inputs.population[index, i]
                pv += people[:, None, None, None] * own[None]
                qalys += people[:, None] * own_qalys[None]
                participants += people[:, None] * own_participants[None]
            else:
                pv += own.reshape(pv.shape)
                qalys += own_qalys.reshape(qalys.shape)
                participants += own_participants.reshape(participants.shape)
        pv = pv.reshape(rows, n_sectors, n_kinds)
        qalys, participants = qalys.reshape(rows), participants.reshape(rows)
        public = self.public_body.astype(float)
        out = {}
        for p, w in self.perspective_weights.items():  # as results.summary.per_draw_metrics
            counted = pv * w
            by_kind = {k: counted[:, :, KIND_INDEX[k]].sum(-1) for k in KINDS}
            out[f"{p}.pv_costs"] = by_kind["cost"]
            out[f"{p}.pv_benefits"] = (by_kind["fiscal"] + by_kind["economic"]) + by_kind["social"]
        counted = pv * model.weights  # the scenario's perspective
        for group in self.net_groups:
            if group == PUBLIC:
                part = {k: (counted[:, :, KIND_INDEX[k]] * public).sum(-1) for k in ("cost", *CASH_KINDS)}
            else:
                s = self.sector_names.index(group)
                part = {k: counted[:, s, KIND_INDEX[k]] for k in ("cost", *CASH_KINDS)}
            out[f"net_cash.{group}"] = (part["fiscal"] + part["economic"]) - part["cost"]
        out["qalys"] = qalys
        out["participants"] = participants
        return {k: v.reshape(len(index), per_area) for k, v in out.items()}


def _shared_population(area: Area, plans, overlap) -> float:
    a, b = plans[overlap.first], plans[overlap.second]
    low = max(a.spec.population.ages[0], b.spec.population.ages[0])
    high = min(a.spec.population.ages[1], b.spec.population.ages[1])
    return population_in_band(area, low, high)
