"""Tests for roi_engine.model.sampling: designs, seeding, inverse-CDF mapping and Iman-Conover correlation.

Spearman tolerance for n draws and target rho: 3 (1 - rho^2) / sqrt(n - 1) + 0.01, i.e. about three
standard errors of a sample Spearman coefficient plus a small allowance for the rank-to-normal-score
conversion.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from roi_engine.errors import InputError
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model
from roi_engine.model.sampling import (
    SAMPLING_METHODS,
    RankCorrelation,
    chunk_rng,
    correlate,
    correlation_matrix,
    iman_conover,
    to_values,
    uniform_design,
)

TOY = Path(__file__).parent / "data" / "toy"


def tolerance(target: float, n: int) -> float:
    return 3 * (1 - target**2) / math.sqrt(n - 1) + 0.01


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b).statistic)


# ------------------------------------------------------------------------------------------------
# Uniform designs
# ------------------------------------------------------------------------------------------------


def test_sampling_methods():
    assert SAMPLING_METHODS == ("lhs", "mc")


@pytest.mark.parametrize("method", SAMPLING_METHODS)
@pytest.mark.parametrize("n_draws, n_params", [(1, 1), (7, 3), (1000, 5)])
def test_uniform_design_shape_and_range(method, n_draws, n_params):
    u = uniform_design(n_draws, n_params, method, chunk_rng(11, 0))
    assert u.shape == (n_draws, n_params)
    assert u.dtype == np.float64
    assert np.all(u > 0.0)
    assert np.all(u < 1.0)


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_uniform_design_without_parameters(method):
    u = uniform_design(5, 0, method, chunk_rng(1, 0))
    assert u.shape == (5, 0)


def test_unknown_sampling_method():
    with pytest.raises(InputError) as info:
        uniform_design(10, 2, "sobol", chunk_rng(1, 0))
    assert "unknown sampling method 'sobol'" in str(info.value)
    assert "['lhs', 'mc']" in str(info.value)


class ZeroRandom:
    """A generator stub whose uniform numbers are all exactly 0.0, the low end of [0, 1)."""

    def random(self, size=None):
        return np.zeros(size)


def test_mc_design_stays_inside_the_open_interval_at_the_generator_boundary():
    # Generator.random() returns numbers in [0, 1); 0.0 must not become a design point of 0 or 1,
    # where an unbounded distribution's ppf is infinite.
    u = uniform_design(4, 2, "mc", ZeroRandom())
    assert u.shape == (4, 2)
    assert np.all((u > 0.0) & (u < 1.0))


@pytest.mark.parametrize("n", [1, 10, 997])
def test_lhs_is_stratified(n):
    u = uniform_design(n, 4, "lhs", chunk_rng(3, 2))
    for j in range(u.shape[1]):
        bins = np.floor(u[:, j] * n).astype(int)
        np.testing.assert_array_equal(np.sort(bins), np.arange(n))


def test_mc_is_not_stratified():
    # A plain Monte Carlo sample of 1000 points almost surely leaves some of 1000 bins empty
    # (expected number of empty bins about 1000 / e).
    n = 1000
    u = uniform_design(n, 2, "mc", chunk_rng(3, 2))
    bins = np.floor(u[:, 0] * n).astype(int)
    assert len(np.unique(bins)) < n - 100


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_uniform_design_is_roughly_uniform(method):
    u = uniform_design(20_000, 2, method, chunk_rng(5, 0))
    assert u.mean(axis=0) == pytest.approx([0.5, 0.5], abs=0.01)
    assert stats.kstest(u[:, 1], "uniform").pvalue > 1e-4


# ------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------


def test_chunk_rng_same_seed_and_chunk_same_numbers():
    a = chunk_rng(20261123, 4).random(50)
    b = chunk_rng(20261123, 4).random(50)
    np.testing.assert_array_equal(a, b)


def test_chunk_rng_different_chunk_different_numbers():
    a = chunk_rng(20261123, 0).random(50)
    b = chunk_rng(20261123, 1).random(50)
    assert not np.any(a == b)


def test_chunk_rng_different_seed_different_numbers():
    assert not np.any(chunk_rng(1, 0).random(50) == chunk_rng(2, 0).random(50))


def test_chunk_rng_seed_zero_is_a_real_seed():
    a = chunk_rng(0, 0).random(20)
    np.testing.assert_array_equal(a, chunk_rng(0, 0).random(20))
    assert not np.any(a == chunk_rng(1, 0).random(20))
    assert not np.any(a == chunk_rng(0, 1).random(20))
    assert np.all((a >= 0) & (a < 1))


@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_designs_are_reproducible(method):
    a = uniform_design(100, 3, method, chunk_rng(9, 2))
    b = uniform_design(100, 3, method, chunk_rng(9, 2))
    c = uniform_design(100, 3, method, chunk_rng(9, 3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------------------------------------------------------------
# Inverse-CDF mapping
# ------------------------------------------------------------------------------------------------


def test_to_values_maps_through_each_ppf():
    registry = ParameterRegistry.from_dir(TOY / "parameters")
    params = [registry[n] for n in registry]
    u = uniform_design(500, len(params), "lhs", chunk_rng(17, 0))
    x = to_values(u, params)
    assert x.shape == u.shape
    for j, p in enumerate(params):
        if p.distribution.frozen is None:
            assert np.all(x[:, j] == p.value)
        else:
            # beta and PERT go through the fast inverse (u-space error < 1e-8, tests/test_fast_ppf.py)
            np.testing.assert_allclose(p.distribution.frozen.cdf(x[:, j]), u[:, j], atol=1e-8)


def test_to_values_hand_values():
    registry = ParameterRegistry.from_dir(TOY / "parameters")
    params = [registry["toy_rr"], registry["value_of_qaly"], registry["toy_cost_per_day"],
              registry["toy_absence_days"]]
    u = np.array([[0.5, 0.5, 0.5, 1 / 3], [0.975, 0.01, 0.025, 0.999]])
    x = to_values(u, params)
    # lognormal median exp(p1) = 0.8; fixed = point value; normal(150, 20); triangular(1, 2, 4) mode
    assert x[0, 0] == pytest.approx(0.8, rel=1e-12)
    assert x[1, 0] == pytest.approx(0.8 * math.exp(0.1 * 1.959963984540054), rel=1e-12)
    assert x[0, 1] == x[1, 1] == 70000.0
    assert x[0, 2] == pytest.approx(150.0, rel=1e-12)
    assert x[1, 2] == pytest.approx(150.0 - 20 * 1.959963984540054, rel=1e-12)
    assert x[0, 3] == pytest.approx(2.0, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# Iman-Conover
# ------------------------------------------------------------------------------------------------

TARGET = np.array([
    [1.0, 0.5, -0.3],
    [0.5, 1.0, 0.0],
    [-0.3, 0.0, 1.0],
])


@pytest.mark.parametrize("seed", [0, 1, 20261123])
@pytest.mark.parametrize("method", SAMPLING_METHODS)
def test_iman_conover_keeps_every_column_and_hits_the_target(seed, method):
    n = 5000
    rng = chunk_rng(seed, 0)
    u = uniform_design(n, 3, method, rng)
    out = iman_conover(u, TARGET, rng)
    assert out.shape == u.shape
    # each column is a permutation of the same column of u
    np.testing.assert_array_equal(np.sort(out, axis=0), np.sort(u, axis=0))
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        target = TARGET[i, j]
        achieved = spearman(out[:, i], out[:, j])
        assert abs(achieved - target) < tolerance(target, n), (i, j, achieved)


def test_iman_conover_works_on_any_values():
    # Values need not be uniform; only their order changes.
    rng = chunk_rng(4, 0)
    n = 5000
    x = np.column_stack([rng.lognormal(size=n), rng.integers(0, 1_000_000, size=n).astype(float)])
    out = iman_conover(x, np.array([[1.0, -0.7], [-0.7, 1.0]]), rng)
    np.testing.assert_array_equal(np.sort(out, axis=0), np.sort(x, axis=0))
    assert abs(spearman(out[:, 0], out[:, 1]) + 0.7) < tolerance(-0.7, n)


def test_iman_conover_identity_target_leaves_columns_uncorrelated():
    n = 5000
    rng = chunk_rng(8, 0)
    u = uniform_design(n, 2, "lhs", rng)
    out = iman_conover(u, np.eye(2), rng)
    assert abs(spearman(out[:, 0], out[:, 1])) < tolerance(0.0, n)


def test_iman_conover_rejects_a_target_that_is_not_positive_definite():
    bad = np.array([
        [1.0, 0.9, -0.9],
        [0.9, 1.0, 0.9],
        [-0.9, 0.9, 1.0],
    ])
    u = uniform_design(100, 3, "lhs", chunk_rng(1, 0))
    with pytest.raises(InputError) as info:
        iman_conover(u, bad, chunk_rng(1, 0))
    assert "not a valid correlation matrix" in str(info.value)
    assert "positive definite" in str(info.value)


def test_correlation_matrix():
    names = ["a", "b", "c"]
    m = correlation_matrix(names, [RankCorrelation("c", "a", 0.4)])
    np.testing.assert_array_equal(m, [[1, 0, 0.4], [0, 1, 0], [0.4, 0, 1]])


def test_correlate_touches_only_the_named_columns():
    n = 4000
    rng = chunk_rng(2, 0)
    u = uniform_design(n, 4, "lhs", rng)
    out = correlate(u, ["a", "b", "c", "d"], [RankCorrelation("d", "b", 0.6)], rng)
    np.testing.assert_array_equal(out[:, [0, 2]], u[:, [0, 2]])
    np.testing.assert_array_equal(np.sort(out, axis=0), np.sort(u, axis=0))
    assert abs(spearman(out[:, 1], out[:, 3]) - 0.6) < tolerance(0.6, n)
    # no targets: the same array back
    assert correlate(u, ["a", "b", "c", "d"], [], rng) is u


# ------------------------------------------------------------------------------------------------
# Correlations through a scenario
# ------------------------------------------------------------------------------------------------


def scenario_copy(tmp_path: Path, extra: str = "", draws: int = 4000, sampling: str = "lhs") -> Path:
    """A copy of the toy library whose scenario has ``draws`` and ``extra`` TOML appended."""
    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    scenario = root / "scenarios" / "toy.toml"
    text = scenario.read_text(encoding="utf-8")
    assert "draws = 2000" in text
    text = text.replace("draws = 2000", f'draws = {draws}\nsampling = "{sampling}"')
    scenario.write_text(text + extra, encoding="utf-8")
    return scenario


CORRELATION = """
[[correlations]]
between = ["toy_cost", "toy_value_nhs"]
spearman = 0.6
"""


@pytest.mark.parametrize("sampling", SAMPLING_METHODS)
def test_scenario_correlation_is_induced(tmp_path, sampling):
    n = 4000
    scenario = load_scenario(scenario_copy(tmp_path, CORRELATION, sampling=sampling))
    assert scenario.correlations == (RankCorrelation("toy_cost", "toy_value_nhs", 0.6),)
    model = Model(scenario)
    x = model.sample(n)
    assert x.shape == (n, len(model.names))
    i, j = model.names.index("toy_cost"), model.names.index("toy_value_nhs")
    assert abs(spearman(x[:, i], x[:, j]) - 0.6) < tolerance(0.6, n)
    # a pair with no target stays uncorrelated
    k = model.names.index("toy_reach")
    assert abs(spearman(x[:, i], x[:, k])) < tolerance(0.0, n)


def test_scenario_correlation_keeps_the_marginal_draws(tmp_path):
    n = 4000
    plain = Model(load_scenario(scenario_copy(tmp_path / "plain")))
    correlated = Model(load_scenario(scenario_copy(tmp_path / "correlated", CORRELATION)))
    assert plain.names == correlated.names
    a, b = plain.sample(n), correlated.sample(n)
    np.testing.assert_array_equal(np.sort(a, axis=0), np.sort(b, axis=0))
    i = plain.names.index("toy_cost")
    assert abs(spearman(a[:, i], a[:, plain.names.index("toy_value_nhs")])) < tolerance(0.0, n)


def test_scenario_samples_are_reproducible(tmp_path):
    model = Model(load_scenario(scenario_copy(tmp_path, CORRELATION)))
    np.testing.assert_array_equal(model.sample(300, block_index=2), model.sample(300, block_index=2))
    assert not np.array_equal(model.sample(300, block_index=2), model.sample(300, block_index=3))


@pytest.mark.parametrize(
    "between, spearman_value, where, wording",
    [
        ('["toy_cost", "toy_value_nsh"]', 0.6, "correlations[0].between",
         ["unknown parameter 'toy_value_nsh'", "did you mean 'toy_value_nhs'?"]),
        ('["value_of_qaly", "toy_cost"]', 0.6, "correlations[0].between",
         ["'value_of_qaly' is fixed, so it cannot be correlated"]),
        ('["toy_cost", "toy_cost"]', 0.6, "correlations[0].between",
         ["a parameter cannot be correlated with itself"]),
        ('["toy_cost", "toy_value_nhs"]', 1.0, "correlations[0].spearman", ["less than 1"]),
        ('["toy_cost"]', 0.5, "correlations[0].between", []),
    ],
)
def test_bad_scenario_correlation(tmp_path, between, spearman_value, where, wording):
    extra = f"\n[[correlations]]\nbetween = {between}\nspearman = {spearman_value}\n"
    path = scenario_copy(tmp_path, extra)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    text = str(info.value)
    assert info.value.file == str(path)
    assert text.startswith(f"{path}: {where}")
    for piece in wording:
        assert piece in text


def test_second_correlation_is_located_by_its_index(tmp_path):
    extra = CORRELATION + '\n[[correlations]]\nbetween = ["toy_reach", "toy_rx"]\nspearman = -0.2\n'
    path = scenario_copy(tmp_path, extra)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: correlations[1].between: unknown parameter 'toy_rx'")
