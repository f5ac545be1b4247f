"""Tests for roi_engine.inputs.population against the check totals in shared/data/README.md."""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roi_engine.errors import InputError
from roi_engine.inputs.population import (
    AGES,
    DATA_FILE,
    POPULATION_SOURCE,
    Area,
    age_mask,
    find_area,
    list_areas,
    load_population,
    population_by_age,
    population_in_band,
    search_areas,
)

ENGLAND = "E92000001"
ENGLAND_TOTAL = 57_106_398
SHARED_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "la_population_by_age.csv"


# --- the packaged file --------------------------------------------------------------------------


def test_packaged_file_is_deterministic_gzip_of_shared_csv():
    packed = (files("roi_engine") / "data" / DATA_FILE).read_bytes()
    assert packed[:2] == b"\x1f\x8b"
    assert packed[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    if not SHARED_CSV.exists():
        pytest.skip("shared/data is not beside the repository")
    assert gzip.decompress(packed) == SHARED_CSV.read_bytes()


def test_load_population_shape_and_cache():
    table = load_population()
    assert table is load_population()
    assert list(table.columns) == [
        "area_code", "area_name", "geography", "tier", "utla_code", "region_code",
        "year", "age", "population",
    ]  # fmt: skip
    assert len(table) == 30_303
    assert table["area_code"].nunique() == 333
    assert set(table["year"]) == {2022}
    assert table["age"].min() == 0 and table["age"].max() == 90


def test_ages():
    assert AGES.shape == (91,)
    assert AGES[0] == 0 and AGES[-1] == 90
    assert np.all(np.diff(AGES) == 1)


def test_source_attribution():
    assert "mid-2022" in POPULATION_SOURCE
    assert (
        "Source: Office for National Statistics licensed under the Open Government Licence v3.0."
        in POPULATION_SOURCE
    )
    assert "\n" not in POPULATION_SOURCE


# --- check totals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "total"),
    [
        (ENGLAND, ENGLAND_TOTAL),
        ("E08000025", 1_157_603),  # Birmingham
        ("Manchester", 568_996),
        ("E10000016", 1_593_191),  # Kent (county)
        ("E06000065", 623_501),  # North Yorkshire
        ("E06000063", 275_390),  # Cumberland
    ],
)
def test_area_totals(query, total):
    ages = population_by_age(query)
    assert ages.shape == (91,)
    assert ages.dtype == np.float64
    assert ages.sum() == total
    assert population_in_band(query, 0, 90) == total


@pytest.mark.parametrize(
    ("low", "high", "persons"),
    [
        (0, 4, 3_067_382),
        (5, 10, 4_045_385),
        (11, 15, 3_462_553),
        (16, 17, 1_311_586),
        (16, 64, 35_901_211),
        (65, 90, 10_629_867),
    ],
)
def test_england_age_bands(low, high, persons):
    assert population_in_band(ENGLAND, low, high) == persons


def test_tier_counts():
    assert len(list_areas()) == 333
    assert len(list_areas("lower")) == 296
    assert len(list_areas("upper")) == 153
    assert len(list_areas("region")) == 9
    assert [a.code for a in list_areas("country")] == [ENGLAND]


@pytest.mark.parametrize("tier", ["lower", "upper", "region"])
def test_tiers_sum_to_england(tier):
    total = sum((population_by_age(a) for a in list_areas(tier)), np.zeros(91))
    np.testing.assert_array_equal(total, population_by_age(ENGLAND))


def test_districts_sum_to_their_county():
    for county in (a for a in list_areas("upper") if a.tier == "UTLA"):
        districts = [a for a in list_areas("lower") if a.utla_code == county.code]
        assert districts, county
        total = sum(population_by_age(a) for a in districts)
        np.testing.assert_array_equal(total, population_by_age(county))


def test_unknown_tier_filter():
    with pytest.raises(InputError, match="did you mean 'lower'"):
        list_areas("lowr")


# --- Area ---------------------------------------------------------------------------------------


def test_area_fields_and_kind():
    birmingham = find_area("E08000025")
    assert birmingham == Area(
        code="E08000025",
        name="Birmingham",
        geography="Metropolitan District",
        tier="LTLA+UTLA",
        utla_code="E08000025",
        region_code="E12000005",
    )
    assert birmingham.is_lower_tier and birmingham.is_upper_tier
    assert birmingham.kind == "single-tier authority"

    kent = find_area("Kent")
    assert kent.kind == "upper-tier authority"
    assert kent.is_upper_tier and not kent.is_lower_tier

    sevenoaks = find_area("Sevenoaks")
    assert sevenoaks.kind == "lower-tier authority"
    assert sevenoaks.utla_code == kent.code
    assert sevenoaks.is_lower_tier and not sevenoaks.is_upper_tier

    gm = find_area("Greater Manchester (Met County)")
    assert gm.kind == "metropolitan county"
    assert not gm.is_lower_tier and not gm.is_upper_tier
    assert gm.utla_code is None

    england = find_area("england")
    assert england.kind == "country"
    assert england.utla_code is None and england.region_code is None
    assert find_area("north west").kind == "region"


# --- find_area ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "E08000025",
        "e08000025",
        "  E08000025\t",
        "Birmingham",
        "birmingham",
        "BIRMINGHAM",
        " birmingham ",
    ],
)
def test_find_birmingham(query):
    assert find_area(query).code == "E08000025"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Brighton & Hove", "E06000043"),
        ("brighton  and   hove", "E06000043"),
        ("Kingston upon Hull, City of", "E06000010"),
    ],
)
def test_find_area_normalises_names(query, code):
    assert find_area(query).code == code


def test_typo_suggests_closest_name():
    with pytest.raises(InputError) as info:
        find_area("Birmingam")
    message = str(info.value)
    assert "Birmingam" in message
    assert "did you mean" in message
    assert "'Birmingham' (E08000025)" in message


def test_unknown_code():
    with pytest.raises(InputError, match="E08999999"):
        find_area("E08999999")


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(query):
    with pytest.raises(InputError, match="empty"):
        find_area(query)


def test_non_string_query():
    with pytest.raises(InputError):
        find_area(25)  # type: ignore[arg-type]


def test_population_by_age_rejects_unknown_area():
    with pytest.raises(InputError, match="did you mean"):
        population_by_age("Manchestr")


def test_population_by_age_returns_a_copy():
    first = population_by_age("Birmingham")
    first[:] = 0
    assert population_by_age("Birmingham").sum() == 1_157_603


# --- search_areas -------------------------------------------------------------------------------


def test_search_exact_code_first():
    assert search_areas("e08000025")[0].code == "E08000025"


def test_search_names_containing():
    names = [a.name for a in search_areas("york")]
    assert names[0] == "York"
    assert {"North Yorkshire", "East Riding of Yorkshire", "YORKSHIRE AND THE HUMBER"} <= set(names)


def test_search_fuzzy_and_limit():
    assert search_areas("Birmingam")[0].name == "Birmingham"
    assert len(search_areas("e", limit=5)) == 5
    found = search_areas("shire")
    assert len(found) == len(set(found)) <= 20


@pytest.mark.parametrize("query", ["", "  ", "qqqqqqqqqq"])
def test_search_no_match_is_empty(query):
    assert search_areas(query) == []


# --- age bands ----------------------------------------------------------------------------------


def test_age_mask():
    mask = age_mask(5, 10)
    assert mask.shape == (91,)
    assert mask.dtype == np.bool_
    assert mask.sum() == 6
    np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(5, 11))
    assert age_mask(90, 90).sum() == 1
    assert age_mask(0, 90).all()


@pytest.mark.parametrize(
    ("low", "high", "match"),
    [
        (10, 5, "empty"),
        (-1, 5, "between 0 and 90"),
        (0, 91, "between 0 and 90"),
        (2.5, 5, "whole number"),
        ("0", 5, "whole number"),
        (True, 5, "whole number"),
    ],
)
def test_band_validation(low, high, match):
    with pytest.raises(InputError, match=match):
        age_mask(low, high)
    with pytest.raises(InputError, match=match):
        population_in_band(ENGLAND, low, high)


def test_numpy_integer_bounds():
    assert population_in_band(ENGLAND, np.int64(0), np.int32(4)) == 3_067_382


_AREAS = st.deferred(lambda: st.sampled_from(list_areas()))
_BANDS = st.tuples(st.integers(0, 90), st.integers(0, 90)).map(sorted)


@given(area=_AREAS, band=_BANDS)
def test_band_additivity(area, band):
    low, high = band
    whole = population_in_band(area, low, 90)
    if high < 90:
        assert population_in_band(area, low, high) + population_in_band(area, high + 1, 90) == whole
    else:
        assert population_in_band(area, low, high) == whole


@given(area=_AREAS, band=_BANDS)
def test_band_matches_mask(area, band):
    low, high = band
    expected = population_by_age(area)[age_mask(low, high)].sum()
    assert population_in_band(area, low, high) == expected
    assert population_in_band(area.code, low, high) == expected
