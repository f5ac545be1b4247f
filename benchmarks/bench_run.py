"""Where a whole run's time goes: sample, evaluate, tables, reports, and the CLI ``run`` end to end.

Measured in one run for the default scenario at 10,000 draws and horizons 10 and 30; prints a table
(milliseconds) and the ratio of (sample + evaluate + all tables) to ``Model.evaluate`` alone. The
machines are shared and noisy: read the ratios, not the absolute times.

    python benchmarks/bench_run.py [--draws 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "default.toml"
IMPORTS = ("import importlib.util, roi_engine.cli, roi_engine.results.cube, roi_engine.outputs.report, "
           "roi_engine.outputs.charts, roi_engine.outputs.workbook, matplotlib.figure, h5netcdf\n"
           "if importlib.util.find_spec('dask'): import dask.array, distributed")
"""What a run imports (dask and distributed where the 'dask' extra is installed: xarray then imports
them, to check for dask arrays and, saving netCDF, for a distributed scheduler)."""


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000, out


def measure(horizon: int, draws: int, repeat: int) -> dict[str, float]:
    from roi_engine.inputs.scenario import load_scenario
    from roi_engine.model.evaluation import Model, simulate
    from roi_engine.outputs.run_folder import write_reports, write_tables
    from roi_engine.results import Results

    scenario = load_scenario(SCENARIO).with_settings(draws=draws, horizon=horizon, chunk_size=draws)
    model = Model(scenario)
    def sample():
        model._block = None  # sample afresh each time, not the cached block
        return model.draws(0, draws, draws)

    t_sample, x = best(sample, repeat)
    t_evaluate, _ = best(lambda: model.evaluate(x), repeat)
    t_simulate, arrays = best(lambda: simulate(scenario), repeat)
    results = Results.from_arrays(*arrays)

    def tables():
        fresh = Results(results.cube, results.parameters)  # derived figures computed anew
        with tempfile.TemporaryDirectory() as tmp:
            write_tables(Path(tmp), fresh)
        return fresh

    t_tables, fresh = best(tables, repeat)

    def reports():
        with tempfile.TemporaryDirectory() as tmp:
            write_reports(Path(tmp), fresh)

    t_reports, _ = best(reports, repeat)

    def cli(serial: bool):
        environment = {**os.environ, "ROI_ENGINE_SERIAL": "1"} if serial else None
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "roi_engine.cli", "run", str(SCENARIO), "--draws", str(draws),
                       "--out", str(Path(tmp) / "out"), "-q"]
            subprocess.run(command, check=True, capture_output=True, env=environment)

    def imports():
        subprocess.run([sys.executable, "-c", IMPORTS], check=True, capture_output=True)

    skip = (float("nan"), None)
    t_cli, _ = best(lambda: cli(False), repeat) if horizon == 10 else skip
    t_serial, _ = best(lambda: cli(True), repeat) if horizon == 10 else skip
    t_imports, _ = best(imports, repeat) if horizon == 10 else skip
    return {"sample": t_sample, "evaluate": t_evaluate, "simulate": t_simulate, "tables": t_tables,
            "reports": t_reports, "cli": t_cli, "serial": t_serial, "imports": t_imports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"default scenario, {args.draws:,} draws, best of {args.repeat} (ms); CLI run includes Python "
          "start-up and imports (horizon 10 only); 'serial': ROI_ENGINE_SERIAL=1, the page drawn in the "
          "same process; 'imports': Python start-up and the imports of a run, nothing else")
    print(f"{'horizon':>7} | {'sample':>8} {'evaluate':>9} {'simulate':>9} {'tables':>8} {'reports':>8} "
          f"{'CLI run':>8} {'serial':>8} {'imports':>8} | {'(sample+evaluate+tables)/evaluate':>34}")
    for horizon in (10, 30):
        t = measure(horizon, args.draws, args.repeat)
        ratio = (t["sample"] + t["evaluate"] + t["tables"]) / t["evaluate"]
        print(f"{horizon:>7} | {t['sample']:8.0f} {t['evaluate']:9.0f} {t['simulate']:9.0f} "
              f"{t['tables']:8.0f} {t['reports']:8.0f} {t['cli']:8.0f} {t['serial']:8.0f} "
              f"{t['imports']:8.0f} | {ratio:34.2f}")


if __name__ == "__main__":
    main()
