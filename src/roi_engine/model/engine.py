"""The vectorised cost-benefit core: yearly cash flows for one intervention, all draws at once.

For one intervention the core produces ``flows[draw, year, sector, kind]`` in pounds of the
scenario's price year, undiscounted (discounting is a separate, final step in :mod:`metrics`):

- ``draw``: Monte Carlo draws of a chunk, ``n_draws``;
- ``year``: 0 .. horizon - 1, year 0 = first year of delivery;
- ``sector``: the rows of ``parameters/sectors.csv``, in file order;
- ``kind``: :data:`KINDS`: ``cost`` (what the sector pays) and the benefit it gains by value type,
  ``fiscal``, ``economic`` and ``social``.

The model (``docs/file_formats.md``):

    participants per cohort  N = pop(target ages) x eligible_share x reach x uptake
    avoided[k]  = N x baseline x effect x persistence(k) x additionality, cohort-year k
    yearly[y]   = sum_j delivery[j] x cohort[y - j]          (open cohorts: a convolution)
    benefit[y]  = (yearly avoided conv lag)[y] x product(per_unit)
    markov[y]   = sum_j delivery[j] x N x value of (comparator - intervention) trace[y - j]

Convolutions along the year axis are matrix products with a lower-triangular Toeplitz matrix
(:func:`year_shift_matrix`), so every operation broadcasts over draws; there is no Python loop over
draws, years, sectors or ages. The loops that remain run over an intervention's cost lines, outcomes
and consequences (a handful each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.linalg import toeplitz

from roi_engine.inputs.accounting import KIND_INDEX, KINDS
from roi_engine.inputs.interventions import InterventionSpec, Ref
from roi_engine.inputs.valuation import QALY_PARAMETER
from roi_engine.model.markov import markov_flows, occupancy_difference, outcome_states, qalys_gained

Values = Mapping[str, np.ndarray]
"""Parameter values by name, each shape ``(n_draws,)``, money in the scenario's price year."""


# --- pure kernels ----------------------------------------------------------------------------------


def year_shift_matrix(kernel: np.ndarray, n_years: int) -> np.ndarray:
    """The ``(n_years, n_years)`` matrix ``M`` with ``M[y, k] = kernel[y - k]`` (0 outside the kernel).

    ``x @ M.T`` convolves ``x[..., year]`` with ``kernel`` and truncates at the horizon.

    Parameters
    ----------
    kernel : ndarray, shape (n_kernel,)
        Multipliers by years after the event. [unitless]
    n_years : int
        Horizon. [years]
    """
    column = np.zeros(n_years)
    length = min(len(kernel), n_years)
    column[:length] = kernel[:length]
    return np.tril(toeplitz(column))


def convolve_years(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve ``x[..., year]`` with a fixed ``kernel`` along the last axis, truncated to the horizon.

    Parameters
    ----------
    x : ndarray, shape (..., n_years)
    kernel : ndarray, shape (n_kernel,)

    Returns
    -------
    ndarray, shape (..., n_years)
        ``out[..., y] = sum_j kernel[j] x[..., y - j]``.
    """
    return x @ year_shift_matrix(np.asarray(kernel, dtype=float), x.shape[-1]).T


def persistence(years_full: np.ndarray, fade: np.ndarray, n_years: int) -> np.ndarray:
    """Share of the effect still present in each cohort-year.

    Parameters
    ----------
    years_full : numeric or ndarray, shape (n_draws,)
        Years at full effect. [years]
    fade : numeric or ndarray, shape (n_draws,)
        Share of the remaining effect lost each year after that, in [0, 1]. [per year]
    n_years : int

    Returns
    -------
    ndarray, shape (n_draws, n_years)
        1 for ``k < years_full``, then ``(1 - fade) ** (k - years_full + 1)``.
    """
    years_full = np.atleast_1d(np.asarray(years_full, dtype=float))[:, None]
    fade = np.atleast_1d(np.asarray(fade, dtype=float))[:, None]
    k = np.arange(n_years, dtype=float)[None, :]
    exponent = np.maximum(k - years_full + 1.0, 0.0)
    faded = np.power(1.0 - fade, exponent)
    return np.where(k < years_full, 1.0, faded)


def risk_reduction(form: str, effect: np.ndarray, baseline: np.ndarray | float) -> np.ndarray:
    """Avoided units per participant-year at full effect, before persistence.

    Parameters
    ----------
    form : {'relative_risk', 'odds_ratio', 'relative_reduction', 'absolute'}
    effect : ndarray, shape (n_draws,)
        The effect parameter in its own form. [ratio, share, or units per participant-year]
    baseline : ndarray, shape (n_draws,), or float
        Rate or quantity per participant-year without the programme (ignored for ``absolute``).

    Returns
    -------
    ndarray, shape (n_draws,)
        ``baseline x (1 - RR)``; for ``odds_ratio``, ``RR = OR / (1 - p + p OR)`` with ``p`` the
        baseline (Zhang J, Yu KF. JAMA 1998;280:1690-1); for ``absolute``, ``effect`` itself.
    """
    if form == "relative_risk":
        return baseline * (1.0 - effect)
    if form == "odds_ratio":
        relative_risk = effect / (1.0 - baseline + baseline * effect)
        return baseline * (1.0 - relative_risk)
    if form == "relative_reduction":
        return baseline * effect
    if form == "absolute":
        return np.asarray(effect, dtype=float)
    raise ValueError(f"unknown effect form '{form}'")


# --- one intervention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterventionPlan:
    """An intervention made ready for the core: scenario choices resolved, kernels precomputed.

    Attributes
    ----------
    spec : InterventionSpec
    population : float
        Persons in the target ages in the area. [persons]
    delivery : ndarray, shape (n_years,)
        Cohorts starting in each year (1 in delivery years, else 0). [cohorts]
    reach, uptake : Ref
        As in the spec, or as overridden by the scenario.
    sector_index : dict
        Sector name -> position on the sector axis.
    n_years : int
    """

    spec: InterventionSpec
    population: float
    delivery: np.ndarray
    reach: Ref
    uptake: Ref
    sector_index: Mapping[str, int]
    n_years: int

    @property
    def distinct_share(self) -> float:
        """Distinct people reached per participant-year (1 unless the whole age band enrols yearly).

        With ``enrols = "age_band"``, ages ``low..high`` (``W`` single years) and delivery years ``D``,
        the people reached are the birth cohorts ``d - a`` (``d`` in ``D``, ``a`` in ``0..W-1``), each
        about ``1/W`` of a year's participants: the share is ``|{d - a}| / (W |D|)``. [unitless]
        """
        years = np.flatnonzero(self.delivery)
        if self.spec.delivery.enrols != "age_band" or len(years) == 0:
            return 1.0
        low, high = self.spec.population.ages
        width = high - low + 1
        cohorts = {int(d) - a for d in years for a in range(width)}
        return len(cohorts) / (width * len(years))

    @property
    def outcome_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.spec.outcomes)


@dataclass(frozen=True)
class InterventionFlows:
    """What the core returns for one intervention and one chunk of draws.

    Only the (sector, kind) cells the intervention touches are carried (a handful of the 36), so
    everything downstream works on ``cell_flows``; :attr:`flows` gives the full labelled cube.

    Attributes
    ----------
    cell_flows : ndarray, shape (n_draws, n_cells, n_years)
        Undiscounted costs and benefits of each touched cell, year last (contiguous, so sums and
        cumulative sums over years are fast). [GBP, scenario prices]
    cells : tuple of (int, int)
        ``(sector index, kind index)`` of each column of ``cell_flows``, kinds as in :data:`KINDS`.
    n_sectors : int
    avoided : ndarray, shape (n_draws, n_years, n_outcomes)
        Outcome units avoided each year, all cohorts. [outcome units]
    participants : ndarray, shape (n_draws, n_years)
        People starting the programme each year. [persons]
    qalys : ndarray, shape (n_draws, n_years)
        QALYs gained each year, undiscounted: the social value of every consequence or Markov block
        valued through ``value_of_qaly``, divided by it. [QALYs]
    """

    cell_flows: np.ndarray
    cells: tuple[tuple[int, int], ...]
    n_sectors: int
    avoided: np.ndarray
    participants: np.ndarray
    qalys: np.ndarray

    @property
    def flows(self) -> np.ndarray:
        """The full cube ``flows[draw, year, sector, kind]``, zeros where untouched. [GBP]"""
        n_draws, _, n_years = self.cell_flows.shape
        out = np.zeros((n_draws, n_years, self.n_sectors, len(KINDS)))
        for c, (sector, kind) in enumerate(self.cells):
            out[:, :, sector, kind] = self.cell_flows[:, c, :]
        return out


def resolve(ref: Ref, values: Values, n_draws: int) -> np.ndarray:
    """A reference as an array of shape ``(n_draws,)``: a parameter's draws or a repeated number."""
    if isinstance(ref, str):
        return values[ref]
    return np.full(n_draws, float(ref))


def product(refs: tuple[Ref, ...], values: Values, n_draws: int) -> np.ndarray:
    """Elementwise product of several references, shape ``(n_draws,)``."""
    out = np.ones(n_draws)
    for ref in refs:
        out = out * resolve(ref, values, n_draws)
    return out


def consequence_flows(outcome, avoided: np.ndarray, values: Values, n_draws: int):
    """Money that ``avoided (n_draws, n_years)`` units of ``outcome`` release, consequence by consequence.

    Yields ``(sector, value_type, yearly)`` with ``yearly (n_draws, n_years)`` = (avoided convolved with
    the lag profile) x product of ``per_unit``. [GBP, scenario prices]. Linear in ``avoided``.
    """
    for consequence in outcome.consequences:
        value = product(consequence.factors, values, n_draws)
        lagged = convolve_years(avoided, np.asarray(consequence.lag, dtype=float))
        yield consequence.sector, consequence.value_type, lagged * value[:, None]


def consequence_qalys(consequence, avoided: np.ndarray, values: Values, n_draws: int) -> np.ndarray:
    """QALYs a consequence valued through ``value_of_qaly`` stands for, ``(n_draws, n_years)``: the
    lagged units times every other factor (the value of a QALY left out, so a zero value still counts
    the QALYs). [QALYs]"""
    factors = list(consequence.factors)
    factors.remove(QALY_PARAMETER)
    lagged = convolve_years(avoided, np.asarray(consequence.lag, dtype=float))
    return lagged * product(tuple(factors), values, n_draws)[:, None]


def intervention_flows(plan: InterventionPlan, values: Values, n_draws: int) -> InterventionFlows:
    """Yearly costs and benefits by sector for one intervention, all draws of a chunk at once.

    Parameters
    ----------
    plan : InterventionPlan
    values : mapping of str to ndarray, each shape (n_draws,)
        Every parameter the spec names, money already in the scenario's price year.
    n_draws : int

    Returns
    -------
    InterventionFlows
    """
    spec, n_years = plan.spec, plan.n_years
    pop = spec.population
    per_cohort = (plan.population * resolve(pop.eligible_share, values, n_draws)
                  * resolve(plan.reach, values, n_draws) * resolve(plan.uptake, values, n_draws))
    cohort_starts = year_shift_matrix(plan.delivery, n_years)  # open cohorts
    participants = per_cohort[:, None] * plan.delivery[None, :]

    columns: dict[tuple[int, int], list[np.ndarray]] = {}

    def add(sector: str, kind: str, yearly: np.ndarray) -> None:
        columns.setdefault((plan.sector_index[sector], KIND_INDEX[kind]), []).append(yearly)

    for cost in spec.costs:
        profile = np.zeros(n_years)
        offsets = [y for y in cost.years if y < n_years]
        profile[offsets] = 1.0
        yearly_profile = cohort_starts @ profile  # shape (n_years,)
        amount = resolve(cost.amount, values, n_draws)
        if cost.per_participant is not None:
            amount = amount * per_cohort
        add(cost.payer, "cost", amount[:, None] * yearly_profile[None, :])

    avoided_all = np.empty((n_draws, n_years, len(spec.outcomes)))
    qalys = np.zeros((n_draws, n_years))
    markov_avoided: list[np.ndarray] = []
    for o, outcome in enumerate(spec.outcomes):
        baseline = (resolve(outcome.baseline, values, n_draws)
                    if outcome.baseline is not None else 1.0)
        per_participant = risk_reduction(outcome.effect.form,
                                         resolve(outcome.effect.ref, values, n_draws), baseline)
        additionality = ((1.0 - resolve(outcome.deadweight, values, n_draws))
                         * (1.0 - resolve(outcome.displacement, values, n_draws))
                         * (1.0 - resolve(outcome.attribution, values, n_draws)))
        keep = outcome.persistence
        if isinstance(keep.years_full, str) or isinstance(keep.fade, str):
            share_present = persistence(resolve(keep.years_full, values, n_draws),
                                        resolve(keep.fade, values, n_draws), n_years)
        else:  # the same for every draw: one row, broadcast
            share_present = persistence(keep.years_full, keep.fade, n_years)
        cohort = (per_cohort * per_participant * additionality)[:, None] * share_present
        avoided = cohort @ cohort_starts.T
        avoided_all[:, :, o] = avoided
        for consequence, (sector, kind, yearly) in zip(
                outcome.consequences, consequence_flows(outcome, avoided, values, n_draws), strict=True):
            add(sector, kind, yearly)
            if QALY_PARAMETER in consequence.factors:
                qalys = qalys + consequence_qalys(consequence, avoided, values, n_draws)

    for m, block in enumerate(spec.markov):  # state-transition models (roi_engine.model.markov)
        keep: dict = {}
        items = list(markov_flows(block, values, n_draws, n_years, where=f"markov[{m}]", keep=keep))
        index = {state: i for i, state in enumerate(block.states)}
        for state in outcome_states(block):  # person-years in a costly state avoided, all cohorts
            markov_avoided.append((per_cohort[:, None] * keep["diff"][:, :, index[state]]) @ cohort_starts.T)
        for sector, kind, yearly in items:
            add(sector, kind, (per_cohort[:, None] * yearly) @ cohort_starts.T)
        if block.utilities and block.qaly_value == QALY_PARAMETER:  # the last item is its QALYs
            v = values[QALY_PARAMETER][:, None]
            if np.all(v != 0):
                gained = items[-1][2] / v
            else:  # valued at zero (a basis without QALYs): count them from the trace
                diff = occupancy_difference(block, values, n_draws, n_years, where=f"markov[{m}]")
                gained = qalys_gained(block, diff, values, n_draws)
            qalys = qalys + (per_cohort[:, None] * gained) @ cohort_starts.T

    if markov_avoided:  # after the outcomes, so outcome positions stay as in the spec
        avoided_all = np.concatenate([avoided_all, np.stack(markov_avoided, axis=2)], axis=2)
    cells = tuple(columns)
    cell_flows = np.empty((n_draws, len(cells), n_years))
    for c, parts in enumerate(columns.values()):
        cell_flows[:, c, :] = parts[0] if len(parts) == 1 else np.sum(parts, axis=0)
    return InterventionFlows(cell_flows=cell_flows, cells=cells, n_sectors=len(plan.sector_index),
                             avoided=avoided_all, participants=participants, qalys=qalys)
