"""roi-engine installed from its wheel runs from any folder, with the programme library it ships.

The slow test builds the wheel, installs it (with its dependencies from the package index) into a
fresh virtual environment without the system's packages, and from an empty temporary folder runs a
shipped scenario, exports the parameter workbook and runs that workbook. The fast tests check the
library locator itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.library import (
    Library,
    find_library,
    library_of,
    resolve_scenario,
    shipped_library,
    shipped_scenarios,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------
# The locator (fast)
# ------------------------------------------------------------------------------------------------


def test_editable_install_reads_the_repository_folders():
    library = shipped_library()
    assert library.root == ROOT
    assert library.shipped
    assert library.interventions == ROOT / "interventions"
    assert "source folders" in library.describe()


def test_a_users_folder_overrides_the_shipped_library(toy_copy, tmp_path):
    assert find_library(toy_copy) == Library(toy_copy.resolve(), shipped=False)
    assert find_library(None, tmp_path, toy_copy).root == toy_copy.resolve()  # first folder holding one
    assert find_library(None, tmp_path).shipped  # nothing near: the shipped one
    assert "your library folder" in find_library(toy_copy).describe()
    assert library_of(toy_copy / "interventions").root == toy_copy.resolve()


def test_an_explicit_folder_without_interventions_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no interventions/ folder here"):
        find_library(tmp_path)


def test_shipped_scenarios_are_addressable_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = ROOT / "scenarios" / "default.toml"
    assert shipped_scenarios()["default"] == default
    for given in ("default", "default.toml", "scenarios/default.toml"):
        assert resolve_scenario(given) == default
    with pytest.raises(InputError, match="shipped scenario: default"):
        resolve_scenario("defualt")
    with pytest.raises(InputError, match="file not found$"):
        resolve_scenario("other/default.toml")
    (tmp_path / "default").write_text("", encoding="utf-8")
    assert resolve_scenario("default") == Path("default")  # a file of that name wins


def test_a_scenario_with_no_library_beside_it_uses_the_shipped_one(tmp_path):
    from roi_engine.inputs.scenario import load_scenario

    lone = tmp_path / "mine.toml"
    lone.write_text((ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8"), encoding="utf-8")
    scenario = load_scenario(lone)
    assert {p.parent for p in scenario.library.paths.values()} == {ROOT / "interventions"}
    named = tmp_path / "named.toml"
    named.write_text('interventions_dir = "nowhere"\n' + lone.read_text(encoding="utf-8"),
                     encoding="utf-8")
    with pytest.raises(InputError, match="nowhere"):  # a folder the scenario names is never replaced
        load_scenario(named)


# ------------------------------------------------------------------------------------------------
# Wheel into a fresh venv (slow: about a minute, most of it pip)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (found,) = out.glob("roi_engine-*.whl")
    return found


def test_the_wheel_carries_the_library_from_the_repository_folders(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("interventions", "parameters", "scenarios"):
        for source in (ROOT / folder).rglob("*"):
            if source.is_file():
                assert f"roi_engine/library/{folder}/{source.relative_to(ROOT / folder).as_posix()}" in names
    assert "roi_engine/results/__init__.py" in names


def test_installed_wheel_runs_from_an_empty_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)], check=True,
                   capture_output=True, text=True)
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"

    def roi(*args: str) -> str:
        done = subprocess.run([str(env_dir / "bin" / "roi-engine"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"roi-engine {' '.join(args)}: {done.stderr}"
        return done.stdout

    shipped = f"{'Library:':<14}{env_dir}"
    out = roi("run", "default", "--draws", "200", "--quiet")
    assert out.startswith(shipped) and "shipped with roi-engine" in out.splitlines()[0]
    assert (work / "results" / "default" / "report.html").is_file()
    roi("params", "export", "--scenario", "scenarios/default.toml", "--out", "mine.xlsx")
    out = roi("run", "mine.xlsx", "--draws", "200", "--quiet", "--out", "results/mine")
    assert out.startswith(shipped)
    assert (work / "results" / "mine" / "report.xlsx").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["mine.xlsx", "results"]
