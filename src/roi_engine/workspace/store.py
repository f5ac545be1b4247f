"""Runs, saved variants and background jobs, held in this process's memory (nothing is written to disk).

Every run gets a random token (``secrets.token_urlsafe``); a page or download names a run by its token,
which is only ever a key into a dict here, never part of a file path. The store keeps the latest
:data:`MAX_RUNS` runs; saved variants are kept until the server stops.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from roi_engine.errors import InputError

MAX_RUNS = 12
"""Runs kept (a 10,000-draw run holds tens of MB); saved variants are kept beyond this."""
MAX_VARIANTS = 10


@dataclass
class Run:
    """One run on screen: its inputs, its results and what it took."""

    token: str
    form: Any  # FormState
    data: dict  # the scenario dict (as TOML)
    scenario: Any  # Scenario
    results: Any  # Results
    sharing: Any  # CostSharing
    seconds: float  # model and tables, server side
    workbook: Any = None  # WorkbookInputs of an uploaded workbook, when its parameters are used
    workbook_name: str = ""
    warnings: list[str] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class Job:
    """A run at the scenario's full draw count, in a background thread."""

    token: str
    total: int
    done: int = 0
    state: str = "running"  # running | done | failed
    run_token: str = ""
    error: InputError | None = None
    started: float = field(default_factory=time.perf_counter)
    stage: str = "sampling the inputs and running the model"
    chunk: int = 0

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0


def execute(scenario, *, progress=None) -> tuple[Any, Any, float, list[str]]:
    """Run ``scenario`` as ``roi-engine run`` does (the results cube, then the cost-sharing table under
    its rule); returns results, sharing, seconds and the scenario warnings raised on the way."""
    from roi_engine.analyses.sharing import cost_sharing
    from roi_engine.inputs.scenario import ScenarioWarning
    from roi_engine.results import run as run_model

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        results = run_model(scenario, progress=progress)
        sharing = cost_sharing(results, results.sharing_rule)
        results.headline(), results.by_sector()  # tables computed here, timed with the run
    said = [str(w.message) for w in caught if issubclass(w.category, ScenarioWarning)]
    return results, sharing, time.perf_counter() - start, said


class Store:
    """The workspace's memory: runs by token, variants by name, jobs by token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.variants: OrderedDict[str, str] = OrderedDict()  # name -> run token
        self.jobs: dict[str, Job] = {}
        self.uploads: OrderedDict[str, tuple[Any, str]] = OrderedDict()  # token -> (WorkbookInputs, name)

    @staticmethod
    def token() -> str:
        return secrets.token_urlsafe(12)

    def add_run(self, **kwargs) -> Run:
        run = Run(token=self.token(), **kwargs)
        with self._lock:
            self.runs[run.token] = run
            kept = set(self.variants.values())
            while len(self.runs) > MAX_RUNS:
                oldest = next((t for t in self.runs if t not in kept), None)
                if oldest is None:
                    break
                del self.runs[oldest]
        return run

    def run(self, token: str | None) -> Run | None:
        with self._lock:
            return self.runs.get(token or "")

    def add_upload(self, inputs, name: str) -> str:
        token = self.token()
        with self._lock:
            self.uploads[token] = (inputs, name)
            while len(self.uploads) > MAX_RUNS:
                self.uploads.popitem(last=False)
        return token

    def upload(self, token: str | None):
        with self._lock:
            return self.uploads.get(token or "")

    def save_variant(self, name: str, run: Run) -> None:
        with self._lock:
            self.variants.pop(name, None)
            self.variants[name] = run.token
            while len(self.variants) > MAX_VARIANTS:
                self.variants.popitem(last=False)

    def variant(self, name: str) -> Run | None:
        with self._lock:
            token = self.variants.get(name)
            return self.runs.get(token) if token else None

    def start_job(self, scenario, finish) -> Job:
        """Run ``scenario`` in a thread; ``finish(results, sharing, seconds, warnings)`` returns the Run."""
        job = Job(token=self.token(), total=scenario.spec.draws)
        with self._lock:
            self.jobs[job.token] = job

        def advance(n: int) -> None:  # called after each chunk of draws (the scenario's chunk_size)
            job.done += int(n)
            if job.done >= job.total:
                job.stage = "building the summary and cost-sharing tables"

        def work() -> None:
            try:
                run = finish(*execute(scenario, progress=advance))
                job.run_token = run.token
                job.state = "done"
            except InputError as exc:
                job.error, job.state = exc, "failed"
            except Exception:  # noqa: BLE001 - shown as one line; the traceback goes to the server log
                traceback.print_exc()
                job.error = InputError("the run failed unexpectedly; the server's log says why")
                job.state = "failed"

        threading.Thread(target=work, name=f"roi-engine-job-{job.token}", daemon=True).start()
        return job

    def job(self, token: str) -> Job | None:
        with self._lock:
            return self.jobs.get(token)
