"""The value of a QALY as a scenario setting (roi_engine.inputs.valuation)."""

from pathlib import Path

import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.money import parse_price_year
from roi_engine.inputs.scenario import load_scenario, load_scenario_data
from roi_engine.inputs.specs import read_toml
from roi_engine.inputs.valuation import QALY_VALUE_PRESETS
from roi_engine.results import run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"


def _scenario(**extra):
    data = read_toml(DEFAULT)
    data.update(extra, draws=1, interventions=[{"id": "collaborative_care_ltc"}])
    return load_scenario_data(data, path=DEFAULT)


def test_default_keeps_the_tables_green_book_value():
    qaly = _scenario().registry["value_of_qaly"]
    assert qaly.value == 70_000 and str(qaly.price_year) == str(parse_price_year("2020/21"))


@pytest.mark.parametrize("name", sorted(QALY_VALUE_PRESETS))
def test_each_preset_sets_its_value(name):
    qaly = _scenario(qaly_value=name).registry["value_of_qaly"]
    assert qaly.value == QALY_VALUE_PRESETS[name].value
    assert not qaly.is_uncertain


def test_thresholds_are_in_the_scenarios_price_year_and_a_number_in_its_own():
    s = _scenario(qaly_value="nice_20k")
    assert str(s.registry["value_of_qaly"].price_year) == str(s.price_year)
    own = _scenario(qaly_value={"value": 25_000, "price_year": "2015/16"}).registry["value_of_qaly"]
    assert own.value == 25_000 and str(own.price_year) == str(parse_price_year("2015/16"))


@pytest.mark.parametrize("bad, words", [
    ("nice_25k", "unknown value of a QALY"),
    (20000, "has no price year"),
    ({"value": 20000}, "needs exactly 'value' and 'price_year'"),
    ({"value": -1, "price_year": "2023/24"}, "positive number"),
    ({"value": 20000, "price_year": "next year"}, "qaly_value.price_year"),
])
def test_bad_settings_give_one_line_naming_the_key(bad, words):
    with pytest.raises(InputError) as err:
        _scenario(qaly_value=bad)
    text = str(err.value)
    assert words in text and "qaly_value" in text and "\n" not in text


def test_with_settings_revalues_qalys_in_proportion():
    """Collaborative care's (Markov form, in the default scenario) social benefit is QALYs only, so it
    scales with the value of a QALY; its cash-releasing benefit (NHS) does not move."""
    s = load_scenario(DEFAULT).with_settings(draws=1)
    s = s.with_settings(qaly_value={"value": 70_000, "price_year": "2020/21"})
    low = s.with_settings(qaly_value={"value": 35_000, "price_year": "2020/21"})
    cc = "collaborative_care_ltc_markov"
    head, head_low = run(s).headline().loc[cc], run(low).headline().loc[cc]
    assert head["pv_benefits_social_base"] > 0 and head["pv_benefits_cash_base"] > 0
    social = head["pv_benefits_social_base"]
    assert head_low["pv_benefits_social_base"] == pytest.approx(social / 2, rel=1e-12)
    assert head_low["pv_benefits_cash_base"] == pytest.approx(head["pv_benefits_cash_base"], rel=1e-12)
    assert head["pv_benefits_base"] == pytest.approx(run(load_scenario(DEFAULT).with_settings(draws=1))
                                                     .headline().loc[cc, "pv_benefits_base"], rel=1e-12)


def test_text_form_matches_the_table_form_and_round_trips():
    from roi_engine.inputs.valuation import qaly_value_text
    as_text = _scenario(qaly_value="25,000 (2015/16)").registry["value_of_qaly"]
    as_table = _scenario(qaly_value={"value": 25_000, "price_year": "2015/16"}).registry["value_of_qaly"]
    assert (as_text.value, str(as_text.price_year)) == (as_table.value, str(as_table.price_year))
    assert qaly_value_text({"value": 25_000, "price_year": "2015/16"}) == "25000 (2015/16)"
    assert qaly_value_text("nice_20k") == "nice_20k" and qaly_value_text(None) is None


def test_workbook_round_trip_keeps_the_chosen_value(tmp_path):
    from roi_engine.inputs.excel import export_workbook, load_workbook_scenario
    chosen = load_scenario(DEFAULT).with_settings(
        draws=1, qaly_value={"value": 25_000, "price_year": "2015/16"})
    path = export_workbook(tmp_path / "q.xlsx", ROOT / "parameters", chosen)
    back = load_workbook_scenario(path, interventions_dir=ROOT / "interventions")
    got, want = back.registry["value_of_qaly"], chosen.registry["value_of_qaly"]
    assert (got.value, str(got.price_year)) == (want.value, str(want.price_year)) == (25_000, "2015/16")
