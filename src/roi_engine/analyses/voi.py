"""Value of information for the fund / do-not-fund decision.

The decision for an intervention (or the whole portfolio) is to fund it, with net benefit ``NB`` per
draw (its NPV from the scenario's perspective, for the scenario's area and horizon, in £ of the
scenario's price year), or not to fund it (net benefit 0). With today's information the decision-maker
funds when ``E[NB] > 0``.

- **EVPI**, the expected value of perfect information: ``E[max(NB, 0)] - max(E[NB], 0)``. It is the
  most it could be worth, for this area and horizon, to remove all uncertainty before deciding.
- **EVPPI** for a group of parameters ``phi``: ``E_phi[max(E[NB | phi], 0)] - max(E[NB], 0)``. The
  inner conditional expectation is estimated by regressing NB on ``phi`` over the Monte Carlo draws
  (Strong, Oakley and Brennan 2014): a least-squares fit of a full polynomial in the group's
  standardised parameters (degree 3 for one parameter, degree 2 with all pairwise interactions for
  more). The fitted values replace ``E[NB | phi]``; no nested simulation is needed.

Both are in £ for the scenario's local population over its horizon (no further scaling: the model is
already local). Monte Carlo error makes small values noisy; report them with the number of draws.

References
----------
.. [1] Strong M, Oakley JE, Brennan A (2014). Estimating multiparameter partial expected value of
   perfect information from a probabilistic sensitivity analysis sample: a nonparametric regression
   approach. Medical Decision Making 34(3):311-326. https://doi.org/10.1177/0272989X13505910
.. [2] Briggs A, Claxton K, Sculpher M (2006). Decision Modelling for Health Economic Evaluation, ch. 7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd


def evpi(net_benefit: np.ndarray) -> float:
    """Expected value of perfect information for fund (``net_benefit``) versus do not fund (0).

    Parameters
    ----------
    net_benefit : ndarray, shape (n_draws,)
        Net benefit of funding in each draw. [GBP]
    """
    nb = np.asarray(net_benefit, dtype=float)
    return float(np.mean(np.maximum(nb, 0.0)) - max(float(np.mean(nb)), 0.0))


def polynomial_basis(phi: np.ndarray, degree: int) -> np.ndarray:
    """Columns 1, x_i, x_i x_j, ... up to ``degree`` of standardised ``phi (n, k)``."""
    phi = np.asarray(phi, dtype=float).reshape(phi.shape[0], -1)
    sd = phi.std(axis=0)
    z = (phi - phi.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    columns = [np.ones(z.shape[0])]
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(z.shape[1]), d):
            columns.append(np.prod(z[:, combo], axis=1))
    return np.column_stack(columns)


def conditional_mean(net_benefit: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Regression estimate of ``E[NB | phi]`` at each draw, shape ``(n_draws,)``."""
    phi = np.asarray(phi, dtype=float).reshape(len(net_benefit), -1)
    degree = 3 if phi.shape[1] == 1 else 2
    basis = polynomial_basis(phi, degree)
    coef, *_ = np.linalg.lstsq(basis, net_benefit, rcond=None)
    return basis @ coef


def evppi(net_benefit: np.ndarray, phi: np.ndarray) -> float:
    """Expected value of partial perfect information about the parameters in ``phi (n_draws, k)``."""
    fitted = conditional_mean(np.asarray(net_benefit, dtype=float), phi)
    return float(np.mean(np.maximum(fitted, 0.0)) - max(float(np.mean(fitted)), 0.0))


def evppi_table(net_benefit: np.ndarray, x: np.ndarray, names: Sequence[str],
                groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """EVPPI for each named group of parameters.

    Parameters
    ----------
    net_benefit : ndarray, shape (n_draws,)
    x : ndarray, shape (n_draws, n_params)
        The parameter draws behind ``net_benefit``, columns in ``names`` order.
    groups : mapping of group label to parameter names

    Returns
    -------
    DataFrame: ``group, parameters, evppi`` sorted by EVPPI, plus the EVPI as an upper bound.
    An estimate above the EVPI (regression noise, seen where the EVPI is small) is capped at the EVPI,
    which bounds it in theory; ``capped`` says where that happened.
    """
    index = {n: j for j, n in enumerate(names)}
    total = evpi(net_benefit)
    rows = []
    for label, members in groups.items():
        value = evppi(net_benefit, x[:, [index[m] for m in members]])
        rows.append({"group": label, "parameters": ", ".join(members), "evppi": min(value, total),
                     "evpi": total, "capped": value > total})
    return pd.DataFrame(rows).sort_values("evppi", ascending=False, kind="stable").reset_index(drop=True)
