"""Tests for roi_engine.inputs.money: price years, the GDP deflator and Green Book discounting.

Expected values are computed by hand from the published rates and indices; tolerance 1e-12
relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from roi_engine.errors import InputError
from roi_engine.inputs.money import (
    VALUE_TYPE_RATE_KIND,
    DeflatorTable,
    DiscountScheme,
    PriceYear,
    convert_price_year,
    discount_factors,
    parse_price_year,
    present_value,
    rate_kind_for_value_type,
)

RTOL = 1e-12

# Values from the shipped HMT December 2025 calendar-year series.
I2022 = 90.5005
I2023 = 96.2507
I2024 = 100.0


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ------------------------------------------------------------------------------------------------
# Price years
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, expected",
    [
        (2022, PriceYear(2022, False)),
        ("2022", PriceYear(2022, False)),
        (" 2022 ", PriceYear(2022, False)),
        (2022.0, PriceYear(2022, False)),
        (np.int64(2022), PriceYear(2022, False)),
        ("2022/23", PriceYear(2022, True)),
        ("2022-23", PriceYear(2022, True)),
        ("2022/2023", PriceYear(2022, True)),
        ("2022-2023", PriceYear(2022, True)),
        ("1999/00", PriceYear(1999, True)),
        (PriceYear(2020, True), PriceYear(2020, True)),
    ],
)
def test_parse_price_year_good(label, expected):
    assert parse_price_year(label) == expected


@pytest.mark.parametrize(
    "label",
    [
        "2022/24",
        "2022-2024",
        "2022/22",
        "22/23",
        "abc",
        "",
        "  ",
        "2022/",
        "22",
        2022.5,
        22,
        True,
        float("nan"),
        None,
        "2022/23/24",
    ],
)
def test_parse_price_year_bad(label):
    with pytest.raises(InputError) as info:
        parse_price_year(label)
    assert f"'{label}' is not a price year" in str(info.value)
    assert info.value.hint == "write a calendar year like 2022 or a financial year like 2022/23"


def test_parse_price_year_error_message_exact():
    with pytest.raises(InputError) as info:
        parse_price_year("2022/24")
    assert info.value.message == "'2022/24' is not a price year"


def test_parse_price_year_carries_location():
    with pytest.raises(InputError) as info:
        parse_price_year("2022/24", file="parameters/costs.csv", where="row 3, column 'price_year'")
    assert str(info.value).startswith("parameters/costs.csv: row 3, column 'price_year': ")


def test_price_year_str_and_order():
    assert str(PriceYear(2022, True)) == "2022/23"
    assert str(PriceYear(1999, True)) == "1999/00"
    assert str(PriceYear(2022, False)) == "2022"
    assert PriceYear(2022) < PriceYear(2022, True) < PriceYear(2023)


# ------------------------------------------------------------------------------------------------
# Deflator
# ------------------------------------------------------------------------------------------------


def test_default_deflator_range_and_source():
    table = DeflatorTable.default()
    assert table is DeflatorTable.default()  # cached
    assert (table.first_year, table.last_year) == (1990, 2024)
    assert "December 2025" in table.source
    assert table.index(2024) == I2024


def test_factor_2022_to_2024():
    close(DeflatorTable.default().factor(2022, 2024), 100 / 90.5005)


def test_financial_year_index():
    table = DeflatorTable.default()
    close(table.index("2022/23"), 0.75 * 90.5005 + 0.25 * 96.2507)
    close(table.index(PriceYear(2023, True)), 0.75 * I2023 + 0.25 * I2024)


@pytest.mark.parametrize("year", [1990, 2000, "2022/23", "1990-91", 2024, "2023/24"])
def test_factor_same_year_is_one(year):
    assert DeflatorTable.default().factor(year, year) == 1.0


@pytest.mark.parametrize(
    "a, b", [(2022, 2024), ("2010/11", 2019), (1990, "2023/24"), ("2015-16", "2020/21")]
)
def test_factor_round_trip(a, b):
    table = DeflatorTable.default()
    close(table.factor(a, b) * table.factor(b, a), 1.0)


@pytest.mark.parametrize("year", [1989, "1989", 2025, "2024/25", "1989/90"])
def test_outside_series_raises(year):
    with pytest.raises(InputError) as info:
        DeflatorTable.default().index(year)
    text = str(info.value)
    assert "1990 to 2024" in text
    assert str(parse_price_year(year)) in text
    assert "supply your own deflator table" in text


def test_convert_price_year_shapes():
    amount_2d = np.arange(6.0).reshape(2, 3)
    out = convert_price_year(amount_2d, 2022, 2024)
    assert out.shape == (2, 3)
    close(out, amount_2d * 100 / 90.5005)
    scalar = convert_price_year(1000, "2022", 2024)
    assert isinstance(scalar, float)
    close(scalar, 1000 * 100 / 90.5005)
    close(convert_price_year([1.0, 2.0], 2022, 2024), np.array([1.0, 2.0]) * 100 / 90.5005)


def test_user_deflator_table(tmp_path):
    path = tmp_path / "deflator.csv"
    path.write_text("calendar_year,deflator_index,source\n2030,110,mine\n2031,121,mine\n")
    table = DeflatorTable.from_csv(path)
    assert (table.first_year, table.last_year, table.source) == (2030, 2031, "mine")
    close(convert_price_year(100.0, 2030, 2031, deflator=table), 110.0)
    close(table.index("2030/31"), 0.75 * 110 + 0.25 * 121)


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("year,deflator_index\n2020,1\n", "missing column(s) 'calendar_year'"),
        ("calendar_year,deflator_index\n2020,1\n2022,2\n", "no row for 2021"),
        ("calendar_year,deflator_index\n2020,1\n2020,2\n", "appears twice"),
        ("calendar_year,deflator_index\n2020,-1\n", "row 2, column 'deflator_index'"),
        ("calendar_year,deflator_index\n2020,x\n", "'x' is not a number"),
        ("calendar_year,deflator_index\n20,1\n", "'20' is not a calendar year"),
    ],
)
def test_user_deflator_table_errors(tmp_path, body, fragment):
    path = tmp_path / "deflator.csv"
    path.write_text(body)
    with pytest.raises(InputError) as info:
        DeflatorTable.from_csv(path)
    assert fragment in str(info.value)
    assert info.value.file == str(path)


def test_missing_deflator_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        DeflatorTable.from_csv(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------------------
# Discount factors
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def green_book():
    return DiscountScheme.named("green_book")


def test_standard_factors_first_30_years(green_book):
    factors = green_book.factors("standard", 31)
    t = np.arange(31)
    close(factors, 1.035**-t)
    assert factors[0] == 1.0


def test_standard_factors_after_30_years(green_book):
    factors = green_book.factors("standard", 200)
    close(factors[31], 1.035**-30 / 1.03)
    close(factors[40], 1.035**-30 * 1.03**-10)
    close(factors[75], 1.035**-30 * 1.03**-45)
    close(factors[76], 1.035**-30 * 1.03**-45 / 1.025)
    close(factors[126], 1.035**-30 * 1.03**-45 * 1.025**-50 / 1.02)


def test_health_factors(green_book):
    factors = green_book.factors("health", 40)
    close(factors[10], 1.015**-10)
    close(factors[30], 1.015**-30)
    close(factors[32], 1.015**-30 * 1.0129**-2)


def test_rate_for_years(green_book):
    years = np.array([[0, 30, 31], [75, 76, 301]])
    close(green_book.rate_for_years("standard", years), [[0.035, 0.035, 0.03], [0.03, 0.025, 0.01]])
    close(
        green_book.rate_for_years("health", np.array([125, 126, 200, 201, 300, 301, 10_000])),
        [0.0107, 0.0086, 0.0086, 0.0064, 0.0064, 0.0043, 0.0043],
    )


def test_scheme_none_is_all_ones():
    none = DiscountScheme.named("none")
    for kind in ("standard", "health"):
        assert np.array_equal(none.factors(kind, 350), np.ones(350))


def test_zero_years():
    assert DiscountScheme.named("green_book").factors("standard", 0).shape == (0,)


def test_unknown_scheme_did_you_mean():
    with pytest.raises(InputError) as info:
        DiscountScheme.named("gren_book")
    text = str(info.value)
    assert "did you mean" in text
    assert "'green_book'" in text
    assert "green_book, none" in text


def test_unknown_rate_kind(green_book):
    with pytest.raises(InputError, match="did you mean 'health'"):
        green_book.factors("helth", 5)


def test_describe(green_book):
    assert green_book.describe() == (
        "Green Book: 3.5% (years 0-30, declining after); health 1.5% (declining after year 30)"
    )
    assert "no discounting" in DiscountScheme.named("none").describe()


def test_source_marks_uncertain_health_bands(green_book):
    assert "UNCERTAIN" in green_book.source
    assert "Green Book 2003" in green_book.source


def test_value_type_rate_kind():
    assert VALUE_TYPE_RATE_KIND["social"] == "health"
    assert {VALUE_TYPE_RATE_KIND[k] for k in ("cost", "fiscal", "economic")} == {"standard"}
    assert rate_kind_for_value_type("fiscal") == "standard"
    with pytest.raises(InputError, match="did you mean 'social'"):
        rate_kind_for_value_type("socail")


def test_discount_factors_kernel_2d():
    rates = np.array([[0.5, 0.1, 0.2], [0.0, 0.0, 0.0]])
    close(discount_factors(rates), [[1.0, 1 / 1.1, 1 / (1.1 * 1.2)], [1.0, 1.0, 1.0]])


# ------------------------------------------------------------------------------------------------
# Present value
# ------------------------------------------------------------------------------------------------


def test_present_value_scalar_flow():
    factors = np.array([1.0, 1 / 1.035, 1.035**-2])
    close(present_value(100.0, factors), 100.0 * (1 + 1 / 1.035 + 1.035**-2))
    close(present_value(np.array([250.0]), np.array([1.0])), 250.0)


def test_present_value_1d(green_book):
    factors = green_book.factors("standard", 3)
    pv = present_value(np.array([100.0, 200.0, 300.0]), factors)
    assert np.ndim(pv) == 0
    close(pv, 100 + 200 / 1.035 + 300 / 1.035**2)


def test_present_value_2d_draws(green_book):
    factors = green_book.factors("standard", 3)
    flows = np.array([[100.0, 200.0, 300.0], [0.0, 0.0, 1.0], [-5.0, 5.0, 0.0]])
    pv = present_value(flows, factors)
    assert pv.shape == (3,)
    close(pv, [100 + 200 / 1.035 + 300 / 1.035**2, 1 / 1.035**2, -5 + 5 / 1.035])


def test_present_value_axis(green_book):
    factors = green_book.factors("health", 4)
    flows = np.arange(24.0).reshape(2, 4, 3)  # (sector, year, draw)
    pv = present_value(flows, factors, axis=1)
    assert pv.shape == (2, 3)
    close(pv, np.einsum("syd,y->sd", flows, 1.015 ** -np.arange(4.0)))
    close(pv, present_value(np.moveaxis(flows, 1, -1), factors))


def test_present_value_length_mismatch():
    with pytest.raises(ValueError, match="3 years"):
        present_value(np.ones(3), np.ones(4))


# ------------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    scheme=st.sampled_from(["green_book", "none"]),
    kind=st.sampled_from(["standard", "health"]),
    n_years=st.integers(min_value=1, max_value=400),
)
def test_factors_positive_non_increasing(scheme, kind, n_years):
    factors = DiscountScheme.named(scheme).factors(kind, n_years)
    assert factors.shape == (n_years,)
    assert factors[0] == 1.0
    assert np.all(factors > 0)
    assert np.all(np.diff(factors) <= 0)


@settings(max_examples=60, deadline=None)
@given(
    rates=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=12),
        elements=st.floats(min_value=0.0, max_value=0.5),
    )
)
def test_kernel_positive_non_increasing(rates):
    factors = discount_factors(rates)
    assert factors.shape == rates.shape
    assert np.all(factors[..., 0] == 1.0)
    assert np.all(factors > 0)
    assert np.all(np.diff(factors, axis=-1) <= 0)


@settings(max_examples=60, deadline=None)
@given(
    flows=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 60)),
        elements=st.floats(min_value=-1e9, max_value=1e9),
    ),
    kind=st.sampled_from(["standard", "health"]),
)
def test_zero_rate_present_value_is_plain_sum(flows, kind):
    factors = DiscountScheme.named("none").factors(kind, flows.shape[1])
    pv = present_value(flows, factors)
    expected = np.array([math.fsum(row) for row in flows])
    scale = np.abs(flows).sum(axis=1)
    assert np.all(np.abs(pv - expected) <= 1e-12 * scale + 1e-300)


# ------------------------------------------------------------------------------------------------
# User-supplied discount tables
# ------------------------------------------------------------------------------------------------

HEADER = "scheme,rate_kind,period_years_from,period_years_to,rate_pct,source\n"


def test_user_scheme(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(
        HEADER + "flat,standard,0,,3,mine\nflat,health,0,9,2,mine\nflat,health,10,,1,mine\n"
    )
    scheme = DiscountScheme.from_csv(path, "flat")
    close(scheme.factors("standard", 5), 1.03 ** -np.arange(5.0))
    close(scheme.factors("health", 12)[11], 1.02**-9 * 1.01**-2)
    assert scheme.describe() == "Flat: 3% (all years); health 2% (declining after year 9)"


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("s,standard,0,,3,\n", "has no health rates"),
        ("s,standard,1,,3,\ns,health,0,,1,\n", "start at year 1, not year 0"),
        ("s,standard,0,10,3,\ns,standard,12,,2,\ns,health,0,,1,\n", "does not follow on"),
        ("s,standard,0,,3,\ns,standard,31,,2,\ns,health,0,,1,\n", "can be open-ended"),
        ("s,standard,0,30,3,\ns,health,0,,1,\n", "ends at year 30"),
        ("s,standard,0,,3,\ns,helth,0,,1,\n", "did you mean 'health'"),
        ("s,standard,0,,abc,\ns,health,0,,1,\n", "'abc' is not a number"),
        ("s,standard,0,,-1,\ns,health,0,,1,\n", "not between 0% and 100%"),
        ("s,standard,x,,3,\ns,health,0,,1,\n", "not a whole number of years"),
    ],
)
def test_user_scheme_errors(tmp_path, body, fragment):
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + body)
    with pytest.raises(InputError) as info:
        DiscountScheme.from_csv(path, "s")
    assert fragment in str(info.value)
    assert info.value.file == str(path)


def test_user_scheme_unknown_name(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + "mine,standard,0,,3,\nmine,health,0,,1,\n")
    with pytest.raises(InputError, match="did you mean 'mine'"):
        DiscountScheme.from_csv(path, "mone")
