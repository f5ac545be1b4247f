"""Tests for roi_engine.inputs.distributions: build() and the helpers from published summaries.

Expected moments and quantiles are worked out by hand from each distribution's definition (PERT as a
scaled beta with alpha = 1 + 4 (mode - low) / (high - low), beta = 1 + 4 (high - mode) / (high - low);
triangular CDF at the mode = (mode - low) / (high - low); lognormal median = exp(mean of log)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from roi_engine.inputs.distributions import (
    DISTRIBUTIONS,
    Distribution,
    DistributionError,
    beta_from_interval,
    beta_from_mean_sd,
    build,
    gamma_from_interval,
    gamma_from_mean_sd,
    lognormal_from_interval,
    lognormal_from_mean_sd,
    normal_from_interval,
)

RTOL = 1e-9
Z975 = 1.959963984540054  # standard normal 97.5% quantile


def approx(value, rel=RTOL):
    return pytest.approx(value, rel=rel, abs=0)


# ------------------------------------------------------------------------------------------------
# build(): every distribution gives the right scipy object
# ------------------------------------------------------------------------------------------------


def test_distribution_names_and_arity():
    assert list(DISTRIBUTIONS) == [
        "fixed", "beta", "gamma", "lognormal", "normal", "truncnormal", "triangular", "pert", "uniform",
    ]
    arity = {name: len(meaning) for name, meaning in DISTRIBUTIONS.items()}
    assert arity == {
        "fixed": 0, "beta": 2, "gamma": 2, "lognormal": 2, "normal": 2, "truncnormal": 4,
        "triangular": 3, "pert": 3, "uniform": 2,
    }


def test_fixed_has_no_scipy_object_and_returns_the_point_value():
    d = build("fixed", ())
    assert isinstance(d, Distribution)
    assert d.name == "fixed"
    assert d.params == ()
    assert d.frozen is None
    assert d.support == (-math.inf, math.inf)
    u = np.array([[0.1, 0.5], [0.9, 0.999]])
    out = d.ppf(u, 42.5)
    assert out.shape == (2, 2)
    assert np.all(out == 42.5)
    np.testing.assert_array_equal(d.percentiles([0.025, 0.975], 7.0), [7.0, 7.0])


def test_beta():
    d = build("beta", (2, 5))
    assert d.params == (2.0, 5.0)
    # mean a / (a + b); variance ab / ((a + b)^2 (a + b + 1))
    assert d.frozen.mean() == approx(2 / 7)
    assert d.frozen.var() == approx(10 / (49 * 8))
    assert d.support == (0.0, 1.0)
    # beta(1, 1) is uniform on (0, 1): ppf is the identity
    flat = build("beta", (1, 1))
    np.testing.assert_allclose(flat.ppf(np.array([0.1, 0.25, 0.9]), 0.5), [0.1, 0.25, 0.9], rtol=RTOL)


def test_gamma_uses_shape_and_scale():
    d = build("gamma", (3, 2))
    assert d.frozen.mean() == approx(6.0)  # shape * scale
    assert d.frozen.var() == approx(12.0)  # shape * scale^2
    assert d.support == (0.0, math.inf)
    # gamma(1, scale) is exponential: ppf(u) = -scale log(1 - u)
    expo = build("gamma", (1, 4))
    assert expo.ppf(np.array(0.5), 0.0) == approx(4 * math.log(2))


def test_lognormal_median_is_exp_p1():
    d = build("lognormal", (math.log(2.0), 0.5))
    assert d.frozen.median() == approx(2.0)
    assert d.frozen.mean() == approx(math.exp(math.log(2.0) + 0.5**2 / 2))
    assert d.ppf(np.array(0.975), 0.0) == approx(2.0 * math.exp(0.5 * Z975))
    assert d.support == (0.0, math.inf)


def test_normal_uses_mean_and_sd():
    d = build("normal", (10, 2))
    assert d.frozen.mean() == approx(10.0)
    assert d.frozen.std() == approx(2.0)
    np.testing.assert_allclose(d.percentiles([0.025, 0.5, 0.975], 0.0),
                               [10 - 2 * Z975, 10.0, 10 + 2 * Z975], rtol=RTOL)


def test_truncnormal_is_truncated_at_low_and_high():
    # symmetric truncation keeps the mean
    sym = build("truncnormal", (0, 1, -1, 1))
    assert sym.support == (-1.0, 1.0)
    assert sym.frozen.mean() == pytest.approx(0.0, abs=1e-12)
    # half-normal (truncated at the mean, upper bound far away): mean = sd * sqrt(2 / pi)
    half = build("truncnormal", (5, 2, 5, 1000))
    assert half.frozen.mean() == approx(5 + 2 * math.sqrt(2 / math.pi))
    assert half.ppf(np.array(0.5), 0.0) == approx(5 + 2 * stats.norm.ppf(0.75))
    # bounds not centred on the mean: support is still low..high
    off = build("truncnormal", (0.3, 0.2, 0.0, 1.0))
    assert off.support == (0.0, 1.0)


def test_triangular_low_mode_high():
    d = build("triangular", (1, 2, 4))
    assert d.support == (1.0, 4.0)
    assert d.frozen.mean() == approx(7 / 3)  # (low + mode + high) / 3
    # CDF at the mode = (mode - low) / (high - low), so the mode is the 1/3 quantile
    assert d.ppf(np.array(1 / 3), 0.0) == approx(2.0)
    # the density peaks at the mode, 2 / (high - low)
    assert d.frozen.pdf(2.0) == approx(2 / 3)
    assert d.frozen.pdf(1.9) < d.frozen.pdf(2.0) > d.frozen.pdf(2.1)


def test_pert_mean_and_variance():
    d = build("pert", (0, 1, 4))
    assert d.support == (0.0, 4.0)
    assert d.frozen.mean() == approx((0 + 4 * 1 + 4) / 6)
    # scaled beta(2, 4) on width 4: var = 4^2 * 2 * 4 / (6^2 * 7)
    assert d.frozen.var() == approx(16 * 8 / (36 * 7))
    # symmetric PERT: median at the mode
    sym = build("pert", (10, 20, 30))
    assert sym.frozen.median() == approx(20.0)
    # mode at an end is allowed (alpha = 1)
    edge = build("pert", (0, 0, 1))
    assert edge.frozen.mean() == approx((0 + 0 + 1) / 6)


def test_uniform_low_high():
    d = build("uniform", (2, 5))
    assert d.support == (2.0, 5.0)
    assert d.frozen.mean() == approx(3.5)
    np.testing.assert_allclose(d.ppf(np.array([0.0, 0.25, 1.0]), 0.0), [2.0, 2.75, 5.0], rtol=RTOL)


def test_ppf_keeps_the_shape_of_u():
    u = np.full((3, 4, 2), 0.5)
    for name, params in [("beta", (2, 2)), ("normal", (0, 1)), ("fixed", ())]:
        assert build(name, params).ppf(u, 0.5).shape == (3, 4, 2)


# ------------------------------------------------------------------------------------------------
# build(): errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, params",
    [
        ("fixed", (1.0,)),
        ("beta", (2.0,)),
        ("beta", (2.0, 3.0, 4.0)),
        ("gamma", ()),
        ("lognormal", (0.0,)),
        ("normal", (0.0, 1.0, 2.0)),
        ("truncnormal", (0.0, 1.0, -1.0)),
        ("triangular", (0.0, 1.0)),
        ("pert", (0.0, 1.0, 2.0, 3.0)),
        ("uniform", (1.0,)),
    ],
)
def test_wrong_number_of_parameters(name, params):
    with pytest.raises(DistributionError, match=rf"'{name}' takes {len(DISTRIBUTIONS[name])} numbers"):
        build(name, params)


def test_unknown_distribution():
    with pytest.raises(DistributionError, match="unknown distribution 'lognormla'"):
        build("lognormla", (0.0, 1.0))


@pytest.mark.parametrize("name, params", [("normal", (0.0, math.nan)), ("uniform", (0.0, math.inf))])
def test_non_finite_parameters(name, params):
    with pytest.raises(DistributionError, match="finite"):
        build(name, params)


@pytest.mark.parametrize(
    "name, params",
    [
        ("normal", (0.0, 0.0)),
        ("normal", (0.0, -1.0)),
        ("lognormal", (0.0, 0.0)),
        ("lognormal", (0.0, -0.2)),
        ("truncnormal", (0.0, 0.0, -1.0, 1.0)),
        ("truncnormal", (0.0, -2.0, -1.0, 1.0)),
    ],
)
def test_sd_must_be_positive(name, params):
    with pytest.raises(DistributionError, match="SD.* must be positive"):
        build(name, params)


@pytest.mark.parametrize(
    "name, params",
    [
        ("uniform", (5.0, 1.0)),
        ("uniform", (3.0, 3.0)),
        ("truncnormal", (0.0, 1.0, 2.0, -2.0)),
        ("truncnormal", (0.0, 1.0, 1.0, 1.0)),
        ("triangular", (4.0, 2.0, 1.0)),
        ("triangular", (2.0, 2.0, 2.0)),
        ("pert", (10.0, 5.0, 1.0)),
    ],
)
def test_low_must_be_below_high(name, params):
    with pytest.raises(DistributionError, match=r"low \(.*\) must be below high"):
        build(name, params)


@pytest.mark.parametrize(
    "name, params",
    [
        ("triangular", (0.0, 5.0, 4.0)),
        ("triangular", (0.0, -1.0, 4.0)),
        ("pert", (1.0, 0.5, 2.0)),
        ("pert", (1.0, 2.5, 2.0)),
    ],
)
def test_mode_must_lie_between_low_and_high(name, params):
    with pytest.raises(DistributionError, match=r"mode \(.*\) must lie between low"):
        build(name, params)


@pytest.mark.parametrize(
    "name, params, label",
    [
        ("beta", (0.0, 2.0), "alpha"),
        ("beta", (-1.0, 2.0), "alpha"),
        ("beta", (2.0, 0.0), "beta"),
        ("beta", (2.0, -3.0), "beta"),
        ("gamma", (0.0, 1.0), "shape"),
        ("gamma", (-2.0, 1.0), "shape"),
        ("gamma", (2.0, 0.0), "scale"),
        ("gamma", (2.0, -1.0), "scale"),
    ],
)
def test_beta_and_gamma_parameters_must_be_positive(name, params, label):
    with pytest.raises(DistributionError, match=rf"{label} \(p\d\) must be positive"):
        build(name, params)


def test_distribution_error_is_a_value_error():
    assert issubclass(DistributionError, ValueError)


# ------------------------------------------------------------------------------------------------
# Helpers from published summaries
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mean, sd", [(0.3, 0.1), (0.02, 0.01), (0.95, 0.03), (0.5, 0.4)])
def test_beta_from_mean_sd_round_trip(mean, sd):
    alpha, beta = beta_from_mean_sd(mean, sd)
    d = stats.beta(alpha, beta)
    assert d.mean() == approx(mean)
    assert d.std() == approx(sd)
    # and through build()
    assert build("beta", (alpha, beta)).frozen.std() == approx(sd)


@pytest.mark.parametrize("mean, sd", [(500.0, 100.0), (2.0, 5.0), (0.01, 0.001)])
def test_gamma_from_mean_sd_round_trip(mean, sd):
    shape, scale = gamma_from_mean_sd(mean, sd)
    d = build("gamma", (shape, scale)).frozen
    assert d.mean() == approx(mean)
    assert d.std() == approx(sd)


@pytest.mark.parametrize("mean, sd", [(10.0, 3.0), (0.8, 0.2), (1000.0, 5000.0)])
def test_lognormal_from_mean_sd_round_trip(mean, sd):
    meanlog, sdlog = lognormal_from_mean_sd(mean, sd)
    d = build("lognormal", (meanlog, sdlog)).frozen
    assert d.mean() == approx(mean)
    assert d.std() == approx(sd)


def test_lognormal_from_interval_for_an_odds_ratio():
    # OR 0.76 (95% CI 0.55 to 1.06)
    p1, p2 = lognormal_from_interval(0.55, 1.06)
    assert math.exp(p1) == approx(math.sqrt(0.55 * 1.06))
    assert math.exp(p1) == pytest.approx(0.76, abs=0.005)
    assert p2 == approx((math.log(1.06) - math.log(0.55)) / (2 * Z975))
    d = build("lognormal", (p1, p2))
    np.testing.assert_allclose(d.percentiles([0.025, 0.975], 0.76), [0.55, 1.06], rtol=RTOL)


def test_lognormal_from_interval_other_level():
    p1, p2 = lognormal_from_interval(2.0, 8.0, level=0.9)
    d = build("lognormal", (p1, p2))
    np.testing.assert_allclose(d.percentiles([0.05, 0.5, 0.95], 4.0), [2.0, 4.0, 8.0], rtol=RTOL)


def test_normal_from_interval():
    mean, sd = normal_from_interval(10.0, 30.0)
    assert mean == approx(20.0)
    assert sd == approx(20.0 / (2 * Z975))


def test_beta_from_interval_round_trip_of_mean():
    alpha, beta = beta_from_interval(0.2, 0.4)
    d = stats.beta(alpha, beta)
    assert d.mean() == approx(0.3)
    assert d.std() == approx(0.2 / (2 * Z975))


def test_gamma_from_interval_round_trip_of_mean():
    shape, scale = gamma_from_interval(100.0, 300.0)
    d = stats.gamma(shape, scale=scale)
    assert d.mean() == approx(200.0)
    assert d.std() == approx(200.0 / (2 * Z975))


@pytest.mark.parametrize(
    "helper, args, pattern",
    [
        (beta_from_mean_sd, (0.0, 0.1), r"beta mean must lie in \(0, 1\)"),
        (beta_from_mean_sd, (1.0, 0.1), r"beta mean must lie in \(0, 1\)"),
        (beta_from_mean_sd, (0.5, 0.0), "SD must be positive"),
        (beta_from_mean_sd, (0.5, 0.5), "too large for a beta"),
        (gamma_from_mean_sd, (0.0, 1.0), "gamma mean must be positive"),
        (gamma_from_mean_sd, (1.0, -1.0), "SD must be positive"),
        (lognormal_from_mean_sd, (-1.0, 1.0), "lognormal mean must be positive"),
        (lognormal_from_mean_sd, (1.0, 0.0), "SD must be positive"),
        (lognormal_from_interval, (0.0, 1.0), "interval low must be positive"),
        (lognormal_from_interval, (1.2, 0.8), "must be below high"),
        (normal_from_interval, (3.0, 3.0), "must be below high"),
        (beta_from_interval, (0.6, 1.8), r"beta mean must lie in \(0, 1\)"),
        (gamma_from_interval, (-10.0, 5.0), "gamma mean must be positive"),
    ],
)
def test_helper_errors(helper, args, pattern):
    with pytest.raises(DistributionError, match=pattern):
        helper(*args)


@settings(max_examples=300, deadline=None)
@given(
    mean=st.floats(min_value=0.001, max_value=0.999),
    fraction=st.floats(min_value=0.01, max_value=0.99),
)
def test_beta_from_mean_sd_property(mean, fraction):
    """For any mean in (0, 1) and SD below sqrt(mean (1 - mean)), the beta has that mean and SD."""
    sd = fraction * math.sqrt(mean * (1 - mean))
    alpha, beta = beta_from_mean_sd(mean, sd)
    assert alpha > 0 and beta > 0
    d = stats.beta(alpha, beta)
    assert d.mean() == approx(mean)
    assert d.std() == approx(sd)
