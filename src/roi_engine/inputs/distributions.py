"""Uncertainty distributions for parameters, built on ``scipy.stats``.

A parameter's distribution is named in its table row (``distribution``) with up to four numbers
``p1..p4`` whose meaning depends on the name:

===============  ============  =========  ======  ======
distribution     p1            p2         p3      p4
===============  ============  =========  ======  ======
``fixed``        --            --         --      --
``beta``         alpha         beta       --      --
``gamma``        shape         scale      --      --
``lognormal``    mean of log   SD of log  --      --
``normal``       mean          SD         --      --
``truncnormal``  mean          SD         low     high
``triangular``   low           mode       high    --
``pert``         low           mode       high    --
``uniform``      low           high       --      --
===============  ============  =========  ======  ======

:func:`build` turns a name and its numbers into a frozen ``scipy.stats`` distribution (or ``None`` for
``fixed``). Draws come from the inverse CDF (``ppf``) of uniform numbers, so Monte Carlo, Latin
hypercube and SALib samples all go through the same transformation.

The helpers ``*_from_mean_sd`` and ``*_from_interval`` give ``p1..p4`` from published summaries by the
method of moments (beta, gamma) or on the log scale (lognormal).

References
----------
.. [1] Vose D. (2008). Risk Analysis: A Quantitative Guide, 3rd ed. Wiley: PERT as a scaled beta with
   alpha = 1 + 4 (mode - low) / (high - low), beta = 1 + 4 (high - mode) / (high - low).
.. [2] Briggs A, Claxton K, Sculpher M. (2006). Decision Modelling for Health Economic Evaluation.
   Oxford University Press, ch. 4: choosing distributions, method of moments for beta and gamma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial

import numpy as np
from scipy import special, stats
from scipy.interpolate import CubicHermiteSpline

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "fixed": (),
    "beta": ("alpha", "beta"),
    "gamma": ("shape", "scale"),
    "lognormal": ("meanlog", "sdlog"),
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "triangular": ("low", "mode", "high"),
    "pert": ("low", "mode", "high"),
    "uniform": ("low", "high"),
}
"""Each distribution's name and the meaning of its p1..p4, in order."""

Z_975 = stats.norm.ppf(0.975)


class DistributionError(ValueError):
    """A distribution's numbers are inconsistent (the caller adds the file and row)."""


@dataclass(frozen=True)
class Distribution:
    """A named distribution with its parameters and its scipy object.

    Attributes
    ----------
    name : str
        One of :data:`DISTRIBUTIONS`.
    params : tuple of float
        ``p1..pk`` as in the table, k = number of parameters of ``name``.
    frozen : scipy.stats frozen distribution or None
        ``None`` for ``fixed``; made on first use (freezing costs about 0.3 ms, mostly its docstring,
        and a run draws its beta and PERT parameters without it).
    """

    name: str
    params: tuple[float, ...]
    recipe: partial | None = field(default=None, compare=False, repr=False)

    @cached_property
    def frozen(self):
        return None if self.recipe is None else self.recipe()

    @property
    def support(self) -> tuple[float, float]:
        """(low, high) of the support; (-inf, inf) where unbounded."""
        if self.recipe is None:
            return (-math.inf, math.inf)
        low, high = self.recipe.func.support(*self.recipe.args, **self.recipe.keywords)
        return (float(low), float(high))

    def ppf(self, u: np.ndarray, point_value: float) -> np.ndarray:
        """Inverse CDF of uniform numbers ``u`` (any shape); ``fixed`` returns ``point_value``."""
        if self.recipe is None:
            return np.full(np.shape(u), float(point_value))
        if self.name == "beta":
            return beta_ppf(u, *self.params)
        if self.name == "pert":
            low, mode, high = self.params
            width = high - low
            return low + width * beta_ppf(u, 1 + 4 * (mode - low) / width, 1 + 4 * (high - mode) / width)
        return self.frozen.ppf(u)

    def percentiles(self, q: np.ndarray, point_value: float) -> np.ndarray:
        """The distribution's quantiles at probabilities ``q``."""
        return self.ppf(np.asarray(q, dtype=float), point_value)


def build(name: str, params: tuple[float, ...]) -> Distribution:
    """Make a :class:`Distribution` from its table name and numbers.

    Parameters
    ----------
    name : str
        A key of :data:`DISTRIBUTIONS`.
    params : tuple of float
        Exactly as many numbers as the distribution takes.

    Raises
    ------
    DistributionError
        The numbers are missing, too many, or inconsistent (SD <= 0, low above high, mode outside
        low..high, non-positive alpha, beta, shape or scale).
    """
    if name not in DISTRIBUTIONS:
        raise DistributionError(f"unknown distribution '{name}'")
    expected = DISTRIBUTIONS[name]
    if len(params) != len(expected):
        need = ", ".join(f"p{i + 1} = {n}" for i, n in enumerate(expected)) or "no numbers"
        raise DistributionError(f"'{name}' takes {len(expected)} numbers ({need}), got {len(params)}")
    if any(not math.isfinite(p) for p in params):
        raise DistributionError(f"'{name}' numbers must be finite, got {params}")
    return Distribution(name, tuple(float(p) for p in params), _recipe(name, params))


BETA_PPF_MAX_U_ERROR = 1e-9
"""Largest error in u-space, ``|I_x(a, b) - u|``, of :func:`beta_ppf` (tested below 1e-8 over a grid
of u including both tails, for shapes from 0.5 to several thousand)."""
_Z_LIMIT = 7.5  # the table covers u in ndtr(+-7.5), i.e. 3e-14 .. 1 - 3e-14; beyond it, exact
_Z_CELLS = 512
_CELL_CHECK = BETA_PPF_MAX_U_ERROR / 10  # a table cell whose midpoint misses by more is not used


def beta_ppf(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Inverse CDF of the standard beta distribution, fast, to within :data:`BETA_PPF_MAX_U_ERROR`.

    Cubic Hermite interpolation (``scipy.interpolate.CubicHermiteSpline``) of ``logit(x)`` as a function
    of ``z = ndtri(u)``, tabulated once per shape on 513 equally spaced z in [-7.5, 7.5] with the exact
    quantiles (``scipy.special.betaincinv``) and their exact slopes ``phi(z) / (f(x) x (1 - x))``, *f*
    the beta density. On that scale the quantile function is nearly linear in the bulk and smooth in
    the tails, so the interpolant's error is far below the bound; each cell is checked at its
    midpoint (the Hermite error's peak) when the table is built, and values falling in a cell that
    misses by more than a tenth of the bound, or beyond the table, get ``betaincinv`` itself (the idea
    of Hörmann and Leydold's fast numerical inversion, ACM TOMACS 13(4), 2003, on a fixed grid). After
    the table, a value costs an ``ndtri``, a spline evaluation and a logistic: about a fifteenth of
    ``betaincinv``.

    Parameters
    ----------
    u : ndarray
        Probabilities in [0, 1], any shape.
    a, b : float
        Shape parameters (> 0).

    Returns
    -------
    ndarray, the shape of ``u``: values in [0, 1].
    """
    u = np.asarray(u, dtype=float)
    spline, usable = _beta_table(float(a), float(b))
    z = special.ndtri(u)
    cell = np.floor((z + _Z_LIMIT) * (_Z_CELLS / (2 * _Z_LIMIT)))
    inside = (cell >= 0) & (cell < _Z_CELLS)
    inside[inside] = usable[cell[inside].astype(np.intp)]
    x = special.expit(spline(np.where(inside, z, 0.0)))
    exact = ~inside
    if exact.any():
        x[exact] = special.betaincinv(a, b, u[exact])
    return x


@lru_cache(maxsize=4096)
def _beta_table(a: float, b: float) -> tuple[object, np.ndarray]:
    """The spline of ``logit(x)`` over ``z`` for beta(a, b) and which of its cells may be used."""
    z = np.linspace(-_Z_LIMIT, _Z_LIMIT, _Z_CELLS + 1)
    x = special.betaincinv(a, b, special.ndtr(z))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_x, log_1mx = np.log(x), np.log1p(-x)
        log_density = (a - 1) * log_x + (b - 1) * log_1mx - special.betaln(a, b)
        y = log_x - log_1mx
        slope = np.exp(-0.5 * z**2 - 0.5 * math.log(2 * math.pi) - log_density - log_x - log_1mx)
    known = np.isfinite(y) & np.isfinite(slope)
    spline = CubicHermiteSpline(z, np.where(known, y, 0.0), np.where(known, slope, 0.0))
    middle = 0.5 * (z[1:] + z[:-1])
    with np.errstate(invalid="ignore"):
        miss = np.abs(special.betainc(a, b, special.expit(spline(middle))) - special.ndtr(middle))
    return spline, known[1:] & known[:-1] & (miss <= _CELL_CHECK)


def _positive(label: str, value: float) -> None:
    if value <= 0:
        raise DistributionError(f"{label} must be positive, got {value:g}")


def _ordered(low: float, high: float) -> None:
    if not low < high:
        raise DistributionError(f"low ({low:g}) must be below high ({high:g})")


def _recipe(name: str, p: tuple[float, ...]) -> partial | None:
    """Check the numbers; how to make the frozen scipy distribution (``None`` for ``fixed``)."""
    if name == "fixed":
        return None
    if name == "beta":
        _positive("alpha (p1)", p[0])
        _positive("beta (p2)", p[1])
        return partial(stats.beta, p[0], p[1])
    if name == "gamma":
        _positive("shape (p1)", p[0])
        _positive("scale (p2)", p[1])
        return partial(stats.gamma, p[0], scale=p[1])
    if name == "lognormal":
        _positive("SD of log (p2)", p[1])
        return partial(stats.lognorm, s=p[1], scale=math.exp(p[0]))
    if name == "normal":
        _positive("SD (p2)", p[1])
        return partial(stats.norm, p[0], p[1])
    if name == "truncnormal":
        mean, sd, low, high = p
        _positive("SD (p2)", sd)
        _ordered(low, high)
        return partial(stats.truncnorm, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
    if name in ("triangular", "pert"):
        low, mode, high = p
        _ordered(low, high)
        if not low <= mode <= high:
            raise DistributionError(f"mode ({mode:g}) must lie between low ({low:g}) and high ({high:g})")
        width = high - low
        if name == "triangular":
            return partial(stats.triang, (mode - low) / width, loc=low, scale=width)
        a = 1 + 4 * (mode - low) / width
        b = 1 + 4 * (high - mode) / width
        return partial(stats.beta, a, b, loc=low, scale=width)
    if name == "uniform":
        _ordered(p[0], p[1])
        return partial(stats.uniform, p[0], p[1] - p[0])
    raise DistributionError(f"unknown distribution '{name}'")  # pragma: no cover


# --- helpers from published summaries ------------------------------------------------------------


def beta_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """Beta (alpha, beta) with the given mean and SD, by the method of moments [2]_.

    Parameters
    ----------
    mean : float
        In (0, 1). [probability]
    sd : float
        Positive and below ``sqrt(mean (1 - mean))``.
    """
    if not 0 < mean < 1:
        raise DistributionError(f"beta mean must lie in (0, 1), got {mean:g}")
    _positive("SD", sd)
    common = mean * (1 - mean) / sd**2 - 1
    if common <= 0:
        raise DistributionError(f"SD {sd:g} is too large for a beta with mean {mean:g}")
    return (mean * common, (1 - mean) * common)


def gamma_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """Gamma (shape, scale) with the given mean and SD, by the method of moments [2]_."""
    _positive("gamma mean", mean)
    _positive("SD", sd)
    return ((mean / sd) ** 2, sd**2 / mean)


def lognormal_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """Lognormal (mean of log, SD of log) whose arithmetic mean and SD are those given."""
    _positive("lognormal mean", mean)
    _positive("SD", sd)
    sdlog2 = math.log(1 + (sd / mean) ** 2)
    return (math.log(mean) - sdlog2 / 2, math.sqrt(sdlog2))


def lognormal_from_interval(low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """Lognormal (mean of log, SD of log) from a ratio's confidence interval (symmetric on log scale).

    For a relative risk or odds ratio reported as ``ratio (low to high)``, ``exp(p1)`` is the
    geometric midpoint of the interval, which equals the reported ratio when the interval was
    computed on the log scale.
    """
    _positive("interval low", low)
    _ordered(low, high)
    z = stats.norm.ppf(0.5 + level / 2)
    return ((math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / (2 * z))


def normal_from_interval(low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """Normal (mean, SD) from a symmetric confidence interval."""
    _ordered(low, high)
    z = stats.norm.ppf(0.5 + level / 2)
    return ((low + high) / 2, (high - low) / (2 * z))


def beta_from_interval(low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """Beta (alpha, beta) matching a proportion's interval: mean at the midpoint, SD from its width."""
    mean, sd = normal_from_interval(low, high, level)
    return beta_from_mean_sd(mean, sd)


def gamma_from_interval(low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """Gamma (shape, scale) matching a positive quantity's interval by the method of moments."""
    mean, sd = normal_from_interval(low, high, level)
    return gamma_from_mean_sd(mean, sd)
