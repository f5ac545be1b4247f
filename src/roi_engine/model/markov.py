"""State-transition (Markov) cohort models, vectorised over draws.

A ``[[markov]]`` block of an intervention (:class:`~roi_engine.inputs.interventions.MarkovSpec`)
declares states, a start distribution, yearly transition probabilities and the programme's effect on
some of them. For one participant of one cohort, this module runs the cohort trace twice, without
(the comparator) and with the programme, for every draw at once, and values the difference:

    x[z, n, t + 1, :] = x[z, n, t, :] @ P[z, n, t]      z = comparator, intervention; n = draw
    occupancy[t]      = x[t] (start of cycle), x[t + 1] (end of cycle) or their mean (half-cycle)
    state cost value  = sum_s (occ_comparator - occ_intervention)[t, s] x cost[s]   (a cost avoided)
    QALY value        = sum_s (occ_intervention - occ_comparator)[t, s] x utility[s] x value_of_qaly

The only Python loop is over cycles (years); each step is one vector-matrix product for both
strategies and all draws at once (draws on the last, contiguous axis).
Every draw's matrices are checked before the trace: entries in [0, 1] after the effect, rows
summing to 1 within 1e-12. References: Briggs A, Claxton K, Sculpher M.
*Decision Modelling for Health Economic Evaluation*, Oxford University Press 2006, ch. 2-3 (cohort
traces, half-cycle correction); Sonnenberg FA, Beck JR. Markov models in medical decision making.
Med Decis Making 1993;13(4):322-38, doi:10.1177/0272989X9301300409.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from roi_engine.errors import InputError
from roi_engine.inputs.interventions import REST, MarkovSpec, Ref

ROW_TOLERANCE = 1e-12
"""Largest allowed |row sum - 1| of a transition matrix (and of the start distribution)."""

COMPARATOR, INTERVENTION = 0, 1


def _resolve(ref: Ref, values: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
    if isinstance(ref, str):
        return np.asarray(values[ref], dtype=float)
    return np.full(n_draws, float(ref))


def _product(refs: tuple[Ref, ...], values: Mapping[str, np.ndarray], n_draws: int) -> np.ndarray:
    out = np.ones(n_draws)
    for ref in refs:
        out = out * _resolve(ref, values, n_draws)
    return out


def _factors(value) -> tuple[Ref, ...]:
    return value if isinstance(value, tuple) else (value,)


def effect_persistence(years_full: np.ndarray, fade: np.ndarray, n_cycles: int) -> np.ndarray:
    """Share of the effect present in each cycle, shape ``(n_draws, n_cycles)``.

    1 for ``k < years_full``, then ``(1 - fade) ** (k - years_full + 1)``: the same rule as the
    outcomes' persistence (:func:`roi_engine.model.engine.persistence`).
    """
    years_full = np.atleast_1d(np.asarray(years_full, dtype=float))[:, None]
    fade = np.atleast_1d(np.asarray(fade, dtype=float))[:, None]
    k = np.arange(n_cycles, dtype=float)[None, :]
    faded = np.power(1.0 - fade, np.maximum(k - years_full + 1.0, 0.0))
    return np.where(k < years_full, 1.0, faded)


def weibull_cycle_probability(first: np.ndarray, shape: np.ndarray, n_cycles: int) -> np.ndarray:
    """Per-cycle probability when the cumulative hazard grows as ``rate x t ** shape``.

    Parameters
    ----------
    first : ndarray, shape (n_draws,)
        Probability of the transition in cycle 0, in [0, 1); sets ``rate = -ln(1 - first)``.
    shape : ndarray, shape (n_draws,)
        Weibull shape: < 1 a hazard falling with time since start, 1 constant, > 1 rising.
    n_cycles : int

    Returns
    -------
    ndarray, shape (n_draws, n_cycles)
        ``1 - exp(-rate ((t + 1) ** shape - t ** shape))`` (Briggs et al. 2006, section 3.3).
    """
    with np.errstate(divide="ignore"):
        rate = -np.log1p(-np.asarray(first, dtype=float))[:, None]
    t = np.arange(n_cycles, dtype=float)[None, :]
    shape = np.asarray(shape, dtype=float)[:, None]
    return -np.expm1(-rate * ((t + 1.0) ** shape - t ** shape))


@dataclass(frozen=True)
class Compiled:
    """A Markov block as arrays, ready for the trace (draws on the last, contiguous axis).

    Attributes
    ----------
    probabilities : ndarray, shape (n_cycles, 2, n_declared, n_draws)
        Declared (non-rest) transition probabilities, comparator then intervention. [per cycle]
    flat : ndarray of int, shape (n_declared,)
        Position ``from x S + to`` of each declared transition in a flattened ``(S, S)`` matrix.
    rest_flat : ndarray of int, shape (n_rest,)
        Positions of the complements (explicit ``"rest"``, or the implicit diagonal).
    rest_of : ndarray, shape (n_rest, n_declared)
        1 where a declared transition is in the row of a complement.
    start : ndarray, shape (S, n_draws)
    n_states : int
    """

    probabilities: np.ndarray
    flat: np.ndarray
    rest_flat: np.ndarray
    rest_of: np.ndarray
    start: np.ndarray
    n_states: int



def complement_targets(block: MarkovSpec, index: Mapping[str, int]) -> dict[int, int]:
    """For each row that has one, the state (column) whose probability is the row's complement.

    A ``"rest"`` transition names it; a row with no ``"rest"`` and no declared self-transition has
    the diagonal as its complement; a row that declares its self-transition and no ``"rest"`` has
    none (it must sum to 1 itself). ``index`` maps state names to positions.
    """
    rest_at = {index[t.from_]: index[t.to] for t in block.transitions if t.is_rest}
    declared_self = {index[t.from_] for t in block.transitions if not t.is_rest and t.from_ == t.to}
    for row in range(len(block.states)):
        if row not in rest_at and row not in declared_self:
            rest_at[row] = row
    return rest_at

def compile_markov(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                   n_cycles: int, *, where: str = "markov",
                   failures: Failures | None = None) -> Compiled:
    """Resolve a Markov block's references and check every draw's matrices and start distribution.

    With ``failures`` given, failed checks are counted there (the caller raises); otherwise

    Raises
    ------
    InputError
        One line naming the block, the row and its parameters, and how many draws fail.
    """
    own = failures is None
    failures = Failures() if own else failures
    states = spec.states
    index = {s: i for i, s in enumerate(states)}
    n_states = len(states)
    declared = [t for t in spec.transitions if not t.is_rest]
    probabilities = np.empty((n_cycles, 2, len(declared), n_draws))
    for k, t in enumerate(declared):
        p = _product(t.factors, values, n_draws)
        if t.weibull_shape is not None:
            column = weibull_cycle_probability(p, _resolve(t.weibull_shape, values, n_draws),
                                               n_cycles).T
        else:
            column = np.broadcast_to(p, (n_cycles, n_draws)).copy()
            for band in t.bands:
                if band.from_cycle < n_cycles:
                    column[band.from_cycle:] = _product(_factors(band.probability), values, n_draws)
        probabilities[:, COMPARATOR, k] = column
        probabilities[:, INTERVENTION, k] = column
    position = {(t.from_, t.to): k for k, t in enumerate(declared)}
    for effect in spec.effects:
        k = position[tuple(effect.transition)]
        ratio = _resolve(effect.ref, values, n_draws)[None, :]
        share = effect_persistence(_resolve(effect.persistence.years_full, values, n_draws),
                                   _resolve(effect.persistence.fade, values, n_draws), n_cycles)
        applied = 1.0 + (ratio - 1.0) * share.T  # (T, n)
        p = probabilities[:, INTERVENTION, k]
        if effect.form == "relative_risk":
            probabilities[:, INTERVENTION, k] = p * applied
        else:  # hazard ratio on the cycle's cumulative hazard
            probabilities[:, INTERVENTION, k] = -np.expm1(applied * np.log1p(-np.minimum(p, 1.0)))

    flat = np.array([index[t.from_] * n_states + index[t.to] for t in declared], dtype=int)
    rest_at = complement_targets(spec, index)
    rest_rows_list = sorted(rest_at)
    rest_flat = np.array([r * n_states + rest_at[r] for r in rest_rows_list], dtype=int)
    from_rows = np.array([index[t.from_] for t in declared], dtype=int)
    rest_of = (np.array(rest_rows_list)[:, None] == from_rows[None, :]).astype(float)

    _check_rows(spec, declared, probabilities, rest_of, rest_rows_list, from_rows, n_states, where,
                failures)
    start = _start(spec, values, n_draws, where, failures)
    if own:
        failures.raise_first(n_draws)
    return Compiled(probabilities, flat, rest_flat, rest_of, np.ascontiguousarray(start.T),
                    n_states)


def _row_parameters(spec: MarkovSpec, row_state: str) -> str:
    """The parameter names behind one row (its probabilities and the effects on them)."""
    names: dict[str, None] = {}
    for t in spec.transitions:
        if t.from_ == row_state and not t.is_rest:
            factors = list(t.factors) + [f for b in t.bands for f in _factors(b.probability)]
            if t.weibull_shape is not None:
                factors.append(t.weibull_shape)
            for f in factors:
                if isinstance(f, str):
                    names.setdefault(f, None)
    for e in spec.effects:
        if e.transition[0] == row_state and isinstance(e.ref, str):
            names.setdefault(f"effect {e.ref}", None)
    return ", ".join(names) or "numbers only"


class Failures:
    """Draws failing each check, counted over blocks of draws; :meth:`raise_first` raises one error.

    Keys sort in check order (start distribution, then comparator before intervention, entries
    before complements before row sums), so the error does not depend on the block size.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple, int] = {}
        self.texts: dict[tuple, tuple[str, str]] = {}

    def add(self, key: tuple, count: int, text: str, where: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + count
        self.texts[key] = (text, where)

    def raise_first(self, n_draws: int) -> None:
        if not self.counts:
            return
        key = min(self.counts)
        text, where = self.texts[key]
        raise InputError(text.format(count=f"{self.counts[key]:,} of {n_draws:,} draws"), where=where,
                         hint="each yearly probability must lie in [0, 1] and each row (and the "
                              "start distribution) sum to 1; check these parameters' distributions "
                              "(a relative risk can push a probability above 1, a hazard_ratio "
                              "cannot)")


def _check_rows(spec, declared, probabilities, rest_of, rest_rows_list, from_rows, n_states,
                where, failures: Failures) -> None:
    """Every draw: declared entries and complements in [0, 1]; rows without a complement sum to 1."""
    states = spec.states

    def fail(key, row, problem, strategy, count):
        failures.add(key, count, f"markov '{spec.id}': transitions from '{row}' {problem} "
                     f"{strategy} in {{count}} (parameters: {_row_parameters(spec, row)})",
                     f"{where}.transitions")

    for z, strategy in ((COMPARATOR, "without the programme"),
                        (INTERVENTION, "with the programme's effect")):
        p = probabilities[:, z]  # (T, K, n)
        outside = ((p < 0.0) | (p > 1.0) | ~np.isfinite(p)).any(axis=0)  # (K, n)
        for k in np.flatnonzero(outside.any(axis=1)):
            fail((1, z, 0, k), declared[k].from_, "give a probability outside [0, 1]", strategy,
                 int(outside[k].sum()))
        negative = ((1.0 - rest_of @ p) < -ROW_TOLERANCE).any(axis=0)  # (R, n)
        for r in np.flatnonzero(negative.any(axis=1)):
            fail((1, z, 1, r), states[rest_rows_list[r]], "add up to more than 1", strategy,
                 int(negative[r].sum()))
        for row in sorted(set(range(n_states)) - set(rest_rows_list)):
            total = p[:, from_rows == row].sum(axis=1)  # (T, n)
            bad = (np.abs(total - 1.0) > ROW_TOLERANCE).any(axis=0)
            if bad.any():
                fail((1, z, 2, row), states[row], "do not sum to 1 (mark one 'rest')", strategy,
                     int(bad.sum()))


def _start(spec: MarkovSpec, values, n_draws: int, where: str, failures: Failures) -> np.ndarray:
    start = np.zeros((n_draws, len(spec.states)))
    rest_state = None
    for s, state in enumerate(spec.states):
        ref = spec.start.get(state, 0.0)
        if ref == REST:
            rest_state = s
        else:
            start[:, s] = _resolve(ref, values, n_draws)
    if rest_state is not None:
        start[:, rest_state] = 1.0 - start.sum(axis=1)
    bad_entry = ((start < -ROW_TOLERANCE) | (start > 1.0 + ROW_TOLERANCE)).any(axis=1)
    bad_sum = np.abs(start.sum(axis=1) - 1.0) > ROW_TOLERANCE
    bad = bad_entry | bad_sum
    if bad.any():
        names = ", ".join(str(v) for v in spec.start.values() if v != REST)
        failures.add((0,), int(bad.sum()), f"markov '{spec.id}': the start distribution is not "
                     f"shares summing to 1 in {{count}} (parameters: {names})", f"{where}.start")
    return start


def step_matrices(compiled: Compiled, t: int) -> np.ndarray:
    """Transition matrices of cycle ``t`` for both strategies, shape ``(2, S, S, n_draws)``.

    ``[z, i, j, n]`` is the probability of moving from state i to state j in draw n.
    """
    p = compiled.probabilities[t]  # (2, K, n)
    n_states = compiled.n_states
    flat = np.zeros((2, n_states * n_states, p.shape[-1]))
    flat[:, compiled.flat] = p
    flat[:, compiled.rest_flat] = 1.0 - compiled.rest_of @ p
    return flat.reshape(2, n_states, n_states, p.shape[-1])


def _advance(x: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """One cycle: ``x (2, S, n)`` -> ``x @ P`` per strategy and draw, ``(2, S, n)``."""
    out = x[:, 0, None, :] * matrices[:, 0]
    for i in range(1, x.shape[1]):  # S is a handful; each step is over all draws at once
        out += x[:, i, None, :] * matrices[:, i]
    return out


def cohort_trace(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                 n_cycles: int) -> np.ndarray:
    """The cohort trace of both strategies: state shares at the start of each cycle and after the last.

    Returns
    -------
    ndarray, shape (2, n_draws, n_cycles + 1, n_states)
        ``[0]`` comparator, ``[1]`` intervention; ``[:, :, t]`` the shares at the start of cycle t.
    """
    compiled = compile_markov(spec, values, n_draws, n_cycles)
    trace = np.empty((n_cycles + 1, 2, compiled.n_states, n_draws))
    x = np.broadcast_to(compiled.start, trace.shape[1:])
    trace[0] = x
    for t in range(n_cycles):
        x = _advance(x, step_matrices(compiled, t))
        trace[t + 1] = x
    return trace.transpose(1, 3, 0, 2)


BLOCK_DRAWS = 8192
"""Draws per block inside the kernel: blocks keep each cycle's arrays in cache; the result and the
validation (counted over all blocks) do not depend on it."""


def occupancy_difference(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                         n_cycles: int, *, where: str = "markov") -> np.ndarray:
    """Person-years in each state per participant, comparator minus intervention, by year.

    Uses the block's cycle convention (``start``: shares at the start of the cycle; ``end``: at the
    end; ``half_cycle``: their mean). Draws are processed in blocks of :data:`BLOCK_DRAWS`; the full
    trace of both strategies is not kept.

    Returns
    -------
    ndarray, shape (n_draws, n_cycles, n_states)
        [person-years per participant]

    Raises
    ------
    InputError
        If any draw's matrices or start distribution fail a check (counted over all draws).
    """
    out = np.empty((n_draws, n_cycles, len(spec.states)))
    failures = Failures()
    for low in range(0, n_draws, BLOCK_DRAWS):
        high = min(n_draws, low + BLOCK_DRAWS)
        block = {name: (v[low:high] if np.ndim(v) and len(v) == n_draws else v)
                 for name, v in values.items()}
        compiled = compile_markov(spec, block, high - low, n_cycles, where=where, failures=failures)
        out[low:high] = _occupancy(compiled, spec.cycle, n_cycles).transpose(2, 0, 1)
    failures.raise_first(n_draws)
    return out


def _occupancy(compiled: Compiled, cycle: str, n_cycles: int) -> np.ndarray:
    """Comparator minus intervention occupancy by cycle, shape ``(n_cycles, S, n_draws)``."""
    out = np.empty((n_cycles, compiled.n_states, compiled.start.shape[1]))
    x = np.broadcast_to(compiled.start, (2, *compiled.start.shape))
    for t in range(n_cycles):
        after = _advance(x, step_matrices(compiled, t))
        if cycle == "start":
            out[t] = x[COMPARATOR] - x[INTERVENTION]
        elif cycle == "end":
            out[t] = after[COMPARATOR] - after[INTERVENTION]
        else:
            out[t] = 0.5 * ((x[COMPARATOR] - x[INTERVENTION]) + (after[COMPARATOR] - after[INTERVENTION]))
        x = after
    return out


def outcome_states(spec: MarkovSpec) -> tuple[str, ...]:
    """States whose person-years avoided are reported in natural units: those with a state cost,
    and the state linked to an outcome id (``outcome``, for the overlap correction)."""
    linked = (spec.outcome.state,) if spec.outcome is not None else ()
    return tuple(dict.fromkeys((*(cost.state for cost in spec.state_costs), *linked)))


def comparator_occupancy(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                         n_cycles: int, *, where: str = "markov") -> np.ndarray:
    """Person-years in each state per participant without the programme, by year (cycle convention
    as :func:`occupancy_difference`), shape ``(n_draws, n_cycles, n_states)``."""
    compiled = compile_markov(spec, values, n_draws, n_cycles, where=where)
    out = np.empty((n_cycles, compiled.n_states, n_draws))
    x = np.broadcast_to(compiled.start, (2, *compiled.start.shape))
    for t in range(n_cycles):
        after = _advance(x, step_matrices(compiled, t))
        now, then = x[COMPARATOR], after[COMPARATOR]
        out[t] = now if spec.cycle == "start" else then if spec.cycle == "end" else 0.5 * (now + then)
        x = after
    return out.transpose(2, 0, 1)


def markov_flows(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int, n_cycles: int,
                 *, where: str = "markov", keep: dict | None = None) -> Iterator[tuple[str, str, np.ndarray]]:
    """Yearly value of a Markov block per participant of one cohort, line by line.

    Yields ``(sector, value_type, yearly)`` with ``yearly (n_draws, n_cycles)`` in GBP of the
    scenario's price year per participant, undiscounted: one item per state cost, and one for the
    QALYs (``utilities`` x ``qaly_value``, to ``qaly_sector`` as ``social``) if utilities are given.
    """
    diff = occupancy_difference(spec, values, n_draws, n_cycles, where=where)
    if keep is not None:  # the caller also wants the occupancy difference (n_draws, n_cycles, states)
        keep["diff"] = diff
    index = {s: i for i, s in enumerate(spec.states)}
    for cost in spec.state_costs:
        per_year = _product(cost.factors, values, n_draws)
        yield cost.sector, cost.value_type, diff[:, :, index[cost.state]] * per_year[:, None]
    if spec.utilities:
        yield spec.qaly_sector, "social", qalys_gained(spec, diff, values, n_draws) * _resolve(
            spec.qaly_value, values, n_draws)[:, None]


def qalys_gained(spec: MarkovSpec, diff: np.ndarray, values: Mapping[str, np.ndarray],
                 n_draws: int) -> np.ndarray:
    """QALYs gained per participant by year, ``(n_draws, n_cycles)``, from ``occupancy_difference``."""
    weights = np.zeros((n_draws, len(spec.states)))
    for s, state in enumerate(spec.states):
        if state in spec.utilities:
            weights[:, s] = _resolve(spec.utilities[state], values, n_draws)
    return -np.einsum("nts,ns->nt", diff, weights)
