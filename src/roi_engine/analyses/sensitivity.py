"""Which assumptions the answer hangs on: one-way, switching values and global (SALib) analysis.

Every method takes the same two things, kept apart as SALib keeps sample, evaluate and analyse apart:

- ``parameters``: a sequence of :class:`~roi_engine.inputs.parameters.Parameter` (the model's columns, in
  order), each with its own distribution;
- ``evaluate``: a callable ``X (n, n_params) -> y (n,)`` evaluated on all rows in one vectorised call
  (:func:`roi_engine.analyses.scalar_outputs.evaluator` builds it for a scenario).

Global methods sample the unit hypercube with SALib and map each column through the parameter's own
inverse CDF (so any scipy distribution is supported, including ones SALib lacks). Only uncertain
parameters (not ``fixed``) are varied; the others stay at their point values.

References
----------
.. [1] Saltelli A, Annoni P, Azzini I, et al. (2010). Variance based sensitivity analysis of model output.
   Computer Physics Communications 181:259-270. https://doi.org/10.1016/j.cpc.2009.09.018
.. [2] Morris MD (1991). Factorial sampling plans for preliminary computational experiments.
   Technometrics 33:161-174; Campolongo F, Cariboni J, Saltelli A (2007) for mu*.
.. [3] Plischke E, Borgonovo E, Smith CL (2013). Global sensitivity measures from given data. European
   Journal of Operational Research 226:536-550 (the delta moment-independent measure).
.. [4] Herman J, Usher W (2017). SALib: an open-source Python library for sensitivity analysis. Journal
   of Open Source Software 2(9). https://doi.org/10.21105/joss.00097
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from SALib.analyze import delta as delta_analyze
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy.optimize import brentq

from roi_engine.inputs.parameters import Parameter
from roi_engine.model.sampling import to_values

Evaluate = Callable[[np.ndarray], np.ndarray]
MORRIS_RANGE = (0.01, 0.99)
EDGE = 1e-9
"""Uniform numbers are clipped to [EDGE, 1 - EDGE] so unbounded distributions stay finite."""


def uncertain_columns(parameters: Sequence[Parameter]) -> list[int]:
    """Positions of the parameters that have a distribution (not ``fixed``)."""
    return [j for j, p in enumerate(parameters) if p.is_uncertain]


def base_point(parameters: Sequence[Parameter]) -> np.ndarray:
    """Point values, shape ``(n_params,)``."""
    return np.array([p.value for p in parameters], dtype=float)


def salib_problem(parameters: Sequence[Parameter]) -> dict:
    """The SALib problem over the uncertain parameters, in the unit hypercube.

    Returns the plain dict SALib expects: ``names``, ``num_vars`` and ``bounds`` ([0, 1] for every
    variable: each is a probability that :func:`from_unit` maps through the parameter's inverse CDF).
    """
    names = [parameters[j].name for j in uncertain_columns(parameters)]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def from_unit(u: np.ndarray, parameters: Sequence[Parameter]) -> np.ndarray:
    """Full parameter matrix ``(n, n_params)`` from unit-hypercube rows over the uncertain parameters.

    Fixed parameters are filled with their point values.
    """
    columns = uncertain_columns(parameters)
    x = np.tile(base_point(parameters), (u.shape[0], 1))
    varied = [parameters[j] for j in columns]
    x[:, columns] = to_values(np.clip(u, EDGE, 1 - EDGE), varied)
    return x


# --- one-way ------------------------------------------------------------------------------------------


def tornado(parameters: Sequence[Parameter], evaluate: Evaluate, *,
            low_q: float = 0.05, high_q: float = 0.95) -> pd.DataFrame:
    """One-way analysis: each uncertain parameter at its 5th and 95th percentile, the others at base.

    Parameters
    ----------
    parameters : sequence of Parameter
    evaluate : callable, ``(n, n_params) -> (n,)``
    low_q, high_q : float
        Percentiles of each parameter's own distribution.

    Returns
    -------
    DataFrame
        One row per uncertain parameter, ranked by ``swing = |output_high - output_low|``: columns
        ``parameter, low_value, high_value, output_low, output_high, base, swing``. All ``2 k + 1``
        evaluations are made in one call.
    """
    base = base_point(parameters)
    columns = uncertain_columns(parameters)
    k = len(columns)
    x = np.tile(base, (2 * k + 1, 1))
    lows, highs = [], []
    for row, j in enumerate(columns):
        p = parameters[j]
        low, high = p.distribution.percentiles([low_q, high_q], p.value)
        x[1 + 2 * row, j], x[2 + 2 * row, j] = low, high
        lows.append(low)
        highs.append(high)
    y = evaluate(x)
    frame = pd.DataFrame({
        "parameter": [parameters[j].name for j in columns],
        "low_value": lows, "high_value": highs,
        "output_low": y[1::2], "output_high": y[2::2],
    })
    frame["base"] = y[0]
    frame["swing"] = (frame["output_high"] - frame["output_low"]).abs()
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def switching_values(parameters: Sequence[Parameter], evaluate: Evaluate, threshold: float, *,
                     plausible: tuple[float, float] = (0.005, 0.995)) -> pd.DataFrame:
    """For each uncertain parameter, the value at which the output equals ``threshold``.

    The search runs over the parameter's plausible range (its 0.5th to 99.5th percentile by default)
    with Brent's method (``scipy.optimize.brentq``), the other parameters at base. Where the output
    does not cross the threshold in that range, the row says so.

    Returns
    -------
    DataFrame
        ``parameter, base_value, switching_value, range_low, range_high, status`` with status
        ``"switches"`` or ``"no switch within the plausible range"``.
    """
    base = base_point(parameters)
    rows = []
    for j in uncertain_columns(parameters):
        p = parameters[j]
        low, high = (float(v) for v in p.distribution.percentiles(list(plausible), p.value))

        def gap(value: float, j=j) -> float:
            x = base.copy()
            x[j] = value
            return float(evaluate(x[None, :])[0]) - threshold

        ends = np.array([low, high])
        x = np.tile(base, (2, 1))
        x[:, j] = ends
        y = evaluate(x) - threshold
        if np.all(np.isfinite(y)) and np.sign(y[0]) != np.sign(y[1]):
            value, status = brentq(gap, low, high, xtol=1e-10 * max(1.0, abs(high)), rtol=1e-10), \
                "switches"
        elif np.isfinite(y).all() and (y == 0).any():
            value, status = float(ends[y == 0][0]), "switches"
        else:
            value, status = np.nan, "no switch within the plausible range"
        rows.append({"parameter": p.name, "base_value": p.value, "switching_value": value,
                     "range_low": low, "range_high": high, "status": status})
    return pd.DataFrame(rows)


# --- global (SALib) -----------------------------------------------------------------------------------


def salib_seed(seed: int) -> int:
    """A seed SALib honours for every ``seed``, 0 included (SALib takes a falsy seed as "no seed").

    Derived through ``numpy.random.SeedSequence``, so distinct seeds stay distinct streams. [1, 2**31)
    """
    state = int(np.random.SeedSequence(int(seed)).generate_state(1, dtype=np.uint32)[0])
    return state % (2**31 - 1) + 1


def sobol(parameters: Sequence[Parameter], evaluate: Evaluate, n: int = 1024, *, seed: int = 0,
          num_resamples: int = 200) -> pd.DataFrame:
    """Sobol first-order and total indices with bootstrap confidence intervals [1]_ [4]_.

    Saltelli's scheme without second-order terms: ``n (k + 2)`` model evaluations for ``k`` uncertain
    parameters (``n`` a power of 2). Assumes independent inputs (use :func:`delta` for correlated ones).

    Returns
    -------
    DataFrame indexed by parameter: ``S1, S1_conf, ST, ST_conf`` (conf = half-width of the 95% CI).
    """
    problem = salib_problem(parameters)
    u = sobol_sample.sample(problem, n, calc_second_order=False, seed=salib_seed(seed))
    y = evaluate(from_unit(u, parameters))
    result = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                                   seed=salib_seed(seed))
    return pd.DataFrame({k: result[k] for k in ("S1", "S1_conf", "ST", "ST_conf")},
                        index=pd.Index(problem["names"], name="parameter"))


def morris(parameters: Sequence[Parameter], evaluate: Evaluate, trajectories: int = 50, *,
           num_levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """Morris elementary-effects screening [2]_: ``mu_star`` (importance) and ``sigma`` (interactions).

    Elementary effects are taken in the unit (probability) space of each parameter, with the grid's
    levels spread over the 1st to 99th percentile (:data:`MORRIS_RANGE`: the extreme tails of
    unbounded distributions would otherwise dominate); ``mu_star`` is the output change for moving a
    parameter across its distribution. ``trajectories (k + 1)`` evaluations.
    """
    problem = salib_problem(parameters)
    u = morris_sample.sample(problem, trajectories, num_levels=num_levels, seed=salib_seed(seed))
    low, high = MORRIS_RANGE
    y = evaluate(from_unit(low + (high - low) * u, parameters))
    result = morris_analyze.analyze(problem, u, y, num_levels=num_levels, seed=salib_seed(seed))
    return pd.DataFrame({k: np.asarray(result[k], dtype=float)
                         for k in ("mu", "mu_star", "mu_star_conf", "sigma")},
                        index=pd.Index(problem["names"], name="parameter")
                        ).sort_values("mu_star", ascending=False)


def delta(parameters: Sequence[Parameter], x: np.ndarray, y: np.ndarray, *, seed: int = 0,
          num_resamples: int = 50) -> pd.DataFrame:
    """Borgonovo's delta and first-order S1 from a given sample [3]_, valid with correlated inputs.

    Parameters
    ----------
    x : ndarray, shape (n, n_params)
        Any sample of the inputs, e.g. the run's own Latin hypercube draws with rank correlations.
    y : ndarray, shape (n,)
    """
    columns = uncertain_columns(parameters)
    problem = salib_problem(parameters)
    problem["bounds"] = [[float(x[:, j].min()), float(x[:, j].max())] for j in columns]
    with warnings.catch_warnings(record=True):
        # SALib's bin-merge and bias notices (it resets the warning filters itself, so they are
        # recorded and dropped here); the balanced estimate is reported beside the raw one.
        result = delta_analyze.analyze(problem, x[:, columns], y, num_resamples=num_resamples,
                                       seed=salib_seed(seed), method="all")
    frame = pd.DataFrame({
        "delta": result["delta_raw"], "delta_conf": result["delta_raw_conf"],
        "delta_balanced": result["delta_balanced"], "S1": result["S1"], "S1_conf": result["S1_conf"],
    }, index=pd.Index(problem["names"], name="parameter"))
    return frame.sort_values("delta", ascending=False)
