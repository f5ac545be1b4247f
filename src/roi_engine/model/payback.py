"""Payback year per draw, from cumulative discounted net benefit by year."""

from __future__ import annotations

import numpy as np


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
