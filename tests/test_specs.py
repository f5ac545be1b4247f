"""Tests for validating intervention and scenario TOML files (inputs.specs, interventions, scenario).

Each error case mutates a copy of the toy library (tests/data/toy) and checks that one InputError is
raised whose rendered message names the file and the key path, with the expected wording.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.interventions import InterventionLibrary, load_intervention
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.scenario import load_scenario
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.specs import key_path

TOY = Path(__file__).parent / "data" / "toy"
INTERVENTION = Path("interventions") / "toy_programme.toml"
SCENARIO = Path("scenarios") / "toy.toml"


@pytest.fixture
def toy(tmp_path) -> Path:
    """A fresh copy of the toy library."""
    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    return root


def edit(path: Path, old: str, new: str) -> Path:
    """Replace the single occurrence of ``old`` in ``path`` by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def load_library(root: Path) -> InterventionLibrary:
    registry = ParameterRegistry.from_dir(root / "parameters")
    sectors = SectorTable.from_csv(root / "parameters" / "sectors.csv")
    return InterventionLibrary.from_dir(root / "interventions", registry, sectors)


def error_text(call, *args) -> tuple[InputError, str]:
    with pytest.raises(InputError) as info:
        call(*args)
    return info.value, str(info.value)


# ------------------------------------------------------------------------------------------------
# The unmodified toy library loads
# ------------------------------------------------------------------------------------------------


def test_toy_library_and_scenario_load(toy):
    spec = load_intervention(toy / INTERVENTION)
    assert spec.id == "toy_programme"
    assert spec.population.ages == (20, 29)
    assert spec.delivery.years == (0, 1)
    assert [c.payer for c in spec.costs] == ["local_authority", "nhs"]
    assert spec.outcomes[0].effect.form == "relative_risk"
    assert spec.outcomes[0].effect.ref == "toy_rr"
    assert spec.outcomes[0].consequences[1].factors == ("toy_qaly_loss", "value_of_qaly")
    library = load_library(toy)
    assert list(library) == ["toy_programme"]
    scenario = load_scenario(toy / SCENARIO)
    assert scenario.area.code == "E08000025"
    assert str(scenario.price_year) == "2023/24"
    assert scenario.perspective == "societal"
    assert [item.id for item, _ in scenario.interventions] == ["toy_programme"]


def test_key_path():
    assert key_path(("outcomes", 0, "consequences", 1, "sector")) == "outcomes[0].consequences[1].sector"
    assert key_path(("area",)) == "area"
    assert key_path(()) == ""


# ------------------------------------------------------------------------------------------------
# Intervention structure (load_intervention)
# ------------------------------------------------------------------------------------------------

STRUCTURE_CASES = [
    pytest.param(
        "persistence = {", "peristence = {",
        "outcomes[0].peristence", ["unknown key 'peristence'", "did you mean 'persistence'?"],
        id="misspelt-persistence",
    ),
    pytest.param(
        'life_stage = "working age"', 'life_stage = "working age"\ndescripton = "x"',
        "descripton", ["unknown key 'descripton'", "did you mean 'description'?"],
        id="misspelt-top-level-key",
    ),
    pytest.param(
        "fade = 0.5 }", "fade = 0.5, years_ful = 3 }",
        "outcomes[0].persistence.years_ful", ["unknown key 'years_ful'", "did you mean 'years_full'?"],
        id="misspelt-inline-table-key",
    ),
    pytest.param(
        'value_type = "social"', 'value_type = "social"\n  lable = "QALYs"',
        "outcomes[0].consequences[1].lable", ["unknown key 'lable'", "did you mean 'label'?"],
        id="misspelt-consequence-key",
    ),
    pytest.param(
        'per_participant = "toy_cost"', 'per_participant = "toy_cost"\nyeers = [0]',
        "costs[0].yeers", ["unknown key 'yeers'"],
        id="misspelt-cost-key",
    ),
    pytest.param(
        'life_stage = "working age"\n', "",
        "life_stage", ["required key is missing"],
        id="missing-life-stage",
    ),
    pytest.param(
        'unit = "episodes"\n', "",
        "outcomes[0].unit", ["required key is missing"],
        id="missing-outcome-unit",
    ),
    pytest.param(
        'payer = "nhs"\n', "",
        "costs[1].payer", ["required key is missing"],
        id="missing-payer",
    ),
    pytest.param(
        'per_participant = "toy_cost"', 'per_participant = "toy_cost"\nper_cohort = 500',
        "costs[0]", ["give exactly one of per_participant or per_cohort"],
        id="both-per-participant-and-per-cohort",
    ),
    pytest.param(
        "per_cohort = 1000\n", "",
        "costs[1]", ["give exactly one of per_participant or per_cohort"],
        id="neither-per-participant-nor-per-cohort",
    ),
    pytest.param(
        'effect = { relative_risk = "toy_rr" }', 'effect = { relative_risk = "toy_rr", odds_ratio = 0.8 }',
        "outcomes[0].effect",
        ["give exactly one of relative_risk, odds_ratio, relative_reduction, absolute"],
        id="effect-with-two-forms",
    ),
    pytest.param(
        'effect = { relative_risk = "toy_rr" }', "effect = {}",
        "outcomes[0].effect",
        ["give exactly one of relative_risk, odds_ratio, relative_reduction, absolute"],
        id="effect-with-no-form",
    ),
    pytest.param(
        'effect = { relative_risk = "toy_rr" }', "effect = { absolute = 0.05 }",
        "outcomes[0]", ["an absolute effect is the change per participant: omit baseline"],
        id="absolute-effect-with-baseline",
    ),
    pytest.param(
        'baseline = "toy_baseline"\n', "",
        "outcomes[0]", ["a relative_risk effect needs a baseline rate"],
        id="relative-effect-without-baseline",
    ),
    pytest.param(
        "ages = [20, 29]", "ages = [20, 95]",
        "population.ages", ["ages must be [low, high] with 0 <= low <= high <= 90"],
        id="age-above-90",
    ),
    pytest.param(
        "ages = [20, 29]", "ages = [29, 20]",
        "population.ages", ["ages must be [low, high]"],
        id="ages-reversed",
    ),
    pytest.param(
        "ages = [20, 29]", "ages = [-1, 29]",
        "population.ages", ["ages must be [low, high]"],
        id="negative-age",
    ),
    pytest.param(
        "ages = [20, 29]", "ages = [20, 25, 29]",
        "population.ages", [],
        id="three-ages",
    ),
    pytest.param(
        "[delivery]\nyears = [0, 1]", "[delivery]\nyears = [0, 1, 1]",
        "delivery.years", ["a year is listed twice"],
        id="delivery-year-twice",
    ),
    pytest.param(
        "[delivery]\nyears = [0, 1]", "[delivery]\nyears = [-1, 1]",
        "delivery.years", ["cannot be negative"],
        id="negative-delivery-year",
    ),
    pytest.param(
        'value_type = "fiscal"', 'value_type = "fiscl"',
        "outcomes[0].consequences[0].value_type", ["'fiscal', 'economic' or 'social'", "'fiscl'"],
        id="unknown-value-type",
    ),
    pytest.param(
        "lag = [1.0, 0.5]", "lag = [1.0, -0.5]",
        "outcomes[0].consequences[0].lag", ["lag multipliers cannot be negative"],
        id="negative-lag",
    ),
]


@pytest.mark.parametrize("old, new, where, wording", STRUCTURE_CASES)
def test_intervention_structure_errors(toy, old, new, where, wording):
    path = edit(toy / INTERVENTION, old, new)
    error, text = error_text(load_intervention, path)
    assert error.file == str(path)
    assert text.startswith(f"{path}: {where}: ")
    for piece in wording:
        assert piece in text


def test_intervention_id_must_equal_the_file_name(toy):
    path = edit(toy / INTERVENTION, 'id = "toy_programme"', 'id = "other_programme"')
    _, text = error_text(load_intervention, path)
    assert text == f"{path}: id: id 'other_programme' differs from the file name 'toy_programme'"


def test_intervention_id_must_be_snake_case(toy):
    path = edit(toy / INTERVENTION, 'id = "toy_programme"', 'id = "Toy Programme"')
    _, text = error_text(load_intervention, path)
    assert text.startswith(f"{path}: id: ")
    assert "'Toy Programme'" in text


def test_invalid_toml_syntax(toy):
    path = edit(toy / INTERVENTION, 'name = "Toy programme for tests"', 'name = "Toy programme for tests')
    error, text = error_text(load_intervention, path)
    assert error.file == str(path)
    assert text.startswith(f"{path}: not valid TOML: ")
    assert "line 2" in text


def test_key_given_twice_is_a_toml_error(toy):
    path = edit(toy / INTERVENTION, 'id = "episode"', 'id = "episode"\nbaseline = "toy_baseline"')
    _, text = error_text(load_intervention, path)
    assert text.startswith(f"{path}: not valid TOML: ")


def test_missing_intervention_file(tmp_path):
    _, text = error_text(load_intervention, tmp_path / "nothing.toml")
    assert text == f"{tmp_path / 'nothing.toml'}: file not found"


def test_a_reference_of_the_wrong_type_is_located_at_its_key(toy):
    # reach is a parameter name or a number; a list is neither. The key path must be the key in the
    # file, population.reach, not a pydantic union-branch label such as population.reach.str.
    path = edit(toy / INTERVENTION, 'reach = "toy_reach"', "reach = [0.5]")
    _, text = error_text(load_intervention, path)
    assert text.startswith(f"{path}: population.reach: ")
    assert "[0.5]" in text


# ------------------------------------------------------------------------------------------------
# Intervention references (InterventionLibrary.from_dir)
# ------------------------------------------------------------------------------------------------

REFERENCE_CASES = [
    pytest.param(
        'payer = "local_authority"', 'payer = "educaton"',
        "costs[0].payer", ["'educaton' is not a sector", "did you mean 'education'?"],
        id="misspelt-payer",
    ),
    pytest.param(
        'sector = "employers"', 'sector = "employer"',
        "outcomes[0].consequences[2].sector", ["'employer' is not a sector", "did you mean 'employers'?"],
        id="misspelt-consequence-sector",
    ),
    pytest.param(
        'sector = "individuals"', 'sector = "households"',
        "outcomes[0].consequences[1].sector", ["'households' is not a sector", "one of ['nhs'"],
        id="unknown-sector-no-suggestion",
    ),
    pytest.param(
        'reach = "toy_reach"', 'reach = "toy_rech"',
        "population.reach", ["unknown parameter 'toy_rech'", "did you mean 'toy_reach'?"],
        id="misspelt-reach-parameter",
    ),
    pytest.param(
        'per_participant = "toy_cost"', 'per_participant = "toy_csot"',
        "costs[0].per_participant", ["unknown parameter 'toy_csot'", "did you mean 'toy_cost'?"],
        id="misspelt-cost-parameter",
    ),
    pytest.param(
        '"toy_qaly_loss"', '"toy_qaly_los"',
        "outcomes[0].consequences[1].per_unit[0]",
        ["unknown parameter 'toy_qaly_los'", "did you mean 'toy_qaly_loss'?"],
        id="misspelt-per-unit-parameter",
    ),
    pytest.param(
        'relative_risk = "toy_rr"', 'relative_risk = "toy_r"',
        "outcomes[0].effect.relative_risk", ["unknown parameter 'toy_r'", "did you mean 'toy_rr'?"],
        id="misspelt-effect-parameter",
    ),
    pytest.param(
        "eligible_share = 0.1", "eligible_share = 1.5",
        "population.eligible_share", ["1.5 is not a share in [0, 1]"],
        id="share-above-one",
    ),
    pytest.param(
        'reach = "toy_reach"', 'reach = "toy_cost"',
        "population.reach", ["'toy_cost' must be a share or probability", "GBP per participant"],
        id="share-that-is-money",
    ),
    pytest.param(
        "persistence = { years_full = 2, fade = 0.5 }",
        'persistence = { years_full = 2, fade = 0.5 }\ndeadweight = "toy_rr"',
        "outcomes[0].deadweight", ["'toy_rr' must be a share or probability"],
        id="deadweight-not-a-share",
    ),
]


@pytest.mark.parametrize("old, new, where, wording", REFERENCE_CASES)
def test_intervention_reference_errors(toy, old, new, where, wording):
    path = edit(toy / INTERVENTION, old, new)
    error, text = error_text(load_library, toy)
    assert error.file == str(path)
    assert text.startswith(f"{path}: {where}: ")
    for piece in wording:
        assert piece in text


def test_two_outcomes_with_the_same_id(toy):
    path = toy / INTERVENTION
    text = path.read_text(encoding="utf-8")
    start = text.index("[[outcomes]]")
    path.write_text(text + "\n" + text[start:], encoding="utf-8")
    _, message = error_text(load_library, toy)
    assert message == f"{path}: outcomes: two outcomes share an id"


def test_empty_intervention_folder(toy):
    (toy / INTERVENTION).unlink()
    _, text = error_text(load_library, toy)
    assert text.startswith(f"{toy / 'interventions'}: no intervention specs")


# ------------------------------------------------------------------------------------------------
# Scenarios (load_scenario)
# ------------------------------------------------------------------------------------------------

SCENARIO_CASES = [
    pytest.param(
        'area = "E08000025"', 'area = "Birmingam"',
        "area", ["'Birmingam' is not an area name or GSS code", "did you mean 'Birmingham'"],
        id="misspelt-area",
    ),
    pytest.param(
        'area = "E08000025"', 'area = "E08999999"',
        "area", ["'E08999999' is not the GSS code"],
        id="unknown-gss-code",
    ),
    pytest.param(
        'price_year = "2023/24"', 'price_year = "2030/31"',
        "price_year", ["price year 2030/31 needs calendar years 2030 and 2031",
                       "the deflator table covers 1990 to 2024"],
        id="price-year-after-deflator",
    ),
    pytest.param(
        'price_year = "2023/24"', "price_year = 1950",
        "price_year", ["price year 1950 is outside the deflator table"],
        id="price-year-before-deflator",
    ),
    pytest.param(
        'price_year = "2023/24"', 'price_year = "2023/25"',
        "price_year", ["'2023/25' is not a price year"],
        id="malformed-price-year",
    ),
    pytest.param(
        "horizon = 6", 'horizon = 6\ndiscounting = "green_bok"',
        "discounting", ["'green_bok' is not a discount scheme", "did you mean 'green_book'?"],
        id="misspelt-discounting",
    ),
    pytest.param(
        "horizon = 6", 'horizon = 6\ndiscounting = "stern"',
        "discounting", ["'stern' is not a discount scheme", "the schemes are"],
        id="unknown-discounting",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programm"',
        "interventions[0].id", ["unknown intervention 'toy_programm'", "did you mean 'toy_programme'?"],
        id="misspelt-intervention",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programme"\n\n[[interventions]]\nid = "kiva"',
        "interventions[1].id", ["unknown intervention 'kiva'"],
        id="unknown-second-intervention",
    ),
    pytest.param(
        "horizon = 6", 'horizon = 6\nperspective = "societel"',
        "perspective", ["'public_sector', 'economic' or 'societal'", "'societel'"],
        id="unknown-perspective",
    ),
    pytest.param(
        "horizon = 6", 'horizon = 6\nsampling = "sobol"',
        "sampling", ["'lhs' or 'mc'"],
        id="unknown-sampling",
    ),
    pytest.param(
        "seed = 7", "seeed = 7",
        "seeed", ["unknown key 'seeed'", "did you mean 'seed'?"],
        id="misspelt-scenario-key",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programme"\nreech = 0.5',
        "interventions[0].reech", ["unknown key 'reech'", "did you mean 'reach'?"],
        id="misspelt-intervention-override",
    ),
    pytest.param(
        'area = "E08000025"\n', "",
        "area", ["required key is missing"],
        id="missing-area",
    ),
    pytest.param(
        "horizon = 6", "horizon = 0",
        "horizon", ["should be at least 1"],
        id="zero-horizon",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programme"\nreach = 1.5',
        "interventions[0].reach", ["should be at most 1"],
        id="reach-override-above-one",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programme"\ndelivery_years = [0, 0]',
        "interventions[0].delivery_years", ["delivery_years must be distinct years from 0"],
        id="repeated-delivery-year",
    ),
    pytest.param(
        'id = "toy_programme"', 'id = "toy_programme"\n\n[[interventions]]\nid = "toy_programme"',
        "interventions", ["an intervention is listed twice"],
        id="intervention-twice",
    ),
]


@pytest.mark.parametrize("old, new, where, wording", SCENARIO_CASES)
def test_scenario_errors(toy, old, new, where, wording):
    path = edit(toy / SCENARIO, old, new)
    error, text = error_text(load_scenario, path)
    assert error.file == str(path)
    assert text.startswith(f"{path}: {where}: ")
    for piece in wording:
        assert piece in text


def test_scenario_without_interventions(toy):
    path = toy / SCENARIO
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("[[interventions]]")], encoding="utf-8")
    _, message = error_text(load_scenario, path)
    assert message.startswith(f"{path}: interventions: required key is missing")


def test_scenario_invalid_toml(toy):
    path = edit(toy / SCENARIO, "horizon = 6", "horizon = = 6")
    _, text = error_text(load_scenario, path)
    assert text.startswith(f"{path}: not valid TOML: ")
    assert "line 3" in text


def test_scenario_price_year_of_the_wrong_type_is_located_at_its_key(toy):
    path = edit(toy / SCENARIO, 'price_year = "2023/24"', "price_year = [2023]")
    _, text = error_text(load_scenario, path)
    assert text.startswith(f"{path}: price_year: ")


def test_scenario_reports_errors_in_the_intervention_file(toy):
    intervention = edit(toy / INTERVENTION, "persistence = {", "peristence = {")
    error, text = error_text(load_scenario, toy / SCENARIO)
    assert Path(error.file).resolve() == intervention.resolve()
    assert text.startswith(f"{error.file}: outcomes[0].peristence: unknown key 'peristence'")


def test_scenario_reports_errors_in_a_parameter_table(toy):
    table = edit(toy / "parameters" / "toy.csv", "toy_rr,0.8,lognormal", "toy_rr,0.8,lognormla")
    error, text = error_text(load_scenario, toy / SCENARIO)
    assert Path(error.file).resolve() == table.resolve()
    assert text.startswith(f"{error.file}: row 5, column 'distribution': unknown distribution 'lognormla'")


def test_scenario_folders_that_do_not_exist(toy):
    path = edit(toy / SCENARIO, "seed = 7", 'seed = 7\ninterventions_dir = "../programmes"')
    _, text = error_text(load_scenario, path)
    assert text.startswith(f"{path.parent / '../programmes'}: intervention folder not found")


def test_scenario_area_by_name_and_settings(toy):
    path = edit(toy / SCENARIO, 'area = "E08000025"', 'area = "birmingham"')
    edit(path, "horizon = 6", 'horizon = 6\nperspective = "public_sector"\ndiscounting = "none"')
    scenario = load_scenario(path)
    assert scenario.area.code == "E08000025"
    assert scenario.perspective == "public_sector"
    assert scenario.spec.discounting == "none"
