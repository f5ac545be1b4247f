"""Optimism bias by evidence grade: off by default; on, costs rise and effects shrink towards none."""

from __future__ import annotations

import numpy as np
import pytest

from roi_engine.inputs.library import shipped_library
from roi_engine.inputs.optimism import OPTIMISM_BIAS, effect_grades, optimism_adjustments
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model
from roi_engine.results import run

DRAWS = 200


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(shipped_library().scenarios / "default.toml").with_settings(draws=DRAWS)


def test_off_by_default_changes_nothing(scenario):
    assert not scenario.spec.optimism_bias
    assert Model(scenario).optimism == {}


def test_costs_rise_and_every_programme_returns_less(scenario):
    plain = run(scenario).headline()
    adjusted = run(scenario.with_settings(optimism_bias=True)).headline()
    assert (adjusted["pv_costs_base"] >= plain["pv_costs_base"] - 1e-6).all()
    assert (adjusted["benefit_per_pound_base"] < plain["benefit_per_pound_base"]).all()


def test_adjustment_follows_the_grade(scenario):
    model = Model(scenario.with_settings(optimism_bias=True))
    x = model.base_case()
    plain = Model(scenario).values(x)
    adjusted = model.values(x)
    for name, adjust in model.optimism.items():
        g = OPTIMISM_BIAS[adjust.grade]
        if adjust.role == "cost":
            assert adjusted[name][0] == pytest.approx(plain[name][0] * (1 + g.cost_uplift), rel=1e-12)
        elif adjust.how == "power":
            assert adjusted[name][0] == pytest.approx(plain[name][0] ** (1 - g.effect_reduction), rel=1e-12)
            # a ratio moves towards 1 (no effect), never past it
            assert abs(np.log(adjusted[name][0])) <= abs(np.log(plain[name][0])) + 1e-12
        else:
            assert adjusted[name][0] == pytest.approx(plain[name][0] * (1 - g.effect_reduction), rel=1e-12)


def test_every_effect_and_cost_is_adjusted_once(scenario):
    specs = [spec for _, spec in scenario.interventions]
    adjustments = optimism_adjustments(specs, scenario.registry)
    for spec in specs:
        for cost in spec.costs:
            if isinstance(cost.amount, str):
                assert adjustments[cost.amount].role == "cost"
        for outcome in spec.outcomes:
            if isinstance(outcome.effect.ref, str):
                assert outcome.effect.ref in adjustments
        assert effect_grades(spec, scenario.registry)


def test_audit_refuses_an_adjusted_scenario(scenario, tmp_path):
    from roi_engine.errors import InputError
    from roi_engine.outputs.audit import write_audit_workbook

    with pytest.raises(InputError, match="optimism"):
        write_audit_workbook(tmp_path / "audit.xlsx", scenario.with_settings(optimism_bias=True))
