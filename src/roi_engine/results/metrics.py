"""Headline metrics from cash flows: present values, NPV, benefit per £1, net ROI, payback, probabilities.

All functions are pure NumPy and broadcast over leading axes; year is the axis named in each docstring.

Definitions (DESIGN.md section 3):
- present value of costs ``C`` and of benefits ``B``: discounted sums over the horizon, counting only
  what the perspective counts (:data:`PERSPECTIVES`);
- NPV ``B - C``; benefit per £1 invested (benefit-cost ratio) ``B / C``; net ROI ``(B - C) / C``.
  Both ratios are NaN where nothing is invested (``C = 0``): they are undefined, not infinite;
- payback year: the first year whose cumulative discounted net benefit is >= 0; NaN when that never
  happens within the horizon, or where nothing is invested.
"""

from __future__ import annotations

import numpy as np

QUANTILES = {"p05": 0.05, "median": 0.5, "p95": 0.95}


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is 0 (no investment: undefined)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float),
                                                 np.asarray(denominator, float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def summarise(x: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    """Mean, median, 5th and 95th percentiles over draws (``axis``), ignoring NaN.

    Removes ``axis``; each statistic has the shape of the remaining axes. All-NaN cells give NaN.
    """
    x = np.asarray(x, dtype=float)
    out = {}
    with np.errstate(invalid="ignore"), _quiet_nan_warnings():
        out["mean"] = np.nanmean(x, axis=axis)
        for label, q in QUANTILES.items():
            out[label] = np.nanquantile(x, q, axis=axis)
    return out


def probability(condition: np.ndarray, valid: np.ndarray | None = None, axis: int = 0) -> np.ndarray:
    """Share of draws (``axis``) where ``condition`` holds, among ``valid`` draws (default: all)."""
    if valid is None:
        return np.mean(condition, axis=axis)
    count = np.sum(valid, axis=axis)
    return safe_ratio(np.sum(condition & valid, axis=axis), count)


class _quiet_nan_warnings:
    """Silence 'Mean of empty slice' / 'All-NaN slice' warnings: NaN is the documented answer."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catcher.__exit__(*exc)
