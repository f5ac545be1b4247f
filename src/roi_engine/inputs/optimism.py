"""Optimism bias by evidence grade: costs up, effects towards no effect, when a scenario asks for it.

The Green Book asks appraisers to adjust explicitly for the tendency to understate costs and overstate
benefits (HM Treasury, The Green Book 2022, paras 5.43-5.46 and Annex 5; supplementary guidance on
optimism bias), and points to the HM Treasury / New Economy guidance for local partnerships (2014) for
adjusting benefits at a local level by how confident one can be in each input. This module does the
same with the library's evidence grades (:data:`roi_engine.inputs.parameters.GRADES`):

- every **cost** parameter (a programme's cost per participant or per cohort) is multiplied by
  ``1 + cost_uplift[grade]``;
- every **effect** parameter moves towards no effect by ``effect_reduction[grade]``: a relative
  reduction or an absolute change is multiplied by ``1 - r``; a relative risk, odds ratio or hazard
  ratio is raised to the power ``1 - r`` (shrunk towards 1 on the log scale).

The percentages are data (:data:`OPTIMISM_BIAS`), not estimates: the only published figure used is the
Green Book's upper bound for operating expenditure (41%, outsourcing projects, Mott MacDonald 2002),
taken as the uplift for costs that are assumptions; the others are this tool's stated assumptions,
ordered by grade. The adjustment is off unless the scenario sets ``optimism_bias = true``; results then
say so in their settings.

References
----------
.. [1] HM Treasury (2022). The Green Book, paras 5.43-5.46.
   https://www.gov.uk/government/publications/the-green-book-appraisal-and-evaluation-in-central-government
.. [2] HM Treasury (2013). Green Book supplementary guidance: optimism bias; Mott MacDonald (2002),
   Review of large public procurement in the UK, Table 2 (OPEX upper bound 41% for outsourcing).
   https://www.gov.uk/government/publications/green-book-supplementary-guidance-optimism-bias
.. [3] HM Treasury, Public Service Transformation Network and New Economy (2014). Supporting public
   service transformation: cost benefit analysis guidance for local partnerships.
   https://www.gov.uk/government/publications/supporting-public-service-transformation-cost-benefit-analysis-guidance-for-local-partnerships
"""

from __future__ import annotations

from dataclasses import dataclass

COST_FORMS = ("per_participant", "per_cohort")
MULTIPLY_FORMS = ("relative_reduction", "absolute")
POWER_FORMS = ("relative_risk", "odds_ratio", "hazard_ratio")


@dataclass(frozen=True)
class GradeAdjustment:
    """The adjustment for one evidence grade (fractions)."""

    cost_uplift: float
    effect_reduction: float


OPTIMISM_BIAS: dict[str, GradeAdjustment] = {
    "meta-analysis": GradeAdjustment(0.05, 0.05),
    "rct": GradeAdjustment(0.05, 0.15),
    "observational": GradeAdjustment(0.10, 0.25),
    "official statistics": GradeAdjustment(0.0, 0.25),
    "unit cost": GradeAdjustment(0.0, 0.25),
    "economic model": GradeAdjustment(0.15, 0.30),
    "appraisal value": GradeAdjustment(0.0, 0.0),
    "assumption": GradeAdjustment(0.41, 0.40),
    "decision": GradeAdjustment(0.0, 0.0),
    "": GradeAdjustment(0.41, 0.40),  # ungraded: treated as an assumption
}
"""Cost uplift and effect reduction by evidence grade. The 41% is the Green Book's operating-expenditure
upper bound; every other figure is an assumption of this tool, stated here and in docs/method.md."""


@dataclass(frozen=True)
class Adjustment:
    """How one parameter's draws change: ``"multiply"`` by ``factor`` or ``"power"`` to ``factor``."""

    name: str
    how: str
    factor: float
    grade: str
    role: str  # "cost" or "effect"


def optimism_adjustments(specs, registry) -> dict[str, Adjustment]:
    """Adjustments for every cost and effect parameter of the programmes ``specs``.

    A parameter used both as a cost and as an effect, or as two kinds of effect, is adjusted once, by
    the first use met (costs first).
    """
    out: dict[str, Adjustment] = {}

    def add(ref, how_for_form: str, role: str):
        if not isinstance(ref, str) or ref in out:
            return
        grade = registry[ref].grade
        g = OPTIMISM_BIAS.get(grade, OPTIMISM_BIAS[""])
        if role == "cost":
            out[ref] = Adjustment(ref, "multiply", 1.0 + g.cost_uplift, grade, role)
        elif how_for_form in MULTIPLY_FORMS:
            out[ref] = Adjustment(ref, "multiply", 1.0 - g.effect_reduction, grade, role)
        else:
            out[ref] = Adjustment(ref, "power", 1.0 - g.effect_reduction, grade, role)

    for spec in specs:
        for cost in spec.costs:
            add(cost.amount, "", "cost")
    for spec in specs:
        for outcome in spec.outcomes:
            add(outcome.effect.ref, outcome.effect.form, "effect")
        for block in spec.markov:
            for effect in block.effects:
                add(effect.ref, effect.form, "effect")
    return out


def effect_grades(spec, registry) -> str:
    """The evidence grades behind a programme's effects, weakest last, e.g. ``"rct, observational"``."""
    from roi_engine.inputs.parameters import GRADES

    refs = [o.effect.ref for o in spec.outcomes] + [e.ref for b in spec.markov for e in b.effects]
    grades = {registry[r].grade or "ungraded" for r in refs if isinstance(r, str)}
    order = {g: i for i, g in enumerate(GRADES)}
    return ", ".join(sorted(grades, key=lambda g: order.get(g, len(order)))) or "fixed numbers"


__all__ = ["OPTIMISM_BIAS", "GradeAdjustment", "Adjustment", "optimism_adjustments", "effect_grades"]
