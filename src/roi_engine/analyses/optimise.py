"""Budget-constrained portfolio choice under uncertainty: which programmes, at which scale.

For each programme ``j`` of a scenario and each scale level ``l`` (a multiplier of the scenario's
reach, e.g. 0.25, 0.5, 0.75, 1), choose at most one level (or none) to maximise the expected net
benefit under a perspective, subject to budgets per payer, chance constraints and logical rules.

Steps (each a pure function):

1. :func:`simulate_levels` evaluates every programme at every level on *the same* parameter draws
   (common random numbers: one sample of the scenario's parameters, reused for every level) and keeps,
   per draw and option ``o = (j, l)``: the net benefit under the chosen perspective, the PV of costs by
   payer sector, and the expected yearly (undiscounted) costs by payer sector. Programmes are evaluated
   one at a time (the *additive* model: no overlap correction).
2. :func:`solve` builds and solves the mixed-integer programme with :func:`scipy.optimize.milp`
   (HiGHS): binary ``x[o]``, ``sum_l x[j, l] <= 1``, budgets on expected costs, chance constraints
   by sample-average approximation (binary ``z[s, b]`` per draw and budget, big-M), must-fund,
   exclusive and prerequisite rules.
3. :func:`top_portfolios` finds the best few portfolios of the additive model (no-good cuts), and
   :func:`exact_values` re-evaluates each with the overlap correction of
   :mod:`roi_engine.model.overlap` (programmes changing the same outcome in the same people) on the
   same draws; the best of them exactly is the answer.
4. :func:`frontier`, :func:`shadow_prices` and :func:`per_draw_choices` (P(each programme is in the
   optimal portfolio), and the portfolio EVPI) describe the choice.

Money is GBP in the scenario's price year; net benefits and PV budgets are discounted as the run
is; yearly budgets are on undiscounted expected costs in each year (real terms, the run's price year).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from roi_engine.errors import InputError, closest
from roi_engine.inputs.accounting import CASH_KINDS, KIND_INDEX, KINDS, PERSPECTIVES, perspective_weights
from roi_engine.model.engine import intervention_flows
from roi_engine.model.evaluation import Model
from roi_engine.model.overlap import find_overlaps, remove_double_counting

DEFAULT_LEVELS = (0.25, 0.5, 0.75, 1.0)
"""Default scale levels: multiples of each programme's reach in the scenario."""
AGGREGATE_PAYERS = ("public", "all")
"""Budget holders beyond single sectors: the public bodies together, and every sector."""
MIP_GAP = 1e-9
"""Relative optimality gap asked of HiGHS: the choice is optimal, not merely close."""


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """A payer's budget.

    Attributes
    ----------
    payer : str
        A sector name, ``public`` (the public bodies together) or ``all``.
    amount : float
        [GBP, the run's price year]
    yearly : bool
        False: a cap on the expected PV of the payer's costs over the horizon (discounted as the run);
        True: a cap on its expected undiscounted costs in *each* year.
    """

    payer: str
    amount: float
    yearly: bool = False

    @property
    def label(self) -> str:
        return f"{self.payer} ({'per year' if self.yearly else 'PV'})"


@dataclass(frozen=True)
class CashReturn:
    """A chance constraint on a payer's cash: P(its cash-releasing gains repay its outlay within
    ``years``) >= ``beta``.

    Attributes
    ----------
    payer : str
        A sector, ``public`` or ``all``.
    years : int
        H: years 0 .. H - 1 count (discounted as the run). [years]
    beta : float
        Required probability, over the chance draws. [probability]
    """

    payer: str
    years: int
    beta: float

    @property
    def label(self) -> str:
        return f"P({self.payer} cash repays its outlay within {self.years} years) >= {self.beta:g}"


@dataclass(frozen=True)
class Constraints:
    """What a portfolio must respect.

    Attributes
    ----------
    budgets : tuple of Budget
    alpha : float or None
        With a value, every PV budget is also a chance constraint: P(payer's PV outlay > budget) <= alpha,
        by sample-average approximation over ``chance_draws`` draws.
    must_fund : tuple of str
        Programmes funded at some level.
    exclusive : tuple of tuple of str
        Groups of which at most one programme is funded.
    requires : tuple of (str, str)
        ``(a, b)``: ``a`` is funded only if ``b`` is.
    cash_returns : tuple of CashReturn
        Chance constraints on payers' cash returns (sample-average approximation, as ``alpha``).
    equity : float or None
        With a value ``r``: the expected share of the health gain reaching the most deprived fifth is at
        least ``r`` times that fifth's share of residents (1: at least its population share).
    chance_draws : int
        Draws used for the sample-average approximation (the first this many of the run).
    """

    budgets: tuple[Budget, ...] = ()
    alpha: float | None = None
    must_fund: tuple[str, ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()
    requires: tuple[tuple[str, str], ...] = ()
    cash_returns: tuple[CashReturn, ...] = ()
    equity: float | None = None
    chance_draws: int = 500

    def scaled(self, factor: float) -> Constraints:
        """The same constraints with every budget multiplied by ``factor``."""
        return replace(self, budgets=tuple(replace(b, amount=b.amount * factor) for b in self.budgets))


def parse_levels(text: str, where: str = "--levels") -> tuple[float, ...]:
    """``"0.25,0.5,1"`` -> ``(0.25, 0.5, 1.0)``: positive multipliers of reach, sorted, distinct."""
    try:
        levels = tuple(sorted({float(t) for t in text.split(",") if t.strip()}))
    except ValueError:
        raise InputError(f"'{text}' is not a list of numbers", where=where,
                         hint="e.g. 0.25,0.5,0.75,1 (multiples of the scenario's reach)") from None
    if not levels or any(not math.isfinite(v) or v <= 0 for v in levels):
        raise InputError(f"'{text}': scale levels must be positive numbers", where=where,
                         hint="e.g. 0.25,0.5,0.75,1; not funding a programme is always an option")
    return levels


def parse_cash_return(text: str) -> CashReturn:
    """``"nhs:10=0.5"`` -> :class:`CashReturn` (payer, within H years, probability)."""
    head, sep, beta = text.partition("=")
    payer, colon, years = head.partition(":")
    try:
        value, horizon = float(beta), int(years)
    except ValueError:
        value, horizon = math.nan, 0
    if not sep or not colon or not payer.strip() or not 0 <= value <= 1 or horizon < 1:
        raise InputError(f"'{text}' is not PAYER:YEARS=PROBABILITY", where="--cash-return",
                         hint="e.g. nhs:10=0.5: P(the NHS's cash gains repay its outlay within 10 years) "
                              ">= 0.5")
    return CashReturn(payer.strip(), horizon, value)


def parse_budget(text: str, *, yearly: bool = False, where: str = "--budget") -> Budget:
    """``"local_authority=2e6"`` -> :class:`Budget`."""
    payer, sep, amount = text.partition("=")
    try:
        value = float(amount.replace(",", "").replace("£", ""))
    except ValueError:
        value = math.nan
    if not sep or not payer.strip() or not math.isfinite(value) or value < 0:
        raise InputError(f"'{text}' is not PAYER=AMOUNT", where=where,
                         hint="e.g. local_authority=2e6 (GBP, a sector, 'public' or 'all')")
    return Budget(payer.strip(), value, yearly)


# --- perspective --------------------------------------------------------------------------------


def objective_weights(perspective: str, sectors: tuple[str, ...], public_body: np.ndarray) -> np.ndarray:
    """Signed weights of the net benefit on each (sector, kind) cell of a PV.

    Parameters
    ----------
    perspective : str
        ``societal``, ``economic`` or ``public_sector`` (:data:`~roi_engine.inputs.accounting.PERSPECTIVES`),
        or ``cash:SECTOR``: one sector's cash position (its fiscal and economic gains minus its costs).
    sectors : tuple of str, length S
    public_body : ndarray of bool, shape (S,)

    Returns
    -------
    ndarray, shape (S, 4)
        +1 on counted benefits, -1 on counted costs, 0 elsewhere. [unitless]
    """
    sign = np.where(np.arange(len(KINDS)) == KIND_INDEX["cost"], -1.0, 1.0)
    if perspective.startswith("cash:"):
        sector = perspective.removeprefix("cash:")
        if sector not in sectors:
            hint = closest(sector, sectors)
            raise InputError(f"'{sector}' is not a sector", where="--perspective",
                             hint=f"did you mean '{hint[0]}'?" if hint else f"one of {', '.join(sectors)}")
        w = np.zeros((len(sectors), len(KINDS)))
        s = sectors.index(sector)
        w[s, KIND_INDEX["cost"]] = -1.0
        for kind in CASH_KINDS:
            w[s, KIND_INDEX[kind]] = 1.0
        return w
    if perspective not in PERSPECTIVES:
        raise InputError(f"unknown perspective '{perspective}'", where="--perspective",
                         hint=f"one of {', '.join(PERSPECTIVES)}, or cash:SECTOR")
    return perspective_weights(perspective, public_body) * sign


def payer_mask(payer: str, sectors: tuple[str, ...], public_body: np.ndarray) -> np.ndarray:
    """Which sectors a budget holder covers, shape ``(S,)`` bool."""
    if payer == "all":
        return np.ones(len(sectors), dtype=bool)
    if payer == "public":
        return np.asarray(public_body, dtype=bool)
    if payer not in sectors:
        hint = closest(payer, [*sectors, *AGGREGATE_PAYERS])
        raise InputError(f"'{payer}' is not a payer", where="--budget",
                         hint=f"did you mean '{hint[0]}'?" if hint
                         else f"one of {', '.join([*sectors, *AGGREGATE_PAYERS])}")
    return np.array([s == payer for s in sectors])


# --- 1. every programme at every level, on the same draws ---------------------------------------


@dataclass
class LevelValues:
    """Every option (programme, level) evaluated on the same draws, additively.

    Shapes use ``n`` draws, ``O`` options, ``S`` sectors, ``H`` years, ``I`` programmes.

    Attributes
    ----------
    ids, names : tuple of str, length I
    option_programme : ndarray of int, shape (O,)
        The programme (position in ``ids``) of each option.
    option_level : ndarray, shape (O,)
        Scale level: multiple of the scenario's reach. [unitless]
    option_reach : ndarray, shape (O,)
        Reach at that level. [share of the eligible population]
    nb : ndarray, shape (n, O)
        Net benefit under :attr:`perspective` (counted benefits minus counted costs). [GBP, PV]
    cost_pv : ndarray, shape (n, O, S)
        PV of each payer sector's costs. [GBP, PV]
    cost_year_mean : ndarray, shape (O, S, H)
        Mean over draws of each payer sector's undiscounted costs in each year. [GBP]
    sectors : tuple of str, length S
    public_body : ndarray of bool, shape (S,)
    perspective : str
    weights : ndarray, shape (S, 4)
        :func:`objective_weights` of the perspective.
    seconds : float
        Time taken. [s]
    sample_seconds : float
        Of which sampling the parameters (once, for every level). [s]
    cash_net : dict of (str, int) to ndarray, shape (n, O)
        Per payer and H: its cash-releasing gains minus its costs over years 0 .. H - 1. [GBP, PV]
    social : ndarray, shape (n, O)
        PV of health and wellbeing (social) value, the health gain in money. [GBP, PV]
    most_deprived_share : ndarray, shape (n, I), or None
        Share of each programme's benefits reaching the most deprived fifth (IMD 2019 quintile 1);
        None when the shipped table does not cover the area. [fraction]
    most_deprived_population_share : float or None
        That fifth's share of the area's residents. [fraction]
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    option_programme: np.ndarray
    option_level: np.ndarray
    option_reach: np.ndarray
    nb: np.ndarray
    cost_pv: np.ndarray
    cost_year_mean: np.ndarray
    sectors: tuple[str, ...]
    public_body: np.ndarray
    perspective: str
    weights: np.ndarray
    model: Model = field(repr=False)
    values: dict = field(repr=False)
    seconds: float = 0.0
    sample_seconds: float = 0.0
    cash_net: dict = field(default_factory=dict, repr=False)
    social: np.ndarray | None = field(default=None, repr=False)
    most_deprived_share: np.ndarray | None = field(default=None, repr=False)
    most_deprived_population_share: float | None = None
    _exact: dict = field(default_factory=dict, repr=False)

    @property
    def n_draws(self) -> int:
        return self.nb.shape[0]

    @property
    def n_options(self) -> int:
        return self.nb.shape[1]

    def options_of(self, j: int) -> np.ndarray:
        return np.flatnonzero(self.option_programme == j)

    def describe(self, x: np.ndarray) -> str:
        """``kiva_anti_bullying@0.5, debt_advice@1`` for a 0/1 choice ``x (O,)``; ``nothing``."""
        chosen = [f"{self.ids[self.option_programme[o]]}@{self.option_level[o]:g}"
                  for o in np.flatnonzero(x)]
        return ", ".join(chosen) if chosen else "nothing"


def base_reach(model: Model) -> np.ndarray:
    """Each programme's reach in the scenario, shape ``(I,)``. [share]

    A reach given by a fixed parameter is read from it; an uncertain one cannot be scaled.
    """
    out = []
    for plan in model.plans:
        reach = plan.reach
        if isinstance(reach, str):
            param = model.scenario.registry[reach]
            if param.is_uncertain:
                raise InputError(f"'{plan.spec.id}' takes its reach from the uncertain parameter "
                                 f"'{reach}', which cannot be scaled", file=model.scenario.path,
                                 where="interventions",
                                 hint="set reach for it in the scenario to optimise its scale")
            reach = param.value
        out.append(float(reach))
    return np.array(out)


def simulate_levels(scenario, levels: tuple[float, ...] = DEFAULT_LEVELS, *,
                    perspective: str | None = None,
                    levels_by_programme: dict[str, tuple[float, ...]] | None = None,
                    cash_returns: tuple[tuple[str, int], ...] = ()) -> LevelValues:
    """Evaluate every programme of ``scenario`` at every scale level on the same draws.

    Parameters
    ----------
    scenario : Scenario
        Its draws, seed and sampling set the draws (one sample, reused for every level).
    levels : tuple of float
        Multiples of each programme's reach in the scenario. [unitless]
    perspective : str, optional
        See :func:`objective_weights`; default the scenario's.
    levels_by_programme : dict, optional
        Levels for some programmes instead of ``levels``.
    cash_returns : tuple of (str, int)
        ``(payer, H)`` pairs whose per-draw cash net within H years to keep (:attr:`LevelValues.cash_net`).

    Returns
    -------
    LevelValues
    """
    start = time.perf_counter()
    model = Model(scenario)
    ids = tuple(plan.spec.id for plan in model.plans)
    levels_by_programme = dict(levels_by_programme or {})
    for pid in levels_by_programme:
        if pid not in ids:
            hint = closest(pid, ids)
            raise InputError(f"'{pid}' is not a programme of the scenario", where="--levels-for",
                             hint=f"did you mean '{hint[0]}'?" if hint else f"one of {', '.join(ids)}")
    reach = base_reach(model)
    sectors = tuple(scenario.sectors.names)
    public = np.array([s.public_body for s in scenario.sectors.sectors])
    perspective = perspective or scenario.perspective
    weights = objective_weights(perspective, sectors, public)
    n = scenario.spec.draws
    values = model.values(model.draws(0, n, n))
    sampled = time.perf_counter() - start
    discount = model.discount  # (H, 4)
    option_programme, option_level, option_reach = [], [], []
    nb, cost_pv, cost_year, social = [], [], [], []
    cash_net: dict[tuple[str, int], list] = {}
    cash_weights = {}
    for payer, years in cash_returns:
        mask = payer_mask(payer, sectors, public)
        w = np.zeros((len(sectors), len(KINDS)))
        w[mask, KIND_INDEX["cost"]] = -1.0
        for kind in CASH_KINDS:
            w[mask, KIND_INDEX[kind]] = 1.0
        cash_weights[(payer, years)] = w
        cash_net[(payer, years)] = []
    cost = KIND_INDEX["cost"]
    for j, plan in enumerate(model.plans):
        for level in levels_by_programme.get(plan.spec.id, levels):
            r = reach[j] * level
            if r > 1 + 1e-12:
                raise InputError(f"'{plan.spec.id}' at level {level:g} would reach {r:.0%} of its "
                                 f"eligible population (scenario reach {reach[j]:g})",
                                 where="--levels", hint="use levels up to "
                                 f"{1 / reach[j]:.3g} for it (reach cannot exceed 1)")
            flows = intervention_flows(replace(plan, reach=min(r, 1.0)), values, n)
            o_nb, o_cost, o_year, o_social = _summarise(flows, discount, weights, len(sectors), cost)
            social.append(o_social)
            for (payer, years), w in cash_weights.items():
                cash_net[(payer, years)].append(_cash_within(flows, discount, w, years))
            option_programme.append(j)
            option_level.append(level)
            option_reach.append(r)
            nb.append(o_nb)
            cost_pv.append(o_cost)
            cost_year.append(o_year)
    return LevelValues(
        ids=ids, names=tuple(plan.spec.name for plan in model.plans),
        option_programme=np.array(option_programme), option_level=np.array(option_level),
        option_reach=np.array(option_reach), nb=np.stack(nb, axis=1),
        cost_pv=np.stack(cost_pv, axis=1), cost_year_mean=np.stack(cost_year),
        sectors=sectors, public_body=public, perspective=perspective, weights=weights,
        model=model, values=values, seconds=time.perf_counter() - start, sample_seconds=sampled,
        cash_net={k: np.stack(v, axis=1) for k, v in cash_net.items()},
        social=np.stack(social, axis=1), **_most_deprived_share(model, values, n))


def _most_deprived_share(model: Model, values: dict, n: int) -> dict:
    """Each programme's share of its benefits reaching the most deprived fifth, per draw, and that
    fifth's share of the area's residents (as :mod:`roi_engine.analyses.deprivation` splits them:
    participants by the area's population in the programme's age band times relative uptake, benefits
    by participants times the baseline-risk gradient ``RR ** ((5 - q) / 4)``)."""
    from roi_engine.inputs.deprivation import age_band, gradient_by_quintile, quintile_population
    from roi_engine.model.engine import resolve

    split = quintile_population(model.scenario.area)
    if split is None:
        return {}
    uptake = {item.id: np.array(item.uptake_by_quintile or (1.0,) * 5)
              for item, _ in model.scenario.interventions}
    shares = []
    for plan in model.plans:
        people = split.population[age_band(plan.spec.population.ages)] * uptake[plan.spec.id]  # (Q,)
        total = people.sum()
        cost_w = people / total if total > 0 else np.zeros(5)
        risk = cost_w[None] * gradient_by_quintile(resolve(plan.spec.deprivation.risk_ratio, values, n))
        norm = risk.sum(axis=1)
        shares.append(np.divide(risk[:, 0], norm, out=np.zeros(n), where=norm > 0))
    return {"most_deprived_share": np.stack(shares, axis=1),
            "most_deprived_population_share": float(split.shares("total")[0])}


def _cash_within(flows, discount: np.ndarray, weights: np.ndarray, years: int) -> np.ndarray:
    """Per-draw discounted cash net (``weights``: +1 cash gains, -1 costs of the payer) over years
    0 .. ``years`` - 1, shape ``(n,)``. [GBP, PV]"""
    sectors, kinds = (np.array(a, dtype=int) for a in zip(*flows.cells, strict=True))
    w = weights[sectors, kinds]
    keep = np.flatnonzero(w != 0)
    if not len(keep):
        return np.zeros(flows.cell_flows.shape[0])
    factors = discount.T[kinds[keep], :years] * w[keep, None]  # (C', years)
    return np.einsum("nch,ch->n", flows.cell_flows[:, keep, :years], factors)


def _summarise(flows, discount: np.ndarray, weights: np.ndarray, n_sectors: int, cost: int):
    """Net benefit (n,), PV costs by sector (n, S), mean yearly costs by sector (S, H) and PV of
    health and wellbeing (social) value (n,) of one programme's
    :class:`~roi_engine.model.engine.InterventionFlows`."""
    sectors, kinds = (np.array(a, dtype=int) for a in zip(*flows.cells, strict=True))
    cell_pv = np.einsum("nch,ch->nc", flows.cell_flows, discount.T[kinds])  # (n, C)
    nb = cell_pv @ weights[sectors, kinds]
    n, _, n_years = flows.cell_flows.shape
    cost_pv = np.zeros((n, n_sectors))
    cost_year = np.zeros((n_sectors, n_years))
    for c in np.flatnonzero(kinds == cost):
        cost_pv[:, sectors[c]] += cell_pv[:, c]
        cost_year[sectors[c]] += flows.cell_flows[:, c, :].mean(axis=0)
    social = cell_pv[:, kinds == KIND_INDEX["social"]].sum(axis=1)
    return nb, cost_pv, cost_year, social


def scaled_scenario(scenario, reach_by_id: dict[str, float]):
    """A new scenario holding only the programmes of ``reach_by_id``, each at that reach.

    Built as a fresh validated spec and :class:`~roi_engine.inputs.scenario.Scenario` (nothing shared
    is changed); run it with :func:`roi_engine.results.run` for the full results of a portfolio.
    """
    from roi_engine.inputs.scenario import ScenarioSpec
    from roi_engine.inputs.specs import validate

    items = tuple((item.model_copy(update={"reach": float(reach_by_id[item.id])}), spec)
                  for item, spec in scenario.interventions if item.id in reach_by_id)
    if not items:
        raise InputError("the portfolio funds no programme, so there is nothing to run",
                         file=scenario.path)
    spec = validate(ScenarioSpec, scenario.spec.model_copy(
        update={"interventions": tuple(item for item, _ in items)}).model_dump(), scenario.path)
    return replace(scenario, spec=spec, interventions=tuple(
        (spec.interventions[k], programme) for k, (_, programme) in enumerate(items)))


def chosen_reach(lv: LevelValues, x: np.ndarray) -> dict[str, float]:
    """Programme id -> reach of each programme a choice ``x (O,)`` funds."""
    return {lv.ids[lv.option_programme[o]]: float(lv.option_reach[o]) for o in np.flatnonzero(x)}


# --- exact values, with overlap --------------------------------------------------------------


def exact_values(lv: LevelValues, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per-draw net benefit of portfolio ``x (O,)`` with overlap between its programmes removed.

    Programmes that change the same outcome in the same people (:mod:`roi_engine.model.overlap`)
    are re-run together on the same draws and their double counting removed; the others add.
    Costs are not changed by overlap (it removes benefits only).

    Returns
    -------
    nb : ndarray, shape (n,)
        [GBP, PV]
    overlapped : bool
        Whether any overlap applied.
    """
    chosen = tuple(int(o) for o in np.flatnonzero(x))
    if chosen in lv._exact:
        return lv._exact[chosen]
    model = lv.model
    plans = [replace(model.plans[lv.option_programme[o]], reach=min(lv.option_reach[o], 1.0))
             for o in chosen]
    overlaps = find_overlaps(plans, model.scenario.area)
    total = lv.nb[:, list(chosen)].sum(axis=1) if chosen else np.zeros(lv.n_draws)
    if overlaps:
        involved = sorted({k for ov in overlaps for k in (ov.first, ov.second)})
        sub = [plans[k] for k in involved]
        n = lv.n_draws
        separate = [intervention_flows(p, lv.values, n) for p in sub]
        corrected, _ = remove_double_counting(sub, separate, find_overlaps(sub, model.scenario.area),
                                              lv.values, n)
        cost = KIND_INDEX["cost"]
        for k, flows in zip(involved, corrected, strict=True):
            nb_k, _, _, _ = _summarise(flows, model.discount, lv.weights, len(lv.sectors), cost)
            total = total - lv.nb[:, chosen[k]] + nb_k
    lv._exact[chosen] = (total, bool(overlaps))
    return lv._exact[chosen]


# --- 2. the mixed-integer programme ----------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A solved portfolio.

    Attributes
    ----------
    x : ndarray of bool, shape (O,)
        The options chosen (at most one per programme).
    objective : float
        Expected net benefit of the additive model at ``x`` (what the MILP maximised). [GBP, PV]
    seconds : float
    """

    x: np.ndarray
    objective: float
    seconds: float = 0.0


def _index(lv: LevelValues, pid: str, where: str) -> int:
    if pid not in lv.ids:
        hint = closest(pid, lv.ids)
        raise InputError(f"'{pid}' is not a programme of the scenario", where=where,
                         hint=f"did you mean '{hint[0]}'?" if hint else f"one of {', '.join(lv.ids)}")
    return lv.ids.index(pid)


def check_constraints(lv: LevelValues, constraints: Constraints) -> None:
    """Refuse a constraint naming an unknown programme or payer, or an alpha outside [0, 1]."""
    for b in constraints.budgets:
        payer_mask(b.payer, lv.sectors, lv.public_body)
    for pid in constraints.must_fund:
        _index(lv, pid, "--must-fund")
    for group in constraints.exclusive:
        if len(group) < 2:
            raise InputError(f"'{','.join(group)}': an exclusive group needs two programmes or more",
                             where="--exclusive", hint="e.g. --exclusive workplace_wellbeing,debt_advice")
        for pid in group:
            _index(lv, pid, "--exclusive")
    for a, b in constraints.requires:
        _index(lv, a, "--requires")
        _index(lv, b, "--requires")
        if a == b:
            raise InputError(f"'{a}' cannot require itself", where="--requires")
    if constraints.alpha is not None and not 0 <= constraints.alpha <= 1:
        raise InputError(f"alpha {constraints.alpha:g} is not a probability", where="--alpha",
                         hint="between 0 and 1, e.g. 0.1: each payer's outlay exceeds its budget in "
                              "at most one draw in ten")
    if constraints.equity is not None:
        if lv.most_deprived_share is None:
            raise InputError(f"no split by deprivation for {lv.model.scenario.area}: the shipped IMD "
                             "table does not cover it", where="--equity")
        if not constraints.equity >= 0:
            raise InputError("the equity ratio must be 0 or more", where="--equity")
    for target in constraints.cash_returns:
        payer_mask(target.payer, lv.sectors, lv.public_body)
        if target.years > lv.model.scenario.horizon:
            raise InputError(f"{target.years} years is beyond the horizon ({lv.model.scenario.horizon})",
                             where="--cash-return", hint="use a number of years up to the horizon")
        if (target.payer, target.years) not in lv.cash_net:
            raise InputError(f"the cash return of {target.payer} within {target.years} years was not "
                             "simulated", where="--cash-return")
    if constraints.alpha is not None and not any(not b.yearly for b in constraints.budgets):
        raise InputError("--alpha needs a PV budget (--budget) to constrain", where="--alpha")


def _rows(lv: LevelValues, constraints: Constraints):
    """The linear rows ``lb <= A [x, z] <= ub`` (dense) of the MILP, and the number of z variables."""
    n_opt = lv.n_options
    rows, lb, ub = [], [], []
    must = {_index(lv, p, "--must-fund") for p in constraints.must_fund}
    for j in range(len(lv.ids)):
        row = np.zeros(n_opt)
        row[lv.options_of(j)] = 1.0
        rows.append(row)
        lb.append(1.0 if j in must else 0.0)
        ub.append(1.0)
    for group in constraints.exclusive:
        row = np.isin(lv.option_programme, [lv.ids.index(p) for p in group]).astype(float)
        rows.append(row)
        lb.append(0.0)
        ub.append(1.0)
    for a, b in constraints.requires:
        row = (lv.option_programme == lv.ids.index(a)).astype(float)
        row -= lv.option_programme == lv.ids.index(b)
        rows.append(row)
        lb.append(-np.inf)
        ub.append(0.0)
    mean_cost = lv.cost_pv.mean(axis=0)  # (n_opt, S)
    for budget in constraints.budgets:
        mask = payer_mask(budget.payer, lv.sectors, lv.public_body)
        if budget.yearly:
            yearly = lv.cost_year_mean[:, mask, :].sum(axis=1)  # (n_opt, H)
            for t in np.flatnonzero(np.any(yearly != 0, axis=0)):
                rows.append(yearly[:, t])
                lb.append(-np.inf)
                ub.append(budget.amount)
        else:
            rows.append(mean_cost[:, mask].sum(axis=1))
            lb.append(-np.inf)
            ub.append(budget.amount)
    if constraints.equity is not None:
        # E[sum_o gain_o x_o (share_1 - r P_1)] >= 0: the fifth's share of the expected gain >= r P_1
        share = lv.most_deprived_share[:, lv.option_programme]  # (n, O)
        target = constraints.equity * lv.most_deprived_population_share
        rows.append((lv.social * (share - target)).mean(axis=0))
        lb.append(0.0)
        ub.append(np.inf)
    A = np.array(rows).reshape(len(rows), n_opt)
    chance = []  # rows c[s] . x - big_m[s] z[s] <= amount, at most `allowed` z[s] = 1
    m = min(constraints.chance_draws, lv.n_draws)

    def add_chance(c: np.ndarray, amount: float, allowed: int) -> None:
        most = np.array([np.maximum(c[:, lv.options_of(j)].max(axis=1), 0.0)
                         for j in range(len(lv.ids))]).sum(axis=0)
        chance.append((c, np.maximum(most - amount, 0.0), amount, allowed))  # big-M: the most a draw exceeds

    if constraints.alpha is not None and constraints.alpha < 1:
        for budget in constraints.budgets:
            if not budget.yearly:
                mask = payer_mask(budget.payer, lv.sectors, lv.public_body)
                add_chance(lv.cost_pv[:m][:, :, mask].sum(axis=2), budget.amount,
                           math.floor(constraints.alpha * m + 1e-9))
    for target in constraints.cash_returns:
        if target.beta > 0:  # P(cash net >= 0) >= beta: -net . x <= 0 in all but (1 - beta) m draws
            add_chance(-lv.cash_net[(target.payer, target.years)][:m], 0.0,
                       math.floor((1 - target.beta) * m + 1e-9))
    n_z = sum(int(np.count_nonzero(big)) for _, big, _, _ in chance)
    if not chance:
        return A, np.array(lb), np.array(ub), 0
    blocks, lbs, ubs = [np.hstack([A, np.zeros((A.shape[0], n_z))])], [lb], [ub]
    offset = n_opt
    for c, big_m, amount, allowed in chance:
        risky = np.flatnonzero(big_m > 0)
        k = len(risky)
        block = np.zeros((k + 1, n_opt + n_z))
        block[:k, :n_opt] = c[risky]
        block[np.arange(k), offset + np.arange(k)] = -big_m[risky]
        block[k, offset:offset + k] = 1.0
        blocks.append(block)
        lbs.append([-np.inf] * (k + 1))
        ubs.append([amount] * k + [float(allowed)])
        offset += k
    return np.vstack(blocks), np.concatenate(lbs), np.concatenate(ubs), n_z


@contextlib.contextmanager
def _quiet_solver():
    """HiGHS sometimes prints debugging lines to the C-level stdout; keep them off the terminal."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def solve(lv: LevelValues, constraints: Constraints, *, objective: np.ndarray | None = None,
          cuts: tuple[np.ndarray, ...] = (), rows=None) -> Choice | None:
    """The portfolio maximising expected net benefit (or ``objective (O,)``) under ``constraints``.

    ``cuts`` are earlier choices to exclude (no-good cuts). ``rows`` reuses :func:`_rows`' output
    (the constraints do not depend on the objective). Returns None when no portfolio is feasible.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    start = time.perf_counter()
    n_opt = lv.n_options
    A, lb, ub, n_z = rows if rows is not None else _rows(lv, constraints)
    value = lv.nb.mean(axis=0) if objective is None else objective
    extra, extra_ub = [], []
    for x in cuts:
        row = np.where(x, 1.0, -1.0)
        extra.append(np.concatenate([row, np.zeros(n_z)]))
        extra_ub.append(float(x.sum()) - 1.0)
    if extra:
        A = np.vstack([A, extra])
        lb = np.concatenate([lb, np.full(len(extra), -np.inf)])
        ub = np.concatenate([ub, extra_ub])
    scale = max(float(np.abs(value).max()), 1.0)
    c = np.concatenate([-value / scale, np.zeros(n_z)])
    with _quiet_solver():
        result = milp(c, integrality=np.ones(n_opt + n_z), bounds=Bounds(0, 1),
                      constraints=LinearConstraint(A, lb, ub),
                      options={"mip_rel_gap": MIP_GAP, "time_limit": 120})
    if result.x is None:
        return None
    x = result.x[:n_opt] > 0.5
    return Choice(x, float(value[x].sum()), time.perf_counter() - start)


def top_portfolios(lv: LevelValues, constraints: Constraints, k: int = 5) -> list[Choice]:
    """The ``k`` best portfolios of the additive model, best first (fewer if fewer are feasible)."""
    rows = _rows(lv, constraints)
    found: list[Choice] = []
    for _ in range(k):
        choice = solve(lv, constraints, cuts=tuple(c.x for c in found), rows=rows)
        if choice is None:
            break
        found.append(choice)
    return found


# --- 3. describing the choice ------------------------------------------------------------------


def band(values: np.ndarray) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentiles over draws."""
    return float(values.mean()), float(np.percentile(values, 5)), float(np.percentile(values, 95))


def frontier(lv: LevelValues, constraints: Constraints, factors: np.ndarray) -> list[dict]:
    """The best portfolio as every budget is multiplied by each of ``factors``.

    Returns one dict per factor: ``factor``, ``budget:<label>`` amounts, the chosen portfolio, the
    additive objective and the exact (overlap) expected net benefit with its 90% band over draws.
    """
    out = []
    rows_cache = {}
    for f in factors:
        scaled = constraints.scaled(float(f))
        rows = rows_cache.setdefault(float(f), _rows(lv, scaled))
        choice = solve(lv, scaled, rows=rows)
        row = {"factor": float(f)}
        for b in scaled.budgets:
            row[f"budget:{b.label}"] = b.amount
        if choice is None:
            row.update(portfolio="infeasible", additive=math.nan, mean=math.nan, p5=math.nan,
                       p95=math.nan, x=None)
        else:
            exact, _ = exact_values(lv, choice.x)
            mean, p5, p95 = band(exact)
            row.update(portfolio=lv.describe(choice.x), additive=choice.objective, mean=mean, p5=p5,
                       p95=p95, x=choice.x)
        out.append(row)
    return out


def entry_order(lv: LevelValues, points: list[dict]) -> list[tuple[str, float | None, float | None]]:
    """For each programme, the first frontier factor at which it is funded and its level then,
    ordered by that factor (programmes never funded last, with None)."""
    first: dict[str, tuple[float, float]] = {}
    for point in points:
        if point["x"] is None:
            continue
        for o in np.flatnonzero(point["x"]):
            pid = lv.ids[lv.option_programme[o]]
            first.setdefault(pid, (point["factor"], float(lv.option_level[o])))
    ordered = sorted(first.items(), key=lambda kv: kv[1][0])
    return [(pid, f, level) for pid, (f, level) in ordered] + [
        (pid, None, None) for pid in lv.ids if pid not in first]


def shadow_prices(lv: LevelValues, constraints: Constraints, choice: Choice,
                  relative_step: float = 0.01) -> list[dict]:
    """Extra expected net benefit per extra £1 of each budget.

    Two estimates: ``milp``: re-solve the MILP with that budget raised by ``relative_step`` of it
    (a step function: often 0 until the next option becomes affordable); ``lp``: the dual value
    of the budget's row in the LP relaxation (HiGHS marginals; chance constraints left out). [GBP per GBP]
    """
    from scipy.optimize import linprog

    out = []
    A, lb, ub, _ = _rows(lv, replace(constraints, alpha=None, cash_returns=()))
    value = lv.nb.mean(axis=0)
    upper, lower = ub < np.inf, lb > -np.inf
    A_ub = np.vstack([A[upper], -A[lower]])
    b_ub = np.concatenate([ub[upper], -lb[lower]])
    lp = linprog(-value, A_ub=A_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    marginals = -lp.ineqlin.marginals if lp.status == 0 else None
    budget_rows = _budget_row_positions(lv, constraints, upper)
    for i, budget in enumerate(constraints.budgets):
        step = max(budget.amount * relative_step, 1.0)
        budgets = list(constraints.budgets)
        budgets[i] = replace(budget, amount=budget.amount + step)
        raised = solve(lv, replace(constraints, budgets=tuple(budgets)))
        milp_price = (raised.objective - choice.objective) / step if raised is not None else math.nan
        lp_price = (float(marginals[budget_rows[i]].sum()) if marginals is not None and budget_rows[i]
                    else math.nan)
        out.append({"budget": budget.label, "amount": budget.amount, "step": step,
                    "milp": milp_price, "lp": lp_price})
    return out


def _budget_row_positions(lv: LevelValues, constraints: Constraints, upper: np.ndarray) -> list[list[int]]:
    """Positions, among the ``<=`` rows of :func:`_rows` (``upper``), of each budget's rows."""
    n_fixed = len(lv.ids) + len(constraints.exclusive) + len(constraints.requires)
    position = int(upper[:n_fixed].sum())
    out = []
    for budget in constraints.budgets:
        mask = payer_mask(budget.payer, lv.sectors, lv.public_body)
        if budget.yearly:
            yearly = lv.cost_year_mean[:, mask, :].sum(axis=1)
            k = int(np.count_nonzero(np.any(yearly != 0, axis=0)))
        else:
            k = 1
        out.append(list(range(position, position + k)))
        position += k
    return out


@dataclass(frozen=True)
class PerDraw:
    """The best portfolio in each of ``m`` draws (perfect information on net benefit).

    Attributes
    ----------
    x : ndarray of bool, shape (m, O)
    best : ndarray, shape (m,)
        max_x NB_s(x) in each draw. [GBP, PV]
    at_choice : ndarray, shape (m,)
        NB_s(x*) of the expected-value choice in the same draws. [GBP, PV]
    seconds : float
    """

    x: np.ndarray
    best: np.ndarray
    at_choice: np.ndarray
    seconds: float

    @property
    def evpi(self) -> float:
        """E_s[max_x NB_s(x)] - E_s[NB_s(x*)], x* the expected-value choice: what knowing the
        true parameters before choosing would be worth. [GBP, PV]"""
        return float(self.best.mean() - self.at_choice.mean())


def per_draw_choices(lv: LevelValues, constraints: Constraints, choice: Choice, m: int = 300) -> PerDraw:
    """Solve the portfolio problem in each of the first ``m`` draws with that draw's net benefits.

    The feasible set is the expected-value problem's (budgets on expected costs, rules; chance
    constraints, on outlays and on cash returns, left out), so only what is learnt about net benefit
    changes: the expected-value choice ``choice.x`` is feasible in every draw and the EVPI is never negative.
    """
    start = time.perf_counter()
    m = min(m, lv.n_draws)
    rows = _rows(lv, replace(constraints, alpha=None, cash_returns=()))
    xs = np.zeros((m, lv.n_options), dtype=bool)
    best = np.empty(m)
    for s in range(m):
        found = solve(lv, constraints, objective=lv.nb[s], rows=rows)
        xs[s] = found.x
        best[s] = found.objective
    at_choice = lv.nb[:m] @ choice.x.astype(float)
    return PerDraw(xs, best, at_choice, time.perf_counter() - start)


# --- 4. everything at once ---------------------------------------------------------------------


@dataclass
class Optimisation:
    """What :func:`optimise` found.

    Attributes
    ----------
    lv : LevelValues
    constraints : Constraints
    candidates : list of (Choice, ndarray (n,), bool)
        The best additive portfolios with their exact per-draw net benefit and whether overlap applied.
    best : int
        Position in ``candidates`` of the best exactly.
    points : list of dict
        :func:`frontier`.
    factors : ndarray
    shadow : list of dict
        :func:`shadow_prices`.
    per_draw : PerDraw
    timings : dict of str to float
        Seconds by step: ``simulate levels`` (sampling, then every programme at every level),
        ``solve: choice and top portfolios``, ``overlap re-check``, ``solve: frontier``,
        ``solve: shadow prices``, ``per-draw solves``.
    """

    lv: LevelValues
    constraints: Constraints
    candidates: list
    best: int
    points: list
    factors: np.ndarray
    shadow: list
    per_draw: PerDraw
    timings: dict

    @property
    def choice(self) -> Choice:
        return self.candidates[self.best][0]

    @property
    def exact(self) -> np.ndarray:
        return self.candidates[self.best][1]

    def probability_in_optimal(self) -> np.ndarray:
        """P(each option is in the per-draw optimal portfolio), shape ``(O,)``."""
        return self.per_draw.x.mean(axis=0)

    def programme_probability(self) -> np.ndarray:
        """P(each programme is funded, at any level, in the per-draw optimum), shape ``(I,)``."""
        p = self.probability_in_optimal()
        return np.array([p[self.lv.options_of(j)].sum() for j in range(len(self.lv.ids))])

    def exceed_probability(self) -> dict[str, float]:
        """P(each PV budget's payer spends more than it), over all draws, at the choice."""
        out = {}
        for b in self.constraints.budgets:
            if b.yearly:
                continue
            mask = payer_mask(b.payer, self.lv.sectors, self.lv.public_body)
            spent = self.lv.cost_pv[:, :, mask].sum(axis=2) @ self.choice.x.astype(float)
            out[b.label] = float((spent > b.amount * (1 + 1e-12)).mean())
        return out


def cash_return_probability(lv: LevelValues, constraints: Constraints, x: np.ndarray) -> dict[str, float]:
    """P(each cash-return target is met) at choice ``x``, over all draws (additive model)."""
    return {t.label: float((lv.cash_net[(t.payer, t.years)] @ x.astype(float) >= -1e-6).mean())
            for t in constraints.cash_returns}


def most_deprived_gain_share(lv: LevelValues, x: np.ndarray) -> float | None:
    """Share of the expected health gain of choice ``x`` reaching the most deprived fifth (additive
    model), or None when not available."""
    if lv.most_deprived_share is None or not x.any():
        return None
    gain = lv.social[:, x]
    total = gain.mean(axis=0).sum()
    share = (gain * lv.most_deprived_share[:, lv.option_programme[x]]).mean(axis=0).sum()
    return float(share / total) if total > 0 else None


def default_factors(lv: LevelValues, constraints: Constraints, points: int = 21) -> np.ndarray:
    """Budget multipliers for the frontier: 0 up to where every budget stops binding, with 1 in it."""
    if not constraints.budgets:
        return np.array([1.0])
    mean_cost = lv.cost_pv.mean(axis=0)
    top = 1.0
    for b in constraints.budgets:
        mask = payer_mask(b.payer, lv.sectors, lv.public_body)
        if b.yearly:
            yearly = lv.cost_year_mean[:, mask, :].sum(axis=1)
            most = float(np.array([yearly[lv.options_of(j)].max(axis=0)
                                   for j in range(len(lv.ids))]).sum(axis=0).max())
        else:
            cost = mean_cost[:, mask].sum(axis=1)
            most = sum(float(cost[lv.options_of(j)].max()) for j in range(len(lv.ids)))
        if b.amount > 0:
            top = max(top, most / b.amount)
    factors = np.unique(np.concatenate([np.linspace(0, min(top, 20.0) * 1.05, points), [1.0]]))
    return factors


def all_budget(lv: LevelValues) -> Budget:
    """With no budget given, the frontier is drawn against one budget on everyone's PV costs, at
    the cost of funding every programme at its highest level."""
    mean_cost = lv.cost_pv.mean(axis=0).sum(axis=1)
    most = sum(float(mean_cost[lv.options_of(j)].max()) for j in range(len(lv.ids)))
    return Budget("all", most)


def optimise(scenario, constraints: Constraints, *, levels: tuple[float, ...] = DEFAULT_LEVELS,
             levels_by_programme: dict | None = None, perspective: str | None = None, top: int = 5,
             per_draw: int = 300, frontier_points: int = 21) -> Optimisation:
    """Choose the portfolio: simulate levels, solve, check overlap, frontier, shadow prices, per draw.

    With no budget, the choice is unconstrained and the frontier is drawn against a budget on all
    payers' PV costs (:func:`all_budget`).
    """
    lv = simulate_levels(scenario, levels, perspective=perspective,
                         levels_by_programme=levels_by_programme,
                         cash_returns=tuple((t.payer, t.years) for t in constraints.cash_returns))
    check_constraints(lv, constraints)
    clock = time.perf_counter()
    timings = {"simulate levels: sample draws": lv.sample_seconds,
               "simulate levels: programmes x levels": lv.seconds - lv.sample_seconds}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    found = top_portfolios(lv, constraints, top)
    if not found:
        raise InputError("no portfolio meets every constraint", where="--budget",
                         hint="a must-fund programme may cost more than its payer's budget; raise a "
                              "budget, raise --alpha or drop a rule")
    lap("solve: choice and top portfolios")
    candidates = []
    for choice in found:
        exact, overlapped = exact_values(lv, choice.x)
        candidates.append((choice, exact, overlapped))
    best = int(np.argmax([exact.mean() for _, exact, _ in candidates]))
    lap("overlap re-check")
    frontier_constraints = constraints if constraints.budgets else replace(
        constraints, budgets=(all_budget(lv),))
    factors = default_factors(lv, frontier_constraints, frontier_points)
    points = frontier(lv, frontier_constraints, factors)
    lap("solve: frontier")
    shadow = shadow_prices(lv, constraints, candidates[best][0]) if constraints.budgets else []
    lap("solve: shadow prices")
    draws = per_draw_choices(lv, constraints, candidates[best][0], per_draw)
    lap("per-draw solves")
    return Optimisation(lv, constraints, candidates, best, points, factors, shadow, draws, timings)


__all__ = ["Budget", "CashReturn", "parse_cash_return", "cash_return_probability", "most_deprived_gain_share",
           "Constraints", "LevelValues", "Choice", "PerDraw", "Optimisation", "DEFAULT_LEVELS",
           "parse_levels", "parse_budget", "objective_weights", "payer_mask", "simulate_levels",
           "exact_values", "scaled_scenario", "chosen_reach", "solve", "top_portfolios", "frontier",
           "entry_order", "shadow_prices", "per_draw_choices", "optimise", "check_constraints"]
