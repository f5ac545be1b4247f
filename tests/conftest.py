"""Shared fixtures: the toy library in tests/data/toy and writable copies of it.

The toy library must never be edited in place; tests that mutate it work on a copy made by
:func:`copy_toy` (or the ``toy_copy`` / ``toy_copy_factory`` fixtures).
"""

from __future__ import annotations

import shutil
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
