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
        Position of the shared outcome in each intervention's outcomes.
    outcome : str
        The shared outcome id.
    shared_population : float
        Persons in the intersection of the two target age bands. [persons]
    same_eligibility : bool
        Both use the same eligible-share parameter (one group, not two independent ones).
    """

    first: int
    second: int
    first_outcome: int
    second_outcome: int
    outcome: str
    shared_population: float
    same_eligibility: bool


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
            for oa, out_a in enumerate(a.spec.outcomes):
                for ob, out_b in enumerate(b.spec.outcomes):
                    if out_a.id != out_b.id:
                        continue
                    if out_a.effect.form not in RELATIVE_FORMS or out_b.effect.form not in RELATIVE_FORMS:
                        continue
                    found.append(Overlap(
                        i, j, oa, ob, out_a.id, population_in_band(area, low, high),
                        a.spec.population.eligible_share == b.spec.population.eligible_share))
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
    corrections: dict[tuple[int, int], np.ndarray] = {}
    removed = np.zeros((len(overlaps), n_draws))
    for k, ov in enumerate(overlaps):
        a, b = plans[ov.first], plans[ov.second]
        outcome_a = a.spec.outcomes[ov.first_outcome]
        baseline = resolve(outcome_a.baseline, values, n_draws)
        pool_a = a.population * resolve(a.spec.population.eligible_share, values, n_draws)
        pool_b = b.population * resolve(b.spec.population.eligible_share, values, n_draws)
        share_both = resolve(a.spec.population.eligible_share, values, n_draws)
        if not ov.same_eligibility:
            share_both = share_both * resolve(b.spec.population.eligible_share, values, n_draws)
        baseline_b = resolve(b.spec.outcomes[ov.second_outcome].baseline, values, n_draws)
        e_a = _reduction(flows[ov.first].avoided[:, :, ov.first_outcome], pool_a * baseline)
        e_b = _reduction(flows[ov.second].avoided[:, :, ov.second_outcome], pool_b * baseline_b)
        # the people eligible for both are a part of the narrower pool: its baseline risk applies
        shared_risk = np.where(pool_a <= pool_b, baseline, baseline_b)
        double = (ov.shared_population * share_both * shared_risk)[:, None] * e_a * e_b  # (n, H)
        total = e_a + e_b
        with np.errstate(invalid="ignore", divide="ignore"):
            part_a = np.where(total != 0, double * e_a / total, 0.0)
        for key, part in (((ov.first, ov.first_outcome), part_a),
                          ((ov.second, ov.second_outcome), double - part_a)):
            corrections[key] = corrections.get(key, 0.0) + part
        removed[k] = double.sum(axis=1)
    for (i, o), units in corrections.items():
        flows[i] = _subtract(plans[i], flows[i], o, units, values, n_draws)
    return flows, removed


def _reduction(avoided: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """Share of the pool's risk removed each year, ``avoided (n, H) / at_risk (n,)`` (0 where none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(at_risk[:, None] > 0, avoided / at_risk[:, None], 0.0)


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
