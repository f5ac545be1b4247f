"""Local parameters (look-up hierarchy, retired codes, the three areas) and the central-government ledger."""

from __future__ import annotations

import csv
import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.distributions import build
from roi_engine.inputs.local import IMD_EDITION, lookup, population_by_imd_quintile
from roi_engine.inputs.population import find_area
from roi_engine.inputs.scenario import load_scenario_data
from roi_engine.results import run

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "local_indicators"
AREAS = {"birmingham": "E08000025", "manchester": "E08000003", "wokingham": "E06000041"}


def scenario(area: str, ids: tuple[str, ...], **settings):
    data = tomllib.loads((ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8"))
    data.update(area=area, name=f"test {area}", draws=settings.pop("draws", 64), **settings)
    shipped = {i["id"]: i for i in data["interventions"]}
    data["interventions"] = [shipped.get(i, {"id": i, "reach": 0.1, "delivery_years": [0, 1]}) for i in ids]
    return load_scenario_data(data, path=ROOT / "scenarios" / "test.toml")


# --- look-up hierarchy ------------------------------------------------------------------------------

def test_a_district_with_its_own_value_is_local_at_lower_tier():
    found = lookup("employment_rate_16_64", "E08000025")
    assert (found.level, found.code) == ("lower tier", "E08000025")
    assert found.value == pytest.approx(0.659) and (found.lci, found.uci) == (0.624, 0.694)
    assert found.basis == "local (lower tier: Birmingham E08000025)"


def test_the_local_value_is_the_publishers_figure():
    with (SHARED / "aps_employment_rate_16_64_la.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle)
                   if r["area_code"] == "E06000041" and r["year"] == "2023")
    assert lookup("employment_rate_16_64", "E06000041").value == pytest.approx(
        float(row["employment_rate_16_64_pct"]) / 100)


def test_a_suppressed_value_falls_back_to_the_region_and_says_so():
    found = lookup("employment_rate_16_64", "E09000001")  # City of London: APS suppressed ('x')
    assert (found.level, found.code) == ("region", "E12000007")
    assert "used for City of London (E09000001)" in found.describe()


def test_a_county_uses_its_own_upper_tier_row():
    found = lookup("employment_rate_16_64", find_area("Kent"))
    assert found.level == "upper tier" and found.code == found.area.code


def test_a_2023_unitary_missing_from_an_old_geography_falls_back_to_region():
    found = lookup("suicide_rate_health_index", "E06000063")  # Cumberland: not in the LAD 2021 series
    assert found.level == "region" and found.code == "E12000002"
    assert lookup("suicide_rate_health_index", "E92000001").level == "England"


def test_an_unknown_indicator_is_one_line_naming_the_known_ones():
    with pytest.raises(InputError, match="unknown local indicator 'employment'.*employment_rate_16_64"):
        lookup("employment", "E08000025")


# --- boundary changes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, successor", [("E07000004", "E06000060"), ("E07000150", "E06000061"),
                                             ("E07000026", "E06000063"), ("E07000190", "E06000066"),
                                             ("E07000048", "E06000058")])
def test_a_retired_district_code_names_its_successor(code, successor):
    with pytest.raises(InputError, match=f'use area = "{successor}"'):
        find_area(code)


def test_a_split_county_names_both_successors():
    with pytest.raises(InputError, match='"E06000063", "E06000064"'):
        find_area("E10000006")


def test_a_scenario_with_a_retired_code_stops_with_that_line():
    with pytest.raises(InputError, match="Buckinghamshire \\(E06000060\\)") as err:
        scenario("E07000004", ("debt_advice",))
    assert err.value.where == "area"


# --- population by IMD quintile -------------------------------------------------------------------------

def test_population_by_quintile_sums_to_the_area_and_states_its_edition():
    mix = population_by_imd_quintile("E08000025")
    assert list(mix.index) == [1, 2, 3, 4, 5] and mix["share"].sum() == pytest.approx(1.0)
    assert mix.attrs["edition"] == IMD_EDITION and "IoD2025" in IMD_EDITION
    with (SHARED / "imd2019_population_by_quintile_lad23.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["lad23_code"] == "E08000025"]
    assert mix["population"].tolist() == [int(r["pop_total_mid2020"]) for r in rows]


def test_england_and_a_region_sum_their_authorities():
    england = population_by_imd_quintile("E92000001")
    assert england["population"].sum() == pytest.approx(56.55e6, rel=0.01)
    assert (england["share"] - 0.2).abs().max() < 0.01  # national quintiles: a fifth each, nearly
    west_midlands = population_by_imd_quintile("E12000005", "16_64")
    assert 0 < west_midlands["population"].sum() < england["population"].sum()


def test_metropolitan_counties_are_the_sum_of_their_districts():
    from roi_engine.inputs.local import METROPOLITAN_COUNTIES
    from roi_engine.inputs.population import list_areas, population_in_band

    counties = {a.code for a in list_areas() if a.tier == "metropolitan county (aggregate)"}
    assert counties == set(METROPOLITAN_COUNTIES)
    for county, districts in METROPOLITAN_COUNTIES.items():
        assert sum(population_in_band(d, 0, 90) for d in districts) == population_in_band(county, 0, 90)
        mix = population_by_imd_quintile(county)
        assert mix["population"].sum() == sum(population_by_imd_quintile(d)["population"].sum()
                                              for d in districts)
    gm = scenario("E11000001", ("workplace_wellbeing",))
    assert gm.registry["ww_p_cmd"].basis_label == \
        "local (IMD quintile mix: Greater Manchester (Met County) E11000001)"


def test_wokingham_is_mostly_least_deprived_birmingham_mostly_most_deprived():
    assert population_by_imd_quintile("E06000041")["share"][5] > 0.8
    assert population_by_imd_quintile("E08000025")["share"][1] > 0.5


# --- the three areas --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def three_areas():
    ids = ("workplace_wellbeing", "suicide_prevention_gp_training", "debt_advice", "kiva_anti_bullying")
    out = {}
    for name, code in AREAS.items():
        results = run(scenario(code, ids))
        out[name] = (results.headline()["benefit_per_pound_base"], results.parameters)
    return out


def test_local_inputs_are_marked_local_with_their_level(three_areas):
    _, params = three_areas["wokingham"]
    basis = dict(zip(params["name"], params["basis"], strict=True))
    assert basis["ww_share_employed"] == "local (lower tier: Wokingham E06000041)"
    assert basis["spgp_p_suicide_per_person_year"].startswith("local (lower tier")
    assert basis["ww_p_cmd"].startswith("local (IMD quintile mix")
    assert basis["value_of_qaly"] == "national"
    assert set(basis.values()) >= {"national", "assumption"}


def test_suicide_prevention_returns_follow_the_local_suicide_rate(three_areas):
    # Health Index 2021: Manchester 10.8, Birmingham 8.7, Wokingham 6.0 per 100,000.
    gp = {a: three_areas[a][0]["suicide_prevention_gp_training"] for a in AREAS}
    assert gp["manchester"] > gp["birmingham"] > gp["wokingham"]


def test_workplace_wellbeing_returns_follow_the_local_cmd_prevalence(three_areas):
    ww = {a: three_areas[a][0]["workplace_wellbeing"] for a in AREAS}
    assert ww["manchester"] > ww["wokingham"] and ww["birmingham"] > ww["wokingham"]


def test_debt_advice_earnings_follow_the_local_employment_rate(three_areas):
    debt = {a: three_areas[a][0]["debt_advice"] for a in AREAS}
    assert debt["wokingham"] > debt["manchester"] > debt["birmingham"]  # 78.6% > 71.4% > 65.9% employed


def test_a_programme_with_no_local_input_is_the_same_everywhere(three_areas):
    kiva = [three_areas[a][0]["kiva_anti_bullying"] for a in AREAS]
    assert np.allclose(kiva, kiva[0], rtol=1e-12)


# --- central-government ledger ------------------------------------------------------------------------------

LEDGER = ("cg_tax_ni_share_of_earnings", "cg_dwp_benefit_per_gbp_earnings")
EMPLOYMENT_PROGRAMMES = ("debt_advice", "workplace_wellbeing", "workplace_stress_prevention",
                         "suicide_prevention_gp_training")


def with_ledger_off(s):
    off = {n: dataclasses.replace(s.registry[n], value=0.0, distribution=build("fixed", ())) for n in LEDGER}
    registry = s.registry.replace(off)
    return s.with_registry(registry)


@pytest.fixture(scope="module")
def ledger_runs():
    out = {}
    for perspective in ("societal", "public_sector"):
        s = scenario("E08000003", EMPLOYMENT_PROGRAMMES + ("kiva_anti_bullying",), perspective=perspective,
                     draws=32)
        out[perspective] = (run(s), run(with_ledger_off(s)))
    return out


def sector_base(results, entity, sector):
    return results.by_sector(entity).loc[sector, "pv_benefits_base"]


def test_central_government_gains_where_employment_moves(ledger_runs):
    on, off = ledger_runs["societal"]
    for entity in EMPLOYMENT_PROGRAMMES:
        assert sector_base(on, entity, "central_government") > 0, entity
        assert sector_base(off, entity, "central_government") == pytest.approx(0, abs=1e-6)
    assert sector_base(on, "kiva_anti_bullying", "central_government") == 0


def test_transfers_cancel_in_the_societal_total(ledger_runs):
    on, off = ledger_runs["societal"]
    for entity in (*EMPLOYMENT_PROGRAMMES, "portfolio"):
        gained = sector_base(on, entity, "central_government")
        assert gained > 0
        assert on.headline().loc[entity, "pv_benefits_base"] == pytest.approx(
            off.headline().loc[entity, "pv_benefits_base"], rel=1e-9)
        # ... because the individuals lose exactly what central government gains
        assert sector_base(off, entity, "individuals") - sector_base(on, entity, "individuals") == \
            pytest.approx(gained, rel=1e-9)


def test_the_public_sector_perspective_counts_the_exchequer_gain(ledger_runs):
    on, off = ledger_runs["public_sector"]
    gained = sector_base(on, "portfolio", "central_government")
    assert gained > 0
    difference = on.headline().loc["portfolio", "pv_benefits_base"] - off.headline().loc["portfolio",
                                                                                        "pv_benefits_base"]
    assert difference == pytest.approx(gained, rel=1e-9)


# --- every output marks each input local, national or assumption -----------------------------------------

@pytest.fixture(scope="module")
def wokingham_run(tmp_path_factory):
    from click.testing import CliRunner

    from roi_engine.cli import main

    folder = tmp_path_factory.mktemp("wokingham")
    scenario_file = folder / "wokingham.toml"
    scenario_file.write_text(
        'name = "Wokingham test"\narea = "E06000041"\nhorizon = 3\ndraws = 40\nseed = 5\n'
        'price_year = "2023/24"\n'
        '[[interventions]]\nid = "workplace_wellbeing"\nreach = 0.1\n', encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(main, ["run", str(scenario_file), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, out


def test_the_terminal_says_which_inputs_are_local(wokingham_run):
    output, _ = wokingham_run
    line = next(x for x in output.splitlines() if x.startswith("Inputs: "))
    assert "ww_share_employed [lower tier: Wokingham E06000041]" in line
    assert "ww_p_cmd [IMD quintile mix: Wokingham E06000041]" in line
    assert " national; " in line and " assumptions" in line


def test_csv_workbook_and_html_carry_the_basis(wokingham_run):
    import openpyxl

    _, out = wokingham_run
    table = pd.read_csv(out / "parameters_used.csv")
    basis = dict(zip(table["name"], table["basis"], strict=True))
    assert basis["ww_share_employed"] == "local (lower tier: Wokingham E06000041)"
    assert basis["value_of_qaly"] == "national" and "assumption" in basis.values()
    sheet = openpyxl.load_workbook(out / "report.xlsx", read_only=True)["Parameters used"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "Basis" in cells and "local (lower tier: Wokingham E06000041)" in cells
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Which inputs are local to the area" in html and "Wokingham E06000041" in html


def test_a_workbook_keeps_local_values_unless_the_user_changed_them(tmp_path):
    from roi_engine.inputs.excel import export_workbook, load_workbook_scenario
    from roi_engine.inputs.local import carry_basis

    s = scenario("E08000003", ("workplace_wellbeing",))
    book = load_workbook_scenario(export_workbook(tmp_path / "m.xlsx", ROOT / "parameters", s),
                                  interventions_dir=ROOT / "interventions")
    assert book.registry["ww_share_employed"].value == pytest.approx(0.714)
    assert book.registry["ww_share_employed"].basis_label.startswith("local (lower tier: Manchester")
    national = s.registry["ww_share_employed"].replaced
    edited = dataclasses.replace(national, value=0.7, distribution=build("fixed", ()))
    mine = carry_basis(s.registry, s.registry.replace({"ww_share_employed": edited}))
    assert mine["ww_share_employed"].value == 0.7 and mine["ww_share_employed"].basis_label == "national"


def test_a_workbook_for_one_area_refuses_to_run_for_another(tmp_path):
    from roi_engine.inputs.excel import export_workbook, load_workbook_scenario, read_workbook
    from roi_engine.inputs.local import localise

    s = scenario("E08000003", ("workplace_wellbeing",))
    path = export_workbook(tmp_path / "m.xlsx", ROOT / "parameters", s)
    row = read_workbook(path).registry["ww_share_employed"]
    assert row.value == pytest.approx(0.714)
    assert row.source.startswith("Local value, local (lower tier: Manchester")
    book = load_workbook_scenario(path, interventions_dir=ROOT / "interventions")
    assert book.registry["ww_p_cmd"].value == pytest.approx(s.registry["ww_p_cmd"].value)  # not scaled twice
    assert book.registry["ww_p_cmd"].basis_label.startswith("local (IMD quintile mix: Manchester")
    with pytest.raises(InputError, match="local value for another area"):
        localise(read_workbook(path).registry, find_area("E06000041"))


def test_the_shipped_local_tables_are_rebuilt_exactly_from_the_shared_files(tmp_path):
    import importlib.util

    script = ROOT / "tools" / "build_local_tables.py"
    spec = importlib.util.spec_from_file_location("build_local_tables", script)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.OUT = tmp_path
    builder.main()
    for name in ("indicators.csv", "imd2019_population_by_quintile.csv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "parameters" / "local" / name).read_bytes(), name
