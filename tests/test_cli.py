"""Tests for the ``roi-engine`` command line (roi_engine.cli), through click's CliRunner and one real
subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TOY_SCENARIO, replace_in_file

from roi_engine.cli import main

RUN_ARGS = ["--draws", "500", "--seed", "3"]
RESULT_FILES = ("results.nc", "run.json", "summary.csv", "headline.csv", "by_sector.csv", "yearly.csv",
                "cumulative_net.csv", "payback_by_year.csv", "outcomes.csv", "draws.csv", "run_info.txt",
                "parameters_used.csv",
                "cost_sharing.csv", "cumulative_net_by_sector.csv", "report.xlsx", "report.html",
                "charts/who_pays_who_gains.png", "charts/cumulative_net_cash_flow.png",
                "charts/benefit_per_pound_distribution.png",
                "at_qaly_value_20k.csv", "nhs_cost_per_qaly.csv",  # the toy NHS pays a cost
                # the toy area (Birmingham) is covered by the IMD table: results by deprivation
                # (the toy library has no baseline health by quintile: no Atkinson profile)
                "deprivation.csv", "deprivation_by_sector.csv", "deprivation_indices.csv",
                "charts/health_gain_by_deprivation.png",
                "charts/equity_efficiency_plane.png")


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit code 2, exactly one stderr line 'roi-engine: error: ...', no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("roi-engine: error: "), lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    result = invoke("run", TOY_SCENARIO, *RUN_ARGS, "--out", out)
    return result, out


# ------------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------------


def test_run_exits_zero_and_prints_the_settings(toy_run):
    result, out = toy_run
    assert result.exit_code == 0, (result.output, result.stderr)
    text = result.stdout
    for fragment in (
        "Birmingham (E08000025)",            # area
        "2023/24 prices",                    # price year
        "3.5%",                              # discount rate
        "Perspective:  societal",            # perspective
        "Horizon:      6 years",             # horizon
        "Draws:        500 (LHS, seed 3)",   # draws and seed
        "toy_programme",
        "portfolio",
    ):
        assert fragment in text, fragment
    assert f"Results written to {out}/" in text
    assert result.stderr == ""


def test_run_writes_every_result_file(toy_run):
    _, out = toy_run
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(RESULT_FILES)
    assert not list(out.rglob(".*.tmp")), "temporary files left behind"
    for name in RESULT_FILES:
        if name.endswith(".csv"):
            frame = pd.read_csv(out / name)
            assert len(frame) > 0, name
    info = (out / "run_info.txt").read_text(encoding="utf-8")
    assert "E08000025" in info and "seed 3" in info


def test_summary_csv_reads_back(toy_run):
    _, out = toy_run
    summary = pd.read_csv(out / "summary.csv")
    for column in ("entity", "sector", "metric", "statistic", "value", "unit", "price_year",
                   "discounted"):
        assert column in summary.columns, column
    assert set(summary["entity"]) == {"toy_programme", "portfolio"}
    assert {"all", "nhs", "local_authority"} <= set(summary["sector"])
    assert {"base_case", "mean", "median", "p05", "p95", "probability"} == set(summary["statistic"])
    money = summary[summary["unit"] == "GBP"]
    assert len(money) > 0
    assert set(money["price_year"]) == {"2023/24"}
    costs = summary[(summary.entity == "portfolio") & (summary.sector == "all")
                    & (summary.metric == "pv_costs") & (summary.statistic == "base_case")]
    assert costs["value"].item() == pytest.approx(1_818_339, abs=1)


def test_draws_csv_has_one_row_per_draw_and_entity(toy_run):
    _, out = toy_run
    draws = pd.read_csv(out / "draws.csv")
    assert len(draws) == 500 * 2
    assert draws["draw"].nunique() == 500
    assert {"pv_costs", "pv_benefits", "npv", "benefit_per_pound", "payback_year"} <= set(draws)


def test_draws_csv_rounds_money_to_the_penny_and_nothing_else_changes(toy_run):
    import numpy as np

    from roi_engine.results import Results

    _, out = toy_run
    written = pd.read_csv(out / "draws.csv")
    exact = Results.load(out).summary.draws()
    assert list(written["entity"]) == list(exact["entity"])
    for column in exact.columns.drop(["draw", "entity"]):
        a, b = written[column].to_numpy(dtype=float), exact[column].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isinf(a), np.isinf(b))
        finite = np.isfinite(b)
        if column.startswith(("pv_", "npv")):
            assert np.max(np.abs(a[finite] - b[finite])) <= 0.005 + 1e-6, column
        else:
            np.testing.assert_allclose(a[finite], b[finite], rtol=1e-9, err_msg=column)


def test_same_command_gives_byte_identical_files(toy_run, tmp_path):
    _, out = toy_run
    again = tmp_path / "again"
    result = invoke("run", TOY_SCENARIO, *RUN_ARGS, "--out", again)
    assert result.exit_code == 0, result.stderr
    for name in ("summary.csv", "draws.csv", "yearly.csv", "headline.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_another_seed_gives_other_numbers(toy_run, tmp_path):
    _, out = toy_run
    result = invoke("run", TOY_SCENARIO, "--draws", "500", "--seed", "4", "--out", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "draws.csv").read_bytes() != (out / "draws.csv").read_bytes()


# ------------------------------------------------------------------------------------------------
# areas
# ------------------------------------------------------------------------------------------------


def test_areas_finds_birmingham():
    result = invoke("areas", "birmingham")
    assert result.exit_code == 0, result.stderr
    first = result.stdout.splitlines()[2]
    assert first.startswith("E08000025") and "Birmingham" in first


def test_areas_by_code():
    result = invoke("areas", "E08000025")
    assert result.exit_code == 0, result.stderr
    assert "Birmingham" in result.stdout


def test_areas_no_match_exits_2():
    assert_one_line_error(invoke("areas", "zzzz"), "zzzz")


# ------------------------------------------------------------------------------------------------
# bad input: one line on stderr, exit code 2
# ------------------------------------------------------------------------------------------------


def test_missing_scenario_file(tmp_path):
    missing = tmp_path / "nope.toml"
    assert_one_line_error(invoke("run", missing, "--out", tmp_path / "out"), str(missing),
                          "file not found")
    assert not (tmp_path / "out").exists()


def test_misspelt_sector(toy_copy, tmp_path):
    spec = toy_copy / "interventions" / "toy_programme.toml"
    replace_in_file(spec, 'payer = "local_authority"', 'payer = "local_authorty"')
    line = assert_one_line_error(
        invoke("run", toy_copy / "scenarios" / "toy.toml", "--out", tmp_path / "out"),
        "toy_programme.toml", "costs[0].payer", "local_authorty", "did you mean 'local_authority'?")
    assert line.count("\n") == 0
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("old, new, fragments", [
    ('area = "E08000025"', 'area = "Narnia"', ("toy.toml", "area")),
    ('id = "toy_programme"', 'id = "toy_programe"', ("toy.toml", "interventions[0].id",
                                                     "toy_programme")),
    ("horizon = 6", "horizon = 0", ("toy.toml", "horizon")),
    ("seed = 7", "seeed = 7", ("toy.toml", "unknown key 'seeed'", "did you mean 'seed'?")),
    ('price_year = "2023/24"', 'price_year = "1850"', ("toy.toml", "price_year")),
    ("seed = 7", "seed = 7 7", ("toy.toml", "not valid TOML")),
])
def test_bad_scenario_values(toy_copy, tmp_path, old, new, fragments):
    scenario = toy_copy / "scenarios" / "toy.toml"
    replace_in_file(scenario, old, new)
    assert_one_line_error(invoke("run", scenario, "--out", tmp_path / "out"), *fragments)


def test_misspelt_required_key_names_the_typo(toy_copy, tmp_path):
    """specs.validate promises 'the closest valid key for a misspelt one'. A misspelt *required* key
    (``horizn`` for ``horizon``) should be reported as the unknown key with a did-you-mean, not only
    as 'horizon: required key is missing' with no mention of the typo that caused it."""
    scenario = toy_copy / "scenarios" / "toy.toml"
    replace_in_file(scenario, "horizon = 6", "horizn = 6")
    assert_one_line_error(invoke("run", scenario, "--out", tmp_path / "out"), "toy.toml", "horizn",
                          "did you mean 'horizon'?")


def test_bad_parameter_row(toy_copy, tmp_path):
    replace_in_file(toy_copy / "parameters" / "toy.csv", "toy_cost,100,gamma,100,1",
                    "toy_cost,100,gama,100,1")
    assert_one_line_error(invoke("run", toy_copy / "scenarios" / "toy.toml", "--out", tmp_path),
                          "toy.csv")


# ------------------------------------------------------------------------------------------------
# never write results over an input
# ------------------------------------------------------------------------------------------------


def test_refuses_to_overwrite_a_parameter_table(toy_copy):
    """A parameter table named summary.csv, and --out its own folder: refused, nothing written."""
    params = toy_copy / "parameters"
    (params / "toy.csv").rename(params / "summary.csv")
    before = (params / "summary.csv").read_bytes()
    listing = sorted(p.name for p in params.iterdir())
    result = invoke("run", toy_copy / "scenarios" / "toy.toml", *RUN_ARGS, "--out", params)
    assert_one_line_error(result, "summary.csv", "the output folder holds an input file")
    assert (params / "summary.csv").read_bytes() == before
    assert sorted(p.name for p in params.iterdir()) == listing


def test_refuses_to_overwrite_the_scenario_file_via_a_roundabout_path(toy_copy):
    scenarios = toy_copy / "scenarios"
    (scenarios / "toy.toml").rename(scenarios / "run_info.txt")
    before = (scenarios / "run_info.txt").read_bytes()
    out = toy_copy / "interventions" / ".." / "scenarios"
    result = invoke("run", scenarios / "run_info.txt", *RUN_ARGS, "--out", out)
    assert_one_line_error(result, "run_info.txt", "the output folder holds an input file")
    assert (scenarios / "run_info.txt").read_bytes() == before
    assert sorted(p.name for p in scenarios.iterdir()) == ["run_info.txt"]


def test_an_output_folder_holding_an_input_is_refused(toy_copy):
    """A run folder is replaced whole, so --out may not hold an input (here: the scenario itself)."""
    scenarios = toy_copy / "scenarios"
    before = (scenarios / "toy.toml").read_bytes()
    result = invoke("run", scenarios / "toy.toml", *RUN_ARGS, "--out", scenarios)
    assert_one_line_error(result, "toy.toml", "the output folder holds an input file")
    assert (scenarios / "toy.toml").read_bytes() == before
    assert sorted(p.name for p in scenarios.iterdir()) == ["toy.toml"]


def test_an_output_folder_inside_the_parameter_folder_is_refused(toy_copy):
    result = invoke("run", toy_copy / "scenarios" / "toy.toml", *RUN_ARGS, "--out",
                    toy_copy / "parameters" / "out")
    assert_one_line_error(result, "lies inside the input folder")
    assert not (toy_copy / "parameters" / "out").exists()


# ------------------------------------------------------------------------------------------------
# a real process
# ------------------------------------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("roi-engine")
    return [str(script)] if script.exists() else [sys.executable, "-m", "roi_engine.cli"]


def test_real_subprocess_run(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([*_command(), "run", str(TOY_SCENARIO), "--draws", "300", "--seed", "1",
                           "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Birmingham (E08000025)" in done.stdout
    assert (out / "summary.csv").exists()


def test_real_subprocess_bad_input(tmp_path):
    done = subprocess.run([*_command(), "run", str(tmp_path / "missing.toml")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"roi-engine: error: {tmp_path / 'missing.toml'}: file not found"]
    assert done.stdout == ""
