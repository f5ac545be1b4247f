"""Tests for roi_engine.model.engine: the year-axis kernels and one intervention's cash flows.

Expected values are worked out by hand (written out below), not recomputed with the code under test.
Tolerances: exact (``==``) where the arithmetic is exact in binary floating point; otherwise
relative 1e-12 (``RTOL``) with no absolute slack.
"""

from __future__ import annotations

import numpy as np
import pytest

from roi_engine.inputs.population import find_area, population_by_age
from roi_engine.model.engine import (
    KIND_INDEX,
    KINDS,
    convolve_years,
    intervention_flows,
    persistence,
    risk_reduction,
    year_shift_matrix,
)
from roi_engine.model.evaluation import Model

RTOL = 1e-12


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ------------------------------------------------------------------------------------------------
# year_shift_matrix / convolve_years
# ------------------------------------------------------------------------------------------------


def test_year_shift_matrix_by_hand():
    expected = np.array([
        [1.0, 0.0, 0.0, 0.0],
        [0.5, 1.0, 0.0, 0.0],
        [0.0, 0.5, 1.0, 0.0],
        [0.0, 0.0, 0.5, 1.0],
    ])
    assert np.array_equal(year_shift_matrix(np.array([1.0, 0.5]), 4), expected)


def test_year_shift_matrix_truncates_a_kernel_longer_than_the_horizon():
    expected = np.array([
        [1.0, 0.0, 0.0],
        [2.0, 1.0, 0.0],
        [3.0, 2.0, 1.0],
    ])
    assert np.array_equal(year_shift_matrix(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 3), expected)


def test_convolve_years_single_year():
    # One year: only kernel[0] can act.
    assert np.array_equal(convolve_years(np.array([3.0]), np.array([2.0, 7.0])), np.array([6.0]))


def test_convolve_years_1d_by_hand():
    # delivery in years 0 and 1, lag [1, 0.5]: [1, 1 + 0.5, 0.5, 0]
    out = convolve_years(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.5]))
    assert np.array_equal(out, np.array([1.0, 1.5, 0.5, 0.0]))
    # an impulse returns the kernel, truncated at the horizon
    impulse = np.zeros(3)
    impulse[0] = 1.0
    assert np.array_equal(convolve_years(impulse, np.array([4.0, 3.0, 2.0, 1.0])),
                          np.array([4.0, 3.0, 2.0]))
    # an impulse in the last year shows only kernel[0]
    assert np.array_equal(convolve_years(np.array([0.0, 0.0, 5.0]), np.array([4.0, 3.0])),
                          np.array([0.0, 0.0, 20.0]))


@pytest.mark.parametrize("n_years, n_kernel", [(1, 1), (5, 1), (5, 2), (7, 3), (4, 9), (30, 30)])
def test_convolve_years_matches_numpy_convolve_truncated(n_years, n_kernel):
    rng = np.random.default_rng(n_years * 100 + n_kernel)
    kernel = rng.uniform(0, 2, n_kernel)
    x = rng.normal(size=n_years)
    close(convolve_years(x, kernel), np.convolve(x, kernel)[:n_years])


def test_convolve_years_2d_rows_are_independent():
    rng = np.random.default_rng(1)
    kernel = np.array([1.0, 0.5, 0.25])
    x = rng.normal(size=(6, 8))  # (n_draws, n_years)
    out = convolve_years(x, kernel)
    assert out.shape == (6, 8)
    for d in range(6):
        close(out[d], np.convolve(x[d], kernel)[:8])


def test_convolve_years_broadcasts_over_leading_axes():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 5))
    kernel = np.array([0.2, 1.0])
    out = convolve_years(x, kernel)
    assert out.shape == x.shape
    for i in range(3):
        for j in range(4):
            close(out[i, j], np.convolve(x[i, j], kernel)[:5])


def test_convolve_years_accepts_a_list_kernel():
    assert np.array_equal(convolve_years(np.array([2.0, 0.0]), [1, 3]), np.array([2.0, 6.0]))


# ------------------------------------------------------------------------------------------------
# persistence
# ------------------------------------------------------------------------------------------------


def test_persistence_two_full_years_then_halving():
    out = persistence(2, 0.5, 7)
    assert out.shape == (1, 7)
    assert np.array_equal(out[0], [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])


def test_persistence_one_year_only():
    out = persistence(1, 1.0, 5)
    assert out.shape == (1, 5)
    assert np.array_equal(out[0], [1.0, 0.0, 0.0, 0.0, 0.0])


def test_persistence_no_fade_lasts_the_horizon():
    assert np.array_equal(persistence(1, 0.0, 4)[0], [1.0, 1.0, 1.0, 1.0])


def test_persistence_zero_full_years_fades_from_year_zero():
    # k < 0 never holds, so year 0 already has (1 - 0.25)^1
    close(persistence(0, 0.25, 3)[0], [0.75, 0.5625, 0.421875])


def test_persistence_per_draw_arrays():
    years_full = np.array([2.0, 1.0, 0.0, 3.0])
    fade = np.array([0.5, 1.0, 0.25, 0.0])
    out = persistence(years_full, fade, 4)
    expected = np.array([
        [1.0, 1.0, 0.5, 0.25],
        [1.0, 0.0, 0.0, 0.0],
        [0.75, 0.5625, 0.421875, 0.31640625],
        [1.0, 1.0, 1.0, 1.0],
    ])
    assert out.shape == (4, 4)
    close(out, expected)


def test_persistence_fractional_years_full_follows_the_documented_formula():
    # years_full = 1.5: k = 0, 1 at full effect, then (1 - fade)^(k - 0.5)
    out = persistence(np.array([1.5]), np.array([0.4]), 4)[0]
    close(out, [1.0, 1.0, 0.6 ** 1.5, 0.6 ** 2.5])


def test_persistence_single_year_horizon():
    assert np.array_equal(persistence(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 1),
                          [[0.0], [1.0]])


# ------------------------------------------------------------------------------------------------
# risk_reduction
# ------------------------------------------------------------------------------------------------


def test_risk_reduction_relative_risk_scalar():
    close(risk_reduction("relative_risk", 0.8, 0.2), 0.2 * 0.2)


def test_risk_reduction_odds_ratio_scalar():
    # OR 0.5 at p = 0.2: RR = 0.5 / (0.8 + 0.1) = 5/9, avoided = 0.2 x 4/9
    rr = 0.5 / (0.8 + 0.1)
    close(risk_reduction("odds_ratio", 0.5, 0.2), 0.2 * (1 - rr))
    close(risk_reduction("odds_ratio", 0.5, 0.2), 0.8 / 9)


def test_risk_reduction_relative_reduction_scalar():
    close(risk_reduction("relative_reduction", 0.3, 0.2), 0.06)


def test_risk_reduction_absolute_ignores_baseline():
    assert risk_reduction("absolute", 0.07, 0.9) == 0.07
    assert risk_reduction("absolute", 0.07, 1.0) == 0.07


def test_risk_reduction_1d():
    p = np.array([0.2, 0.5, 0.1])
    close(risk_reduction("relative_risk", np.array([0.8, 1.0, 0.5]), p), [0.04, 0.0, 0.05])
    # OR 2 at p = 0.2: RR = 2 / (0.8 + 0.4); OR 1: no change; OR 0.5 at p = 0.1: RR = 0.5 / 0.95
    close(risk_reduction("odds_ratio", np.array([2.0, 1.0, 0.5]), p),
          [0.2 * (1 - 2.0 / 1.2), 0.0, 0.1 * (1 - 0.5 / 0.95)])
    close(risk_reduction("relative_reduction", np.array([0.1, 0.2, 0.3]), p), [0.02, 0.1, 0.03])
    out = risk_reduction("absolute", np.array([1.0, -2.0, 0.5]), p)
    assert out.shape == (3,)
    assert np.array_equal(out, [1.0, -2.0, 0.5])


def test_risk_reduction_odds_ratio_1d_by_hand():
    p = np.array([0.2, 0.5, 0.1])
    odds_ratio = np.array([0.5, 2.0, 0.5])
    # RR = OR / (1 - p + p OR)
    rr = np.array([0.5 / 0.9, 2.0 / 1.5, 0.5 / 0.95])
    close(risk_reduction("odds_ratio", odds_ratio, p), p * (1 - rr))


def test_risk_reduction_odds_ratio_one_is_no_effect_and_scalar_baseline_broadcasts():
    assert np.array_equal(risk_reduction("odds_ratio", np.ones(4), 0.3), np.zeros(4))
    close(risk_reduction("relative_risk", np.array([0.5, 0.9]), 0.2), [0.1, 0.02])


def test_risk_reduction_unknown_form():
    with pytest.raises(ValueError, match="unknown effect form"):
        risk_reduction("hazard_ratio", np.array([0.5]), 0.2)


# ------------------------------------------------------------------------------------------------
# intervention_flows: the toy programme, one draw, by hand
# ------------------------------------------------------------------------------------------------

# The toy programme (tests/data/toy/interventions/toy_programme.toml), written out:
#   ages 20-29, eligible_share 0.1, reach toy_reach, uptake 1, cohorts start in years 0 and 1
#   cost: local_authority toy_cost per participant in cohort-year 0; nhs 1000 per cohort in years 0, 1
#   outcome: baseline toy_baseline, relative_risk toy_rr, persistence years_full 2, fade 0.5
#     -> nhs fiscal toy_value_nhs, lag [1, 0.5]
#     -> individuals social toy_qaly_loss x value_of_qaly
#     -> employers economic toy_absence_days x toy_cost_per_day
HAND_VALUES = {
    "toy_reach": 0.5, "toy_cost": 100.0, "toy_baseline": 0.2, "toy_rr": 0.8,
    "toy_value_nhs": 500.0, "toy_qaly_loss": 0.05, "value_of_qaly": 70_000.0,
    "toy_absence_days": 2.0, "toy_cost_per_day": 150.0,
}
BIRMINGHAM_20_29 = 182_788.0  # ONS mid-2022, E08000025, ages 20..29 (packaged table)


@pytest.fixture(scope="module")
def toy_model(toy_scenario):
    return Model(toy_scenario)


def _hand_flows(values: dict[str, float], population: float, n_years: int = 6):
    """The toy programme's flows for one draw, from the formulas in docs/file_formats.md."""
    v = values
    n = population * 0.1 * v["toy_reach"] * 1.0  # participants per cohort
    participants = np.array([n, n, 0, 0, 0, 0])[:n_years]
    la_cost = np.array([n * v["toy_cost"], n * v["toy_cost"], 0, 0, 0, 0])[:n_years]
    nhs_cost = np.array([1000.0, 2000.0, 1000.0, 0, 0, 0])[:n_years]  # cohorts 0, 1 x years 0, 1
    a = n * v["toy_baseline"] * (1 - v["toy_rr"])  # avoided per cohort at full effect
    # persistence [1, 1, .5, .25, .125, .0625] convolved with delivery [1, 1]
    avoided = a * np.array([1.0, 2.0, 1.5, 0.75, 0.375, 0.1875])[:n_years]
    # ... convolved with the NHS lag [1, 0.5]
    lagged = a * np.array([1.0, 2.5, 2.5, 1.5, 0.75, 0.375])[:n_years]
    return {
        "participants": participants,
        "avoided": avoided,
        ("local_authority", "cost"): la_cost,
        ("nhs", "cost"): nhs_cost,
        ("nhs", "fiscal"): lagged * v["toy_value_nhs"],
        ("individuals", "social"): avoided * v["toy_qaly_loss"] * v["value_of_qaly"],
        ("employers", "economic"): avoided * v["toy_absence_days"] * v["toy_cost_per_day"],
    }


def test_toy_plan_population_and_delivery(toy_model):
    plan = toy_model.plans[0]
    by_age = population_by_age(find_area("E08000025"))
    assert plan.population == by_age[20:30].sum() == BIRMINGHAM_20_29
    assert np.array_equal(plan.delivery, [1, 1, 0, 0, 0, 0])
    assert plan.n_years == 6


def test_intervention_flows_toy_single_draw_by_hand(toy_model):
    plan = toy_model.plans[0]
    values = {k: np.array([x]) for k, x in HAND_VALUES.items()}
    result = intervention_flows(plan, values, 1)
    expected = _hand_flows(HAND_VALUES, BIRMINGHAM_20_29)

    # participants: 182,788 x 0.1 x 0.5 = 9,139.4 in each of years 0 and 1
    close(result.participants[0], expected["participants"])
    close(result.participants[0, 0], 9139.4)
    assert result.avoided.shape == (1, 6, 1)
    close(result.avoided[0, :, 0], expected["avoided"])
    # year-0 avoided: 9,139.4 x 0.2 x 0.2 = 365.576
    close(result.avoided[0, 0, 0], 365.576)

    assert result.flows.shape == (1, 6, len(plan.sector_index), len(KINDS))
    filled = np.zeros(result.flows.shape[1:], dtype=bool)
    for key, series in expected.items():
        if not isinstance(key, tuple):
            continue
        sector, kind = key
        s, k = plan.sector_index[sector], KIND_INDEX[kind]
        close(result.flows[0, :, s, k], series)
        filled[:, s, k] = True
    assert np.all(result.flows[0][~filled] == 0.0), "flows in cells the programme never touches"
    # year-0 cost by hand: 9,139.4 participants x £100 + £1,000 for the first cohort
    close(result.flows[0, 0, :, KIND_INDEX["cost"]].sum(), 9139.4 * 100 + 1000)


def test_intervention_flows_vectorised_draws_match_single_draws(toy_model):
    plan = toy_model.plans[0]
    rng = np.random.default_rng(5)
    n = 5
    values = {}
    for k, x in HAND_VALUES.items():
        values[k] = x * rng.uniform(0.5, 1.5, n)
    values["toy_rr"] = rng.uniform(0.5, 1.2, n)
    together = intervention_flows(plan, values, n)
    for d in range(n):
        one = {k: v[d:d + 1] for k, v in values.items()}
        alone = intervention_flows(plan, one, 1)
        close(together.flows[d], alone.flows[0], rtol=1e-14)
        expected = _hand_flows({k: float(v[d]) for k, v in values.items()}, BIRMINGHAM_20_29)
        close(together.avoided[d, :, 0], expected["avoided"])
        close(together.flows[d, :, plan.sector_index["nhs"], KIND_INDEX["fiscal"]],
              expected[("nhs", "fiscal")])


def test_model_base_case_present_values_by_hand(toy_model):
    """Base case through Model.evaluate: money re-priced to 2023/24, Green Book 3.5% / 1.5% health."""
    names = toy_model.names
    deflator = toy_model.scenario.deflator
    factor = deflator.factor("2023", "2023/24")
    assert factor != 1.0
    money = {"toy_cost", "toy_value_nhs", "value_of_qaly", "toy_cost_per_day"}
    values = {k: x * factor if k in money else x for k, x in HAND_VALUES.items()}
    assert sorted(names) == sorted(HAND_VALUES)
    x = np.array([[HAND_VALUES[name] for name in names]])
    assert np.array_equal(x, toy_model.base_case())

    summary = toy_model.evaluate(x)
    expected = _hand_flows(values, BIRMINGHAM_20_29)
    years = np.arange(6)
    standard = 1 / 1.035 ** years
    health = 1 / 1.015 ** years
    discount = {"cost": standard, "fiscal": standard, "economic": standard, "social": health}
    index = toy_model.plans[0].sector_index
    for (sector, kind), series in ((k, v) for k, v in expected.items() if isinstance(k, tuple)):
        close(summary.pv[0, 0, index[sector], KIND_INDEX[kind]], (series * discount[kind]).sum())
    close(summary.participants_total[0, 0], 2 * 9139.4)
    close(summary.avoided_total[0, 0], expected["avoided"].sum())
