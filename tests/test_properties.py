"""Property-based tests of the model: identities that must hold for every draw of every run.

Each property is checked per draw with relative tolerance 1e-12 (``RTOL``) unless the arithmetic is
exact (doubling, multiplying by zero), where equality is required. Runs use 64-256 draws so each
example takes a fraction of a second.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import replace_in_file
from hypothesis import given, settings
from hypothesis import strategies as st

from roi_engine.errors import InputError
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.engine import KIND_INDEX, intervention_flows
from roi_engine.model.evaluation import Model, per_draw_arrays
from roi_engine.model.payback import payback_year
from roi_engine.results import run
from roi_engine.results.cube import Results

RTOL = 1e-12
FAST = settings(max_examples=25, deadline=None)
PERSPECTIVE_NAMES = tuple(PERSPECTIVES)
PUBLIC_BODIES = {"nhs", "social_care", "local_authority", "education", "criminal_justice",
                 "central_government"}  # from tests/data/toy/parameters/sectors.csv

seeds = st.integers(min_value=0, max_value=2**32 - 1)
small_draws = st.integers(min_value=64, max_value=256)
perspectives = st.sampled_from(PERSPECTIVE_NAMES)


def close(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def scale_atol(*arrays) -> float:
    """An absolute slack of 1e-12 x the largest magnitude, for sums that may cancel to ~0."""
    return 1e-12 * max(float(np.max(np.abs(a))) for a in arrays)


def metrics(model: Model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-draw total metrics for draws ``x`` (through Results, as a run computes them)."""
    summary = model.evaluate(x)
    per_draw = per_draw_arrays(summary)
    names = ("flows_sum", "discounted_sum", "avoided_sum", "participants_sum")
    sums = {f: getattr(summary, f) for f in names}
    results = Results.from_arrays(model, per_draw, sums, model.evaluate(model.base_case()))
    return results.total_metrics()


# ------------------------------------------------------------------------------------------------
# Library copies
# ------------------------------------------------------------------------------------------------

PROGRAMME_B = """\
id = "toy_programme_b"
name = "Second toy programme for tests"
life_stage = "middle age"

[population]
ages = [30, 44]
eligible_share = 0.05
reach = "toy_reach"

[delivery]
years = [0, 2]

[[costs]]
payer = "education"
per_participant = "toy_cost"
years = [0, 1]

[[costs]]
payer = "local_authority"
per_cohort = 2500
years = [0]

[[outcomes]]
id = "episode_b"
unit = "episodes"
baseline = "toy_baseline"
effect = { odds_ratio = "toy_rr" }
persistence = { years_full = 1, fade = 0.3 }

  [[outcomes.consequences]]
  sector = "nhs"
  value_type = "fiscal"
  per_unit = "toy_value_nhs"
  lag = [0.5, 0.5]

  [[outcomes.consequences]]
  sector = "individuals"
  value_type = "social"
  per_unit = ["toy_qaly_loss", "value_of_qaly"]
"""

BOTH = """\
name = "Toy scenario, two programmes"
area = "E08000025"
horizon = 6
price_year = "2023/24"
draws = 200
seed = 7
chunk_size = 70

[[interventions]]
id = "toy_programme"

[[interventions]]
id = "toy_programme_b"
"""


@pytest.fixture(scope="module")
def two_programmes(toy_copy_factory):
    """(scenario with toy_programme and toy_programme_b, scenario with toy_programme only)."""
    root = toy_copy_factory("two")
    (root / "interventions" / "toy_programme_b.toml").write_text(PROGRAMME_B, encoding="utf-8")
    (root / "scenarios" / "both.toml").write_text(BOTH, encoding="utf-8")
    both = load_scenario(root / "scenarios" / "both.toml")
    alone = load_scenario(root / "scenarios" / "toy.toml")
    assert [spec.id for _, spec in both.interventions] == ["toy_programme", "toy_programme_b"]
    return both, alone


@pytest.fixture(scope="module")
def doubled_cost_scenario(toy_copy_factory):
    """The toy library with every numeric cost (the NHS per_cohort 1000) doubled in the TOML."""
    root = toy_copy_factory("doubled")
    replace_in_file(root / "interventions" / "toy_programme.toml", "per_cohort = 1000",
                    "per_cohort = 2000")
    return load_scenario(root / "scenarios" / "toy.toml")


@pytest.fixture(scope="module")
def undiscounted_scenario(toy_copy_factory):
    root = toy_copy_factory("none")
    replace_in_file(root / "scenarios" / "toy.toml", 'price_year = "2023/24"\n',
                    'price_year = "2023/24"\ndiscounting = "none"\n')
    return load_scenario(root / "scenarios" / "toy.toml")


@pytest.fixture(scope="module")
def per_participant_only_scenario(toy_copy_factory):
    """The toy library with the per-cohort NHS cost made a per-participant cost (£5 a head)."""
    root = toy_copy_factory("per_head")
    replace_in_file(root / "interventions" / "toy_programme.toml", "per_cohort = 1000",
                    "per_participant = 5")
    return load_scenario(root / "scenarios" / "toy.toml")


# ------------------------------------------------------------------------------------------------
# Sectors add up to totals; interventions add up to the portfolio
# ------------------------------------------------------------------------------------------------


def test_perspective_weights_by_hand(toy_scenario):
    for perspective, counted in PERSPECTIVES.items():
        model = Model(toy_scenario.with_settings(perspective=perspective))
        for s, sector in enumerate(toy_scenario.sectors.names):
            cost_counted = sector in PUBLIC_BODIES if perspective == "public_sector" else True
            assert model.weights[s, KIND_INDEX["cost"]] == float(cost_counted)
            for kind in ("fiscal", "economic", "social"):
                assert model.weights[s, KIND_INDEX[kind]] == float(kind in counted)


@FAST
@given(seed=seeds, draws=small_draws, perspective=perspectives,
       chunk=st.integers(min_value=16, max_value=300))
def test_sectors_sum_to_totals_and_interventions_to_portfolio(two_programmes, seed, draws,
                                                              perspective, chunk):
    both, _ = two_programmes
    results = run(both.with_settings(draws=draws, seed=seed, perspective=perspective,
                                     chunk_size=chunk))
    n_int = 2
    assert results.entities == ("toy_programme", "toy_programme_b", "portfolio")
    assert results.pv.shape == (draws, n_int, len(results.sectors), 4)
    total, by_sector = results.total_metrics(), results.sector_metrics()

    # independent recomputation of the counted totals from the pv cube and the perspective
    weights = Model(both.with_settings(perspective=perspective)).weights
    pv = np.concatenate([results.pv, results.pv.sum(axis=1, keepdims=True)], axis=1)
    counted = pv * weights
    cost = counted[..., KIND_INDEX["cost"]]
    benefit = counted[..., 1:].sum(axis=-1)

    for metric, per_sector in (("pv_costs", cost), ("pv_benefits", benefit)):
        close(by_sector[metric], per_sector, atol=scale_atol(per_sector))
        close(by_sector[metric].sum(axis=2), total[metric], atol=scale_atol(total[metric]))
        close(per_sector.sum(axis=2), total[metric], atol=scale_atol(total[metric]))
    close(by_sector["pv_benefits_fiscal"] + by_sector["pv_benefits_economic"]
          + by_sector["pv_benefits_social"], by_sector["pv_benefits"],
          atol=scale_atol(by_sector["pv_benefits"]))
    close(by_sector["npv"].sum(axis=2), total["npv"], atol=scale_atol(total["pv_benefits"]))
    for metric in ("participants", "pv_costs", "pv_benefits", "npv"):
        close(total[metric][:, :n_int].sum(axis=1), total[metric][:, n_int],
              atol=scale_atol(total[metric]))
    close(by_sector["pv_costs"][:, :n_int].sum(axis=1), by_sector["pv_costs"][:, n_int],
          atol=scale_atol(by_sector["pv_costs"]))

    # the tables agree with the per-draw arrays (means are linear)
    table = results.by_sector("portfolio")
    head = results.headline()
    sectors = table.loc[list(results.sectors)]
    close(sectors["pv_costs_mean"].sum(), head.loc["portfolio", "pv_costs_mean"], rtol=1e-10)
    close(sectors["pv_benefits_mean"].sum(), head.loc["portfolio", "pv_benefits_mean"], rtol=1e-10)
    close(table.loc["all", "pv_costs_mean"], head.loc["portfolio", "pv_costs_mean"], rtol=1e-10)
    tidy = results.tidy()
    means = tidy[(tidy.statistic == "mean") & (tidy.metric == "pv_costs")]
    for entity in results.entities:
        rows = means[means.entity == entity]
        close(rows[rows.sector.isin(results.sectors)].value.sum(), rows[rows.sector == "all"].value.item(),
              rtol=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=seeds, draws=small_draws)
def test_adding_an_intervention_leaves_the_first_unchanged(two_programmes, seed, draws):
    """toy_programme_b uses only toy_programme's parameters, so the draws are the same."""
    both, alone = two_programmes
    model_both = Model(both.with_settings(seed=seed))
    model_alone = Model(alone.with_settings(seed=seed))
    assert model_both.names == model_alone.names
    x = model_alone.sample(draws)
    assert np.array_equal(x, model_both.sample(draws))
    pv_both = model_both.evaluate(x).pv
    pv_alone = model_alone.evaluate(x).pv
    close(pv_both[:, 0], pv_alone[:, 0], atol=scale_atol(pv_alone))


# ------------------------------------------------------------------------------------------------
# Doubling every cost halves the benefit per £1
# ------------------------------------------------------------------------------------------------


def cost_columns(model: Model) -> list[int]:
    names = [c.amount for plan in model.plans for c in plan.spec.costs if isinstance(c.amount, str)]
    return [model.names.index(n) for n in dict.fromkeys(names)]


@FAST
@given(chunk_index=st.integers(min_value=0, max_value=10**6), draws=small_draws,
       perspective=perspectives)
def test_doubling_every_cost_halves_benefit_per_pound(toy_scenario, doubled_cost_scenario,
                                                       chunk_index, draws, perspective):
    model = Model(toy_scenario.with_settings(perspective=perspective))
    doubled = Model(doubled_cost_scenario.with_settings(perspective=perspective))
    assert [c.amount for c in doubled.plans[0].spec.costs] == ["toy_cost", 2000]
    columns = cost_columns(model)
    assert [model.names[j] for j in columns] == ["toy_cost"]

    x = model.sample(draws, chunk_index)
    x2 = x.copy()
    x2[:, columns] *= 2.0
    base, twice = metrics(model, x), metrics(doubled, x2)
    close(twice["pv_costs"], 2 * base["pv_costs"])
    # benefits are computed as (all counted flows - costs), so they move by rounding only
    close(twice["pv_benefits"], base["pv_benefits"], atol=scale_atol(base["pv_benefits"]))
    close(twice["benefit_per_pound"], base["benefit_per_pound"] / 2)
    assert np.all(np.isfinite(base["benefit_per_pound"]))


# ------------------------------------------------------------------------------------------------
# Zero effect gives zero benefit
# ------------------------------------------------------------------------------------------------


@FAST
@given(chunk_index=st.integers(min_value=0, max_value=10**6), draws=small_draws)
def test_zero_effect_gives_zero_benefit(toy_scenario, chunk_index, draws):
    model = Model(toy_scenario)
    x = model.sample(draws, chunk_index)
    no_effect = x.copy()
    no_effect[:, model.names.index("toy_rr")] = 1.0
    with_effect, without = model.evaluate(x), model.evaluate(no_effect)

    cost = KIND_INDEX["cost"]
    benefit_kinds = [KIND_INDEX[k] for k in ("fiscal", "economic", "social")]
    assert np.any(with_effect.pv[..., benefit_kinds] != 0), "the toy programme should do something"
    assert np.all(without.pv[..., benefit_kinds] == 0.0)
    assert np.array_equal(without.pv[..., cost], with_effect.pv[..., cost])
    assert np.all(without.avoided_total == 0.0)
    assert np.array_equal(without.participants_total, with_effect.participants_total)
    # nothing gained and something paid: never pays back
    assert np.all(np.isinf(without.payback[:, :, -1, :]))
    m = metrics(model, no_effect)
    assert np.all(m["benefit_per_pound"] == 0.0)
    assert np.all(m["npv"] < 0)


# ------------------------------------------------------------------------------------------------
# No discounting: present values are plain sums
# ------------------------------------------------------------------------------------------------


def test_none_scheme_has_unit_factors(undiscounted_scenario, toy_scenario):
    assert undiscounted_scenario.spec.discounting == "none"
    assert np.array_equal(Model(undiscounted_scenario).discount, np.ones((6, 4)))
    assert not np.array_equal(Model(toy_scenario).discount, np.ones((6, 4)))


def test_with_settings_discounting_is_not_silently_ignored(toy_scenario):
    """``Scenario.with_settings(discounting="none")`` must either take effect or be refused.

    It changes ``spec.discounting`` but keeps the already-resolved ``Scenario.discounting`` (Green
    Book), so the run is discounted while the spec says "none".
    """
    try:
        changed = toy_scenario.with_settings(discounting="none")
    except (InputError, ValueError, TypeError):
        return  # refusing a setting it cannot apply is acceptable
    assert changed.spec.discounting == "none"
    assert changed.discounting.name == "none"
    assert np.array_equal(Model(changed).discount, np.ones((6, 4)))


@FAST
@given(chunk_index=st.integers(min_value=0, max_value=10**6), draws=small_draws)
def test_no_discounting_pv_equals_undiscounted_flow_sums(undiscounted_scenario, toy_scenario,
                                                          chunk_index, draws):
    model = Model(undiscounted_scenario)
    discounted_model = Model(toy_scenario)
    assert model.names == discounted_model.names
    x = model.sample(draws, chunk_index)
    pv = model.evaluate(x).pv
    pv_green_book = discounted_model.evaluate(x).pv
    values = model.values(x)
    for i, plan in enumerate(model.plans):
        sums = intervention_flows(plan, values, draws).flows.sum(axis=1)  # (n, S, K)
        close(pv[:, i], sums, atol=scale_atol(sums))
        # and with Green Book discounting the same flows are worth less (sensitivity check)
        costs = KIND_INDEX["cost"]
        assert np.all(pv_green_book[:, i, :, costs].sum(axis=-1) < sums[:, :, costs].sum(axis=-1))


@settings(max_examples=10, deadline=None)
@given(seed=seeds, draws=small_draws)
def test_no_discounting_yearly_table_sums_to_pv_means(undiscounted_scenario, seed, draws):
    results = run(undiscounted_scenario.with_settings(draws=draws, seed=seed))
    yearly = results.yearly()
    assert (yearly["mean_undiscounted"] == yearly["mean_discounted"]).all()
    summed = yearly.groupby(["entity", "sector", "kind"])["mean_undiscounted"].sum()
    pv = np.concatenate([results.pv, results.pv.sum(axis=1, keepdims=True)], axis=1)
    mean_pv = pv.mean(axis=0)
    seen = 0
    for e, entity in enumerate(results.entities):
        for s, sector in enumerate(results.sectors):
            for k, kind in enumerate(("cost", "fiscal", "economic", "social")):
                expected = mean_pv[e, s, k]
                got = summed.get((entity, sector, kind), 0.0)
                close(got, expected, rtol=1e-12, atol=1e-9)
                seen += expected != 0
    assert seen == 2 * 5  # toy_programme and the portfolio: 2 costs + 3 benefits each


# ------------------------------------------------------------------------------------------------
# Scaling the population
# ------------------------------------------------------------------------------------------------


def scaled(model: Model, factor: float) -> Model:
    out = copy.copy(model)
    out.plans = tuple(dataclasses.replace(p, population=p.population * factor) for p in model.plans)
    return out


@FAST
@given(factor=st.floats(min_value=0.1, max_value=10.0), draws=small_draws,
       chunk_index=st.integers(min_value=0, max_value=10**6))
def test_scaling_population_scales_people_and_benefits(toy_scenario, factor, draws, chunk_index):
    """Per-participant costs and all benefits scale; the per-cohort NHS cost (£1000) does not."""
    model = Model(toy_scenario)
    x = model.sample(draws, chunk_index)
    base, big = model.evaluate(x), scaled(model, factor).evaluate(x)
    assert model.plans[0].population != scaled(model, factor).plans[0].population or factor == 1
    index = model.plans[0].sector_index
    cost = KIND_INDEX["cost"]
    for kind in ("fiscal", "economic", "social"):
        k = KIND_INDEX[kind]
        close(big.pv[..., k], factor * base.pv[..., k], atol=scale_atol(factor * base.pv[..., k]))
    close(big.pv[:, 0, index["local_authority"], cost],
          factor * base.pv[:, 0, index["local_authority"], cost])
    assert np.array_equal(big.pv[:, 0, index["nhs"], cost], base.pv[:, 0, index["nhs"], cost])
    close(big.participants_total, factor * base.participants_total)
    close(big.avoided_total, factor * base.avoided_total, atol=scale_atol(factor * base.avoided_total))


@FAST
@given(factor=st.floats(min_value=0.1, max_value=10.0), draws=small_draws,
       chunk_index=st.integers(min_value=0, max_value=10**6), perspective=perspectives)
def test_scaling_population_leaves_benefit_per_pound_unchanged(per_participant_only_scenario, factor,
                                                              draws, chunk_index, perspective):
    model = Model(per_participant_only_scenario.with_settings(perspective=perspective))
    assert all(c.per_participant is not None for c in model.plans[0].spec.costs)
    x = model.sample(draws, chunk_index)
    base, big = metrics(model, x), metrics(scaled(model, factor), x)
    close(big["pv_costs"], factor * base["pv_costs"])
    close(big["pv_benefits"], factor * base["pv_benefits"], atol=scale_atol(factor * base["pv_benefits"]))
    close(big["participants"], factor * base["participants"])
    close(big["benefit_per_pound"], base["benefit_per_pound"],
          atol=scale_atol(base["benefit_per_pound"]))


# ------------------------------------------------------------------------------------------------
# Seeds: same seed, same numbers
# ------------------------------------------------------------------------------------------------


def assert_same_results(a: Results, b: Results) -> None:
    assert np.array_equal(a.pv, b.pv)
    for name in ("payback", "cumulative_net", "avoided", "participant_years"):
        assert np.array_equal(a.cube[name].values, b.cube[name].values, equal_nan=True), name
    pd.testing.assert_frame_equal(a.tidy(), b.tidy(), check_exact=True)
    pd.testing.assert_frame_equal(a.yearly(), b.yearly(), check_exact=True)


@FAST
@given(seed=seeds, other=seeds, draws=small_draws, chunk=st.integers(min_value=32, max_value=300),
       sampling=st.sampled_from(["lhs", "mc"]))
def test_same_seed_same_numbers_different_seed_different_numbers(toy_scenario, seed, other, draws,
                                                                  chunk, sampling):
    scenario = toy_scenario.with_settings(draws=draws, seed=seed, chunk_size=chunk, sampling=sampling)
    first = run(scenario)
    second = run(scenario)
    assert_same_results(first, second)
    # a run with another seed in between changes nothing about the next run with this seed
    if other != seed:
        different = run(scenario.with_settings(seed=other))
        assert not np.array_equal(different.pv, first.pv)
        # the per-participant local-authority cost is uncertain: every draw moves
        la = scenario.sectors.names.index("local_authority")
        cost = KIND_INDEX["cost"]
        assert np.all(different.pv[:, 0, la, cost] != first.pv[:, 0, la, cost])
    Model(scenario).sample(7, 3)  # touch the samplers directly too
    third = run(scenario)
    assert_same_results(first, third)


def test_sample_is_a_function_of_seed_and_chunk_only(toy_scenario):
    model = Model(toy_scenario)
    a = model.sample(100, 0)
    model.sample(50, 1)
    assert np.array_equal(a, model.sample(100, 0))
    assert np.array_equal(a, Model(toy_scenario).sample(100, 0))
    assert not np.array_equal(a, model.sample(100, 1))
    assert not np.array_equal(a, Model(toy_scenario.with_settings(seed=8)).sample(100, 0))


# ------------------------------------------------------------------------------------------------
# Payback
# ------------------------------------------------------------------------------------------------


def _payback(cumulative, invested=True):
    cumulative = np.asarray(cumulative, dtype=float)
    net = np.diff(cumulative, axis=-1, prepend=0.0)
    return payback_year(cumulative, net, np.asarray(invested))


@pytest.mark.parametrize("cumulative, expected", [
    ([-10.0, -4.0, 0.0, 5.0], 2.0),       # exactly zero counts as paid back
    ([-10.0, -4.0, -0.5, 5.0], 3.0),
    ([-10.0, -4.0, -1.0], np.inf),        # never within the horizon: censored, after the last year
    ([3.0, -1.0, 2.0], 2.0),              # dips below zero again: paid back only once it stays >= 0
    ([-1.0, 1.0, -1.0, -2.0], np.inf),    # ends below zero: not paid back
    ([-1.0], np.inf),
    ([0.0, 0.0, -5.0, 1.0], 3.0),         # nothing spent or gained in years 0-1: they do not count
    ([0.0, 0.0, 5.0], 2.0),
])
def test_payback_year_hand_built(cumulative, expected):
    out = _payback(np.array([cumulative]), np.array([True]))
    assert out.shape == (1,)
    np.testing.assert_equal(out, [expected])


def test_payback_year_single_series():
    """Shape ``(..., n_years)`` with no leading axes: one series gives one (0-d) year."""
    out = _payback(np.array([-10.0, -4.0, 0.0, 5.0]))
    assert np.ndim(out) == 0
    assert out == 2.0
    assert np.isinf(_payback(np.array([-1.0, -1.0])))


def test_payback_year_not_invested_is_nan():
    out = _payback(np.array([[-1.0, 2.0], [1.0, 2.0]]), np.array([False, True]))
    np.testing.assert_equal(out, [np.nan, 0.0])


def test_payback_year_batch():
    cumulative = np.array([
        [[-5.0, -3.0, 1.0], [-5.0, -6.0, -7.0]],
        [[0.0, 1.0, 2.0], [-1.0, -1.0, 0.0]],
    ])  # (2, 2, 3)
    invested = np.array([[True, True], [False, True]])
    np.testing.assert_equal(_payback(cumulative, invested), [[2.0, np.inf], [np.nan, 2.0]])


def reference_payback(net: np.ndarray) -> float:
    """The definition, by hand: first year from which the running total stays >= 0, after the first
    year with any flow; inf if the total ends below zero."""
    cumulative = np.cumsum(net)
    started = False
    for year in range(len(net)):
        started = started or net[year] != 0
        if started and all(c >= 0 for c in cumulative[year:]):
            return float(year)
    return np.inf


@FAST
@given(data=st.lists(st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=12),
                     min_size=1, max_size=8).filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_payback_year_matches_a_loop(data):
    net = np.array(data, dtype=float)
    out = payback_year(np.cumsum(net, axis=1), net, np.ones(len(net), dtype=bool))
    np.testing.assert_equal(out, [reference_payback(row) for row in net])


@FAST
@given(chunk_index=st.integers(min_value=0, max_value=10**6), draws=st.integers(1, 64),
       perspective=perspectives)
def test_model_payback_matches_the_discounted_flows(toy_scenario, chunk_index, draws, perspective):
    model = Model(toy_scenario.with_settings(perspective=perspective))
    x = model.sample(draws, chunk_index)
    summary = model.evaluate(x)
    flows = intervention_flows(model.plans[0], model.values(x), draws).flows
    counted = flows * model.discount[None, :, None, :] * model.weights
    cost = counted[..., KIND_INDEX["cost"]].sum(axis=-1)      # (n, H)
    benefit = counted[..., 1:].sum(axis=(-1, -2))
    for d in range(draws):
        cumulative = np.cumsum(benefit[d] - cost[d])
        if np.any(np.abs(cumulative) < 1e-9 * np.abs(cost[d]).sum()):
            continue  # a cumulative within rounding of zero: the year is ambiguous
        expected = reference_payback(benefit[d] - cost[d])
        np.testing.assert_equal(summary.payback[d, 0, -1, 0], expected)
        np.testing.assert_equal(summary.payback[d, 1, -1, 0], expected)  # portfolio of one
        close(summary.cumulative_net[d, 0, 1, 0], np.cumsum(benefit[d] - cost[d]),
              atol=scale_atol(benefit[d], cost[d]))
