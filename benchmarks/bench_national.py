"""Time `roi-engine national`: every lower-tier authority x 10,000 draws x the default portfolio.

Usage::

    .venv/bin/python benchmarks/bench_national.py                 # 296 areas, 10,000 draws, horizon 10
    .venv/bin/python benchmarks/bench_national.py --draws 2000

Measures in one run (the same process, one after another):

- the national run (``roi_engine.analyses.national.national``: inputs of every area, sampling, the
  (area block x draw block) tasks here, one after another) and its statistics (the tidy table);
- one area's run through the same path, and one area's ordinary single-area run (``roi_engine.results.run``:
  the full results cube, as ``roi-engine run`` computes it), each x 296, and the ratios to them.

Prints the table, the target (national run under 60 s on a 2-core machine, issue 14) and whether it was
met; missing it is reported, not an error: times depend on the machine and its load. BLAS runs on one
thread (``OPENBLAS_NUM_THREADS=1`` unless set), as Dask workers run it: the engine's many small matrix
products only wait for multithreaded BLAS workers on a busy machine (benchmarks/README.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy is imported

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from roi_engine.analyses.national import national  # noqa: E402
from roi_engine.inputs.area_inputs import area_scenario, areas_of_level  # noqa: E402
from roi_engine.inputs.scenario import load_scenario  # noqa: E402
from roi_engine.outputs.formatting import table  # noqa: E402
from roi_engine.results import run  # noqa: E402

TARGET_SECONDS = 60.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--level", default="lower")
    parser.add_argument("--workers", type=int, default=2,
                        help="also time the run on a local Dask cluster of this many processes (1: no)")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario).with_settings(draws=args.draws)
    n_areas = len(areas_of_level(args.level))
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    start = time.perf_counter()
    result = national(scenario, level=args.level)
    national_s = time.perf_counter() - start
    start = time.perf_counter()
    tidy = result.table()
    stats_s = time.perf_counter() - start

    parallel_s = float("nan")
    if args.workers > 1:  # the same run on a local Dask cluster of that many processes (--workers N)
        from roi_engine.analyses.national import local_cluster

        start = time.perf_counter()
        client = local_cluster(args.workers)
        try:
            on_cluster = national(scenario, level=args.level, client=client)
            on_cluster.table()
        finally:
            client.close()
            client.cluster.close()
        parallel_s = time.perf_counter() - start  # cluster start-up included

    one = scenario.area
    start = time.perf_counter()
    national(scenario, areas=[one])
    one_national_s = time.perf_counter() - start
    start = time.perf_counter()
    run(area_scenario(scenario, one))
    one_run_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    total = national_s + stats_s
    print(f"national: {scenario.spec.name}; {n_areas} {args.level}-tier areas (+ England for the check) x "
          f"{args.draws:,} draws x {len(scenario.interventions)} programmes, horizon {scenario.horizon}; "
          f"{result.tasks} tasks, here")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
          f"load average before {load_before}, after {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    rows = [
        ["national run (inputs, sampling, tasks)", f"{national_s:.1f}", ""],
        [f"statistics (tidy table, {len(tidy):,} rows)", f"{stats_s:.1f}", ""],
        ["national in all", f"{total:.1f}", ""],
        [f"national in all on {args.workers} local worker processes (--workers {args.workers}, "
         "cluster start-up included)", f"{parallel_s:.1f}", ""],
        [f"one area through the national path ({one.name}) x {n_areas}", f"{one_national_s * n_areas:.1f}",
         f"{total / (one_national_s * n_areas):.3f}"],
        [f"one area's single-area run (roi_engine.results.run) x {n_areas}", f"{one_run_s * n_areas:.1f}",
         f"{total / (one_run_s * n_areas):.3f}"],
    ]
    print(table(["step", "seconds", "national / this"], rows, align="lrr"))
    print()
    print(f"one area: national path {one_national_s:.2f} s, single-area run {one_run_s:.2f} s; "
          f"peak memory {peak:,.0f} MiB; programmes scaled by population: "
          f"{', '.join(result.scaled_programmes) or 'none'}")
    met = min(total, parallel_s) < TARGET_SECONDS
    print(f"national in all {total:.1f} s here, {parallel_s:.1f} s on {args.workers} worker processes; "
          f"target under {TARGET_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
