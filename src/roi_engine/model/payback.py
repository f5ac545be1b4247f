"""Payback year per draw, from cumulative discounted net benefit by year.

Definition (one, used everywhere): the payback year is the first year from which the cumulative
discounted net benefit stays at or above zero through the end of the horizon, not counting leading
years in which nothing has yet been spent or gained. A position that ends the horizon below zero has
*not* paid back ("never within the horizon": censored, encoded as ``inf`` so that it orders after the
last year); a position that pays nothing has no payback (NaN, not applicable).
"""

from __future__ import annotations

import numpy as np

NEVER = np.inf
"""Payback code for "not within the horizon" (censored: orders after the last year)."""
TOLERANCE = 1e-6
"""Cumulative net above -£0.000001 counts as >= 0 (floating-point noise in sums of flows). [GBP]"""


def payback_year(cumulative_net: np.ndarray, net: np.ndarray, invested: np.ndarray) -> np.ndarray:
    """First year from which cumulative discounted net benefit stays >= 0 to the horizon.

    Parameters
    ----------
    cumulative_net : ndarray, shape (..., n_years)
        Cumulative discounted net benefit, year on the last axis. [GBP]
    net : ndarray, shape (..., n_years)
        The yearly discounted net benefit it accumulates; leading years where it is exactly 0 (nothing
        spent or gained yet) cannot be the payback year. [GBP]
    invested : ndarray of bool, shape (...)
        Whether anything was paid; payback is NaN (not applicable) where not.

    Returns
    -------
    ndarray, shape (...)
        Year index (0 = first year of delivery); :data:`NEVER` (``inf``) when the position is below
        zero at the end of the horizon; NaN where nothing was invested. [years]
    """
    below = np.asarray(cumulative_net) < -TOLERANCE
    n_years = below.shape[-1]
    any_below = below.any(axis=-1)
    # the year after the last year below zero: from there on the position stays >= 0
    after_last_below = np.where(any_below, n_years - np.argmax(below[..., ::-1], axis=-1), 0)
    moved = np.asarray(net) != 0
    first_flow = np.where(moved.any(axis=-1), np.argmax(moved, axis=-1), n_years)
    year = np.maximum(after_last_below, first_flow).astype(float)
    year = np.where(year >= n_years, NEVER, year)
    return np.where(np.asarray(invested, dtype=bool), year, np.nan)
