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
