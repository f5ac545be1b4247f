"""QALYs tracked through the model: the result at another value of a QALY, and NHS cost per QALY."""

from __future__ import annotations

import numpy as np
import pytest

from roi_engine.inputs.library import shipped_library
from roi_engine.inputs.scenario import load_scenario
from roi_engine.results import run
from roi_engine.results.qaly_results import at_qaly_value, nhs_cost_per_qaly

DRAWS = 300


@pytest.fixture(scope="module")
def default_runs():
    scenario = load_scenario(shipped_library().scenarios / "default.toml").with_settings(draws=DRAWS)
    return run(scenario), run(scenario.with_settings(qaly_value="nice_20k"))


def test_revaluing_at_the_runs_own_value_changes_nothing(default_runs):
    results, _ = default_runs
    own = at_qaly_value(results, results.cube.attrs["qaly_value"])
    head = results.headline()
    np.testing.assert_allclose(own["benefit_per_pound_base"], head["benefit_per_pound_base"], rtol=1e-12)
    np.testing.assert_allclose(own["benefit_per_pound_mean"], head["benefit_per_pound_mean"], rtol=1e-12)


def test_revaluing_at_20k_equals_a_run_at_20k(default_runs):
    """The QALYs the model tracks are exactly what value_of_qaly values: re-valuing a Green Book run at
    GBP 20,000 gives the run made with qaly_value = "nice_20k" (same draws of everything else)."""
    results, at_20k = default_runs
    revalued = at_qaly_value(results, at_20k.cube.attrs["qaly_value"])
    head = at_20k.headline()
    np.testing.assert_allclose(revalued["benefit_per_pound_base"], head["benefit_per_pound_base"], rtol=1e-9)
    np.testing.assert_allclose(revalued["benefit_per_pound_median"], head["benefit_per_pound_median"],
                               rtol=1e-9)
    assert (revalued["benefit_per_pound_base"] < results.headline()["benefit_per_pound_base"] + 1e-12).all()


def test_qalys_do_not_depend_on_their_value(default_runs):
    results, at_20k = default_runs
    np.testing.assert_allclose(results.cube["qalys"].values, at_20k.cube["qalys"].values, rtol=1e-12)


def test_nhs_cost_per_qaly_by_hand(default_runs):
    results, _ = default_runs
    frame = nhs_cost_per_qaly(results)
    assert "collaborative_care_ltc_markov" in frame.index  # the NHS pays for it
    assert "kiva_anti_bullying" not in frame.index  # schools pay
    pv = results.cube["pv_base"].sel(entity="collaborative_care_ltc_markov", sector="nhs")
    net = float(pv.sel(kind="cost") - pv.sel(kind="fiscal") - pv.sel(kind="economic"))
    qalys = float(results.cube["qalys_base"].sel(intervention="collaborative_care_ltc_markov"))
    row = frame.loc["collaborative_care_ltc_markov"]
    assert row["cost_per_qaly_base"] == pytest.approx(net / qalys, rel=1e-12)
    chances = [row["p_cost_effective_at_dhsc_15k"], row["p_cost_effective_at_nice_20k"],
               row["p_cost_effective_at_nice_30k"]]
    assert chances == sorted(chances)  # a higher threshold is never less likely to be met
