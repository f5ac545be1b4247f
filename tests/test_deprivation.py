"""Results by deprivation quintile: the split adds up, follows the gradient, and the indices behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import replace_in_file
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from roi_engine.analyses.deprivation import atkinson_ede, deprivation_results, slope_index
from roi_engine.inputs.deprivation import age_band, gradient_by_quintile, quintile_population
from roi_engine.inputs.population import find_area
from roi_engine.inputs.scenario import load_scenario
from roi_engine.results import run

DRAWS = 400
SHIPPED = Path(__file__).resolve().parents[1] / "parameters" / "deprivation.csv"


def _baseline_health_rows(folder: Path) -> None:
    """The shipped baseline health by quintile and England's aversion, into a toy library."""
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [line for line in lines[1:] if line.startswith(("dep_qale_", "dep_atkinson"))]
    (folder / "deprivation.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")


def _run_toy(tmp_path, toy_copy_factory, risk_ratio: str, uptake: str | None = None, area=None):
    library = toy_copy_factory("dep")
    _baseline_health_rows(library / "parameters")
    spec = library / "interventions" / "toy_programme.toml"
    spec.write_text(spec.read_text(encoding="utf-8") + f"\n[deprivation]\nrisk_ratio = {risk_ratio}\n",
                    encoding="utf-8")
    scenario_file = library / "scenarios" / "toy.toml"
    if uptake is not None:
        text = scenario_file.read_text(encoding="utf-8")
        text = text.replace('id = "toy_programme"', f'id = "toy_programme"\nuptake_by_quintile = {uptake}', 1)
        scenario_file.write_text(text, encoding="utf-8")
    if area is not None:
        replace_in_file(scenario_file, 'area = "E08000025"', f'area = "{area}"')
    scenario = load_scenario(scenario_file).with_settings(draws=DRAWS)
    return run(scenario)


@pytest.fixture()
def flat(tmp_path, toy_copy_factory):
    return _run_toy(tmp_path, toy_copy_factory, "1.0")


def test_quintiles_sum_to_the_totals(tmp_path, toy_copy_factory):
    results = _run_toy(tmp_path, toy_copy_factory, "2.5")
    d = deprivation_results(results)
    head = results.headline()
    for entity, rows in d.quintiles.groupby("entity"):
        for metric in ("pv_costs", "pv_benefits", "npv"):
            assert rows[f"{metric}_mean"].sum() == pytest.approx(head.loc[entity, f"{metric}_mean"],
                                                                 rel=1e-9)
            assert rows[f"{metric}_base"].sum() == pytest.approx(head.loc[entity, f"{metric}_base"],
                                                                 rel=1e-9)
    by_sector = d.by_sector.groupby("entity")[["pv_costs_mean", "pv_benefits_mean"]].sum()
    assert by_sector.loc["portfolio", "pv_costs_mean"] == pytest.approx(
        head.loc["portfolio", "pv_costs_mean"], rel=1e-9)
    assert by_sector.loc["portfolio", "pv_benefits_mean"] == pytest.approx(
        head.loc["portfolio", "pv_benefits_mean"], rel=1e-9)


def test_flat_gradient_and_equal_uptake_give_population_shares(flat):
    d = deprivation_results(flat)
    rows = d.quintiles[d.quintiles["entity"] == "portfolio"]
    cube = flat.cube
    band = cube["quintile_population"].values[0]
    np.testing.assert_allclose(rows["share_of_health_gain_mean"], band / band.sum(), rtol=1e-9)


def test_steeper_gradient_raises_the_most_deprived_share(tmp_path, toy_copy_factory, flat):
    steep = _run_toy(tmp_path, toy_copy_factory, "3.0")
    assert (deprivation_results(steep).share_to_most_deprived()
            > deprivation_results(flat).share_to_most_deprived() + 0.01)


def test_proportionate_uptake_raises_the_most_deprived_share(tmp_path, toy_copy_factory, flat):
    targeted = _run_toy(tmp_path, toy_copy_factory, "1.0", uptake="[2.0, 1.5, 1.0, 0.75, 0.5]")
    assert (deprivation_results(targeted).share_to_most_deprived()
            > deprivation_results(flat).share_to_most_deprived())
    # the totals are the scenario's, whatever the uptake by quintile
    assert targeted.headline().loc["portfolio", "npv_mean"] == pytest.approx(
        flat.headline().loc["portfolio", "npv_mean"], rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(h=arrays(float, 5, elements=st.floats(40, 90)), w=arrays(float, 5, elements=st.floats(0.01, 1)))
def test_atkinson_at_zero_aversion_is_the_mean(h, w):
    s = w / w.sum()
    assert atkinson_ede(h, s, 0.0) == pytest.approx(h @ s, rel=1e-12)
    # aversion never raises the EDE above the mean, and more aversion lowers it
    assert atkinson_ede(h, s, 5.0) <= h @ s + 1e-9
    assert atkinson_ede(h, s, 10.95) <= atkinson_ede(h, s, 5.0) + 1e-9


def test_equity_weighted_gain_at_zero_aversion_equals_the_unweighted_gain(flat):
    d = deprivation_results(flat)
    profile = d.ede_profile.set_index("epsilon")
    unweighted = d.value("portfolio", "health_gain_qalys", "base_case")
    assert profile.loc[0.0, "base_case"] == pytest.approx(unweighted, rel=1e-6)
    assert bool(profile.loc[10.95, "england_estimate"])


def test_slope_index_of_a_line_is_its_slope():
    population = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    ridit = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    assert slope_index(2.0 - 3.0 * ridit, population) == pytest.approx(-3.0)
    assert slope_index(np.full(5, 4.0), population) == pytest.approx(0.0, abs=1e-12)


def test_gradient_is_log_linear_from_most_to_least_deprived():
    g = gradient_by_quintile(np.array([4.0]))
    np.testing.assert_allclose(g[0], [4.0, 2 ** 1.5, 2.0, 2 ** 0.5, 1.0])


def test_age_band_is_the_narrowest_covering_band():
    assert age_band((8, 15)) == "0_17"
    assert age_band((16, 64)) == "16_64"
    assert age_band((65, 90)) == "65plus"
    assert age_band((20, 70)) == "18plus"
    assert age_band((0, 90)) == "total"


def test_quintile_split_of_known_areas():
    manchester = quintile_population(find_area("E08000003"))
    wokingham = quintile_population(find_area("E06000041"))
    assert manchester.shares()[0] > 0.5  # most of Manchester lives in England's most deprived fifth
    assert wokingham.shares()[0] == 0.0 and wokingham.shares()[4] > 0.8
    england = quintile_population(find_area("E92000001"))
    assert england.shares() == pytest.approx([0.2] * 5, abs=0.01)


def test_report_workbook_and_csv_carry_the_split(tmp_path, flat):
    from openpyxl import load_workbook

    from roi_engine.outputs.run_folder import write_reports, write_tables

    write_tables(tmp_path, flat)
    write_reports(tmp_path, flat)
    table = pd.read_csv(tmp_path / "deprivation.csv")
    assert set(table["quintile"]) == {1, 2, 3, 4, 5}
    assert "Deprivation" in load_workbook(tmp_path / "report.xlsx").sheetnames
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="deprivation"' in html and "most deprived fifth" in html
    assert (tmp_path / "charts" / "equity_efficiency_plane.png").exists()
