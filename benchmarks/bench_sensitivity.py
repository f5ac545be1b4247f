"""Cost of a Sobol analysis relative to one plain Monte Carlo run of the same size.

Prints, for Sobol with N = 1024 (Saltelli scheme without second-order terms, N (k + 2) model
evaluations for k uncertain parameters) on a scenario, the wall time and peak traced memory of

- the Sobol analysis (SALib sampling, inverse-CDF transformation, chunked model evaluation, analysis);
- one plain Monte Carlo run (`roi_engine.model.evaluation.run`) with the same number of draws;

and their ratios, measured in one process, one after the other, median of a few repeats. The claim
is the ratio: absolute times depend on the machine.

Usage: .venv/bin/python benchmarks/bench_sensitivity.py [--scenario PATH] [--n 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

from roi_engine.analyses import sensitivity as sa
from roi_engine.analyses.scalar_outputs import Output, evaluator
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model
from roi_engine.results import run

ROOT = Path(__file__).resolve().parent.parent


def measure(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds over ``repeats`` runs, and the peak traced memory of the last run [MiB]."""
    times = []
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "default.toml")
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    model = Model(scenario)
    k = len(sa.uncertain_columns(model.parameters))
    evaluations = args.n * (k + 2)
    f = evaluator(model, Output("npv"))
    sobol_time, sobol_mem = measure(lambda: sa.sobol(model.parameters, f, args.n, seed=1), args.repeats)
    mc_scenario = scenario.with_settings(draws=evaluations)
    mc_time, mc_mem = measure(lambda: run(mc_scenario), args.repeats)

    print(f"Sobol benchmark: {scenario.spec.name}")
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}; median of {args.repeats} runs; "
          "ratios are the claim, not absolute times")
    print(f"uncertain parameters k = {k}; Sobol N = {args.n}; model evaluations N (k + 2) = "
          f"{evaluations:,}; chunk size {scenario.spec.chunk_size:,}\n")
    header = f"{'':38}{'wall s':>10}{'peak MiB':>11}"
    print(header)
    print("-" * len(header))
    print(f"{'Sobol (sample, evaluate, analyse)':38}{sobol_time:>10.3f}{sobol_mem:>11.1f}")
    print(f"{'plain Monte Carlo run, same draws':38}{mc_time:>10.3f}{mc_mem:>11.1f}")
    print(f"{'ratio Sobol / Monte Carlo':38}{sobol_time / mc_time:>10.2f}{sobol_mem / mc_mem:>11.2f}")


if __name__ == "__main__":
    main()
