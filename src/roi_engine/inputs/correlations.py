"""Whether a scenario's rank correlations can hold together, checked when the scenario is read.

Iman-Conover sampling (:func:`roi_engine.model.sampling.iman_conover`) imposes the Pearson correlation
of normal scores ``2 sin(pi rho_s / 6)`` for each Spearman target ``rho_s``; the matrix of them must be
positive definite. Three targets such as a~b 0.9, b~c 0.9, a~c -0.9 are each allowed, but no joint
distribution has all three. Reading the scenario refuses such a set with one line naming the scenario
file and the smallest set of ``correlations`` entries that cannot hold together (found by dropping
entries one at a time while the rest still fail), so a user knows which to weaken. Pairs not listed
are uncorrelated (0), as in the sampler, so two strong correlations through one shared parameter can
already conflict with the zero implied between the other two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from roi_engine.errors import InputError


def _positive_definite(pairs: Sequence[tuple[str, str, float]]) -> bool:
    names = sorted({n for a, b, _ in pairs for n in (a, b)})
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for a, b, rho in pairs:
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = 2.0 * np.sin(np.pi * rho / 6.0)
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def inconsistent_subset(pairs: Sequence[tuple[str, str, float]]) -> list[int] | None:
    """Indices of a smallest-by-deletion subset of ``pairs`` that is not positive definite, or None.

    When the same pair is given twice, the later entry wins (as in :func:`correlation_matrix`).
    """
    def effective(indices: Sequence[int]) -> list[tuple[str, str, float]]:
        chosen: dict[frozenset[str], tuple[str, str, float]] = {}
        for i in indices:
            a, b, rho = pairs[i]
            chosen[frozenset((a, b))] = (a, b, rho)
        return list(chosen.values())

    keep = list(range(len(pairs)))
    if _positive_definite(effective(keep)):
        return None
    for i in list(keep):
        trial = [j for j in keep if j != i]
        if trial and not _positive_definite(effective(trial)):
            keep = trial
    return keep


def check_correlations(pairs: Sequence[tuple[str, str, float]], path: str | Path) -> None:
    """Raise one :class:`InputError` naming ``path`` and the ``correlations`` entries that conflict."""
    subset = inconsistent_subset(pairs)
    if subset is None:
        return
    keys = [f"correlations[{i}]" for i in subset]
    listed = ", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else keys[0]
    shown = "; ".join(f"{pairs[i][0]} ~ {pairs[i][1]} {pairs[i][2]:g}" for i in subset)
    raise InputError(f"the rank correlations {listed} cannot all hold at once ({shown})", file=path,
                     where="correlations",
                     hint="weaken one of them (move it towards 0) or remove it: together, with every pair "
                          "not listed taken as uncorrelated, they must form a valid (positive definite) "
                          "correlation matrix")
