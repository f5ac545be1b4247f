"""What a figure counts: the kinds of flow, the perspectives, and the discount factor of each kind.

- ``kind``: :data:`KINDS`: ``cost`` (what a sector pays) and the benefit it gains by value type,
  ``fiscal`` (public spending), ``economic`` (output, earnings, employer costs) and ``social``
  (monetised health and wellbeing);
- a perspective (:data:`PERSPECTIVES`) says which value types count as benefits and whose costs count;
- costs, fiscal and economic flows are discounted at the Green Book's standard rate, social values at
  its health rate.
"""

from __future__ import annotations

import numpy as np

from roi_engine.errors import InputError
from roi_engine.inputs.money import VALUE_TYPE_RATE_KIND, DiscountScheme

KINDS = ("cost", "fiscal", "economic", "social")
"""The ``kind`` axis: costs, then benefits by value type."""
KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
CASH_KINDS = ("fiscal", "economic")
"""Cash-releasing value types: money a budget holder sees (social value is not cash)."""

PERSPECTIVES: dict[str, tuple[str, ...]] = {
    "public_sector": ("fiscal",),
    "economic": ("fiscal", "economic"),
    "societal": ("fiscal", "economic", "social"),
}
"""Which benefit value types each perspective counts. Costs: every payer under ``economic`` and
``societal``; public bodies only under ``public_sector``."""

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
