"""Time `roi-engine optimise` on the default portfolio: simulate levels, solve, per-draw solves.

Usage::

    .venv/bin/python benchmarks/bench_optimise.py                      # 10,000 draws, 5 levels
    .venv/bin/python benchmarks/bench_optimise.py --draws 2000 --per-draw 100

Prints the time of each step as a table, the target (under 10 s in all, issue 14) and whether it was
met. Missing the target is reported, not an error: times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from roi_engine.analyses.optimise import Constraints, optimise, parse_budget, parse_levels  # noqa: E402
from roi_engine.inputs.scenario import load_scenario  # noqa: E402
from roi_engine.outputs.optimise_report import timing_table  # noqa: E402

TARGET_SECONDS = 10.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--levels", default="0.25,0.5,0.75,1,1.5")
    parser.add_argument("--budget", action="append", default=None,
                        help="PAYER=GBP (PV); default local_authority=5e6 and nhs=10e6")
    parser.add_argument("--per-draw", type=int, default=300)
    parser.add_argument("--frontier-points", type=int, default=21)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario).with_settings(draws=args.draws)
    budgets = tuple(parse_budget(b) for b in (args.budget or ["local_authority=5e6", "nhs=10e6"]))
    levels = parse_levels(args.levels)
    start = time.perf_counter()
    result = optimise(scenario, Constraints(budgets=budgets), levels=levels, per_draw=args.per_draw,
                      frontier_points=args.frontier_points)
    wall = time.perf_counter() - start
    print(f"optimise: {scenario.spec.name}; {len(result.lv.ids)} programmes x {len(levels)} levels "
          f"({result.lv.n_options} options), {args.draws:,} draws, budgets "
          f"{', '.join(f'{b.payer}={b.amount:,.0f}' for b in budgets)} (PV); {args.frontier_points} "
          f"frontier points, {args.per_draw} per-draw solves")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average {load}")
    print()
    print(timing_table(result))
    print()
    print(f"wall time {wall:.2f} s; target under {TARGET_SECONDS:.0f} s: "
          f"{'met' if wall < TARGET_SECONDS else 'NOT met'}")
    print(f"chosen: {result.lv.describe(result.choice.x)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
