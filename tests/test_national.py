"""roi-engine national: every area on the same draws (issue 14, items 3, 4 and 6).

- each area's figures equal a single-area run of the scenario for that area (same seed and draws);
- any split into (area block, draw block) tasks, here or on a Dask LocalCluster, gives the same numbers
  bit for bit;
- the sum over the 296 lower-tier authorities of a nationally scaled scenario (national parameters
  everywhere) equals the England run, draw by draw, to rounding (common random numbers);
- bad input is one line and exit code 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import roi_engine.analyses.national as national_module
import roi_engine.model.areas as areas_module
import roi_engine.model.evaluation as evaluation_module
from roi_engine.analyses.national import national
from roi_engine.cli import main
from roi_engine.inputs.area_inputs import area_scenario, areas_of_level, england, parse_area_list
from roi_engine.inputs.scenario import load_scenario, load_scenario_data
from roi_engine.model.areas import AreaModel
from roi_engine.model.evaluation import Model
from roi_engine.results import run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"
FEW = ["E08000025", "E06000001", "E09000033", "E07000117", "E06000052"]  # Birmingham, Hartlepool, ...


@pytest.fixture(scope="module")
def default():
    return load_scenario(DEFAULT)


def _few(n=None):
    return parse_area_list(",".join(FEW[:n]))


def _single_area(scenario, area, local=True):
    return run(area_scenario(scenario, area, local=local))


def _same_as_single_runs(result, scenario, local=True, rtol=1e-12):
    for i, area in enumerate(result.areas):
        single = _single_area(scenario, area, local)
        total = single.total_metrics()
        base = single.total_metrics(base=True)
        for key, name in (("pv_costs", "pv_costs"), ("pv_benefits", "pv_benefits"), ("npv", "npv")):
            p = scenario.spec.perspective
            np.testing.assert_allclose(result.per_draw(f"{key}:{p}")[i], total[name][:, -1], rtol=rtol,
                                       err_msg=f"{area} {key}")
            np.testing.assert_allclose(result.base_value(f"{key}:{p}")[i], base[name][0, -1], rtol=rtol)
        public = single.summary.draw_metrics["npv_cash"].sel(entity="portfolio", group="public").values
        np.testing.assert_allclose(result.per_draw("net_cash:public")[i], public, rtol=rtol, atol=1e-6)
        np.testing.assert_allclose(result.per_draw("participants")[i], total["participants"][:, -1],
                                   rtol=rtol)


def test_the_sampling_block_is_the_single_area_sample(default):
    """The national run's draws are Model.sample's, bit for bit (same uniforms, same inverse CDFs)."""
    scenario = default.with_settings(draws=300)
    model = AreaModel(scenario)
    block = model.sample(0, 300, ())
    assert np.array_equal(block.x, Model(scenario).sample(300, 0))


def test_each_area_is_its_single_area_run(default):
    """Per-draw and base-case figures of each area equal a full run of the scenario for that area."""
    scenario = default.with_settings(draws=300)
    result = national(scenario, areas=_few(3))
    assert result.local_parameters  # Birmingham's local inputs differ from Hartlepool's
    assert "workplace_wellbeing" not in result.scaled_programmes  # it uses local parameters
    assert "kiva_anti_bullying" in result.scaled_programmes
    _same_as_single_runs(result, scenario)


def test_markov_programmes_go_through_the_same_kernels(default):
    """A portfolio with the Markov forms of two programmes: each area still equals its own run."""
    data = tomllib.loads(DEFAULT.read_text())
    for item in data["interventions"]:
        if item["id"] in ("collaborative_care_ltc", "perinatal_depression"):
            item["id"] += "_markov"
    scenario = load_scenario_data(data, path=DEFAULT).with_settings(draws=200)
    result = national(scenario, areas=_few(2))
    _same_as_single_runs(result, scenario, rtol=1e-11)


def test_no_block_split_changes_a_number(default, monkeypatch):
    """Any (area block, draw block) split gives the same numbers bit for bit, also across sampling
    blocks (made small here so a short run has three)."""
    for module in (evaluation_module, areas_module, national_module):
        monkeypatch.setattr(module, "SAMPLING_BLOCK", 100)
    scenario = default.with_settings(draws=250)
    runs = [national(scenario, areas=_few(), area_block=a, draw_block=d)
            for a, d in ((None, None), (2, 60), (1, 7), (5, 250))]
    assert runs[1].tasks > runs[0].tasks
    for other in runs[1:]:
        for key, x in runs[0].draws.items():
            assert np.array_equal(x, other.draws[key]), key
        for key, x in runs[0].base.items():
            assert np.array_equal(x, other.base[key]), key
    _same_as_single_runs(runs[1], scenario)  # three sampling blocks, as Model.draws builds them


def test_on_a_dask_local_cluster_the_numbers_are_identical(default):
    distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    scenario = default.with_settings(draws=120)
    here = national(scenario, areas=_few(4), area_block=2, draw_block=50)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        there = national(scenario, areas=_few(4), area_block=2, draw_block=50, client=client)
        other_split = national(scenario, areas=_few(4), area_block=3, draw_block=17, client=client)
    assert there.executor.startswith("dask")
    for key, x in here.draws.items():
        assert np.array_equal(x, there.draws[key]), key
        assert np.array_equal(x, other_split.draws[key]), key
    for key, x in here.base.items():
        assert np.array_equal(x, there.base[key]), key


def test_a_scheduler_without_workers_is_one_clear_error():
    distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    from roi_engine.analyses.national import connect
    from roi_engine.errors import InputError

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(InputError, match="has no workers"):
            connect(cluster.scheduler_address, timeout=2)


def test_national_total_of_a_nationally_scaled_scenario_is_the_england_run(default):
    """National parameters everywhere: the 296 areas add up to England, draw by draw.

    To rounding but for one term: the overlap correction takes the baseline risk of the narrower of the
    two programmes' pools, and which pool is narrower depends on an area's ages (and the draw's
    eligible shares), so in a few draws some areas choose the other pool's risk than England does. The
    correction is small (about £10^5 of £10^9 here), so the sum still agrees to 1e-6 in every draw."""
    scenario = default.with_settings(draws=200)
    result = national(scenario, level="lower", local=False)
    assert len(result.areas) == 296 and not result.local_parameters
    england_run = run(area_scenario(scenario, england(), local=False)).total_metrics()
    p = scenario.spec.perspective
    for key, name in (("pv_costs", "pv_costs"), ("pv_benefits", "pv_benefits"), ("npv", "npv")):
        total = result.per_draw(f"{key}:{p}").sum(axis=0)
        rtol = 1e-9 if key == "pv_costs" else 1e-6  # costs have no overlap term: to rounding
        np.testing.assert_allclose(total, england_run[name][:, -1], rtol=rtol, err_msg=key)
    check = result.check().set_index("key")
    assert check["max_draw_difference"].max() < 1e-6
    # with local parameters the sum moves by what local baselines change, not by sampling noise
    local = national(scenario, level="lower")
    moved = local.check().set_index("key").loc[f"npv:{p}"]
    assert 0 < abs(moved["difference"]) < 0.02
    np.testing.assert_allclose(local.per_draw(f"npv:{p}", england=True)[0],
                               result.per_draw(f"npv:{p}", england=True)[0], rtol=1e-12)
    table = local.table()
    assert set(table["area_code"]) == {a.code for a in areas_of_level("lower")}
    assert {"area_code", "area_name", "metric", "base_case", "mean", "p05", "p95"} <= set(table.columns)
    assert len(table) == 296 * len(local.metrics)
    ranked = local.ranking(f"benefit_per_pound:{p}")
    assert ranked["mean"].is_monotonic_decreasing
    dataset = local.to_dataset()
    assert dataset["summary"].shape == (296, len(local.metrics), 4)


def test_cli_national_writes_the_table_chart_and_workbooks(tmp_path):
    out = tmp_path / "nat"
    result = CliRunner().invoke(main, ["national", str(DEFAULT), "--areas", ",".join(FEW[:3]),
                                       "--draws", "150", "--workbooks-for", "Birmingham",
                                       "--rank-by", "npv:societal", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "Top 3 areas by NPV (societal)" in result.output
    table = pd.read_csv(out / "national.csv")
    assert set(table["area_code"]) == set(FEW[:3])
    assert (out / "national_ranked.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "national_check.csv").exists()  # a list of areas is not a whole level
    assert (out / "workbooks" / "E08000025_birmingham.xlsx").exists()
    birmingham = table[(table["area_code"] == "E08000025") & (table["key"] == "npv:societal")]
    single = _single_area(load_scenario(DEFAULT).with_settings(draws=150), parse_area_list("E08000025")[0])
    assert birmingham["mean"].iloc[0] == pytest.approx(single.total_metrics()["npv"][:, -1].mean(), rel=1e-12)


def test_cli_national_on_local_worker_processes_writes_the_same_table(tmp_path):
    """--workers N: a Dask cluster of N processes on this machine (both cores of it), same numbers."""
    pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    tables = []
    for extra in ([], ["--workers", "2"]):
        out = tmp_path / f"nat{len(extra)}"
        result = CliRunner().invoke(main, ["national", str(DEFAULT), "--areas", ",".join(FEW[:4]),
                                           "--draws", "120", "--area-block", "2", "--out", str(out), "-q",
                                           *extra])
        assert result.exit_code == 0, result.output
        tables.append((out / "national.csv").read_bytes())
    assert tables[0] == tables[1]


@pytest.mark.parametrize("args, message", [
    (["--areas", "E08000025", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"],
     "--scheduler and --workers both choose where the tasks run"),
    (["--level", "county"], "unknown area level 'county'"),
    (["--level", "icb"], "integrated care boards are not available"),
    (["--areas", "Atlantis"], "'Atlantis' is not an area name or GSS code"),
    (["--areas", "E08000025", "--rank-by", "roi"], "unknown national metric 'roi'"),
    (["--areas", "E08000025", "--workbooks-for", "Leeds"], "is not one of the areas of this national run"),
    (["--areas", "E08000025", "--scheduler", "localhost"], "is not a scheduler address"),
    (["--areas", "E08000025", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    if any("tcp://" in a for a in args):
        pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    result = CliRunner().invoke(main, ["national", str(DEFAULT), "--draws", "20", "-q",
                                       "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("roi-engine: error:"), result.output
    assert message in lines[0]
