"""Re-centring a distribution on a new central value with the same relative spread.

A commissioner who has a local figure for a cost or a rate usually has one number, not a new
distribution. :func:`recentre` moves a parameter's distribution so that its centre is that number and
its spread, relative to the centre, is unchanged: every location and scale number is multiplied by
``k = new / centre`` (so low, mode and high keep their ratios to one another and a coefficient of
variation is kept). The parameter workbook's optional ``new_central_value`` column uses it
(:mod:`roi_engine.inputs.excel`).

===============  ====================  ==============================================================
distribution     centre                re-centred numbers
===============  ====================  ==============================================================
``fixed``        the value             none
``pert``         mode (p2)             low, mode, high times k
``triangular``   mode (p2)             low, mode, high times k
``uniform``      midpoint              low, high times k
``normal``       mean (p1)             mean, SD times k (same coefficient of variation)
``truncnormal``  mean (p1)             mean, SD, low, high times k
``gamma``        mean (shape x scale)  scale times k (same shape, so the same coefficient of variation)
``lognormal``    median exp(p1)        meanlog + log k (the same SD of log: the same relative spread)
``beta``         mean a / (a + b)      a, b with the new mean and the same a + b (same concentration)
===============  ====================  ==============================================================
"""

from __future__ import annotations

import math

from roi_engine.inputs.distributions import DISTRIBUTIONS


def central_value(name: str, params: tuple[float, ...]) -> float | None:
    """The centre :func:`recentre` scales from (see the module table); None for ``fixed``."""
    if name == "fixed":
        return None
    if name in ("pert", "triangular"):
        return params[1]
    if name == "uniform":
        return (params[0] + params[1]) / 2
    if name in ("normal", "truncnormal"):
        return params[0]
    if name == "gamma":
        return params[0] * params[1]
    if name == "lognormal":
        return math.exp(params[0])
    if name == "beta":
        return params[0] / (params[0] + params[1])
    raise ValueError(f"unknown distribution '{name}'")


def recentre(name: str, params: tuple[float, ...], new: float) -> tuple[float, ...]:
    """The distribution's ``p1..pk`` re-centred on ``new`` with the same relative spread.

    Parameters
    ----------
    name : str
        A key of :data:`~roi_engine.inputs.distributions.DISTRIBUTIONS`.
    params : tuple of float
        Its numbers ``p1..pk`` as in the parameter table.
    new : float
        The new central value, in the parameter's unit.

    Returns
    -------
    tuple of float
        The new ``p1..pk`` (empty for ``fixed``).

    Raises
    ------
    ValueError
        When the spread cannot be kept: a centre of 0, a new value of the other sign, a non-positive
        value for gamma or lognormal, or a beta mean outside (0, 1). The message says what to do.
    """
    if name not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution '{name}'")
    if len(params) != len(DISTRIBUTIONS[name]):
        raise ValueError(f"'{name}' takes {len(DISTRIBUTIONS[name])} numbers, not {len(params)}")
    if name == "fixed":
        return ()
    if name == "beta":
        if not 0 < new < 1:
            raise ValueError(f"a beta distribution's centre lies strictly between 0 and 1, not {new:g}")
        total = params[0] + params[1]
        return (new * total, (1 - new) * total)
    if name in ("gamma", "lognormal") and new <= 0:
        raise ValueError(f"a {name} distribution takes positive values only, not {new:g}: "
                         "choose another distribution, or 'fixed'")
    centre = central_value(name, params)
    if centre == 0:
        raise ValueError(f"the {name} distribution is centred on 0, so its relative spread is undefined: "
                         "set p1..p%d yourself, or set the distribution to 'fixed'" % len(params))
    k = new / centre
    if k <= 0:
        raise ValueError(f"{new:g} has the other sign from the distribution's centre ({centre:g}): "
                         f"set p1..p{len(params)} yourself, or set the distribution to 'fixed'")
    if name == "lognormal":
        return (math.log(new), params[1])
    if name == "gamma":
        return (params[0], params[1] * k)
    if name in ("pert", "triangular"):
        return (params[0] * k, new, params[2] * k)
    if name == "normal":
        return (new, params[1] * k)
    return tuple(p * k for p in params)  # uniform, truncnormal
