"""Benchmark of the Markov kernel (:mod:`roi_engine.model.markov`) against a hand-written NumPy trace.

The model: a Well / Depressed / Dead cohort, 30 yearly cycles, half-cycle correction, two strategies
(comparator and a programme that lowers the onset of depression by a relative risk, full for 5 years,
then fading 20% a year), 8 uncertain parameters (onset, recovery, death, mortality ratio in
depression, the relative risk, the yearly cost of depression, two utilities). Outputs per draw and
year: the cost of depression avoided and the QALYs gained (both per participant).

For 1,000, 10,000 and 100,000 draws it prints, measured in one run (median of ``--repeats``):

- the engine: :func:`~roi_engine.model.markov.markov_flows` from the spec, which includes resolving
  the spec's references and checking every draw's matrices (entries in [0, 1], rows summing to 1);
- a hand-written NumPy trace of the same model (matrices built directly, no checks): the yardstick;
- a naive loop over draws (one 3x3 NumPy product per draw and cycle), timed on at most 1,000 draws.

The target is the engine within 2x of the hand-written trace at 10,000 draws or more. The engine's
and the hand-written outputs are compared to 1e-10 (relative); a mismatch is the only non-zero exit.
Ratios, not absolute times, are the claim.

Run ``.venv/bin/python benchmarks/bench_markov.py [--draws 1000 10000 100000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np

from roi_engine.inputs.interventions import MarkovSpec
from roi_engine.model.markov import markov_flows

N_CYCLES = 30
TARGET = 2.0
RTOL = 1e-10
YEARS_FULL, FADE = 5.0, 0.2

SPEC = MarkovSpec.model_validate({
    "id": "bench", "states": ["well", "depressed", "dead"], "start": {"well": 1.0},
    "cycle": "half_cycle",
    "transitions": [
        {"from": "well", "to": "depressed", "probability": "p_onset"},
        {"from": "well", "to": "dead", "probability": "p_death"},
        {"from": "depressed", "to": "well", "probability": "p_recover"},
        {"from": "depressed", "to": "dead", "probability": ["p_death", "mr_depressed"]},
    ],
    "effects": [{"transition": ["well", "depressed"], "relative_risk": "rr_onset",
                 "persistence": {"years_full": YEARS_FULL, "fade": FADE}}],
    "state_costs": [{"state": "depressed", "sector": "nhs", "value_type": "fiscal",
                     "per_year": "cost_depressed"}],
    "utilities": {"well": "u_well", "depressed": "u_depressed"},
    "qaly_value": 70000.0,
})


def sample(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """The 8 uncertain parameters, shape ``(n,)`` each."""
    rng = np.random.default_rng(seed)
    return {
        "p_onset": rng.beta(10, 90, n), "p_death": rng.beta(2, 198, n),
        "p_recover": rng.beta(50, 50, n), "mr_depressed": rng.lognormal(np.log(1.8), 0.07, n),
        "rr_onset": rng.lognormal(np.log(0.8), 0.1, n), "cost_depressed": rng.gamma(25, 40, n),
        "u_well": rng.beta(600, 200, n), "u_depressed": rng.beta(300, 250, n),
    }


def engine(values: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    cost, qaly = (yearly for _, _, yearly in markov_flows(SPEC, values, n, N_CYCLES))
    return cost, qaly


def hand_written(v: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The same model written directly: matrices by hand, one einsum per cycle."""
    k = np.arange(N_CYCLES)
    share = np.where(k < YEARS_FULL, 1.0, (1.0 - FADE) ** np.maximum(k - YEARS_FULL + 1.0, 0.0))
    rr = 1.0 + (v["rr_onset"][:, None] - 1.0) * share[None, :]  # (n, T)
    p_dd = v["p_death"] * v["mr_depressed"]
    comparator = np.zeros((n, 3, 3))
    comparator[:, 0, 1], comparator[:, 0, 2] = v["p_onset"], v["p_death"]
    comparator[:, 0, 0] = 1.0 - v["p_onset"] - v["p_death"]
    comparator[:, 1, 0], comparator[:, 1, 2] = v["p_recover"], p_dd
    comparator[:, 1, 1] = 1.0 - v["p_recover"] - p_dd
    comparator[:, 2, 2] = 1.0
    x = np.zeros((2, n, 3))
    x[:, :, 0] = 1.0
    diff = np.empty((n, N_CYCLES, 3))
    for t in range(N_CYCLES):
        intervention = comparator.copy()
        onset = v["p_onset"] * rr[:, t]
        intervention[:, 0, 1] = onset
        intervention[:, 0, 0] = 1.0 - onset - v["p_death"]
        after = np.stack([np.einsum("ns,nsj->nj", x[0], comparator),
                          np.einsum("ns,nsj->nj", x[1], intervention)])
        half = 0.5 * (x + after)
        diff[:, t] = half[0] - half[1]
        x = after
    cost = diff[:, :, 1] * v["cost_depressed"][:, None]
    qaly = -(diff[:, :, 0] * v["u_well"][:, None] + diff[:, :, 1] * v["u_depressed"][:, None])
    return cost, qaly * 70000.0


def naive(v: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """One draw at a time (the slow way), same equations."""
    cost, qaly = np.empty((n, N_CYCLES)), np.empty((n, N_CYCLES))
    for i in range(n):
        one = {name: values[i:i + 1] for name, values in v.items()}
        c, q = hand_written(one, 1)
        cost[i], qaly[i] = c[0], q[0]
    return cost, qaly


def timed(function, values, n: int, repeats: int) -> tuple[float, tuple]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(values, n)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=1_000)
    args = parser.parse_args(argv)
    print(f"Markov kernel: Well/Depressed/Dead, {N_CYCLES} yearly cycles, 2 strategies, 8 uncertain "
          f"parameters; median of {args.repeats}; numpy {np.__version__}, python "
          f"{platform.python_version()}, {platform.machine()}")
    print()
    print("| draws | engine (s) | engine draws/s | hand-written NumPy (s) | engine / hand-written | "
          "naive loop draws/s | engine speed-up vs naive | within 2x |")
    print("|---:|---:|---:|---:|---:|---:|---:|:---|")
    status = 0
    for n in args.draws:
        values = sample(n)
        t_engine, (cost_e, qaly_e) = timed(engine, values, n, args.repeats)
        t_hand, (cost_h, qaly_h) = timed(hand_written, values, n, args.repeats)
        for a, b in ((cost_e, cost_h), (qaly_e, qaly_h)):
            if not np.allclose(a, b, rtol=RTOL, atol=1e-9):
                print(f"MISMATCH at {n} draws: max |diff| {np.max(np.abs(a - b)):.3g}",
                      file=sys.stderr)
                status = 1
        m = min(n, args.naive_max)
        t_naive, _ = timed(naive, {k: x[:m] for k, x in values.items()}, m, 1)
        naive_rate = m / t_naive
        ratio = t_engine / t_hand
        verdict = ("yes" if ratio <= TARGET else "no") if n >= 10_000 else "(not a target)"
        print(f"| {n:,} | {t_engine:.3f} | {n / t_engine:,.0f} | {t_hand:.3f} | {ratio:.2f} | "
              f"{naive_rate:,.0f} | {n / t_engine / naive_rate:,.0f}x | {verdict} |")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
