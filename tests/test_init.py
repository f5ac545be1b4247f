"""``roi-engine init``: a scenario for an area in one command, and the warning for a misnamed one."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from roi_engine.cli import main
from roi_engine.inputs.population import find_area
from roi_engine.inputs.scenario import (
    ScenarioSpec,
    ScenarioWarning,
    area_name_mismatch,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = tomllib.loads((ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8"))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_init_writes_a_scenario_named_after_the_area_with_the_default_portfolio(tmp_path):
    out = tmp_path / "manchester.toml"
    result = invoke("init", "manchester", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Manchester (E08000003)" in result.output
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["area"] == "E08000003"
    assert data["name"] == "Manchester prevention portfolio"
    assert [i["id"] for i in data["interventions"]] == [i["id"] for i in DEFAULT["interventions"]]
    assert data["interventions"][0]["reach"] == DEFAULT["interventions"][0]["reach"]
    assert data["sharing"]["rule"] == DEFAULT["sharing"]["rule"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        scenario = load_scenario(out)  # no library beside it: the shipped one
    assert scenario.area.name == "Manchester"


def test_every_setting_is_there_and_commented(tmp_path):
    out = tmp_path / "york.toml"
    assert invoke("init", "E06000014", "--out", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    for field in ScenarioSpec.model_fields:
        if field not in ("interventions", "correlations", "sharing"):
            assert f"{field} = " in text, field
    assert "[[correlations]]" in text and "[sharing]" in text
    for line in text.splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            assert " # " in line, f"setting without a comment: {line!r}"


def test_chosen_programmes_use_their_own_defaults(tmp_path):
    out = tmp_path / "mine.toml"
    result = invoke("init", "York", "--programmes", "school_sel_penn_resilience, debt_advice", "--out", out)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["interventions"] == [{"id": "school_sel_penn_resilience"},
                                     {"id": "debt_advice", "reach": 0.05, "delivery_years": [0, 1, 2]}]
    assert "# reach = " in out.read_text(encoding="utf-8")
    assert load_scenario(out).interventions[0][1].id == "school_sel_penn_resilience"


@pytest.mark.parametrize(("args", "message"), [
    (("init", "nowhere-at-all", "--out", "x.toml"), "'nowhere-at-all' is not an area name"),
    (("init", "man", "--out", "x.toml"), "did you mean Manchester (E08000003), Mansfield"),
    (("init", "york", "--programmes", "kiva", "--out", "x.toml"), "'kiva' is not a programme"),
    (("init", "york", "--out", "x.txt"), "a scenario file ends in .toml"),
])
def test_bad_requests_get_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    out = tmp_path / "keep.toml"
    out.write_text("mine", encoding="utf-8")
    result = invoke("init", "york", "--out", out)
    assert result.exit_code == 2 and "the file exists" in result.stderr
    assert out.read_text(encoding="utf-8") == "mine"
    assert invoke("init", "york", "--out", out, "--force").exit_code == 0
    assert tomllib.loads(out.read_text(encoding="utf-8"))["area"] == "E06000014"


def test_a_copied_scenario_still_named_for_another_area_warns_once_on_stderr(tmp_path):
    copy = tmp_path / "manchester.toml"
    text = (ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8")
    copy.write_text(text.replace('area = "E08000025"', 'area = "E08000003"'), encoding="utf-8")
    with pytest.warns(ScenarioWarning, match="mentions Birmingham but its area is Manchester"):
        load_scenario(copy)
    result = invoke("params", "export", "--scenario", copy, "--out", tmp_path / "p.xlsx")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warned == [f"roi-engine: warning: {copy}: the scenario's name 'Birmingham prevention portfolio, "
                      "2024-2027' mentions Birmingham but its area is Manchester (E08000003): rename it (the "
                      'name titles the report), or set area = "E08000025"']


@pytest.mark.parametrize(("name", "code", "warns"), [
    ("Birmingham prevention portfolio", "E08000025", False),
    ("Greater Manchester pilot in Manchester", "E08000003", False),  # its own name is there
    ("Prevention portfolio 2024-2027", "E08000003", False),          # no area named at all
    ("Bristol portfolio", "E06000023", False),                        # 'Bristol, City of'
    ("Reading recovery and bury the stigma", "E08000003", True),  # 'Reading' is an area; 'bury' is not 'Bury'
    ("a reading-group programme", "E08000003", False),
    ("Yorkshire and the Humber programme", "E08000003", True),
    ("Birmingham portfolio", "E08000003", True),
    ("North East Lincolnshire portfolio", "E08000003", True),
])
def test_name_mismatch_rule(name, code, warns):
    message = area_name_mismatch(name, find_area(code))
    assert (message is not None) == warns
    if name.startswith("North East"):
        assert "mentions North East Lincolnshire" in message  # the longest name mentioned
