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

from .engine import KIND_INDEX, KINDS
from .errors import InputError
from .money import VALUE_TYPE_RATE_KIND, DiscountScheme

PERSPECTIVES: dict[str, tuple[str, ...]] = {
    "public_sector": ("fiscal",),
    "economic": ("fiscal", "economic"),
    "societal": ("fiscal", "economic", "social"),
}
"""Which benefit value types each perspective counts. Costs: every payer under ``economic`` and
``societal``; public bodies only under ``public_sector``."""

QUANTILES = {"p05": 0.05, "median": 0.5, "p95": 0.95}


def kind_discount_factors(scheme: DiscountScheme, n_years: int) -> np.ndarray:
    """Discount factors for each kind of flow.

    Returns
    -------
    ndarray, shape (n_years, 4)
        Column ``k`` discounts kind ``KINDS[k]``: costs, fiscal and economic at the scheme's standard
        rate, social (health and wellbeing) values at its health rate (Green Book). [unitless]
    """
    return np.stack([scheme.factors(VALUE_TYPE_RATE_KIND[k], n_years) for k in KINDS], axis=1)


def perspective_weights(perspective: str, public_body: np.ndarray) -> np.ndarray:
    """0/1 weights saying which (sector, kind) cells a perspective counts.

    Parameters
    ----------
    perspective : {'public_sector', 'economic', 'societal'}
    public_body : ndarray of bool, shape (n_sectors,)

    Returns
    -------
    ndarray, shape (n_sectors, 4)
    """
    if perspective not in PERSPECTIVES:
        raise InputError(f"unknown perspective '{perspective}'", hint=f"one of {list(PERSPECTIVES)}")
    weights = np.zeros((len(public_body), len(KINDS)))
    weights[:, KIND_INDEX["cost"]] = public_body if perspective == "public_sector" else 1.0
    for kind in PERSPECTIVES[perspective]:
        weights[:, KIND_INDEX[kind]] = 1.0
    return weights


def cost_and_benefit(flows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``flows[..., sector, kind]`` into counted costs and counted benefits per sector.

    Returns
    -------
    cost, benefit : ndarray, shape (..., n_sectors)
    """
    counted = flows * weights
    cost = counted[..., KIND_INDEX["cost"]]
    benefit = counted[..., KIND_INDEX["cost"] + 1:].sum(axis=-1)
    return cost, benefit


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is 0 (no investment: undefined)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float),
                                                 np.asarray(denominator, float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def payback_year(cumulative_net: np.ndarray, invested: np.ndarray) -> np.ndarray:
    """First year whose cumulative discounted net is >= 0.

    Parameters
    ----------
    cumulative_net : ndarray, shape (..., n_years)
        Cumulative discounted net benefit, year on the last axis. [GBP]
    invested : ndarray of bool, shape (...)
        Whether anything was paid; payback is NaN (not applicable) where not.

    Returns
    -------
    ndarray, shape (...)
        Year index (0 = first year), NaN if never within the horizon or not applicable. [years]
    """
    reached = np.asarray(cumulative_net) >= 0
    never = ~reached.any(axis=-1) | ~np.asarray(invested, dtype=bool)
    return np.where(never, np.nan, reached.argmax(axis=-1).astype(float))


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
