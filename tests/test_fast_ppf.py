"""The fast beta / PERT inverse CDF: error in u-space below 1e-8, tails included, for shapes from 0.5
to thousands (the large shapes are those of proportions from large samples in the shipped tables)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from roi_engine.inputs.distributions import BETA_PPF_MAX_U_ERROR, beta_ppf, build

U = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 20_001), np.logspace(-12, -1, 200),
                    1 - np.logspace(-12, -1, 200)])


@pytest.mark.parametrize("a, b", [(1, 1), (1, 5), (5, 1), (1.2, 4.8), (4.6, 1.4), (2.3, 5.1), (3, 3),
                                  (30, 40), (50, 1), (0.5, 0.5), (0.8, 3), (120, 2),
                                  (141.1, 9.81), (463.7, 240.0), (74.5, 2763.9), (1.01, 50), (5000, 5000)])
def test_u_space_error_is_below_1e_8(a, b):
    x = beta_ppf(U, a, b)
    assert np.all((x >= 0) & (x <= 1))
    assert np.max(np.abs(special.betainc(a, b, x) - U)) < 1e-8


@settings(max_examples=60, deadline=None)
@given(low=st.floats(-1e4, 1e4), width=st.floats(1e-3, 1e4), where=st.floats(0, 1))
def test_pert_matches_its_cdf(low, width, where):
    high = low + width
    mode = low + where * width
    d = build("pert", (low, mode, high))
    x = d.ppf(U, mode)
    assert np.max(np.abs(d.frozen.cdf(x) - U)) < 1e-8


def test_stated_error_bound_is_what_the_tests_hold():
    assert BETA_PPF_MAX_U_ERROR <= 1e-8


def test_agrees_with_scipy_to_the_stated_accuracy():
    a, b = 2.3, 5.1
    u = np.random.default_rng(1).random(5000)
    np.testing.assert_allclose(beta_ppf(u, a, b), special.betaincinv(a, b, u), atol=1e-7)
