"""Drawing parameter values: Monte Carlo or Latin hypercube, seeded, with optional rank correlation.

Sampling is kept apart from the model (as SALib keeps sample, evaluate and analyse apart):

1. :func:`uniform_design` gives an ``(n_draws, n_params)`` array of numbers in (0, 1), independent
   columns, by plain Monte Carlo or Latin hypercube (``scipy.stats.qmc.LatinHypercube``);
2. :func:`iman_conover` reorders its columns to induce target Spearman rank correlations without
   changing any column's values (so marginals and the Latin hypercube strata survive);
3. :func:`to_values` maps each column through its parameter's inverse CDF.

Draws are produced in chunks so memory stays bounded; each chunk has its own generator spawned from
the run's seed (:func:`chunk_rng`), so the same seed and chunk size give the same numbers bit for bit.

References
----------
.. [1] Iman RL, Conover WJ. (1982). A distribution-free approach to inducing rank correlation among
   input variables. Communications in Statistics - Simulation and Computation 11(3):311-334.
   https://doi.org/10.1080/03610918208812265
.. [2] Pearson's correlation of normal scores that gives Spearman's rho_s: rho = 2 sin(pi rho_s / 6)
   (Kruskal WH, 1958, JASA 53:814-861).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.stats import qmc

from roi_engine.errors import InputError
from roi_engine.inputs.scenario import RankCorrelation

SAMPLING_METHODS = ("lhs", "mc")
OPEN_EDGE = 1e-12


def chunk_rng(seed: int, chunk_index: int) -> np.random.Generator:
    """The generator for one chunk of draws: ``SeedSequence(seed, spawn_key=(chunk_index,))``.

    Independent streams per chunk, reproducible from ``(seed, chunk_index)`` alone; ``seed = 0`` is a
    real seed.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk_index,)))


def uniform_design(n_draws: int, n_params: int, method: str, rng: np.random.Generator) -> np.ndarray:
    """Uniform numbers in (0, 1), shape ``(n_draws, n_params)``, by ``method`` (``lhs`` or ``mc``)."""
    if method not in SAMPLING_METHODS:
        raise InputError(f"unknown sampling method '{method}'", hint=f"one of {list(SAMPLING_METHODS)}")
    if n_params == 0:
        return np.empty((n_draws, 0))
    if method == "lhs":
        u = qmc.LatinHypercube(d=n_params, rng=rng).random(n_draws)
    else:
        u = rng.random((n_draws, n_params))
    # Open interval, so unbounded distributions never see ppf(0) = -inf or ppf(1) = inf.
    return np.clip(u, OPEN_EDGE, 1.0 - OPEN_EDGE)


def correlation_matrix(names: Sequence[str], targets: Sequence[RankCorrelation]) -> np.ndarray:
    """The ``(n, n)`` target Spearman matrix over ``names`` (identity where no target is given)."""
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for t in targets:
        i, j = index[t.first], index[t.second]
        matrix[i, j] = matrix[j, i] = t.spearman
    return matrix


def iman_conover(u: np.ndarray, spearman: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reorder the columns of ``u`` so their rank correlation approaches ``spearman`` [1]_.

    Parameters
    ----------
    u : ndarray, shape (n_draws, k)
        Independent columns (any values; only their order changes).
    spearman : ndarray, shape (k, k)
        Target Spearman correlation matrix, symmetric with unit diagonal, positive definite.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_draws, k)
        Each column a permutation of the same column of ``u``.

    Notes
    -----
    Van der Waerden scores ``Phi^-1(i / (n + 1))`` are permuted independently per column, their
    sample correlation ``E = F F'`` is removed and the target (converted from Spearman to the
    Pearson correlation of normal scores [2]_, ``P P'``) imposed: ``T = M (F^-1)' P'``. Each column of
    ``u`` is then sorted into the rank order of the same column of ``T``.
    """
    n, k = u.shape
    pearson = 2.0 * np.sin(np.pi * spearman / 6.0)
    try:
        target_chol = np.linalg.cholesky(pearson)
    except np.linalg.LinAlgError:
        raise InputError("the rank correlations given are not a valid correlation matrix",
                         hint="they must be mutually consistent (positive definite)") from None
    scores = stats.norm.ppf(np.arange(1, n + 1) / (n + 1))
    permutations = np.argsort(rng.random((k, n)), axis=1)
    m = scores[permutations].T
    sample_chol = np.linalg.cholesky(np.corrcoef(m, rowvar=False).reshape(k, k))
    t = m @ np.linalg.inv(sample_chol).T @ target_chol.T
    target_ranks = np.argsort(np.argsort(t, axis=0), axis=0)
    return np.take_along_axis(np.sort(u, axis=0), target_ranks, axis=0)


def correlate(u: np.ndarray, names: Sequence[str], targets: Sequence[RankCorrelation],
              rng: np.random.Generator) -> np.ndarray:
    """Apply :func:`iman_conover` to the columns of ``u`` named in ``targets``; others untouched."""
    if not targets:
        return u
    involved = sorted({t.first for t in targets} | {t.second for t in targets}, key=list(names).index)
    columns = [list(names).index(n) for n in involved]
    out = u.copy()
    out[:, columns] = iman_conover(u[:, columns], correlation_matrix(involved, targets), rng)
    return out


def to_values(u: np.ndarray, parameters: Sequence) -> np.ndarray:
    """Map uniform columns through each parameter's inverse CDF.

    Parameters
    ----------
    u : ndarray, shape (n_draws, k)
        Numbers in (0, 1).
    parameters : sequence of Parameter, length k
        Column order of ``u``. ``fixed`` parameters give their point value.

    Returns
    -------
    ndarray, shape (n_draws, k)
        Parameter values in each parameter's own unit and price year.
    """
    columns = np.ascontiguousarray(np.asarray(u, dtype=float).T)  # a strided column is ~8x slower
    out = np.empty_like(columns)
    for j, p in enumerate(parameters):
        out[j] = p.distribution.ppf(columns[j], p.value)
    return np.ascontiguousarray(out.T)
