"""Two interventions changing the same outcome in the same people: no benefit counted twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from roi_engine.inputs.population import population_in_band
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.engine import KIND_INDEX, intervention_flows
from roi_engine.model.evaluation import Model
from roi_engine.model.overlap import remove_double_counting

TOY = Path(__file__).parent / "data" / "toy"

SECOND = """\
id = "toy_second"
name = "Second programme acting on the same outcome"
life_stage = "working age"

[population]
ages = [{low}, {high}]
eligible_share = {eligible}
reach = 0.4

[delivery]
years = [0, 1, 2]

[[costs]]
payer = "nhs"
per_participant = "toy_cost"

[[outcomes]]
id = "episode"
unit = "episodes"
baseline = "{baseline}"
effect = {{ relative_risk = 0.7 }}
persistence = {{ years_full = 1, fade = 1.0 }}

  [[outcomes.consequences]]
  sector = "nhs"
  value_type = "fiscal"
  per_unit = "toy_value_nhs"
  lag = [1.0, 0.5]

  [[outcomes.consequences]]
  sector = "individuals"
  value_type = "social"
  per_unit = ["toy_qaly_loss", "value_of_qaly"]
"""

SCENARIO = """\
name = "overlap test"
area = "E08000025"
horizon = 6
price_year = "2023/24"
draws = 64
seed = 3
{interventions}
"""


def library(tmp_path: Path, *, low: int, high: int, eligible: str = "0.1",
            baseline: str = "toy_baseline") -> Path:
    root = tmp_path / f"lib_{low}_{high}_{eligible.replace('.', '')}_{baseline}"
    shutil.copytree(TOY, root)
    (root / "interventions" / "toy_second.toml").write_text(
        SECOND.format(low=low, high=high, eligible=eligible, baseline=baseline), encoding="utf-8")
    for name, ids in (("both", ["toy_programme", "toy_second"]), ("first", ["toy_programme"]),
                      ("second", ["toy_second"])):
        blocks = "\n".join(f'[[interventions]]\nid = "{i}"\n' for i in ids)
        (root / "scenarios" / f"{name}.toml").write_text(SCENARIO.format(interventions=blocks),
                                                          encoding="utf-8")
    return root


def benefits_and_costs(root: Path, name: str, draws: np.ndarray, names: tuple[str, ...]):
    model = Model(load_scenario(root / "scenarios" / f"{name}.toml"))
    x = draws[:, [names.index(n) for n in model.names]]
    pv = model.evaluate(x).pv.sum(axis=1)  # (n, S, K)
    return pv[..., KIND_INDEX["cost"] + 1:].sum(axis=(1, 2)), pv[..., KIND_INDEX["cost"]].sum(axis=1)


@settings(max_examples=12, deadline=None)
@given(low=st.integers(15, 35), width=st.integers(0, 20))
def test_joint_benefit_never_exceeds_the_sum_and_costs_are_untouched(tmp_path_factory, low, width):
    root = library(tmp_path_factory.mktemp("lib"), low=low, high=min(90, low + width))
    both = Model(load_scenario(root / "scenarios" / "both.toml"))
    x = both.sample(64)
    # The property is for beneficial effects: toy_rr < 1 (toy_second's RR is 0.7). A sampled RR above 1
    # makes toy_programme harmful, where combining risks multiplicatively rightly shrinks the joint harm.
    x = x[x[:, both.names.index("toy_rr")] < 1]
    joint_benefit, joint_cost = benefits_and_costs(root, "both", x, both.names)
    b1, c1 = benefits_and_costs(root, "first", x, both.names)
    b2, c2 = benefits_and_costs(root, "second", x, both.names)
    assert np.all(joint_benefit <= b1 + b2 + 1e-9 * np.abs(b1 + b2))
    np.testing.assert_allclose(joint_cost, c1 + c2, rtol=1e-12)
    high = min(90, low + width)
    if max(low, 20) <= min(high, 29):  # toy_programme is ages 20-29: the bands overlap
        assert np.all(joint_benefit < b1 + b2)
    else:
        np.testing.assert_allclose(joint_benefit, b1 + b2, rtol=1e-12)


def test_joint_benefit_equals_the_sum_when_the_target_populations_do_not_overlap(tmp_path):
    root = library(tmp_path, low=40, high=55)
    both = Model(load_scenario(root / "scenarios" / "both.toml"))
    assert both.overlaps == ()
    x = both.sample(64)
    joint, _ = benefits_and_costs(root, "both", x, both.names)
    b1, _ = benefits_and_costs(root, "first", x, both.names)
    b2, _ = benefits_and_costs(root, "second", x, both.names)
    np.testing.assert_allclose(joint, b1 + b2, rtol=1e-12)


def test_the_double_count_is_the_multiplicative_interaction_and_is_shared_in_proportion(tmp_path):
    root = library(tmp_path, low=25, high=34, eligible="0.2")
    model = Model(load_scenario(root / "scenarios" / "both.toml"))
    (overlap,) = model.overlaps
    x = model.sample(16)
    values = model.values(x)
    separate = [intervention_flows(plan, values, 16) for plan in model.plans]
    corrected, removed = remove_double_counting(model.plans, separate, model.overlaps, values, 16)
    p = values["toy_baseline"]
    pool_a = model.plans[0].population * 0.1
    pool_b = model.plans[1].population * 0.2
    e_a = separate[0].avoided[:, :, 0] / (pool_a * p)[:, None]
    e_b = separate[1].avoided[:, :, 0] / (pool_b * p)[:, None]
    shared = population_in_band(model.scenario.area, 25, 29) * 0.1 * 0.2  # independent eligibility
    assert overlap.shared_population == population_in_band(model.scenario.area, 25, 29)
    double = (shared * p)[:, None] * e_a * e_b
    lost_a = separate[0].avoided[:, :, 0] - corrected[0].avoided[:, :, 0]
    lost_b = separate[1].avoided[:, :, 0] - corrected[1].avoided[:, :, 0]
    np.testing.assert_allclose(lost_a + lost_b, double, rtol=1e-12)
    np.testing.assert_allclose(removed[0], double.sum(axis=1), rtol=1e-12)
    both_act = double > 0  # years in which both programmes have an effect
    assert both_act.any()
    np.testing.assert_allclose(lost_a[both_act] / lost_b[both_act], e_a[both_act] / e_b[both_act],
                               rtol=1e-9)
    # The inputs are not changed.
    assert not np.shares_memory(corrected[0].cell_flows, separate[0].cell_flows)


def test_the_same_outcome_with_different_baselines_is_corrected_with_the_narrower_pools_risk(tmp_path):
    """New mothers and employees both have episodes of common mental disorder, at different rates: the
    overlap is still corrected, the people eligible for both carrying the narrower pool's risk."""
    root = library(tmp_path, low=20, high=29, baseline="toy_qaly_loss")
    both = Model(load_scenario(root / "scenarios" / "both.toml"))
    assert len(both.overlaps) == 1
    x = both.sample(64)
    x = x[x[:, both.names.index("toy_rr")] < 1]
    joint_benefit, _ = benefits_and_costs(root, "both", x, both.names)
    b1, _ = benefits_and_costs(root, "first", x, both.names)
    b2, _ = benefits_and_costs(root, "second", x, both.names)
    assert np.all(joint_benefit < b1 + b2)
    summary = both.evaluate(x)
    removed = b1 + b2 - joint_benefit
    np.testing.assert_allclose(summary.overlap_value, removed, rtol=1e-9)  # the size reported is the cut


def test_the_run_summary_names_the_overlap(tmp_path):
    from roi_engine.outputs.formatting import format_summary
    from roi_engine.results import run

    root = library(tmp_path, low=25, high=34)
    results = run(load_scenario(root / "scenarios" / "both.toml"))
    assert "toy_programme and toy_second both change 'episode'" in format_summary(results)
