"""The intervention library: every programme loads, costs fall where the evidence says, and each
programme's benefit per £1 moves the right way with its effect size and its cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roi_engine.analyses.scalar_outputs import Output, output_from_pv
from roi_engine.inputs.interventions import InterventionLibrary
from roi_engine.inputs.parameters import SECTORS_FILE, ParameterRegistry
from roi_engine.inputs.scenario import load_scenario_data
from roi_engine.inputs.sectors import SectorTable
from roi_engine.model.engine import KIND_INDEX
from roi_engine.model.evaluation import Model

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ParameterRegistry.from_dir(ROOT / "parameters")
SECTORS = SectorTable.from_csv(ROOT / "parameters" / SECTORS_FILE)
LIBRARY = InterventionLibrary.from_dir(ROOT / "interventions", REGISTRY, SECTORS)

# Who pays, as each programme's evidence says (docs/evidence.md).
EXPECTED_PAYERS = {
    "kiva_anti_bullying": {"education"},
    "school_sel_penn_resilience": {"education"},
    "workplace_wellbeing": {"employers"},
    "workplace_stress_prevention": {"employers"},
    "collaborative_care_ltc": {"nhs"},
    "perinatal_depression": {"local_authority"},  # health visiting: councils commission it since 2015
    "loneliness_older_people": {"local_authority", "vcse"},  # the service; volunteers' time (VCSE)
    "debt_advice": {"local_authority"},
    "suicide_prevention_gp_training": {"nhs"},
    "suicide_prevention_high_risk_locations": {"local_authority"},
    "parenting_conduct_problems": {"local_authority"},
    "collaborative_care_ltc_markov": {"nhs"},  # Markov forms (docs/markov.md)
    "perinatal_depression_markov": {"local_authority"},
    # Programmes from the 2011 Department of Health economic case (docs/evidence.md)
    "school_sel_conduct": {"education"},
    "early_intervention_psychosis": {"nhs"},
    "alcohol_brief_advice": {"nhs"},
    "workplace_screening_cbt": {"employers"},
}
REQUIRED_PROGRAMMES = set(EXPECTED_PAYERS)


def model_for(intervention: str, horizon: int = 10) -> Model:
    data = {
        "name": f"test {intervention}", "area": "E08000025", "horizon": horizon,
        "price_year": "2023/24", "draws": 16, "seed": 1,
        "interventions_dir": str(ROOT / "interventions"), "parameters_dir": str(ROOT / "parameters"),
        "interventions": [{"id": intervention}],
    }
    return Model(load_scenario_data(data, path=ROOT / "scenarios" / "test.toml"))


def benefit_per_pound(model: Model, x: np.ndarray) -> float:
    return float(output_from_pv(model, model.evaluate(x).pv, Output("benefit_per_pound"))[0])


def test_the_library_covers_every_programme_of_the_2017_tool_and_more():
    assert REQUIRED_PROGRAMMES <= set(LIBRARY)


def test_every_parameter_names_its_source_and_assumptions_say_so():
    for name, p in REGISTRY.items():
        assert p.source.strip(), name
        if "assumption" in p.source.lower()[:40] and not p.source.lower().startswith("assumption"):
            pytest.fail(f"{name}: an assumption must say so at the start of its source")


@pytest.mark.parametrize("intervention", sorted(LIBRARY))
def test_costs_fall_on_the_sectors_the_evidence_says(intervention):
    model = model_for(intervention)
    pv = model.evaluate(model.base_case()).pv[0, 0]  # (sector, kind)
    payers = {s for s, cost in zip(SECTORS.names, pv[:, KIND_INDEX["cost"]], strict=True) if cost > 0}
    assert payers == EXPECTED_PAYERS[intervention]
    assert pv[:, KIND_INDEX["cost"] + 1:].sum() > 0, "the programme should produce some benefit"


def effect_columns(model: Model) -> list[tuple[int, str]]:
    """(column, form) of every effect parameter of the model's one intervention."""
    spec = model.plans[0].spec
    effects = [o.effect for o in spec.outcomes] + [e for m in spec.markov for e in m.effects]
    return [(model.names.index(e.ref), e.form) for e in effects if isinstance(e.ref, str)]


@pytest.mark.parametrize("intervention", sorted(LIBRARY))
def test_benefit_per_pound_rises_with_a_stronger_effect(intervention):
    model = model_for(intervention)
    base = model.base_case()
    columns = effect_columns(model)
    assert columns, "every programme's effect should be a sourced parameter"
    stronger = base.copy()
    for j, form in columns:
        if form == "hazard_ratio":  # a Markov effect raising a good transition
            stronger[0, j] = base[0, j] * 1.5
        elif form in ("relative_risk", "odds_ratio"):
            stronger[0, j] = base[0, j] - 0.5 * (1 - base[0, j]) if base[0, j] < 1 else 0.9
        else:
            stronger[0, j] = base[0, j] * 1.5
    assert benefit_per_pound(model, stronger) > benefit_per_pound(model, base)


@pytest.mark.parametrize("intervention", sorted(LIBRARY))
def test_benefit_per_pound_falls_when_the_programme_costs_more(intervention):
    model = model_for(intervention)
    base = model.base_case()
    spec = model.plans[0].spec
    dearer = base.copy()
    for cost in spec.costs:
        if isinstance(cost.amount, str):
            dearer[0, model.names.index(cost.amount)] *= 2
    assert benefit_per_pound(model, dearer) < benefit_per_pound(model, base)
