"""The fast quantile over draws equals NumPy's nanquantile bit for bit, NaN and inf included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from roi_engine.results.metrics import nan_quantiles

values = st.one_of(st.floats(-1e9, 1e9), st.just(np.nan), st.just(np.inf))


@settings(max_examples=200, deadline=None)
@given(x=arrays(float, st.tuples(st.integers(1, 40), st.integers(1, 4), st.integers(1, 3)),
                elements=values),
       q=st.sampled_from([0.05, 0.5, 0.95, 0.0, 1.0, [0.05, 0.5, 0.95]]),
       method=st.sampled_from(["linear", "inverted_cdf"]))
def test_nan_quantiles_equals_numpy(x, q, method):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(x, q, axis=0, method=method)
        got = nan_quantiles(x, q, method=method)
    np.testing.assert_array_equal(got, expected)


def test_nan_quantiles_all_nan_column_is_nan():
    x = np.array([[np.nan, 1.0], [np.nan, 3.0]])
    out = nan_quantiles(x, 0.5)
    assert np.isnan(out[0]) and out[1] == 2.0
