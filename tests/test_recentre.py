"""Giving only a new central value: re-centring with the same relative spread, the workbook's
``new_central_value`` column, and the message for a value outside its distribution's range."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roi_engine.errors import InputError
from roi_engine.inputs.distributions import build
from roi_engine.inputs.excel import export_workbook, read_workbook
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.recentre import central_value, recentre
from roi_engine.inputs.scenario import load_scenario

TOY = Path(__file__).resolve().parent / "data" / "toy"

EXAMPLES = {  # name: (params, a relative-spread statistic that must not change)
    "pert": ((1.43, 5.8, 11.645), lambda p: ((p[2] - p[0]) / p[1], p[0] / p[1])),
    "triangular": ((1.0, 2.0, 4.0), lambda p: ((p[2] - p[0]) / p[1], p[0] / p[1])),
    "uniform": ((1.0, 10.0), lambda p: (p[1] - p[0]) / (p[0] + p[1])),
    "normal": ((150.0, 20.0), lambda p: p[1] / p[0]),
    "truncnormal": ((150.0, 20.0, 100.0, 250.0), lambda p: (p[1] / p[0], p[2] / p[0], p[3] / p[0])),
    "gamma": ((25.0, 20.0), lambda p: p[0]),  # shape fixes the coefficient of variation
    "lognormal": ((math.log(0.8), 0.1), lambda p: p[1]),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@given(factor=st.floats(min_value=0.01, max_value=100))
def test_recentred_distribution_has_the_new_centre_and_the_same_relative_spread(name, factor):
    params, spread = EXAMPLES[name]
    new = central_value(name, params) * factor
    moved = recentre(name, params, new)
    assert central_value(name, moved) == pytest.approx(new, rel=1e-9)
    assert spread(moved) == pytest.approx(spread(params), rel=1e-9)
    low, high = build(name, moved).support
    assert low <= new <= high
    sd = build(name, moved).frozen.std() / build(name, params).frozen.std()
    assert sd == pytest.approx(factor, rel=1e-6)  # the SD scales with the centre


def test_beta_keeps_its_concentration_and_fixed_has_no_numbers():
    assert recentre("beta", (20.0, 80.0), 0.3) == pytest.approx((30.0, 70.0))
    assert recentre("fixed", (), 5.0) == ()


@pytest.mark.parametrize(("name", "params", "new", "message"), [
    ("pert", (-1.0, 0.0, 1.0), 2.0, "centred on 0"),
    ("normal", (10.0, 2.0), -5.0, "other sign"),
    ("gamma", (2.0, 3.0), -1.0, "positive values only"),
    ("beta", (2.0, 3.0), 1.5, "strictly between 0 and 1"),
    ("pert", (1.0, 2.0), 2.0, "takes 3 numbers"),
])
def test_spread_that_cannot_be_kept_says_what_to_do(name, params, new, message):
    with pytest.raises(ValueError, match=message):
        recentre(name, params, new)


def _table(tmp_path: Path, row: str) -> Path:
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "t.csv").write_text("name,value,distribution,p1,p2,p3,p4,unit,price_year,source,notes\n"
                                  f"{row},GBP per participant,2023,Assumption: test,\n", encoding="utf-8")
    return folder


def test_value_outside_range_names_the_bounds_fixed_and_new_central_value(tmp_path):
    folder = _table(tmp_path, "cost,20,pert,1.43,5.8,11.645,")
    with pytest.raises(InputError) as caught:
        ParameterRegistry.from_dir(folder)
    assert caught.value.render() == (
        f"{folder / 't.csv'}: row 2, column 'value': value 20 lies outside its pert distribution's range "
        "(1.43 to 11.645) (change p1 (low) and p3 (high) so that the range includes 20; or set distribution "
        "to 'fixed' and clear p1..p3; or, in the parameter workbook, keep the old value and put 20 in a "
        "column headed 'new_central_value', which re-centres the distribution with the same relative "
        "spread)")


def test_value_outside_an_unbounded_distribution_names_the_distribution(tmp_path):
    with pytest.raises(InputError, match=r"a gamma distribution takes positive values only: choose another "
                                         r"distribution; or set distribution to 'fixed' and clear p1..p2"):
        ParameterRegistry.from_dir(_table(tmp_path, "cost,-3,gamma,2,3,,"))


@pytest.fixture
def toy_book(tmp_path) -> Path:
    path = tmp_path / "toy.xlsx"
    export_workbook(path, TOY / "parameters", load_scenario(TOY / "scenarios" / "toy.toml"))
    return path


def _add_column(path: Path, cells: dict[str, object]) -> None:
    book = openpyxl.load_workbook(path)
    book["toy"]["L1"] = "new_central_value"
    for cell, value in cells.items():
        book["toy"][cell] = value
    book.save(path)


def test_workbook_new_central_value_recentres_the_row(toy_book):
    _add_column(toy_book, {"L7": 0.08, "L10": 300})  # toy_qaly_loss (pert), toy_cost_per_day (normal)
    registry = read_workbook(toy_book).registry
    qaly = registry["toy_qaly_loss"]
    assert qaly.value == 0.08
    assert qaly.distribution.params == pytest.approx((0.016, 0.08, 0.16))
    assert "Re-centred on 0.08 (value was 0.05)" in qaly.notes
    day = registry["toy_cost_per_day"]
    assert (day.value, day.distribution.params) == (300, pytest.approx((300, 40)))
    assert registry["toy_cost"].value == 100  # rows without a new central value are as they were


def test_a_value_typed_outside_the_range_can_be_given_as_new_central_value_instead(toy_book):
    _add_column(toy_book, {"B7": 0.5})  # outside pert(0.01, 0.05, 0.1)
    with pytest.raises(InputError, match=r"toy!B7: value 0.5 lies outside .* 'new_central_value'"):
        read_workbook(toy_book)
    _add_column(toy_book, {"B7": 0.5, "L7": 0.5})  # the old value need not be restored
    moved = read_workbook(toy_book).registry["toy_qaly_loss"]
    assert moved.distribution.params == pytest.approx((0.1, 0.5, 1))


def test_bad_new_central_values_point_at_their_cell(toy_book):
    _add_column(toy_book, {"L7": "lots"})
    with pytest.raises(InputError, match=r"toy!L7: 'lots' is not a number"):
        read_workbook(toy_book)
    _add_column(toy_book, {"L7": -1})
    with pytest.raises(InputError, match=r"toy!L7: -1 has the other sign"):
        read_workbook(toy_book)
