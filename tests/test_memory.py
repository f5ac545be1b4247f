"""Memory stays bounded: draws are evaluated in chunks, so 10x the draws must not need 10x the memory.

What grows with the draws is only the per-draw summaries kept for the results (present values by
intervention, sector and kind; payback years; totals): a few hundred bytes a draw. The year-level
working arrays of a chunk are the same size whatever the number of draws.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from roi_engine.results import run

SMALL, LARGE = 20_000, 200_000
HORIZON, CHUNK = 30, 10_000
MAX_RATIO = 2.0


def peak_traced_bytes(scenario) -> tuple[int, float]:
    """Peak traced memory of one ``run`` in a fresh tracemalloc session, and its wall time."""
    gc.collect()
    tracemalloc.start()
    try:
        start = time.perf_counter()
        results = run(scenario)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert results.pv.shape[0] == scenario.spec.draws
    del results
    return peak, elapsed


def test_peak_memory_is_bounded_by_chunking(toy_scenario):
    scenario = toy_scenario.with_settings(horizon=HORIZON, chunk_size=CHUNK)
    run(scenario.with_settings(draws=100))  # warm-up: population table, deflator, imports, caches

    small, small_time = peak_traced_bytes(scenario.with_settings(draws=SMALL))
    large, large_time = peak_traced_bytes(scenario.with_settings(draws=LARGE))
    print(f"\npeak traced memory, horizon {HORIZON}, chunk {CHUNK:,}: "
          f"{SMALL:,} draws {small / 2**20:.1f} MiB ({small_time:.1f} s), "
          f"{LARGE:,} draws {large / 2**20:.1f} MiB ({large_time:.1f} s), ratio {large / small:.2f}")
    assert large <= MAX_RATIO * small, (
        f"peak memory grew {large / small:.2f}x for {LARGE // SMALL}x the draws "
        f"({small / 2**20:.1f} MiB -> {large / 2**20:.1f} MiB)")


REAL_SCENARIO = """\
name = "Memory check: four programmes, one Markov model, one overlap"
area = "E08000025"
horizon = 10
price_year = "2023/24"
perspective = "societal"
discounting = "green_book"
draws = 1000
seed = 11
chunk_size = 10000

[[interventions]]
id = "kiva_anti_bullying"
reach = 0.5

[[interventions]]
id = "perinatal_depression"
reach = 0.5

[[interventions]]
id = "workplace_wellbeing"
reach = 0.1

[[interventions]]
id = "collaborative_care_ltc_markov"
reach = 0.5
"""


def peak_whole_run_bytes(scenario, out) -> tuple[int, float]:
    """Peak traced memory of a whole CLI-style run: model, every table, CSVs, workbook, report, charts."""
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.outputs.formatting import format_cost_sharing, format_summary
    from roi_engine.outputs.run_folder import write_run

    gc.collect()
    tracemalloc.start()
    try:
        start = time.perf_counter()
        results = run(scenario)
        write_run(out, scenario, results, overwrite=True, step=lambda name: None)
        format_summary(results)
        format_cost_sharing(cost_sharing(results, results.sharing_rule))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert results.pv.shape[0] == scenario.spec.draws
    return peak, elapsed


def test_peak_memory_of_a_whole_real_run_is_bounded(tmp_path, monkeypatch):
    """Ten times the draws, at most twice the memory: the per-draw results are paged to disk
    (roi_engine.model.draw_store) and every table, chart and report reads them a block at a time.
    The page and its charts are drawn in this process (ROI_ENGINE_SERIAL), not a forked one, so
    that tracemalloc sees all of the run's work."""
    from roi_engine.inputs.scenario import load_scenario

    monkeypatch.setenv("ROI_ENGINE_SERIAL", "1")

    path = tmp_path / "memory.toml"
    path.write_text(REAL_SCENARIO, encoding="utf-8")
    scenario = load_scenario(path)
    assert len(scenario.interventions) == 4
    peak_whole_run_bytes(scenario.with_settings(draws=200), tmp_path / "warm-up")
    small, small_time = peak_whole_run_bytes(scenario.with_settings(draws=SMALL), tmp_path / "small")
    large, large_time = peak_whole_run_bytes(scenario.with_settings(draws=LARGE), tmp_path / "large")
    print(f"\npeak traced memory of a whole run (4 programmes, horizon 10, chunk 10,000): "
          f"{SMALL:,} draws {small / 2**20:.1f} MiB ({small_time:.1f} s), "
          f"{LARGE:,} draws {large / 2**20:.1f} MiB ({large_time:.1f} s), ratio {large / small:.2f}")
    assert large <= MAX_RATIO * small, (
        f"peak memory grew {large / small:.2f}x for {LARGE // SMALL}x the draws "
        f"({small / 2**20:.1f} MiB -> {large / 2**20:.1f} MiB)")
