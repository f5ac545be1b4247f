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


def nan_quantiles(x: np.ndarray, q, method: str = "linear") -> np.ndarray:
    """Quantiles ``q`` over axis 0 ignoring NaN, equal to ``np.nanquantile(x, q, axis=0, method=method)``.

    Columns without NaN (nearly all of them: a NaN draw is an undefined ratio or a sector that pays
    nothing) go through one :func:`numpy.quantile` call for all of ``q`` at once, which is several
    times faster than ``nanquantile``'s column-by-column path; only the columns that hold some NaN
    take that path. All-NaN columns give NaN.

    Parameters
    ----------
    x : ndarray, shape (draw, ...)
    q : float or sequence of floats in [0, 1]
    method : str
        As :func:`numpy.quantile` (``"linear"``; ``"inverted_cdf"`` for censored payback years).

    Returns
    -------
    ndarray, shape ``np.shape(q) + x.shape[1:]``
    """
    x = np.asarray(x, dtype=float)
    q = np.asarray(q, dtype=float)
    flat = x.reshape(x.shape[0], -1)
    nan = np.isnan(flat)
    some, every = nan.any(axis=0), nan.all(axis=0)
    out = np.full((q.size, flat.shape[1]), np.nan)
    clean = ~some
    columns = flat.T  # (column, draw): one contiguous run per column when stored by column
    if flat.shape[0] and clean.any():
        out[:, clean] = np.quantile(columns[clean], q.ravel(), axis=1, method=method)
    mixed = some & ~every
    if mixed.any():
        out[:, mixed] = np.nanquantile(columns[mixed], q.ravel(), axis=1, method=method)
    return out.reshape(q.shape + x.shape[1:])


def summarise_quantiles(x: np.ndarray, method: str = "linear") -> dict[str, np.ndarray]:
    """:data:`QUANTILES` of ``x`` over axis 0 ignoring NaN: ``{"p05": ..., "median": ..., "p95": ...}``."""
    values = nan_quantiles(x, list(QUANTILES.values()), method=method)
    return dict(zip(QUANTILES, values, strict=True))


def summarise(x: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    """Mean, median, 5th and 95th percentiles over draws (``axis``), ignoring NaN.

    Removes ``axis``; each statistic has the shape of the remaining axes. All-NaN cells give NaN.
    """
    x = np.asarray(x, dtype=float)
    out = {}
    with np.errstate(invalid="ignore"), _quiet_nan_warnings():
        out["mean"] = np.nanmean(x, axis=axis)
        out.update(summarise_quantiles(np.moveaxis(x, axis, 0)))
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
