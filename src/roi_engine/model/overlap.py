"""Interventions that change the same outcome in the same people: combine risks, attribute back.

Two interventions in a scenario change *the same outcome* when their outcomes share an ``id``
(``depressive_episode`` in a workplace programme and in collaborative care, say). They reach *the same
people* where their target age bands intersect and people are eligible for both. Adding their separate
results would count twice the cases both would prevent; this module removes that double count.

The rule, per draw and year, for a pair A and B acting on outcome ``o`` with the same baseline risk ``p``:

- ``e_A(y) = avoided_A(y) / (E_A p)`` is A's average reduction of the risk in its eligible pool
  ``E_A = pop(ages_A) x eligible_share_A`` (participants are drawn at random from the pool, so the same
  average applies to any part of it); likewise ``e_B``;
- the pool eligible for both is ``N_AB = pop(ages_A ∩ ages_B) x s``, with ``s`` the product of the two
  eligible shares (independent groups) or the shared one (the same eligibility parameter);
- risks combine multiplicatively, ``RR_joint = (1 - e_A)(1 - e_B)``, so the joint reduction is
  ``e_A + e_B - e_A e_B``: the double count is ``D(y) = N_AB p e_A(y) e_B(y)`` units;
- ``D`` is attributed back in proportion to each intervention's own effect: A gives up
  ``D e_A / (e_A + e_B)`` units, B gives up ``D e_B / (e_A + e_B)``; each intervention's consequences
  are then computed on its reduced count, so no benefit is counted twice.

With three or more interventions on one outcome the pairwise corrections are applied together
(inclusion-exclusion truncated after the pairs); this slightly over-corrects, so the joint benefit stays
at or below the true multiplicative one, and never above the sum of the separate benefits. Only relative
effects (``relative_risk``, ``odds_ratio``, ``relative_reduction``) combine this way; an ``absolute``
effect is a change per participant and is left as it is. Two outcomes with the same id may have different
baselines (new mothers and employees both have episodes of common mental disorder, at different rates):
each intervention's reduction is measured against its own pool's risk, and the people eligible for both,
a part of the narrower pool, carry that pool's risk in ``D``.

A Markov block (:mod:`roi_engine.model.markov`) takes part through its ``outcome`` link
(``outcome = { id = "common_mental_disorder", state = "depressed" }``): its units are **person-years in
that state avoided** (comparator minus intervention, all cohorts, under the block's cycle convention),
and its "baseline" in year ``y`` is the comparator's person-years in the state per member of the pool,
summed over the cohorts started by then, ``m(y) = sum_j delivery[j] occupancy_comparator[y - j]`` (each
delivery year brings a new pool of people, e.g. the women giving birth that year). So
``e(y) = avoided(y) / (E m(y))`` is the share of the pool's person-years in the state the programme
removes, and where the Markov pool is the narrower one the people eligible for both carry ``m(y)``.
Its effects are relative (a relative risk or hazard ratio on transitions), so it always combines. A
Markov block that gives up units loses the same share of every value it carries in that year (its
state costs and QALYs): ``value(y) x units(y) / avoided(y)``, exact when all its values follow the
linked state (two states, as for perinatal depression), an approximation otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from roi_engine.inputs.population import population_in_band
from roi_engine.inputs.valuation import QALY_PARAMETER
from roi_engine.model.engine import (
    KIND_INDEX,
    InterventionFlows,
    InterventionPlan,
    Values,
    consequence_flows,
    consequence_qalys,
    resolve,
    year_shift_matrix,
)
from roi_engine.model.markov import (
    comparator_occupancy,
    markov_flows,
    occupancy_difference,
    outcome_states,
    qalys_gained,
)

RELATIVE_FORMS = ("relative_risk", "odds_ratio", "relative_reduction")


@dataclass(frozen=True)
class Overlap:
    """A pair of interventions acting on the same outcome in the same people.

    Attributes
    ----------
    first, second : int
        Positions of the two interventions in the model's plans.
    first_outcome, second_outcome : int
        Column of the shared outcome in each intervention's ``InterventionFlows.avoided``: its
        position in the outcomes, or, for a Markov state, the column of that state after them.
    outcome : str
        The shared outcome id.
    shared_population : float
        Persons in the intersection of the two target age bands. [persons]
    same_eligibility : bool
        Both use the same eligible-share parameter (one group, not two independent ones).
    first_markov, second_markov : int or None
        The Markov block whose linked state is the shared outcome, or None for an ``[[outcomes]]``.
    """

    first: int
    second: int
    first_outcome: int
    second_outcome: int
    outcome: str
    shared_population: float
    same_eligibility: bool
    first_markov: int | None = None
    second_markov: int | None = None


def overlap_outcomes(spec) -> list[tuple[int, str, int | None, bool]]:
    """``(avoided column, outcome id, Markov block or None, relative effect)`` of each outcome of
    ``spec`` that can overlap: its ``[[outcomes]]``, then each Markov block linked to an outcome id."""
    found = [(o, out.id, None, out.effect.form in RELATIVE_FORMS) for o, out in enumerate(spec.outcomes)]
    column = len(spec.outcomes)
    for m, block in enumerate(spec.markov):
        states = outcome_states(block)
        if block.outcome is not None:
            found.append((column + states.index(block.outcome.state), block.outcome.id, m, True))
        column += len(states)
    return found


def find_overlaps(plans: Sequence[InterventionPlan], area) -> tuple[Overlap, ...]:
    """Every pair of interventions that change the same outcome in overlapping age bands."""
    found = []
    for i, a in enumerate(plans):
        for j in range(i + 1, len(plans)):
            b = plans[j]
            low = max(a.spec.population.ages[0], b.spec.population.ages[0])
            high = min(a.spec.population.ages[1], b.spec.population.ages[1])
            if low > high:
                continue
            for oa, id_a, markov_a, relative_a in overlap_outcomes(a.spec):
                for ob, id_b, markov_b, relative_b in overlap_outcomes(b.spec):
                    if id_a != id_b or not (relative_a and relative_b):
                        continue
                    found.append(Overlap(
                        i, j, oa, ob, id_a, population_in_band(area, low, high),
                        a.spec.population.eligible_share == b.spec.population.eligible_share,
                        markov_a, markov_b))
    return tuple(found)


def remove_double_counting(plans: Sequence[InterventionPlan], flows: list[InterventionFlows],
                           overlaps: Sequence[Overlap], values: Values, n_draws: int
                           ) -> tuple[list[InterventionFlows], np.ndarray]:
    """Each intervention's flows with its share of every double count removed.

    Returns
    -------
    flows : list of InterventionFlows
        Corrected copies (the inputs are not changed).
    removed : ndarray, shape (n_overlaps, n_draws)
        Units removed from each overlap over the horizon (both interventions together).
    """
    flows = list(flows)
    corrections: dict[tuple[int, int, int | None], np.ndarray] = {}
    removed = np.zeros((len(overlaps), n_draws))
    for k, ov in enumerate(overlaps):
        a, b = plans[ov.first], plans[ov.second]
        pool_a = a.population * resolve(a.spec.population.eligible_share, values, n_draws)
        pool_b = b.population * resolve(b.spec.population.eligible_share, values, n_draws)
        share_both = resolve(a.spec.population.eligible_share, values, n_draws)
        if not ov.same_eligibility:
            share_both = share_both * resolve(b.spec.population.eligible_share, values, n_draws)
        risk_a = _risk(a, ov.first_outcome, ov.first_markov, values, n_draws)  # (n, H)
        risk_b = _risk(b, ov.second_outcome, ov.second_markov, values, n_draws)
        e_a = _reduction(flows[ov.first].avoided[:, :, ov.first_outcome], pool_a[:, None] * risk_a)
        e_b = _reduction(flows[ov.second].avoided[:, :, ov.second_outcome], pool_b[:, None] * risk_b)
        # the people eligible for both are a part of the narrower pool: its baseline risk applies
        shared_risk = np.where((pool_a <= pool_b)[:, None], risk_a, risk_b)
        double = (ov.shared_population * share_both)[:, None] * shared_risk * e_a * e_b  # (n, H)
        total = e_a + e_b
        with np.errstate(invalid="ignore", divide="ignore"):
            part_a = np.where(total != 0, double * e_a / total, 0.0)
        for key, part in (((ov.first, ov.first_outcome, ov.first_markov), part_a),
                          ((ov.second, ov.second_outcome, ov.second_markov), double - part_a)):
            corrections[key] = corrections.get(key, 0.0) + part
        removed[k] = double.sum(axis=1)
    for (i, o, m), units in corrections.items():
        if m is None:
            flows[i] = _subtract(plans[i], flows[i], o, units, values, n_draws)
        else:
            flows[i] = _subtract_markov(plans[i], flows[i], m, o, units, values, n_draws)
    return flows, removed


def _risk(plan: InterventionPlan, column: int, markov: int | None, values: Values,
          n_draws: int) -> np.ndarray:
    """Units per member of the pool without the programme, by year, ``(n, H)``: an outcome's baseline,
    or a Markov state's comparator person-years summed over the cohorts started by then."""
    n_years = plan.n_years
    if markov is None:
        baseline = resolve(plan.spec.outcomes[column].baseline, values, n_draws)
        return np.broadcast_to(baseline[:, None], (n_draws, n_years))
    block = plan.spec.markov[markov]
    occupancy = comparator_occupancy(block, values, n_draws, n_years, where=f"markov[{markov}]")
    state = block.states.index(block.outcome.state)
    return occupancy[:, :, state] @ year_shift_matrix(plan.delivery, n_years).T


def _reduction(avoided: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """Share of the pool's risk removed each year, ``avoided (n, H) / at_risk (n, H)`` (0 where none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(at_risk > 0, avoided / at_risk, 0.0)


def _subtract(plan: InterventionPlan, result: InterventionFlows, outcome_index: int,
              units: np.ndarray, values: Values, n_draws: int) -> InterventionFlows:
    """``result`` with ``units (n, H)`` fewer of one outcome, and the money they released."""
    cell_flows = result.cell_flows.copy()
    cell_index = {cell: c for c, cell in enumerate(result.cells)}
    outcome = plan.spec.outcomes[outcome_index]
    qalys = result.qalys.copy()
    for consequence, (sector, kind, yearly) in zip(
            outcome.consequences, consequence_flows(outcome, units, values, n_draws), strict=True):
        c = cell_index[(plan.sector_index[sector], KIND_INDEX[kind])]
        cell_flows[:, c, :] -= yearly
        if QALY_PARAMETER in consequence.factors:
            qalys -= consequence_qalys(consequence, units, values, n_draws)
    avoided = result.avoided.copy()
    avoided[:, :, outcome_index] -= units
    return replace(result, cell_flows=cell_flows, avoided=avoided, qalys=qalys)


def _subtract_markov(plan: InterventionPlan, result: InterventionFlows, markov: int, column: int,
                     units: np.ndarray, values: Values, n_draws: int) -> InterventionFlows:
    """``result`` with ``units (n, H)`` fewer person-years in a Markov block's linked state, and the
    same share of every value of the block (and of its other reported states) in each year."""
    block = plan.spec.markov[markov]
    n_years = plan.n_years
    pop = plan.spec.population
    per_cohort = (plan.population * resolve(pop.eligible_share, values, n_draws)
                  * resolve(plan.reach, values, n_draws) * resolve(plan.uptake, values, n_draws))
    cohort_starts = year_shift_matrix(plan.delivery, n_years)
    avoided_state = result.avoided[:, :, column]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(avoided_state != 0, units / avoided_state, 0.0)  # (n, H)
    cell_flows = result.cell_flows.copy()
    cell_index = {cell: c for c, cell in enumerate(result.cells)}
    where = f"markov[{markov}]"
    for sector, kind, yearly in markov_flows(block, values, n_draws, n_years, where=where):
        c = cell_index[(plan.sector_index[sector], KIND_INDEX[kind])]
        cell_flows[:, c, :] -= share * ((per_cohort[:, None] * yearly) @ cohort_starts.T)
    qalys = result.qalys.copy()
    if block.utilities and block.qaly_value == QALY_PARAMETER:
        diff = occupancy_difference(block, values, n_draws, n_years, where=where)
        gained = (per_cohort[:, None] * qalys_gained(block, diff, values, n_draws)) @ cohort_starts.T
        qalys -= share * gained
    avoided = result.avoided.copy()
    first = column - outcome_states(block).index(block.outcome.state)
    for col in range(first, first + len(outcome_states(block))):
        avoided[:, :, col] -= share * result.avoided[:, :, col]
    return replace(result, cell_flows=cell_flows, avoided=avoided, qalys=qalys)
