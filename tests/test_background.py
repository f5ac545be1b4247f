"""The reports drawn in a forked process: the same files as drawn in the caller, errors carried back
as one line, the child stopped when the caller fails, and no fork from a process with other threads."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import TOY_SCENARIO

from roi_engine.errors import InputError
from roi_engine.inputs.scenario import load_scenario
from roi_engine.outputs import background as bg
from roi_engine.outputs import run_folder
from roi_engine.results import Results
from roi_engine.results import run as run_model

needs_fork = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="roi-engine forks only on Linux (outputs.background.can_fork: macOS's system libraries are "
           "not fork-safe); elsewhere the page is drawn in the caller, the path every other test of a run "
           "takes there")


@pytest.fixture(scope="module")
def toy():
    scenario = load_scenario(TOY_SCENARIO).with_settings(draws=300)
    return scenario, run_model(scenario)


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, but for what records when it was written (run.json's date, the
    workbook's docProps/core.xml)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if name == "run.json":
            manifest = json.loads(path.read_text())
            manifest.pop("created")
            out[name] = json.dumps(manifest, sort_keys=True).encode()
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                for member in sorted(book.namelist()):
                    if member != "docProps/core.xml":
                        out[f"{name}:{member}"] = book.read(member)
        else:
            out[name] = path.read_bytes()
    return out


@needs_fork
def test_forked_and_serial_runs_write_the_same_files(toy, tmp_path, monkeypatch):
    scenario, results = toy
    monkeypatch.delenv("ROI_ENGINE_SERIAL", raising=False)
    assert bg.can_fork(), [t.name for t in threading.enumerate()]
    forked = run_folder.write_run(tmp_path / "forked", scenario, Results(results.cube, results.parameters))
    monkeypatch.setenv("ROI_ENGINE_SERIAL", "1")
    assert not bg.can_fork()
    serial = run_folder.write_run(tmp_path / "serial", scenario, Results(results.cube, results.parameters))
    assert [p.name for p in forked] == [p.name for p in serial]
    a, b = _contents(tmp_path / "forked"), _contents(tmp_path / "serial")
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_an_error_in_the_child_reaches_the_caller_and_leaves_no_folder(toy, tmp_path, monkeypatch):
    scenario, results = toy

    def fail(directory, results, sensitivity=()):
        raise InputError("cannot draw the charts", file=directory / "charts", hint="a test")

    monkeypatch.setattr(run_folder, "write_page", fail)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="cannot draw the charts .a test.$"):
        run_folder.write_run(out, scenario, results)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # the staged folder is gone too


@needs_fork
def test_the_child_is_stopped_when_the_caller_fails(monkeypatch):
    monkeypatch.delenv("ROI_ENGINE_SERIAL", raising=False)
    assert bg.can_fork(), [t.name for t in threading.enumerate()]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="the caller failed"):
        with bg.background(lambda: time.sleep(30)) as job:
            process = job._process
            raise RuntimeError("the caller failed")
    assert process is None or not process.is_alive()
    assert time.monotonic() - started < 10


@needs_fork
def test_a_child_that_dies_is_reported_not_waited_for(monkeypatch):
    monkeypatch.delenv("ROI_ENGINE_SERIAL", raising=False)
    assert bg.can_fork(), [t.name for t in threading.enumerate()]
    with bg.background(lambda: os._exit(3)) as job:
        pass
    with pytest.raises(RuntimeError, match="exit code 3"):
        job.result()


def test_no_fork_while_another_thread_runs(monkeypatch):
    monkeypatch.delenv("ROI_ENGINE_SERIAL", raising=False)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert not bg.can_fork()
        with bg.background(os.getpid) as job:
            assert job.result() == os.getpid()  # ran in this process
    finally:
        stop.set()
        other.join()


@needs_fork
def test_the_job_runs_in_a_child_when_forking_is_safe(monkeypatch):
    monkeypatch.delenv("ROI_ENGINE_SERIAL", raising=False)
    assert bg.can_fork(), [t.name for t in threading.enumerate()]
    with bg.background(os.getpid) as job:
        assert job.result() != os.getpid()


def test_serial_setting_runs_the_job_here(monkeypatch):
    monkeypatch.setenv("ROI_ENGINE_SERIAL", "1")
    assert not bg.can_fork()
    with bg.background(os.getpid) as job:
        assert job.result() == os.getpid()
