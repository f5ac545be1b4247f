"""The scenario for every area of a level, on the same draws: per-area results and the national check.

:func:`national` evaluates a scenario for every lower-tier authority in England (or every upper-tier
authority, or region), each with its own population and local parameters, on common random numbers
(:mod:`roi_engine.model.areas`). Work is split into tasks keyed by (area block, draw block); they run
here, one after another, or on a Dask cluster (``client``: a ``dask.distributed.Client``), with the same
numbers bit for bit either way. Each task returns a few per-draw portfolio figures per area; the
statistics (base case, mean, 5th and 95th percentiles) are taken once every draw of an area is in.

With every area of a level, England is evaluated as one more area, and :meth:`NationalResults.check`
compares it with the sum over the areas, draw by draw: with national parameters everywhere
(``local=False``) the two agree to rounding, since every flow is proportional to the population of the
programme's ages and the areas' populations add up to England's, except the overlap correction's choice
of the narrower pool's risk, an area's own fact (benefits then agree to about 1e-7); with local
parameters the difference is what local baselines change (docs/national.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from roi_engine.errors import InputError
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.inputs.area_inputs import LEVELS, area_scenario, areas_of_level, england, national_registry
from roi_engine.inputs.population import Area
from roi_engine.inputs.scenario import Scenario
from roi_engine.model.areas import AreaInputs, AreaModel, SampleBlock, draw_blocks
from roi_engine.model.evaluation import SAMPLING_BLOCK
from roi_engine.results.metrics import nan_quantiles, safe_ratio

ROWS_PER_TASK = 20_000
"""Default size of a task, in (area x draw) rows: memory per task stays about that of a single-area
chunk of this many draws."""
DRAW_BLOCK = 2_500
"""Default draws per task (a sampling block is split into blocks of at most this many)."""

STATISTICS = ("base_case", "mean", "p05", "p95")

__all__ = ["national", "NationalResults", "Metric", "connect", "check_metric_key", "STATISTICS", "LEVELS"]


@dataclass(frozen=True)
class Metric:
    """One per-area figure of a national run.

    ``key`` names it on the command line (``--rank-by``) and in the tidy table: ``npv:societal``,
    ``benefit_per_pound:public_sector``, ``net_cash:nhs``, ``qalys``, ``participants``.
    """

    key: str
    metric: str
    perspective: str
    sector: str
    unit: str
    label: str


def metric_catalogue(price: str, net_groups: Sequence[str]) -> tuple[Metric, ...]:
    money = f"GBP, {price} prices, discounted"
    out = []
    for p in PERSPECTIVES:
        for m, unit, label in (("pv_costs", money, "PV costs"), ("pv_benefits", money, "PV benefits"),
                               ("npv", money, "NPV"),
                               ("benefit_per_pound", "GBP of benefit per GBP of cost", "benefit per £1")):
            out.append(Metric(f"{m}:{p}", m, p, "all", unit, f"{label} ({p.replace('_', ' ')})"))
    for g in net_groups:
        out.append(Metric(f"net_cash:{g}", "net_cash", "", g, money,
                          f"cash-releasing net position, {g.replace('_', ' ')}"))
    out.append(Metric("qalys", "qalys", "", "all", "QALYs gained, discounted at the health rate", "QALYs"))
    out.append(Metric("participants", "participants", "", "all", "participant-years", "participant-years"))
    return tuple(out)


@dataclass
class NationalResults:
    """Per-area results of a national run (one portfolio per area, common random numbers).

    Attributes
    ----------
    scenario : Scenario
        The scenario as given (its own area's run is one of the areas when it belongs to the level).
    level : str
        A key of :data:`~roi_engine.inputs.area_inputs.LEVELS`, or ``"list"`` for ``areas`` given.
    areas : tuple of Area
    local : bool
        Local parameters used (False: national parameters everywhere, population scaling only).
    draws : dict of str to ndarray, shape (A, D)
        Per-draw figures of each area (keys of :attr:`metrics`).
    base : dict of str to ndarray, shape (A,)
        Base case (every input at the area's point value).
    england_draws, england_base : dict or None
        England evaluated as one area (only with every area of a level), for :meth:`check`.
    residents : ndarray, shape (A,)
    local_parameters : tuple of str
        Names of the parameters that differ between areas.
    scaled_programmes : tuple of str
        Programmes evaluated once per person and scaled by population (area-invariant).
    tasks : int
    """

    scenario: Scenario
    level: str
    areas: tuple[Area, ...]
    local: bool
    draws: dict[str, np.ndarray]
    base: dict[str, np.ndarray]
    england_draws: dict[str, np.ndarray] | None
    england_base: dict[str, np.ndarray] | None
    residents: np.ndarray
    metrics: tuple[Metric, ...]
    local_parameters: tuple[str, ...] = ()
    scaled_programmes: tuple[str, ...] = ()
    tasks: int = 0
    executor: str = "local"
    _stats: dict = field(default_factory=dict, repr=False)

    @property
    def n_draws(self) -> int:
        return next(iter(self.draws.values())).shape[1]

    def per_draw(self, key: str, england: bool = False) -> np.ndarray:
        """Per-draw values of metric ``key``, shape ``(A, D)`` (England: ``(1, D)``); NPV and benefit
        per £1 are derived from the stored PV of costs and benefits when asked for."""
        return _value(self.england_draws if england else self.draws, key)

    def base_value(self, key: str, england: bool = False) -> np.ndarray:
        """Base-case values of metric ``key``, shape ``(A,)`` (England: ``(1,)``)."""
        return _value(self.england_base if england else self.base, key)

    def statistics(self, key: str) -> dict[str, np.ndarray]:
        """``{base_case, mean, p05, p95}`` of metric ``key`` for every area, each shape ``(A,)``."""
        if key not in self._stats:
            self.metric(key)
            x = self.per_draw(key)
            with np.errstate(invalid="ignore"):
                valid = ~np.isnan(x)
                count = valid.sum(axis=1)
                total = np.where(valid, x, 0.0).sum(axis=1)
                mean = safe_ratio(total, count)
            q = nan_quantiles(x.T, [0.05, 0.95])
            self._stats[key] = {"base_case": self.base_value(key), "mean": mean, "p05": q[0], "p95": q[1]}
        return self._stats[key]

    def metric(self, key: str) -> Metric:
        for m in self.metrics:
            if m.key == key:
                return m
        raise InputError(f"unknown national metric '{key}'", where="--rank-by",
                         hint=f"one of {', '.join(m.key for m in self.metrics)}")

    def table(self) -> pd.DataFrame:
        """The tidy table: one row per area and metric, with base case, mean, p05 and p95."""
        frames = []
        codes = [a.code for a in self.areas]
        names = [a.name for a in self.areas]
        for m in self.metrics:
            s = self.statistics(m.key)
            frames.append(pd.DataFrame({
                "area_code": codes, "area_name": names, "metric": m.metric, "perspective": m.perspective,
                "sector": m.sector, "key": m.key, "unit": m.unit,
                **{k: s[k] for k in STATISTICS}}))
        return pd.concat(frames, ignore_index=True)

    def ranking(self, key: str, statistic: str = "mean") -> pd.DataFrame:
        """Areas ordered by ``statistic`` of metric ``key``, best (highest) first; NaN last."""
        self.metric(key)
        s = self.statistics(key)
        frame = pd.DataFrame({"area_code": [a.code for a in self.areas],
                              "area_name": [a.name for a in self.areas],
                              "residents": self.residents, **{k: s[k] for k in STATISTICS}})
        frame = frame.sort_values(statistic, ascending=False, kind="stable", na_position="last")
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        return frame.reset_index(drop=True)

    def check(self) -> pd.DataFrame | None:
        """The sum over areas against England run as one area, per money metric (None without England).

        Columns: ``sum_of_areas`` and ``england`` (means over draws), ``difference`` (their
        relative difference), ``max_draw_difference`` (largest difference of a single draw, relative to
        England's mean absolute value: common random numbers make the two comparable draw by draw).
        """
        if self.england_draws is None:
            return None
        rows = []
        for m in self.metrics:
            if m.metric == "benefit_per_pound":
                continue
            total = self.per_draw(m.key).sum(axis=0)
            one = self.per_draw(m.key, england=True)[0]
            scale = max(float(np.mean(np.abs(one))), 1e-300)  # a draw near 0 does not blow it up
            mean_total, mean_one = total.mean(), one.mean()
            rows.append({"key": m.key, "unit": m.unit, "sum_of_areas": mean_total, "england": mean_one,
                         "difference": (mean_total - mean_one) / abs(mean_one) if mean_one else np.nan,
                         "max_draw_difference": float(np.max(np.abs(total - one) / scale)),
                         "base_sum_of_areas": self.base_value(m.key).sum(),
                         "base_england": self.base_value(m.key, england=True)[0]})
        return pd.DataFrame(rows)

    def to_dataset(self, draws: bool = False) -> xr.Dataset:
        """``summary[area, metric, statistic]`` (and ``draws[area, metric, draw]`` when asked for)."""
        keys = [m.key for m in self.metrics]
        summary = np.stack([np.stack([self.statistics(k)[s] for s in STATISTICS], axis=1) for k in keys],
                           axis=1)
        data = {"summary": (("area", "metric", "statistic"), summary),
                "area_name": (("area",), [a.name for a in self.areas]),
                "residents": (("area",), self.residents),
                "unit": (("metric",), [m.unit for m in self.metrics])}
        if draws:
            data["draws"] = (("area", "metric", "draw"), np.stack([self.per_draw(k) for k in keys], axis=1))
        spec = self.scenario.spec
        return xr.Dataset(data, coords={"area": [a.code for a in self.areas], "metric": keys,
                                        "statistic": list(STATISTICS)},
                          attrs={"scenario": spec.name, "level": self.level, "draws": self.n_draws,
                                 "seed": spec.seed, "perspective": spec.perspective,
                                 "local_parameters": int(self.local)})


# --- running -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One (area block, draw block) task: areas ``area_start:area_stop``, run draws ``start:stop``."""

    area_block: int
    draw_block: int
    area_start: int
    area_stop: int
    sampling_block: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return (self.area_stop - self.area_start) * (self.stop - self.start)


def plan_tasks(n_areas: int, total_draws: int, *, area_block: int | None = None,
               draw_block: int | None = None) -> list[Task]:
    """Every (area block, draw block) task of a run, draw blocks inside sampling blocks."""
    draw_block = min(draw_block or DRAW_BLOCK, SAMPLING_BLOCK)
    blocks = draw_blocks(total_draws, draw_block)
    longest = max(stop - start for _, start, stop in blocks)
    area_block = area_block or max(1, ROWS_PER_TASK // longest)
    out = []
    for j, (b, start, stop) in enumerate(blocks):
        for i, first in enumerate(range(0, n_areas, area_block)):
            out.append(Task(i, j, first, min(first + area_block, n_areas), b, start, stop))
    return out


def sample_task(model: AreaModel, block: int, total: int, local_columns: tuple[int, ...]) -> SampleBlock:
    """The draws of one sampling block (a task of its own on a cluster, shared by its evaluate tasks)."""
    return model.sample(block, model.sampling_block_size(block, total), local_columns)


def evaluate_task(model: AreaModel, inputs: AreaInputs, task: Task, sample: SampleBlock) -> dict:
    """Per-draw figures of one (area block, draw block): ``{metric: (areas, draws)}``."""
    first = sample.index * SAMPLING_BLOCK
    rows = slice(task.start - first, task.stop - first)
    areas = slice(task.area_start, task.area_stop)
    x = model.stacked_parameters(inputs, areas, sample.x[rows], sample.u_local[rows])
    return model.evaluate(inputs, areas, x)


def base_task(model: AreaModel, inputs: AreaInputs) -> dict:
    """Every area's base case in one evaluation: ``{metric: (areas, 1)}``."""
    return model.evaluate(inputs, slice(None), model.base_parameters(inputs))


def _run_here(model, inputs, tasks, total) -> Iterator[tuple[Task, dict]]:
    samples: dict[int, SampleBlock] = {}
    for task in tasks:
        if task.sampling_block not in samples:
            samples.clear()  # tasks come in draw-block order: one sampling block held at a time
            samples[task.sampling_block] = sample_task(model, task.sampling_block, total,
                                                       inputs.local_columns)
        yield task, evaluate_task(model, inputs, task, samples[task.sampling_block])


def _run_on_dask(client, model, inputs, tasks, total) -> Iterator[tuple[Task, dict]]:
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]
    model_f, inputs_f = client.scatter([model, inputs], broadcast=True, hash=False)
    samples = {}
    for b in sorted({t.sampling_block for t in tasks}):
        samples[b] = client.submit(sample_task, model_f, b, total, inputs.local_columns,
                                   key=f"roi-national-{token}-sample-{b}", pure=False)
    futures = {client.submit(evaluate_task, model_f, inputs_f, t, samples[t.sampling_block],
                             key=f"roi-national-{token}-area{t.area_block}-draw{t.draw_block}",
                             pure=False): t for t in tasks}
    try:
        for future in as_completed(futures, loop=client.loop):  # not the default client: ours
            yield futures[future], future.result()
            future.release()
    finally:
        for f in (*futures, *samples.values()):
            f.cancel()


def local_cluster(workers: int):
    """A ``dask.distributed.Client`` on a new cluster of ``workers`` processes on this machine (one thread
    each, BLAS single-threaded); ``client.close()`` then ``client.cluster.close()`` shut it down."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("running on several processes needs Dask", where="--workers",
                         hint="pip install 'roi-engine[dask]', or leave --workers out to run here") from None
    single = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=single)
    return Client(cluster, set_as_default=False)


def connect(address: str, timeout: float = 10.0):
    """A ``dask.distributed.Client`` for a scheduler address (``tcp://HOST:PORT``), or ``"config"`` for
    the address in Dask's configuration (``scheduler-address``)."""
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise InputError("running on a Dask cluster needs Dask", where="--scheduler",
                         hint="pip install 'roi-engine[dask]', or leave --scheduler out to run here"
                         ) from None
    text = str(address).strip()
    if text == "config":
        text = dask.config.get("scheduler-address", None) or ""
        if not text:
            raise InputError("no scheduler address in the Dask configuration ('scheduler-address')",
                             where="--scheduler", hint="give tcp://HOST:PORT, or set DASK_SCHEDULER_ADDRESS")
    if "://" not in text or not text.split("://", 1)[1]:
        raise InputError(f"'{address}' is not a scheduler address", where="--scheduler",
                         hint="tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (or 'config')")
    try:
        client = Client(text, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot reach the Dask scheduler at {text} ({reason[:160]})", where="--scheduler",
                         hint="start one (dask scheduler; dask worker ADDRESS), or leave --scheduler out "
                              "to run here") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise InputError(f"the Dask scheduler at {text} has no workers", where="--scheduler",
                         hint="start one: dask worker ADDRESS (or leave --scheduler out to run here)"
                         ) from None
    return client


def prepare(scenario: Scenario, areas: Sequence[Area], *, local: bool = True,
            with_england: bool = False) -> tuple[AreaModel, AreaInputs]:
    """The compiled model (national rows) and the per-area inputs (England last when asked for)."""
    national_rows = national_registry(scenario)
    model = AreaModel(replace(scenario, registry=national_rows))
    chosen = list(areas) + ([england()] if with_england else [])
    scenarios = [area_scenario(scenario, a, national=national_rows, local=local) for a in chosen]
    return model, model.area_inputs(scenarios)


def national(scenario: Scenario, *, level: str = "lower", areas: Sequence[Area] | None = None,
             local: bool = True, client=None, area_block: int | None = None,
             draw_block: int | None = None,
             progress: Callable[[int], None] | None = None) -> NationalResults:
    """Run ``scenario`` for every area of ``level`` (or for ``areas``) on common random numbers.

    Parameters
    ----------
    scenario : Scenario
        Draws, seed and sampling are read from its spec.
    level : {'lower', 'upper', 'region'}
    areas : sequence of Area, optional
        These areas instead of a whole level (no national check then).
    local : bool
        Local parameters per area (default); False: national parameters everywhere.
    client : dask.distributed.Client, optional
        Run the tasks on this cluster; default: here, one after another.
    area_block, draw_block : int, optional
        Task size (areas x draws); the numbers do not depend on it.
    progress : callable, optional
        Called with the number of (area x draw) rows finished after each task.
    """
    if areas is None:
        chosen, level_name, with_england = areas_of_level(level), str(level).strip().lower(), True
    else:
        chosen, level_name, with_england = list(areas), "list", False
    if not chosen:
        raise InputError("no area to run", where="--areas")
    total = scenario.spec.draws
    model, inputs = prepare(scenario, chosen, local=local, with_england=with_england)
    tasks = plan_tasks(len(inputs), total, area_block=area_block, draw_block=draw_block)
    draws = {k: np.empty((len(inputs), total)) for k in model.metric_names}
    runner = (_run_here(model, inputs, tasks, total) if client is None
              else _run_on_dask(client, model, inputs, tasks, total))
    for task, out in runner:
        for k, v in out.items():
            draws[k][task.area_start:task.area_stop, task.start:task.stop] = v
        if progress is not None:
            progress(task.rows)
    base = {k: v[:, 0] for k, v in base_task(model, inputs).items()}
    draws, base = _stored(draws), _stored(base)
    n = len(chosen)
    names = model.model.names
    return NationalResults(
        scenario=scenario, level=level_name, areas=tuple(chosen), local=local,
        draws={k: v[:n] for k, v in draws.items()}, base={k: v[:n] for k, v in base.items()},
        england_draws={k: v[n:] for k, v in draws.items()} if with_england else None,
        england_base={k: v[n:] for k, v in base.items()} if with_england else None,
        residents=inputs.residents[:n],
        metrics=metric_catalogue(str(scenario.price_year), model.net_groups),
        local_parameters=tuple(names[j] for j in inputs.local_columns),
        scaled_programmes=tuple(model.model.plans[i].spec.id
                                for i in sorted(model.scaled_programmes(inputs))),
        tasks=len(tasks), executor="local" if client is None else f"dask ({client.scheduler.address})")


def check_metric_key(scenario: Scenario, key: str) -> str:
    """``key`` if it names a metric of a national run of ``scenario``, else one-line InputError."""
    model = AreaModel(replace(scenario, registry=national_registry(scenario)))
    keys = [m.key for m in metric_catalogue(str(scenario.price_year), model.net_groups)]
    if key not in keys:
        raise InputError(f"unknown national metric '{key}'", where="--rank-by",
                         hint=f"one of {', '.join(keys)}")
    return key


def _stored(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The figures a task returns under the keys of :func:`metric_catalogue` (no copies)."""
    out = {}
    for k, v in raw.items():
        if "." in k:
            first, second = k.split(".", 1)
            out[f"{second}:{first}" if first in PERSPECTIVES else f"{first}:{second}"] = v
        else:
            out[k] = v
    return out


def _value(stored: dict[str, np.ndarray], key: str) -> np.ndarray:
    """A metric from the stored figures: NPV and benefit per £1 derived from PV costs and benefits."""
    if key in stored:
        return stored[key]
    metric, _, perspective = key.partition(":")
    cost, benefit = stored[f"pv_costs:{perspective}"], stored[f"pv_benefits:{perspective}"]
    if metric == "npv":
        return benefit - cost
    if metric == "benefit_per_pound":
        return safe_ratio(benefit, cost)
    raise KeyError(key)
