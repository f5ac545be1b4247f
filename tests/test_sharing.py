"""Cost sharing (roi_engine.analyses.sharing): per-draw identities of each rule, the table, errors, the text.

Identities are checked per draw with relative tolerance 1e-12 (``RTOL``), on random arrays (the pure
kernels) and on toy-scenario runs with 64-256 draws, random seeds and every perspective.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from roi_engine.analyses.sharing import (
    RULES,
    TOTAL,
    SharingRule,
    agreed_contributions,
    as_modelled_contributions,
    benefit_proportional_contributions,
    break_even_contributions,
    cost_sharing,
    cumulative_net_by_sector,
    default_contributors,
    parse_shares,
    rule_contributions,
)
from roi_engine.errors import InputError
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.inputs.sectors import SectorTable
from roi_engine.outputs.formatting import format_cost_sharing
from roi_engine.results import run
from roi_engine.results.metrics import safe_ratio

RTOL = 1e-12
FAST = settings(max_examples=20, deadline=None)
RUNS = settings(max_examples=10, deadline=None)
TOY_DEFAULT_CONTRIBUTORS = ("nhs", "social_care", "local_authority", "education", "employers",
                            "criminal_justice", "central_government")  # tests/data/toy/parameters
NEVER_BY_DEFAULT = ("individuals", "vcse")
TOY_AGREED = {"nhs": 0.5, "local_authority": 0.3, "employers": 0.2}

seeds = st.integers(min_value=0, max_value=2**32 - 1)
small_draws = st.integers(min_value=64, max_value=256)
perspectives = st.sampled_from(tuple(PERSPECTIVES))


def close(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def scale_atol(*arrays_) -> float:
    """1e-12 x the largest magnitude: slack for sums that may cancel to about 0."""
    return 1e-12 * max([1e-300, *(float(np.max(np.abs(a))) for a in arrays_ if np.size(a))])


# ------------------------------------------------------------------------------------------------
# Pure kernels on random arrays
# ------------------------------------------------------------------------------------------------


def _tidy(x: np.ndarray) -> np.ndarray:
    """Round tiny magnitudes to 0 (no subnormal arithmetic in ratios)."""
    return np.where(np.abs(x) < 1e-6, 0.0, x)


@st.composite
def sharing_problems(draw):
    """Costs >= 0, cash-releasing benefits of either sign, and a contributor mask with one True."""
    n = draw(st.integers(min_value=1, max_value=12))
    s = draw(st.integers(min_value=1, max_value=7))
    cost = draw(arrays(float, (n, s), elements=st.floats(0, 1e8, allow_subnormal=False)))
    cash = draw(arrays(float, (n, s), elements=st.floats(-1e6, 1e8, allow_subnormal=False)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=s, max_size=s)))
    mask[draw(st.integers(min_value=0, max_value=s - 1))] = True
    return _tidy(cost), _tidy(cash), mask


@st.composite
def simplex_shares(draw, mask):
    """Shares over the True entries of ``mask``, summing to 1."""
    raw = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=len(mask), max_size=len(mask))))
    raw = np.where(mask, raw, 0.0)
    return raw / raw.sum()


@FAST
@given(sharing_problems())
def test_as_modelled_contributions_are_the_costs_and_sum_to_the_total(problem):
    cost, cash, mask = problem
    out = rule_contributions("as_modelled", cost, cash, mask)
    np.testing.assert_array_equal(out.contribution, cost)
    np.testing.assert_array_equal(as_modelled_contributions(cost), cost)
    assert not out.fallback.any()
    close(out.contribution.sum(axis=1), cost.sum(axis=1))


@FAST
@given(sharing_problems())
def test_benefit_proportional_sums_to_the_total_cost_in_every_draw(problem):
    cost, cash, mask = problem
    total = cost.sum(axis=1)
    out = rule_contributions("benefit_proportional", cost, cash, mask)
    close(out.contribution.sum(axis=1), total, atol=scale_atol(total))
    assert np.all(out.contribution >= 0)
    assert np.all(out.contribution[:, ~mask] == 0)


@FAST
@given(sharing_problems())
def test_benefit_proportional_gives_every_gaining_contributor_the_same_cash_return(problem):
    cost, cash, mask = problem
    total = cost.sum(axis=1)
    out = benefit_proportional_contributions(total, cash, mask)
    positive = mask & (cash > 0)
    np.testing.assert_array_equal(out.fallback, ~positive.any(axis=1))
    for d in np.flatnonzero(~out.fallback & (total > 0)):
        gainers = positive[d]
        returns = cash[d, gainers] / out.contribution[d, gainers]
        common = cash[d, gainers].sum() / total[d]
        close(returns, np.full(gainers.sum(), common), rtol=1e-12)
        # A contributor that loses cash in this draw pays nothing in it.
        assert np.all(out.contribution[d, mask & ~gainers] == 0)


@FAST
@given(sharing_problems())
def test_benefit_proportional_fallback_follows_mean_positive_cash_benefit(problem):
    cost, cash, mask = problem
    total = cost.sum(axis=1)
    out = benefit_proportional_contributions(total, cash, mask)
    weights = np.where(mask, np.maximum(cash, 0), 0).mean(axis=0)
    expected = weights / weights.sum() if weights.sum() > 0 else mask / mask.sum()
    for d in np.flatnonzero(out.fallback):
        close(out.contribution[d], total[d] * expected, atol=scale_atol(total))


def test_benefit_proportional_falls_back_to_equal_shares_when_nobody_ever_gains():
    out = benefit_proportional_contributions(np.array([90.0, 30.0]), np.array([[0.0, -5.0, 7.0]] * 2),
                                             np.array([True, True, False]))
    assert out.fallback.all()
    np.testing.assert_allclose(out.contribution, [[45.0, 45.0, 0.0], [15.0, 15.0, 0.0]])


@FAST
@given(sharing_problems())
def test_break_even_pays_floored_cash_benefit_and_reports_the_gap(problem):
    cost, cash, mask = problem
    out = rule_contributions("break_even", cost, cash, mask)
    expected = np.where(mask, np.maximum(cash, 0), 0)
    np.testing.assert_array_equal(out.contribution, expected)
    np.testing.assert_array_equal(break_even_contributions(cash, mask), expected)
    gap = cost.sum(axis=1) - out.contribution.sum(axis=1)
    close(gap, cost.sum(axis=1) - expected.sum(axis=1))


@FAST
@given(st.data())
def test_agreed_contributions_are_shares_of_the_total_and_sum_to_it(data):
    cost, cash, mask = data.draw(sharing_problems())
    shares = data.draw(simplex_shares(mask))
    total = cost.sum(axis=1)
    out = rule_contributions("agreed", cost, cash, mask, shares)
    close(out.contribution.sum(axis=1), total, atol=scale_atol(total))
    close(out.contribution, total[:, None] * shares[None, :])
    np.testing.assert_array_equal(out.contribution, agreed_contributions(total, shares))
    assert np.all(out.contribution[:, ~mask] == 0)


def test_rules_by_hand():
    cost = np.array([[10.0, 0.0, 0.0]])
    cash = np.array([[0.0, 30.0, 10.0]])
    mask = np.array([True, True, True])
    np.testing.assert_allclose(rule_contributions("benefit_proportional", cost, cash, mask).contribution,
                               [[0.0, 7.5, 2.5]])
    np.testing.assert_allclose(rule_contributions("break_even", cost, cash, mask).contribution,
                               [[0.0, 30.0, 10.0]])
    np.testing.assert_allclose(rule_contributions("agreed", cost, cash, mask,
                                                  np.array([0.5, 0.25, 0.25])).contribution,
                               [[5.0, 2.5, 2.5]])


# ------------------------------------------------------------------------------------------------
# The rule: validation and errors
# ------------------------------------------------------------------------------------------------


def test_toy_default_contributors_are_public_bodies_and_employers(toy_scenario):
    assert default_contributors(toy_scenario.sectors) == TOY_DEFAULT_CONTRIBUTORS
    for sector in toy_scenario.sectors.sectors:
        if sector.default_contributor:
            assert sector.public_body or sector.name == "employers"


def test_unknown_rule_suggests_the_closest():
    with pytest.raises(InputError, match="did you mean 'break_even'"):
        SharingRule("break_evn")


@FAST
@given(st.lists(st.floats(0.01, 1), min_size=1, max_size=len(TOY_DEFAULT_CONTRIBUTORS)),
       st.floats(2e-6, 0.5), st.sampled_from([-1.0, 1.0]))
def test_agreed_shares_that_do_not_sum_to_one_are_refused(raw, off, sign):
    shares = np.array(raw) / sum(raw) * (1 + sign * off)  # sums to 1 +- off
    named = dict(zip(TOY_DEFAULT_CONTRIBUTORS, shares.tolist(), strict=False))
    message = "sum to" if shares.max() <= 1 else "not between 0 and 1"
    with pytest.raises(InputError, match=message):
        SharingRule("agreed", shares=named)


@pytest.mark.parametrize("shares", [{"nhs": 0.6, "education": 0.3}, {"nhs": 0.7, "education": 0.7}])
def test_agreed_shares_not_summing_to_one(shares):
    with pytest.raises(InputError, match="not 1"):
        SharingRule("agreed", shares=shares)


def test_agreed_shares_within_tolerance_are_rescaled(toy_scenario):
    rule = SharingRule("agreed", shares={"nhs": 1 / 3, "education": 1 / 3, "employers": 0.3333333})
    names = toy_scenario.sectors.names
    _, shares = rule.resolve(names, default_contributors(toy_scenario.sectors))
    assert shares.sum() == pytest.approx(1, abs=1e-15)


@pytest.mark.parametrize("outsider", NEVER_BY_DEFAULT)
def test_agreed_share_for_a_non_contributor_is_refused(toy_scenario, outsider):
    rule = SharingRule("agreed", shares={"nhs": 0.5, outsider: 0.5})
    with pytest.raises(InputError, match=f"'{outsider}' has a share but is not a contributor"):
        rule.resolve(toy_scenario.sectors.names, default_contributors(toy_scenario.sectors))


def test_agreed_share_for_a_sector_outside_named_contributors_is_refused(toy_scenario):
    rule = SharingRule("agreed", contributors=("nhs",), shares={"nhs": 0.5, "education": 0.5})
    with pytest.raises(InputError, match="'education' has a share but is not a contributor"):
        rule.resolve(toy_scenario.sectors.names)


def test_misspelt_sector_in_shares_or_contributors_suggests_the_closest(toy_scenario):
    names = toy_scenario.sectors.names
    defaults = default_contributors(toy_scenario.sectors)
    with pytest.raises(InputError, match="'educaton' is not a sector.*did you mean 'education'"):
        SharingRule("agreed", shares={"nhs": 0.5, "educaton": 0.5}).resolve(names, defaults)
    with pytest.raises(InputError, match="did you mean 'employers'"):
        SharingRule("break_even", contributors=("nhs", "employer")).resolve(names, defaults)


@pytest.mark.parametrize("kwargs, message", [
    ({"rule": "agreed"}, "needs shares"),
    ({"rule": "break_even", "shares": {"nhs": 1.0}}, "shares are given"),
    ({"rule": "as_modelled", "contributors": ("nhs",)}, "takes no contributors"),
    ({"rule": "break_even", "contributors": ()}, "no contributors"),
    ({"rule": "break_even", "contributors": ("nhs", "nhs")}, "listed twice"),
    ({"rule": "agreed", "shares": {"nhs": 1.5, "education": -0.5}}, "not between 0 and 1"),
    ({"rule": "agreed", "shares": {"nhs": "half"}}, "not a number"),
])
def test_structural_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        SharingRule(**kwargs)


def test_parse_shares():
    assert parse_shares("nhs=0.5, local_authority = 30%,employers=0.2") == {
        "nhs": 0.5, "local_authority": 0.3, "employers": 0.2}
    for bad in ("nhs", "nhs=", "nhs=a", "nhs=0.5,nhs=0.5"):
        with pytest.raises(InputError):
            parse_shares(bad)


# ------------------------------------------------------------------------------------------------
# Runs of the toy scenario
# ------------------------------------------------------------------------------------------------


def toy_run(toy_scenario, draws, seed, perspective="societal"):
    scenario = toy_scenario.with_settings(draws=draws, seed=seed, chunk_size=max(1, draws // 3),
                                          perspective=perspective)
    return run(scenario)


def all_rules():
    return [SharingRule(name) if name != "agreed" else SharingRule(name, shares=TOY_AGREED)
            for name in RULES]


@RUNS
@given(small_draws, seeds, perspectives)
def test_run_identities_for_every_rule(toy_scenario, draws, seed, perspective):
    results = toy_run(toy_scenario, draws, seed, perspective)
    sectors = results.sectors
    defaults = np.isin(sectors, TOY_DEFAULT_CONTRIBUTORS)
    for rule in all_rules():
        sharing = cost_sharing(results, rule, sectors=toy_scenario.sectors)
        d = sharing.draws
        contribution, total = d["contribution"], d["total_cost"]
        assert contribution.shape == (draws, len(sectors))
        close(total, d["cost"].sum(axis=1))
        close(d["gap"], total - contribution.sum(axis=1), atol=scale_atol(total))
        close(d["net_rule"], d["cash"] - contribution)
        for outsider in NEVER_BY_DEFAULT:
            assert np.all(contribution[:, sectors.index(outsider)] == 0)
        if rule.rule == "break_even":
            np.testing.assert_array_equal(contribution, np.where(defaults, np.maximum(d["cash"], 0), 0))
            close(d["gap"], total - np.where(defaults, np.maximum(d["cash"], 0), 0).sum(axis=1),
                  atol=scale_atol(total))
            assert sharing.gap["mean"] == pytest.approx(float(np.mean(d["gap"])))
        else:
            close(contribution.sum(axis=1), total, atol=scale_atol(total))
        if rule.rule == "as_modelled":
            np.testing.assert_array_equal(contribution, d["cost"])
        if rule.rule == "benefit_proportional":
            positive = defaults & (d["cash"] > 0)
            assert sharing.fallback_draws == int((~positive.any(axis=1)).sum())
            ok = positive.any(axis=1) & (total > 0)
            returns = np.where(positive, d["cash"] / np.where(positive, contribution, 1), np.nan)
            common = np.where(positive, d["cash"], 0).sum(axis=1) / np.where(ok, total, 1)
            expected = np.broadcast_to(common[:, None], returns.shape)
            close(returns[ok][positive[ok]], expected[ok][positive[ok]])
        if rule.rule == "agreed":
            for name, value in TOY_AGREED.items():
                close(contribution[:, sectors.index(name)], value * total)


@RUNS
@given(small_draws, seeds, perspectives)
def test_table_agrees_with_results_by_sector(toy_scenario, draws, seed, perspective):
    results = toy_run(toy_scenario, draws, seed, perspective)
    by_sector = results.by_sector().loc[list(results.sectors)]
    for rule in all_rules():
        table = cost_sharing(results, rule, sectors=toy_scenario.sectors).table
        rows = table.drop(index=TOTAL)
        assert list(rows.index) == list(results.sectors)
        close(rows["cost_modelled"], by_sector["pv_costs_mean"])
        close(rows["benefit_cash"], by_sector["pv_benefits_cash_mean"])
        close(rows["benefit_non_cash"], by_sector["pv_benefits_social_mean"])
        close(rows["net_modelled_mean"], by_sector["npv_mean"], atol=scale_atol(by_sector["npv_mean"]))
        close(rows["p_net_modelled_gt_0"], by_sector["p_npv_gt_0"])
        close(rows["benefit_per_pound_modelled"],
              safe_ratio(by_sector["pv_benefits_mean"], by_sector["pv_costs_mean"]))
        money = ["cost_modelled", "benefit_cash", "benefit_non_cash", "contribution_mean",
                 "net_modelled_mean", "net_rule_mean", "net_rule_with_non_cash_mean"]
        close(table.loc[TOTAL, money].to_numpy(float), rows[money].sum().to_numpy(float), rtol=1e-9,
              atol=scale_atol(rows[money].to_numpy(float)))
        if rule.rule != "break_even":
            assert table.loc[TOTAL, "contribution_share"] == pytest.approx(1, rel=1e-12)
            assert table["funding_gap_mean"].isna().all()
        else:
            assert not np.isnan(table.loc[TOTAL, "funding_gap_mean"])
            assert table["funding_gap_mean"].drop(index=TOTAL).isna().all()
        for column, value in (("currency", "GBP"), ("price_year", "2023/24"), ("discounted", "yes"),
                              ("perspective", perspective), ("rule", rule.rule)):
            assert (table[column] == value).all()


@RUNS
@given(small_draws, seeds, perspectives)
def test_cumulative_net_by_sector_ends_at_the_mean_net_and_totals_match(toy_scenario, draws, seed,
                                                                       perspective):
    results = toy_run(toy_scenario, draws, seed, perspective)
    for entity in results.entities:
        cumulative = cumulative_net_by_sector(results, entity)
        assert cumulative.shape == (results.info.horizon, len(results.sectors) + 1)
        table = cost_sharing(results, "as_modelled", entity).table
        last = cumulative.iloc[-1]
        expected = table["net_modelled_mean"].drop(index=TOTAL)
        close(last[list(results.sectors)].to_numpy(), expected.to_numpy(), rtol=1e-9,
              atol=scale_atol(expected))
        mean_path = results.cube["discounted_mean"].sel(entity=entity).values  # (H, S, K)
        mean_path = np.cumsum((mean_path * results.weights * np.array([-1, 1, 1, 1])).sum(axis=(1, 2)))
        close(cumulative["all"].to_numpy(), mean_path, rtol=1e-9, atol=scale_atol(mean_path))
        assert cumulative.attrs["price_year"] == "2023/24" and cumulative.attrs["discounted"]


@pytest.fixture(scope="module")
def toy_results(toy_scenario):
    return toy_run(toy_scenario, 200, 11)


def test_payback_median_and_probability(toy_results, toy_scenario):
    table = cost_sharing(toy_results, "as_modelled", sectors=toy_scenario.sectors).table
    # Employers and individuals pay nothing: not applicable.
    for sector in ("employers", "individuals"):
        assert np.isnan(table.loc[sector, "payback_year_cash_median"])
        assert np.isnan(table.loc[sector, "p_payback_cash_within_horizon"])
    # The local authority pays and never gains: never pays back (censored, not dropped).
    assert table.loc["local_authority", "p_payback_cash_within_horizon"] == 0
    assert np.isinf(table.loc["local_authority", "payback_year_cash_median"])
    median = table.loc[TOTAL, "payback_year_cash_median"]
    assert np.isinf(median) or float(median).is_integer()


def test_benefit_proportional_with_a_contributor_that_never_gains_cash(toy_results):
    rule = SharingRule("benefit_proportional", contributors=("education",))
    sharing = cost_sharing(toy_results, rule)  # named contributors: no sector table needed
    assert sharing.fallback_draws == sharing.n_draws
    close(sharing.draws["contribution"][:, toy_results.sectors.index("education")],
          sharing.draws["total_cost"])
    assert sharing.contributors == ("education",)


def test_default_contributors_come_from_the_runs_sector_table(toy_results):
    assert "nhs" in toy_results.default_contributors  # a run keeps its sectors' flags
    contributors = cost_sharing(toy_results, "break_even").contributors
    assert "individuals" not in contributors and "nhs" in contributors


def test_a_sector_table_that_is_not_the_runs_is_refused(toy_results, toy_scenario):
    other = SectorTable(toy_scenario.sectors.sectors[::-1])
    with pytest.raises(ValueError, match="not the run's sectors"):
        cost_sharing(toy_results, "break_even", sectors=other)


def test_unknown_entity_suggests_the_closest(toy_results):
    with pytest.raises(InputError, match="did you mean 'toy_programme'"):
        cost_sharing(toy_results, "as_modelled", entity="toy_programm")
    with pytest.raises(InputError, match="did you mean 'portfolio'"):
        cumulative_net_by_sector(toy_results, "portfolo")


def test_as_modelled_contributors_are_the_sectors_bearing_cost(toy_results):
    sharing = cost_sharing(toy_results, "as_modelled")
    assert sharing.contributors == ("nhs", "local_authority")
    assert sharing.fallback_draws == 0


def test_format_cost_sharing_states_money_and_rule(toy_results, toy_scenario):
    for rule in all_rules():
        text = format_cost_sharing(cost_sharing(toy_results, rule, sectors=toy_scenario.sectors))
        assert f"rule '{rule.rule}'" in text
        assert "discounted, GBP 2023/24 prices" in text
        assert "\ntotal " in text
        assert "individuals" in text  # gains non-cash value, pays nothing
        if rule.rule == "break_even":
            assert "Funding gap" in text
        if rule.rule == "benefit_proportional":
            assert "no contributor gains cash" in text
        if rule.rule == "agreed":
            assert "Agreed shares: nhs 50%, local_authority 30%, employers 20%." in text


def test_table_is_a_dataframe_with_a_total_row(toy_results, toy_scenario):
    table = cost_sharing(toy_results, "benefit_proportional", sectors=toy_scenario.sectors).table
    assert isinstance(table, pd.DataFrame)
    assert table.index[-1] == TOTAL
    assert not table.loc["individuals", "contributor"]
    assert table.loc["nhs", "contributor"]


@pytest.mark.parametrize("text, hint", [("nhs=1_0", "no underscores"), ("nhs=0.5,local_authority=٠.5",
                                                                        "digits 0-9")])
def test_shares_are_read_by_the_strict_number_parser(text, hint):
    with pytest.raises(InputError) as exc:
        parse_shares(text)
    assert "is not a number" in exc.value.render() and hint in exc.value.render()

