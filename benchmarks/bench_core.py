"""Benchmark of the vectorised core: ``Model.evaluate`` and ``intervention_flows`` against two yardsticks.

For draws in {1,000, 10,000, 100,000} and horizons {10, 30} it prints:

- the engine's wall time (median of ``--repeats`` runs, ``time.perf_counter``) for ``Model.evaluate``
  on pre-sampled draws, in chunks of the scenario's ``chunk_size`` as :func:`roi_engine.model.evaluation.run`
  does, and for the core :func:`roi_engine.model.engine.intervention_flows` alone (same chunks, parameter
  values prepared beforehand);
- throughput in cells (draws x years x sectors, per intervention) per second;
- the ratio to a bare NumPy multiply-add over float64 arrays of shape ``(draws, years, sectors, 4)``,
  the cheapest pass any engine producing ``flows`` must make (target: engine within 5x);
- the speed-up over a naive pure-Python loop over draws and years, written below from the model's
  equations in ``docs/file_formats.md`` (target: engine at least 100x faster). The naive result is
  checked against the engine's flows to 1e-9 relative; a mismatch is the only non-zero exit.

Ratios, not absolute times, are the claim: absolute times depend on the machine.

Run ``make bench`` or ``.venv/bin/python benchmarks/bench_core.py [--scenario PATH]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy

from roi_engine.inputs.interventions import InterventionSpec
from roi_engine.inputs.population import population_by_age
from roi_engine.inputs.scenario import Scenario, ScenarioIntervention, load_scenario
from roi_engine.model.engine import KIND_INDEX, KINDS, InterventionPlan, intervention_flows
from roi_engine.model.evaluation import Model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = ROOT / "scenarios" / "default.toml"
TOY_SCENARIO = ROOT / "tests" / "data" / "toy" / "scenarios" / "toy.toml"

DRAWS = (1_000, 10_000, 100_000)
HORIZONS = (10, 30)
RTOL = 1e-9
KERNEL_TARGET = 5.0
NAIVE_TARGET = 100.0
N_KINDS = len(KINDS)


# --- the naive reference: scalar Python, one draw and one year at a time ---------------------------


class NaiveIntervention:
    """One intervention's flows computed draw by draw with scalar arithmetic (``docs/file_formats.md``).

    Independent of :mod:`roi_engine.model.engine`: it reads the scenario's choices (overrides of reach,
    uptake and delivery years) and the population by single year of age itself. Every reference
    (parameter name or number) is compiled to an index into a per-draw list of scalars: the draw's
    parameter values (money converted to the scenario's price year), then the spec's constants.

    Parameters
    ----------
    scenario : Scenario
    item : ScenarioIntervention
        The scenario's entry (local overrides).
    spec : InterventionSpec
    names : sequence of str
        Column order of the draws ``X`` (``Model.names``).
    price_factors : sequence of float
        Multiplier taking each column to the scenario's price year (``Model.price_factors``).
    n_years : int
    """

    def __init__(self, scenario: Scenario, item: ScenarioIntervention, spec: InterventionSpec,
                 names: Sequence[str], price_factors: Sequence[float], n_years: int):
        self.n_years = n_years
        self.n_sectors = len(scenario.sectors)
        self.factors = [float(f) for f in price_factors]
        self.consts: list[float] = []
        self._column = {name: j for j, name in enumerate(names)}
        sector = {name: s for s, name in enumerate(scenario.sectors.names)}

        pop = spec.population
        low, high = pop.ages
        by_age = population_by_age(scenario.area).tolist()
        self.population = 0.0
        for age in range(low, high + 1):
            self.population += by_age[age]
        self.eligible = self._ref(pop.eligible_share)
        self.reach = self._ref(item.reach if item.reach is not None else pop.reach)
        self.uptake = self._ref(item.uptake if item.uptake is not None else pop.uptake)
        years = item.delivery_years or spec.delivery.years
        self.delivery = [y for y in years if y < n_years]

        # (flat slot of (sector, cost) in a year, amount index, per participant?, cohort-year offsets)
        self.costs = [(sector[c.payer] * N_KINDS + KIND_INDEX["cost"], self._ref(c.amount),
                       c.per_participant is not None, list(c.years)) for c in spec.costs]
        self.outcomes = []
        for o in spec.outcomes:
            consequences = [(sector[c.sector] * N_KINDS + KIND_INDEX[c.value_type],
                             [self._ref(f) for f in c.factors], [float(m) for m in c.lag])
                            for c in o.consequences]
            self.outcomes.append((
                o.effect.form,
                self._ref(o.baseline) if o.baseline is not None else None,
                self._ref(o.effect.ref),
                self._ref(o.deadweight), self._ref(o.displacement), self._ref(o.attribution),
                self._ref(o.persistence.years_full), self._ref(o.persistence.fade),
                consequences,
            ))

    def _ref(self, ref: str | float) -> int:
        """Index of a reference in the per-draw scalar list."""
        if isinstance(ref, str):
            return self._column[ref]
        self.consts.append(float(ref))
        return len(self._column) + len(self.consts) - 1

    def run(self, rows: list[list[float]]) -> tuple[list[list[float]], list[list[list[float]]]]:
        """Flows and avoided units for each draw.

        Parameters
        ----------
        rows : list of list of float
            Raw parameter draws (``X.tolist()``), each in its own unit and price year.

        Returns
        -------
        flows : list, per draw, of a flat list indexed ``(year * n_sectors + sector) * 4 + kind``
        avoided : list, per draw, of per-outcome lists of units avoided by year
        """
        n_years, width = self.n_years, self.n_sectors * N_KINDS
        factors, consts, delivery = self.factors, self.consts, self.delivery
        all_flows, all_avoided = [], []
        for row in rows:
            p = [x * f for x, f in zip(row, factors, strict=True)]
            p.extend(consts)
            flows = [0.0] * (n_years * width)
            per_cohort = self.population * p[self.eligible] * p[self.reach] * p[self.uptake]

            # Costs per cohort-year, convolved with the delivery schedule.
            for slot, amount_i, per_participant, offsets in self.costs:
                amount = p[amount_i] * per_cohort if per_participant else p[amount_i]
                for start in delivery:
                    for offset in offsets:
                        year = start + offset
                        if year < n_years:
                            flows[year * width + slot] += amount

            avoided_by_outcome = []
            for (form, base_i, effect_i, dead_i, disp_i, attr_i, full_i, fade_i,
                 consequences) in self.outcomes:
                baseline = p[base_i] if base_i is not None else 1.0
                effect = p[effect_i]
                if form == "relative_risk":
                    per_participant = baseline * (1.0 - effect)
                elif form == "odds_ratio":
                    risk_ratio = effect / (1.0 - baseline + baseline * effect)
                    per_participant = baseline * (1.0 - risk_ratio)
                elif form == "relative_reduction":
                    per_participant = baseline * effect
                elif form == "absolute":
                    per_participant = effect
                else:
                    raise ValueError(f"unknown effect form '{form}'")
                additionality = (1.0 - p[dead_i]) * (1.0 - p[disp_i]) * (1.0 - p[attr_i])
                years_full, fade = p[full_i], p[fade_i]
                scale = per_cohort * per_participant * additionality

                # One cohort, by cohort-year k: avoided = N x baseline x effect x persistence(k).
                cohort = []
                for k in range(n_years):
                    share = 1.0 if k < years_full else (1.0 - fade) ** (k - years_full + 1.0)
                    cohort.append(scale * share)
                # All cohorts: convolve with the delivery schedule.
                avoided = []
                for year in range(n_years):
                    total = 0.0
                    for start in delivery:
                        if start <= year:
                            total += cohort[year - start]
                    avoided.append(total)
                avoided_by_outcome.append(avoided)

                # Each consequence: convolve with its lag, times the value per unit.
                for slot, factor_is, lag in consequences:
                    value = 1.0
                    for i in factor_is:
                        value *= p[i]
                    for year in range(n_years):
                        lagged = 0.0
                        for after, multiplier in enumerate(lag):
                            if after > year:
                                break
                            lagged += multiplier * avoided[year - after]
                        flows[year * width + slot] += lagged * value
            all_flows.append(flows)
            all_avoided.append(avoided_by_outcome)
        return all_flows, all_avoided

    def as_arrays(self, flows: list, avoided: list) -> tuple[np.ndarray, np.ndarray]:
        """The lists from :meth:`run` as arrays shaped like the engine's."""
        n = len(flows)
        flows_array = np.array(flows).reshape(n, self.n_years, self.n_sectors, N_KINDS)
        avoided_array = np.array(avoided).reshape(n, len(self.outcomes), self.n_years)
        return flows_array, avoided_array.transpose(0, 2, 1)


def naive_interventions(model: Model) -> list[NaiveIntervention]:
    scenario = model.scenario
    return [NaiveIntervention(scenario, item, spec, model.names, model.price_factors, scenario.horizon)
            for item, spec in scenario.interventions]


# --- agreement ---------------------------------------------------------------------------------------


def check_agreement(label: str, naive: NaiveIntervention, plan: InterventionPlan, model: Model,
                    x: np.ndarray) -> bool:
    """Naive flows and avoided units against ``intervention_flows`` on the same draws, to 1e-9."""
    flows, avoided = naive.as_arrays(*naive.run(x.tolist()))
    engine = intervention_flows(plan, model.values(x), x.shape[0])
    ok = True
    for what, mine, theirs in (("flows", flows, engine.flows), ("avoided", avoided, engine.avoided)):
        scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
        try:
            np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=RTOL * scale)
        except AssertionError as exc:
            ok = False
            print(f"DISAGREEMENT in {what} ({label}):\n{exc}", file=sys.stderr)
    return ok


def feature_variants(spec: InterventionSpec) -> list[tuple[str, InterventionSpec]]:
    """Variants of ``spec`` that exercise every feature of the format, whatever the spec itself uses.

    The first outcome takes each effect form in turn (its own effect parameter serves as a relative
    risk or odds ratio); costs swap per_participant and per_cohort and get several cohort-years;
    persistence, additionality and lag get non-trivial values (fractional and zero years_full too).
    """
    outcome = spec.outcomes[0]
    ref = outcome.effect.ref if outcome.effect.form in ("relative_risk", "odds_ratio") else 0.8
    baseline = outcome.baseline if outcome.baseline is not None else 0.2
    effects = {
        "relative_risk": ({"relative_risk": ref}, baseline, {"years_full": 2, "fade": 0.4}),
        "odds_ratio": ({"odds_ratio": ref}, baseline, {"years_full": 1.5, "fade": 0.25}),
        "relative_reduction": ({"relative_reduction": 0.3}, baseline, {"years_full": 0, "fade": 0.5}),
        "absolute": ({"absolute": 0.05}, None, {"years_full": 3, "fade": 1.0}),
    }
    variants = []
    for form, (effect, base_ref, persistence) in effects.items():
        data = spec.model_dump()
        for cost in data["costs"]:
            amount = cost["per_participant"] if cost["per_participant"] is not None else cost["per_cohort"]
            swap = "per_cohort" if cost["per_participant"] is not None else "per_participant"
            cost["per_participant"] = cost["per_cohort"] = None
            cost[swap] = amount
            cost["years"] = (0, 1, 3)
        first = data["outcomes"][0]
        first.update(effect=effect, baseline=base_ref, persistence=persistence, deadweight=0.1,
                     displacement=0.05, attribution=0.2)
        for consequence in first["consequences"]:
            consequence["lag"] = (0.2, 0.5, 0.3)
        variants.append((form, InterventionSpec.model_validate(data)))
    return variants


def check_features(model: Model, n_draws: int = 300) -> bool:
    """Naive and engine agree on variants covering every effect form, cost type and option."""
    x = model.sample(n_draws, chunk_index=99)
    ok = True
    for (item, spec), plan in zip(model.scenario.interventions, model.plans, strict=True):
        for form, variant in feature_variants(spec):
            naive = NaiveIntervention(model.scenario, item, variant, model.names, model.price_factors,
                                      model.scenario.horizon)
            ok &= check_agreement(f"{spec.id} variant {form}", naive,
                                  dataclasses.replace(plan, spec=variant), model, x)
    return ok


# --- timing ------------------------------------------------------------------------------------------


def median_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def chunks(n: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def time_engine(model: Model, x: np.ndarray, chunk_size: int, repeats: int) -> tuple[float, float]:
    """Median seconds for ``Model.evaluate`` and for ``intervention_flows`` alone over ``x``, by chunk."""
    parts = chunks(x.shape[0], chunk_size)
    warm = x.shape[0] <= 10_000

    def evaluate():
        for part in parts:
            model.evaluate(x[part])

    values = [model.values(x[part]) for part in parts]
    sizes = [part.stop - part.start for part in parts]

    def core():
        for vals, n in zip(values, sizes, strict=True):
            for plan in model.plans:
                intervention_flows(plan, vals, n)

    return median_time(evaluate, repeats, warm), median_time(core, repeats, warm)


def time_kernel(shape: tuple[int, ...], chunk_size: int, n_interventions: int, repeats: int) -> float:
    """Median seconds for ``out = a * b + c`` over float64 arrays of ``shape``, in the engine's chunks.

    Inputs and output are allocated and touched beforehand; each chunk is a distinct contiguous slab
    (no cache reuse between chunks). NumPy needs two ufunc calls for a multiply-add without
    temporaries: ``multiply(a, b, out)`` then ``add(out, c, out)``.
    """
    a = np.full(shape, 1.0001)
    b = np.full(shape, 0.9999)
    c = np.full(shape, 0.5)
    out = np.zeros(shape)
    parts = chunks(shape[0], chunk_size)

    def kernel():
        for _ in range(n_interventions):
            for part in parts:
                np.multiply(a[part], b[part], out=out[part])
                np.add(out[part], c[part], out=out[part])

    return median_time(kernel, repeats, warmup=shape[0] <= 10_000)


def time_naive(naive: list[NaiveIntervention], rows: list[list[float]]) -> float:
    start = time.perf_counter()
    for item in naive:
        item.run(rows)
    return time.perf_counter() - start


# --- report ------------------------------------------------------------------------------------------


def machine_info() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_name = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # the build information is a convenience, never a failure
        blas_name = "unknown"
    threads = ", ".join(f"{k}={os.environ[k]}" for k in
                        ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ)
    return [
        f"machine:  {cpu}, {os.cpu_count()} cores ({usable} usable), {platform.system()} "
        f"{platform.release()}",
        f"software: Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"BLAS {blas_name} ({threads or 'thread count not set: one per core'})",
    ]


def blas_probe() -> float:
    """Median seconds of one small matmul of the kind the engine's convolutions make.

    ``(10,000 x 10) @ (10 x 10)`` takes about 0.1 ms on free cores. Milliseconds mean the BLAS
    worker threads are waiting for a CPU (other processes are running), which slows the engine.
    """
    x = np.ones((10_000, 10))
    m = np.tril(np.ones((10, 10)))
    return median_time(lambda: x @ m.T, 9)


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f}"


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = DEFAULT_SCENARIO if DEFAULT_SCENARIO.exists() else TOY_SCENARIO
    parser.add_argument("--scenario", type=Path, default=default,
                        help=f"scenario TOML (default: {default.relative_to(ROOT)})")
    parser.add_argument("--draws", type=int, nargs="+", default=list(DRAWS))
    parser.add_argument("--horizons", type=int, nargs="+", default=list(HORIZONS))
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats, median reported (3 above 10,000 draws)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="override the scenario's chunk_size")
    parser.add_argument("--naive-max", type=int, default=2_000,
                        help="run the naive loop on all draws up to this many")
    parser.add_argument("--naive-subset", type=int, default=2_000,
                        help="above --naive-max, time the naive loop on this many draws and scale")
    args = parser.parse_args(argv)

    base = load_scenario(args.scenario)
    chunk_size = args.chunk_size or base.spec.chunk_size
    n_sectors = len(base.sectors)
    n_int = len(base.interventions)
    draws = sorted(args.draws)

    print("roi-engine core benchmark")
    for line in machine_info():
        print(line)
    print(f"load:     1-minute load average {load_average()} at start; "
          f"BLAS probe {blas_probe() * 1e3:.2f} ms (about 0.1 ms on free cores, see README)")
    print(f"scenario: {args.scenario}: {base.spec.name}")
    print(f"          interventions: {', '.join(spec.id for _, spec in base.interventions)}; "
          f"{n_sectors} sectors")
    print(f"engine:   Model.evaluate on pre-sampled draws, in chunks of chunk_size = {chunk_size:,} as")
    print("          model.run does (one call when draws <= chunk_size); core = intervention_flows alone,")
    print("          same chunks, parameter values prepared beforehand.")
    print(f"timing:   median of {args.repeats} runs after a warm-up (3 runs, no warm-up, above 10,000 "
          "draws); the naive loop is timed once.")
    print("Ratios, not absolute times, are the claim: they carry across machines, the times do not.")
    print()

    ok = True
    rows = []
    x_all = names = None
    for horizon in args.horizons:
        model = Model(base.with_settings(horizon=horizon))
        if x_all is None:
            names = model.names
            x_all = model.sample(draws[-1])
        assert model.names == names, "parameter order changed with the horizon"
        naive = naive_interventions(model)
        ok &= check_features(model)
        for n in draws:
            x = x_all[:n]
            repeats = args.repeats if n <= 10_000 else min(args.repeats, 3)
            evaluate_s, core_s = time_engine(model, x, chunk_size, repeats)
            kernel_s = time_kernel((n, horizon, n_sectors, N_KINDS), chunk_size, n_int, repeats)
            if n <= args.naive_max:
                subset = x
            else:  # a strided subset spanning the whole range of draws
                subset = x[:: max(1, n // args.naive_subset)][: args.naive_subset]
            naive_s = time_naive(naive, subset.tolist()) * n / subset.shape[0]
            agree = all(check_agreement(f"horizon {horizon}, {n:,} draws", item, plan, model, subset)
                        for item, plan in zip(naive, model.plans, strict=True))
            ok &= agree
            cells = n * horizon * n_sectors * n_int
            rows.append((horizon, n, evaluate_s, core_s, cells, kernel_s, naive_s, subset.shape[0], agree))

    head = (f"{'years':>5} {'draws':>8} | {'evaluate':>9} {'core':>9} {'core %':>6} | "
            f"{'eval Mc/s':>9} {'core Mc/s':>9} | {'kernel':>9} {'eval/k':>7} {'core/k':>7} | "
            f"{'naive':>10} {'naive/ev':>9} {'naive/core':>10} | {'agrees':>6}")
    print(head)
    print("-" * len(head))
    for horizon, n, evaluate_s, core_s, cells, kernel_s, naive_s, timed, agree in rows:
        scaled = "*" if timed < n else " "
        print(f"{horizon:>5} {n:>8,} | {fmt_time(evaluate_s)} {fmt_time(core_s)} "
              f"{100 * core_s / evaluate_s:>5.0f}% | {cells / evaluate_s / 1e6:>9.1f} "
              f"{cells / core_s / 1e6:>9.1f} | {fmt_time(kernel_s)} {evaluate_s / kernel_s:>6.1f}x "
              f"{core_s / kernel_s:>6.1f}x | {fmt_time(naive_s)}{scaled} {naive_s / evaluate_s:>8.0f}x "
              f"{naive_s / core_s:>9.0f}x | {'yes' if agree else 'NO':>6}")
    print()
    print("Columns (times in ms):")
    print("  evaluate   Model.evaluate: flows, then discounting, PVs, payback years and sums over draws")
    print("  core       intervention_flows alone; core % = core / evaluate")
    print("  Mc/s       million cells per second, cells = draws x years x sectors (x interventions)")
    print("  kernel     bare NumPy out = a * b + c over float64 (draws, years, sectors, 4), same chunks")
    print(f"  eval/k     engine time / kernel time (target <= {KERNEL_TARGET:g}x)")
    print("  naive      pure-Python scalar loop over draws and years computing the same flows (this file)")
    print(f"  naive/...  speed-up of the engine over it (target >= {NAIVE_TARGET:g}x); naive/core compares")
    print("             the same work, naive/ev charges the engine for discounting and summaries as well")
    print("  agrees     naive flows and avoided units equal the engine's to 1e-9 relative")
    if any(r[7] < r[1] for r in rows):
        print(f"  *          naive loop timed on {args.naive_subset:,} draws spread over the run, scaled "
              "linearly to all draws")

    worst_eval = max(r[2] / r[5] for r in rows)
    worst_core = max(r[3] / r[5] for r in rows)
    least_core = min(r[6] / r[3] for r in rows)
    least_eval = min(r[6] / r[2] for r in rows)
    kernel_speedups = [r[6] / r[5] for r in rows]
    print()
    print(f"vs bare kernel (worst case, target <= {KERNEL_TARGET:g}x): core {worst_core:.1f}x "
          f"{verdict(worst_core <= KERNEL_TARGET)}; evaluate {worst_eval:.1f}x "
          f"{verdict(worst_eval <= KERNEL_TARGET)}")
    print(f"vs naive loop (least speed-up, target >= {NAIVE_TARGET:g}x): core {least_core:.0f}x "
          f"{verdict(least_core >= NAIVE_TARGET)}; evaluate {least_eval:.0f}x "
          f"{verdict(least_eval >= NAIVE_TARGET)}")
    print(f"          for reference, the bare kernel is only {min(kernel_speedups):.0f}x to "
          f"{max(kernel_speedups):.0f}x faster than the naive loop (which touches")
    print("          only the cells the spec uses): roughly the ceiling for an engine that fills the dense")
    print("          flows array")
    print(f"load:     1-minute load average {load_average()} at end; BLAS probe {blas_probe() * 1e3:.2f} ms")
    print("checked: every configuration above, and variants covering every effect form, per_participant")
    print("         and per_cohort costs, persistence, deadweight/displacement/attribution and lag")
    print(f"agrees to 1e-9: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
