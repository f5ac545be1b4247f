"""Shared fixtures: the toy library in tests/data/toy and writable copies of it; platform tools.

The toy library must never be edited in place; tests that mutate it work on a copy made by
:func:`copy_toy` (or the ``toy_copy`` / ``toy_copy_factory`` fixtures).

A test that needs a program from Debian (a headless browser, a spreadsheet) asks
:func:`platform_tool` for it: when it is missing the test is skipped with a reason naming the package
and ``make platform``, and the end of the run lists every skipped test once, grouped by reason
(:func:`pytest_terminal_summary`).
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from roi_engine.inputs.scenario import load_scenario

TOY_DIR = Path(__file__).resolve().parent / "data" / "toy"
TOY_SCENARIO = TOY_DIR / "scenarios" / "toy.toml"


def copy_toy(destination: Path) -> Path:
    """Copy the toy library (interventions/, parameters/, scenarios/) to ``destination``; return it."""
    shutil.copytree(TOY_DIR, destination)
    return destination


def replace_in_file(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence of ``old`` in a text file (fail loudly if it is not there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="session")
def toy_scenario():
    """The toy scenario as shipped (Birmingham, toy_programme, horizon 6, seed 7)."""
    return load_scenario(TOY_SCENARIO)


@pytest.fixture(scope="session")
def toy_copy_factory(tmp_path_factory):
    """Make a fresh writable copy of the toy library; usable from session/module fixtures."""

    def make(label: str = "toy") -> Path:
        return copy_toy(tmp_path_factory.mktemp(label) / "toy")

    return make


@pytest.fixture
def toy_copy(tmp_path) -> Path:
    """A writable copy of the toy library under this test's tmp_path."""
    return copy_toy(tmp_path / "toy")


# name: (executable or environment override, Debian package, what needs it)
PLATFORM_TOOLS = {
    "chromium": (os.environ.get("ROI_ENGINE_CHROMIUM", "/usr/bin/chromium"), "chromium",
                 "the browser tests of the HTML report"),
    "soffice": (os.environ.get("ROI_ENGINE_SOFFICE", "soffice"), "libreoffice-calc-nogui",
                "printing the results workbook"),
}


def platform_tool(name: str) -> str:
    """The path of a platform program (see :data:`PLATFORM_TOOLS`), or skip the test saying how to get it."""
    executable, package, purpose = PLATFORM_TOOLS[name]
    found = shutil.which(executable)
    if found is None:
        pytest.skip(f"{name} not found ({executable}), needed for {purpose}: `make platform` installs "
                    f"Debian's {package} (needs root or sudo)")
    return found


def _reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter) -> None:
    """Once, at the end: which tests were skipped and why, one block per reason."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for report in terminalreporter.stats.get("skipped", []):
        by_reason[_reason(report)].append(report.nodeid)
    if not by_reason:
        return
    total = sum(len(ids) for ids in by_reason.values())
    terminalreporter.write_sep("=", f"{total} skipped, and why")
    for reason, ids in by_reason.items():
        terminalreporter.write_line(f"{len(ids)} skipped: {reason}")
        for nodeid in ids:
            terminalreporter.write_line(f"    {nodeid}")
