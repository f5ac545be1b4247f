"""State-transition (Markov) outcomes: the trace by hand, row sums, zero effect, the degenerate case
equal to the simple outcome form, reproducibility, and one clear error for a bad matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roi_engine.errors import InputError
from roi_engine.inputs.interventions import InterventionSpec, MarkovSpec
from roi_engine.inputs.scenario import load_scenario_data
from roi_engine.inputs.specs import validate
from roi_engine.model.engine import InterventionPlan, intervention_flows
from roi_engine.model.evaluation import Model
from roi_engine.model.markov import (
    cohort_trace,
    compile_markov,
    occupancy_difference,
    step_matrices,
    weibull_cycle_probability,
)

ROOT = Path(__file__).resolve().parents[1]


def three_state(**overrides) -> MarkovSpec:
    """Well / Sick / Dead: P = [[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0, 0, 1]], effect RR on Well->Sick."""
    data = {
        "id": "toy", "states": ["well", "sick", "dead"], "start": {"well": 1.0}, "cycle": "end",
        "transitions": [
            {"from": "well", "to": "sick", "probability": "p_ws"},
            {"from": "well", "to": "dead", "probability": 0.05},
            {"from": "sick", "to": "well", "probability": 0.3},
            {"from": "sick", "to": "dead", "probability": ["p_sd_half", 2.0]},
        ],
        "effects": [{"transition": ["well", "sick"], "relative_risk": "rr",
                     "persistence": {"years_full": 10, "fade": 0.0}}],
        "state_costs": [{"state": "sick", "sector": "nhs", "value_type": "fiscal", "per_year": 1000.0}],
        "utilities": {"well": 0.9, "sick": 0.6},
    }
    data.update(overrides)
    return MarkovSpec.model_validate(data)


def toy_values(n: int, rr: float | np.ndarray = 0.5) -> dict[str, np.ndarray]:
    return {"p_ws": np.full(n, 0.15), "p_sd_half": np.full(n, 0.05),
            "rr": np.broadcast_to(np.asarray(rr, dtype=float), (n,)).copy(),
            "value_of_qaly": np.full(n, 70000.0)}


def test_a_three_state_trace_matches_the_hand_computation():
    trace = cohort_trace(three_state(), toy_values(2), 2, 2)
    # Comparator: x1 = row 'well'; x2 = x1 @ P.
    assert trace[0, 0, 1] == pytest.approx([0.8, 0.15, 0.05], abs=1e-15)
    assert trace[0, 0, 2] == pytest.approx([0.8 * 0.8 + 0.15 * 0.3, 0.8 * 0.15 + 0.15 * 0.6,
                                            0.8 * 0.05 + 0.15 * 0.1 + 0.05], abs=1e-15)
    # Intervention: Well->Sick halved, the diagonal takes the rest: row well = [0.875, 0.075, 0.05].
    assert trace[1, 0, 1] == pytest.approx([0.875, 0.075, 0.05], abs=1e-15)
    assert trace[1, 0, 2] == pytest.approx([0.875 * 0.875 + 0.075 * 0.3, 0.875 * 0.075 + 0.075 * 0.6,
                                            0.875 * 0.05 + 0.075 * 0.1 + 0.05], abs=1e-15)


def test_cycle_conventions_start_end_and_half_cycle():
    values, n = toy_values(1), 1
    trace = cohort_trace(three_state(), values, n, 3)
    diff = trace[0] - trace[1]  # (n, T + 1, S)
    start = occupancy_difference(three_state(cycle="start"), values, n, 3)
    end = occupancy_difference(three_state(cycle="end"), values, n, 3)
    half = occupancy_difference(three_state(cycle="half_cycle"), values, n, 3)
    np.testing.assert_allclose(start, diff[:, :-1], atol=1e-15)
    np.testing.assert_allclose(end, diff[:, 1:], atol=1e-15)
    np.testing.assert_allclose(half, 0.5 * (start + end), atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(p=st.lists(st.floats(0.0, 0.45), min_size=4, max_size=4), rr=st.floats(0.0, 2.0),
       death=st.floats(0.0, 0.25),
       shape=st.floats(0.3, 1.0))
def test_every_row_sums_to_one_and_the_trace_keeps_the_whole_cohort(p, rr, death, shape):
    # well row at most 1 - 0.55 ** 2 + 0.25 < 1 after the hazard ratio
    spec = three_state(transitions=[
        {"from": "well", "to": "sick", "probability": "p_ws", "weibull_shape": shape},
        {"from": "well", "to": "dead", "probability": death},
        {"from": "sick", "to": "well", "probability": p[2],
         "bands": [{"from_cycle": 2, "probability": p[3]}]},
        {"from": "sick", "to": "dead", "probability": "rest"},
    ], effects=[{"transition": ["well", "sick"], "hazard_ratio": rr}])
    values = toy_values(3)
    values["p_ws"] = np.array([p[0], 0.5 * p[0], 0.0])
    compiled = compile_markov(spec, values, 3, 6)
    matrices = np.stack([step_matrices(compiled, t) for t in range(6)])  # (T, 2, S, S, n)
    assert (matrices >= 0).all()
    np.testing.assert_allclose(matrices.sum(axis=3), 1.0, atol=1e-12)
    np.testing.assert_allclose(cohort_trace(spec, values, 3, 6).sum(axis=-1), 1.0, atol=1e-12)


def test_weibull_shape_one_is_a_constant_probability():
    p = weibull_cycle_probability(np.array([0.2, 0.5]), np.array([1.0, 1.0]), 5)
    np.testing.assert_allclose(p, [[0.2] * 5, [0.5] * 5], rtol=1e-13)
    falling = weibull_cycle_probability(np.array([0.2]), np.array([0.5]), 5)[0]
    assert (np.diff(falling) < 0).all() and falling[0] == pytest.approx(0.2)


def spec_with(markov=None, outcomes=None) -> InterventionSpec:
    return InterventionSpec.model_validate(spec_data(markov, outcomes))


def spec_data(markov=None, outcomes=None) -> dict:
    data = {"id": "x", "name": "x", "life_stage": "x", "population": {"ages": [20, 30]},
            "delivery": {"years": [0, 1, 2]},
            "costs": [{"payer": "nhs", "per_participant": 100.0}]}
    if markov:
        data["markov"] = markov
    if outcomes:
        data["outcomes"] = outcomes
    return data


def plan_for(spec: InterventionSpec, n_years: int = 8) -> InterventionPlan:
    delivery = np.zeros(n_years)
    delivery[list(spec.delivery.years)] = 1.0
    return InterventionPlan(spec=spec, population=5000.0, delivery=delivery, reach=0.4, uptake=1.0,
                            sector_index={"nhs": 0, "individuals": 1}, n_years=n_years)


def test_no_effect_gives_no_difference_and_no_benefit():
    block = three_state().model_dump(by_alias=True)
    plan = plan_for(spec_with(markov=[block]))
    values = toy_values(5, rr=1.0)
    flows = intervention_flows(plan, values, 5)
    benefit_cells = [c for c, (_, kind) in enumerate(flows.cells) if kind != 0]
    assert benefit_cells
    assert np.all(flows.cell_flows[:, benefit_cells, :] == 0.0)
    assert np.all(occupancy_difference(three_state(), values, 5, 8) == 0.0)


def test_a_markov_model_that_forgets_its_state_equals_the_simple_outcome_form():
    """Both rows equal: each year a share p has an episode whatever happened before, so the
    end-of-cycle occupancy of 'episode' is p (or p x RR(k)) and the difference is the simple form's
    baseline x (1 - RR) x persistence(k)."""
    persistence = {"years_full": 2, "fade": 0.4}
    simple = spec_with(outcomes=[{
        "id": "episode", "unit": "episodes", "baseline": "p", "effect": {"relative_risk": "rr"},
        "persistence": persistence,
        "consequences": [{"sector": "nhs", "value_type": "fiscal", "per_unit": "cost"}]}])
    markov = spec_with(markov=[{
        "id": "episodes", "states": ["well", "episode"], "start": {"well": 1.0}, "cycle": "end",
        "transitions": [{"from": "well", "to": "episode", "probability": "p"},
                        {"from": "episode", "to": "episode", "probability": "p"},
                        {"from": "episode", "to": "well", "probability": "rest"}],
        "effects": [{"transition": [a, "episode"], "relative_risk": "rr", "persistence": persistence}
                    for a in ("well", "episode")],
        "state_costs": [{"state": "episode", "sector": "nhs", "value_type": "fiscal",
                         "per_year": "cost"}]}])
    rng = np.random.default_rng(3)
    n = 50
    values = {"p": rng.uniform(0.01, 0.4, n), "rr": rng.uniform(0.3, 1.5, n),
              "cost": rng.uniform(100, 900, n)}
    a = intervention_flows(plan_for(simple), values, n)
    b = intervention_flows(plan_for(markov), values, n)
    assert a.cells == b.cells
    np.testing.assert_allclose(b.cell_flows, a.cell_flows, rtol=1e-12, atol=1e-9)


def model_for(intervention: str, seed: int = 5) -> Model:
    data = {"name": "t", "area": "E08000025", "horizon": 10, "price_year": "2023/24", "draws": 200,
            "seed": seed, "interventions_dir": str(ROOT / "interventions"),
            "parameters_dir": str(ROOT / "parameters"), "interventions": [{"id": intervention}]}
    return Model(load_scenario_data(data, path=ROOT / "scenarios" / "test.toml"))


@pytest.mark.parametrize("intervention", ["collaborative_care_ltc_markov",
                                          "perinatal_depression_markov"])
def test_same_seed_same_numbers_and_a_positive_base_case(intervention):
    first, second = model_for(intervention), model_for(intervention)
    a = first.evaluate(first.sample(200, 0)).pv
    b = second.evaluate(second.sample(200, 0)).pv
    assert np.array_equal(a, b)
    base = first.evaluate(first.base_case()).pv[0, 0]
    assert base[:, 1:].sum() > 0  # the programme produces some benefit
    other = model_for(intervention, seed=6)
    assert not np.array_equal(a, other.evaluate(other.sample(200, 0)).pv)


def test_a_probability_pushed_above_one_is_one_error_naming_the_parameters_and_the_draw_count():
    values = toy_values(4)
    values["p_ws"] = np.full(4, 0.6)
    values["rr"] = np.array([1.0, 2.0, 1.9, 0.5])  # 1.2 and 1.14: two draws fail
    with pytest.raises(InputError) as caught:
        occupancy_difference(three_state(), values, 4, 3)
    text = str(caught.value)
    assert "\n" not in text
    assert "transitions from 'well'" in text and "with the programme's effect" in text
    assert "in 2 of 4 draws" in text and "p_ws" in text and "effect rr" in text


def test_a_row_adding_up_to_more_than_one_is_caught_without_the_programme_too():
    values = toy_values(3)
    values["p_sd_half"] = np.array([0.05, 0.4, 0.2])  # sick row: 0.3 + 0.8 = 1.1 in one draw
    with pytest.raises(InputError, match=r"from 'sick' add up to more than 1 without the programme "
                                         r"in 1 of 3 draws \(parameters: p_sd_half\)"):
        occupancy_difference(three_state(), values, 3, 3)


def test_a_row_without_rest_must_sum_to_one():
    spec = three_state(transitions=[
        {"from": "well", "to": "well", "probability": 0.5},
        {"from": "well", "to": "sick", "probability": "p_ws"},
        {"from": "well", "to": "dead", "probability": 0.05},
    ])
    with pytest.raises(InputError, match="from 'well' do not sum to 1"):
        occupancy_difference(spec, toy_values(2), 2, 2)


@pytest.mark.parametrize(("change", "message"), [
    ({"start": {"wel": 1.0}}, "unknown state 'wel'"),
    ({"effects": [{"transition": ["sick", "dead"], "relative_risk": 0.5},
                  {"transition": ["dead", "well"], "relative_risk": 0.5}]},
     "no transition \\['dead', 'well'\\] is declared"),
    ({"cycle": "middle"}, "cycle"),
])
def test_spec_mistakes_are_one_line_input_errors(tmp_path, change, message):
    block = three_state().model_dump(by_alias=True)
    block.update(change)
    spec = spec_data(markov=[block])
    with pytest.raises(InputError, match=message) as caught:
        validate(InterventionSpec, _drop_none(spec), tmp_path / "bad.toml")
    assert "\n" not in str(caught.value) and "bad.toml" in str(caught.value)


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(v) for v in value]
    return value


def test_blocks_of_draws_change_neither_the_numbers_nor_the_error(monkeypatch):
    import roi_engine.model.markov as markov  # noqa: PLC0415

    rng = np.random.default_rng(4)
    values = toy_values(10, rr=rng.uniform(0.2, 1.0, 10))
    whole = occupancy_difference(three_state(), values, 10, 5)
    monkeypatch.setattr(markov, "BLOCK_DRAWS", 3)
    np.testing.assert_array_equal(occupancy_difference(three_state(), values, 10, 5), whole)
    values["p_ws"] = np.full(10, 0.6)
    values["rr"] = np.array([2.0] * 7 + [1.0] * 3)  # 7 draws fail, spread over three blocks
    with pytest.raises(InputError, match="in 7 of 10 draws"):
        occupancy_difference(three_state(), values, 10, 5)


def test_markov_state_years_avoided_are_reported_in_natural_units(tmp_path):
    """A Markov block's costly states appear in the outcomes table as person-years avoided; for the
    collaborative-care form, about 0.2 depressed-years per participant over ten years (docs/markov.md)."""
    from roi_engine.inputs.library import shipped_library
    from roi_engine.inputs.scenario import load_scenario
    from roi_engine.results import run

    lib = shipped_library()
    head = (lib.scenarios / "default.toml").read_text(encoding="utf-8").split("[[interventions]]")[0]
    head = head.replace("horizon", f'interventions_dir = "{lib.interventions}"\n'
                        f'parameters_dir = "{lib.parameters}"\nhorizon', 1)
    path = tmp_path / "cc.toml"
    path.write_text(head + '[[interventions]]\nid = "collaborative_care_ltc_markov"\n'
                    'delivery_years = [0]\n', encoding="utf-8")
    results = run(load_scenario(path).with_settings(draws=200))
    table = results.outcomes().set_index(["entity", "outcome"])
    years = table.loc[("collaborative_care_ltc_markov", "depression_course.depressed"), "base_case"]
    people = table.loc[("collaborative_care_ltc_markov", "people_reached"), "base_case"]
    assert 0.1 < years / people < 0.4
