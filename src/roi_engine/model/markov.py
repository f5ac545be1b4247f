"""State-transition (Markov) cohort models, vectorised over draws.

A ``[[markov]]`` block of an intervention (:class:`~roi_engine.inputs.interventions.MarkovSpec`)
declares states, a start distribution, yearly transition probabilities and the programme's effect on
some of them. For one participant of one cohort, this module runs the cohort trace twice, without
(the comparator) and with the programme, for every draw at once, and values the difference:

    x[z, n, t + 1, :] = x[z, n, t, :] @ P[z, n, t]      z = comparator, intervention; n = draw
    occupancy[t]      = x[t] (start of cycle), x[t + 1] (end of cycle) or their mean (half-cycle)
    state cost value  = sum_s (occ_comparator - occ_intervention)[t, s] x cost[s]   (a cost avoided)
    QALY value        = sum_s (occ_intervention - occ_comparator)[t, s] x utility[s] x value_of_qaly

The only Python loop is over cycles (years); each step is one batched matrix product over both
strategies and all draws. Every draw's matrices are checked before the trace: entries in [0, 1]
after the effect, rows summing to 1 within 1e-12. References: Briggs A, Claxton K, Sculpher M.
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
    """A Markov block as arrays, ready for the trace.

    Attributes
    ----------
    probabilities : ndarray, shape (2, n_draws, n_cycles, n_declared)
        Declared (non-rest) transition probabilities, comparator then intervention. [per cycle]
    flat : ndarray of int, shape (n_declared,)
        Position ``from x S + to`` of each declared transition in a flattened ``(S, S)`` matrix.
    rest_flat : ndarray of int, shape (n_rest,)
        Positions of the complements (explicit ``"rest"``, or the implicit diagonal).
    rest_rows : ndarray, shape (n_declared, n_rest)
        1 where a declared transition is in the row of a complement.
    start : ndarray, shape (n_draws, S)
    """

    probabilities: np.ndarray
    flat: np.ndarray
    rest_flat: np.ndarray
    rest_rows: np.ndarray
    start: np.ndarray


def compile_markov(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                   n_cycles: int, *, where: str = "markov") -> Compiled:
    """Resolve a Markov block's references and check every draw's matrices and start distribution.

    Raises
    ------
    InputError
        One line naming the block, the row and its parameters, and how many draws fail.
    """
    states = spec.states
    index = {s: i for i, s in enumerate(states)}
    n_states = len(states)
    declared = [t for t in spec.transitions if not t.is_rest]
    base = np.empty((n_draws, n_cycles, len(declared)))
    for k, t in enumerate(declared):
        p = _product(t.factors, values, n_draws)
        column = np.repeat(p[:, None], n_cycles, axis=1)
        for band in t.bands:
            if band.from_cycle < n_cycles:
                column[:, band.from_cycle:] = _product(_factors(band.probability), values,
                                                       n_draws)[:, None]
        if t.weibull_shape is not None:
            column = weibull_cycle_probability(p, _resolve(t.weibull_shape, values, n_draws),
                                               n_cycles)
        base[:, :, k] = column
    probabilities = np.stack([base, base.copy()])
    position = {(t.from_, t.to): k for k, t in enumerate(declared)}
    for effect in spec.effects:
        k = position[tuple(effect.transition)]
        ratio = _resolve(effect.ref, values, n_draws)[:, None]
        share = effect_persistence(_resolve(effect.persistence.years_full, values, n_draws),
                                   _resolve(effect.persistence.fade, values, n_draws), n_cycles)
        applied = 1.0 + (ratio - 1.0) * share  # (n, T)
        p = probabilities[INTERVENTION, :, :, k]
        if effect.form == "relative_risk":
            probabilities[INTERVENTION, :, :, k] = p * applied
        else:  # hazard ratio on the cycle's cumulative hazard
            probabilities[INTERVENTION, :, :, k] = -np.expm1(applied * np.log1p(-np.minimum(p, 1.0)))

    flat = np.array([index[t.from_] * n_states + index[t.to] for t in declared], dtype=int)
    rest_at: dict[int, int] = {}
    for t in spec.transitions:
        if t.is_rest:
            rest_at[index[t.from_]] = index[t.to]
    declared_self = {index[t.from_] for t in declared if t.from_ == t.to}
    for row in range(n_states):
        if row not in rest_at and row not in declared_self:
            rest_at[row] = row  # the diagonal is the complement
    rest_rows_list = sorted(rest_at)
    rest_flat = np.array([r * n_states + rest_at[r] for r in rest_rows_list], dtype=int)
    from_rows = np.array([index[t.from_] for t in declared], dtype=int)
    rest_rows = (from_rows[:, None] == np.array(rest_rows_list)[None, :]).astype(float)

    _check_rows(spec, declared, probabilities, rest_rows, rest_rows_list, from_rows, n_states, where)
    start = _start(spec, values, n_draws, where)
    return Compiled(probabilities, flat, rest_flat, rest_rows, start)


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


def _fail(spec: MarkovSpec, row: str, problem: str, strategy: str, count: int, n_draws: int,
          where: str) -> None:
    raise InputError(
        f"markov '{spec.id}': transitions from '{row}' {problem} {strategy} in {count:,} of "
        f"{n_draws:,} draws (parameters: {_row_parameters(spec, row)})",
        where=f"{where}.transitions",
        hint="each yearly probability must lie in [0, 1] and each row sum to 1; check these "
             "parameters' distributions (a relative risk can push a probability above 1, a "
             "hazard_ratio cannot)")


def _check_rows(spec, declared, probabilities, rest_rows, rest_rows_list, from_rows, n_states,
                where) -> None:
    """Every draw: declared entries and complements in [0, 1]; rows without a complement sum to 1."""
    n_draws = probabilities.shape[1]
    states = spec.states
    for z, strategy in ((COMPARATOR, "without the programme"),
                        (INTERVENTION, "with the programme's effect")):
        p = probabilities[z]
        outside = ((p < 0.0) | (p > 1.0) | ~np.isfinite(p)).any(axis=1)  # (n, K)
        for k in range(outside.shape[1]):
            if outside[:, k].any():
                _fail(spec, declared[k].from_, "give a probability outside [0, 1]", strategy,
                      int(outside[:, k].sum()), n_draws, where)
        negative = ((1.0 - p @ rest_rows) < -ROW_TOLERANCE).any(axis=1)  # (n, R)
        for r, row in enumerate(rest_rows_list):
            if negative[:, r].any():
                _fail(spec, states[row], "add up to more than 1", strategy,
                      int(negative[:, r].sum()), n_draws, where)
        for row in sorted(set(range(n_states)) - set(rest_rows_list)):
            total = p[:, :, from_rows == row].sum(axis=2)
            bad = (np.abs(total - 1.0) > ROW_TOLERANCE).any(axis=1)
            if bad.any():
                _fail(spec, states[row], "do not sum to 1 (mark one 'rest')", strategy,
                      int(bad.sum()), n_draws, where)


def _start(spec: MarkovSpec, values, n_draws: int, where: str) -> np.ndarray:
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
        raise InputError(f"markov '{spec.id}': the start distribution is not shares summing to 1 in "
                         f"{int(bad.sum()):,} of {n_draws:,} draws (parameters: {names})",
                         where=f"{where}.start", hint="give shares in [0, 1] and one state = 'rest'")
    return start


def _step_matrices(compiled: Compiled, t: int, n_states: int) -> np.ndarray:
    """Transition matrices of cycle ``t`` for both strategies, shape ``(2, n_draws, S, S)``."""
    p = compiled.probabilities[:, :, t, :]  # (2, n, K)
    flat = np.zeros((*p.shape[:2], n_states * n_states))
    flat[:, :, compiled.flat] = p
    flat[:, :, compiled.rest_flat] = 1.0 - p @ compiled.rest_rows
    return flat.reshape(*p.shape[:2], n_states, n_states)


def cohort_trace(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                 n_cycles: int) -> np.ndarray:
    """The cohort trace of both strategies: state shares at the start of each cycle and after the last.

    Returns
    -------
    ndarray, shape (2, n_draws, n_cycles + 1, n_states)
        ``[0]`` comparator, ``[1]`` intervention; ``[:, :, t]`` the shares at the start of cycle t.
    """
    compiled = compile_markov(spec, values, n_draws, n_cycles)
    n_states = len(spec.states)
    trace = np.empty((2, n_draws, n_cycles + 1, n_states))
    x = np.broadcast_to(compiled.start, (2, n_draws, n_states))
    trace[:, :, 0] = x
    for t in range(n_cycles):
        x = np.matmul(x[:, :, None, :], _step_matrices(compiled, t, n_states))[:, :, 0, :]
        trace[:, :, t + 1] = x
    return trace


def occupancy_difference(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int,
                         n_cycles: int, *, where: str = "markov") -> np.ndarray:
    """Person-years in each state per participant, comparator minus intervention, by year.

    Uses the block's cycle convention (``start``: shares at the start of the cycle; ``end``: at the
    end; ``half_cycle``: their mean). Memory is ``O(n_draws x n_cycles x S)``: the full trace is not
    kept.

    Returns
    -------
    ndarray, shape (n_draws, n_cycles, n_states)
        [person-years per participant]
    """
    compiled = compile_markov(spec, values, n_draws, n_cycles, where=where)
    n_states = len(spec.states)
    out = np.empty((n_draws, n_cycles, n_states))
    x = np.broadcast_to(compiled.start, (2, n_draws, n_states))
    for t in range(n_cycles):
        after = np.matmul(x[:, :, None, :], _step_matrices(compiled, t, n_states))[:, :, 0, :]
        if spec.cycle == "start":
            occupied = x
        elif spec.cycle == "end":
            occupied = after
        else:
            occupied = 0.5 * (x + after)
        out[:, t, :] = occupied[COMPARATOR] - occupied[INTERVENTION]
        x = after
    return out


def markov_flows(spec: MarkovSpec, values: Mapping[str, np.ndarray], n_draws: int, n_cycles: int,
                 *, where: str = "markov") -> Iterator[tuple[str, str, np.ndarray]]:
    """Yearly value of a Markov block per participant of one cohort, line by line.

    Yields ``(sector, value_type, yearly)`` with ``yearly (n_draws, n_cycles)`` in GBP of the
    scenario's price year per participant, undiscounted: one item per state cost, and one for the
    QALYs (``utilities`` x ``qaly_value``, to ``qaly_sector`` as ``social``) if utilities are given.
    """
    diff = occupancy_difference(spec, values, n_draws, n_cycles, where=where)
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
