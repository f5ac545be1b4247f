"""Tests for roi_engine.inputs.parameters: reading and validating the parameter tables.

Each bad row must raise one InputError naming the file, the spreadsheet row (header = row 1, so the
first data row is row 2) and the column.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.money import PriceYear
from roi_engine.inputs.parameters import COLUMNS, ParameterRegistry, read_parameter_csv

TOY = Path(__file__).parent / "data" / "toy"
HEADER = ",".join(COLUMNS)
NUMBER_HINT = " (a plain decimal number with a dot, e.g. 392.1 or 1e-3)"
GOOD_ROW = "ok_first,1,fixed,,,,,days,,Assumption: test fixture,"


def write_table(directory: Path, lines: list[str], name: str = "table.csv") -> Path:
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# The toy tables
# ------------------------------------------------------------------------------------------------


def test_registry_reads_the_toy_tables(tmp_path):
    shutil.copytree(TOY / "parameters", tmp_path / "parameters")
    registry = ParameterRegistry.from_dir(tmp_path / "parameters")
    assert list(registry) == [
        "toy_reach", "toy_cost", "toy_baseline", "toy_rr", "toy_value_nhs", "toy_qaly_loss",
        "value_of_qaly", "toy_absence_days", "toy_cost_per_day",
    ]
    assert len(registry) == 9
    assert "nhs" not in registry  # sectors.csv is not a parameter table

    reach = registry["toy_reach"]
    assert reach.value == 0.5
    assert reach.distribution.name == "beta"
    assert reach.distribution.params == (50.0, 50.0)
    assert reach.is_probability and not reach.is_money
    assert reach.price_year is None
    assert reach.is_assumption and reach.is_uncertain
    assert reach.file.endswith("toy.csv")
    assert reach.row == 2

    cost = registry["toy_cost"]
    assert cost.is_money
    assert cost.price_year == PriceYear(2023, False)
    assert cost.distribution.frozen.mean() == pytest.approx(100.0)
    assert cost.row == 3

    rr = registry["toy_rr"]
    assert math.exp(rr.distribution.params[0]) == pytest.approx(0.8, rel=1e-12)
    assert rr.distribution.frozen.median() == pytest.approx(rr.value, rel=1e-12)

    qaly = registry["value_of_qaly"]
    assert qaly.distribution.name == "fixed"
    assert not qaly.is_uncertain
    assert qaly.location.endswith("toy.csv, row 8")

    frame = registry.to_frame()
    assert list(frame.columns) == [*COLUMNS, "file"]
    assert frame.loc[frame["name"] == "toy_cost", "price_year"].item() == "2023"


def test_require_suggests_the_closest_name(tmp_path):
    registry = ParameterRegistry.from_dir(TOY / "parameters")
    assert registry.require("toy_cost").name == "toy_cost"
    with pytest.raises(InputError) as info:
        registry.require("toy_cots", file="spec.toml", where="costs[0].per_participant")
    text = str(info.value)
    assert text.startswith("spec.toml: costs[0].per_participant: unknown parameter 'toy_cots'")
    assert "did you mean 'toy_cost'?" in text


# ------------------------------------------------------------------------------------------------
# Bad rows (the bad row is the second data row, i.e. spreadsheet row 3)
# ------------------------------------------------------------------------------------------------

BAD_ROWS = [
    pytest.param(
        "toy_x,0.8,lognormla,0,0.1,,,ratio,,Assumption: x,",
        "column 'distribution'", ["unknown distribution 'lognormla'", "did you mean 'lognormal'?"],
        id="unknown-distribution",
    ),
    pytest.param(
        "toy_x,-0.1,fixed,,,,,probability per year,,Assumption: x,",
        "column 'value'", ["'toy_x' is a probability but its value -0.1 is outside [0, 1]"],
        id="probability-negative",
    ),
    pytest.param(
        "toy_x,1.2,fixed,,,,,share of pupils,,Assumption: x,",
        "column 'value'", ["'toy_x' is a probability but its value 1.2 is outside [0, 1]"],
        id="probability-above-one",
    ),
    pytest.param(
        "toy_x,0.5,normal,0.5,0.1,,,proportion,,Assumption: x,",
        "column 'distribution'",
        ["'toy_x' is a probability but its normal distribution reaches outside [0, 1]", "use beta"],
        id="probability-with-normal",
    ),
    pytest.param(
        "toy_x,3,uniform,5,1,,,days,,Assumption: x,",
        "columns p1..p2", ["low (5) must be below high (1)"],
        id="uniform-low-above-high",
    ),
    pytest.param(
        "toy_x,3,triangular,4,2,1,,days,,Assumption: x,",
        "columns p1..p3", ["low (4) must be below high (1)"],
        id="triangular-low-above-high",
    ),
    pytest.param(
        "toy_x,3,fixed,,,,,days,,,",
        "column 'source'", ["'toy_x' has no source", "Assumption: ..."],
        id="missing-source",
    ),
    pytest.param(
        "toy_x,  ,fixed,,,,,days,,Assumption: x,",
        "column 'value'", ["'toy_x' has no value"],
        id="blank-value",
    ),
    pytest.param(
        "toy_x,n/a,fixed,,,,,days,,Assumption: x,",
        "column 'value'", ["'n/a' is not a number"],
        id="text-in-value",
    ),
    pytest.param(
        "toy_x,2,gamma,abc,1,,,days,,Assumption: x,",
        "column 'p1'", ["'abc' is not a number"],
        id="text-in-p1",
    ),
    pytest.param(
        "toy_x,2,gamma,2,nan,,,days,,Assumption: x,",
        "column 'p2'", ["'nan' is not a number"],
        id="nan-in-p2",
    ),
    pytest.param(
        "toy_x,0.3,beta,3,7,1,,probability,,Assumption: x,",
        "column 'p3'", ["'beta' takes 2 numbers; p3 should be blank"],
        id="p3-for-two-parameter-distribution",
    ),
    pytest.param(
        "toy_x,2,fixed,,,,9,days,,Assumption: x,",
        "column 'p4'", ["'fixed' takes 0 numbers; p4 should be blank"],
        id="p4-for-fixed",
    ),
    pytest.param(
        "toy_x,2,gamma,2,,,,days,,Assumption: x,",
        "column 'p2'", ["'gamma' needs p2 (scale)"],
        id="missing-p2",
    ),
    pytest.param(
        "toy_x,-1,gamma,2,1,,,days,,Assumption: x,",
        "column 'value'", ["value -1 lies outside its gamma distribution's range (0 to inf)"],
        id="value-outside-support",
    ),
    pytest.param(
        "toy_x,12,uniform,1,10,,,days,,Assumption: x,",
        "column 'value'", ["value 12 lies outside its uniform distribution's range (1 to 10)"],
        id="value-above-uniform",
    ),
    pytest.param(
        "toy_x,2,normal,2,0,,,days,,Assumption: x,",
        "columns p1..p2", ["SD (p2) must be positive"],
        id="zero-sd",
    ),
    pytest.param(
        "toy_x,100,gamma,100,1,,,GBP per participant,,Assumption: x,",
        "column 'price_year'", ["'toy_x' is money (GBP per participant) but has no price year"],
        id="money-without-price-year",
    ),
    pytest.param(
        "toy_x,100,fixed,,,,,GBP per case,2022/24,Assumption: x,",
        "column 'price_year'", ["'2022/24' is not a price year"],
        id="bad-price-year",
    ),
    pytest.param(
        "toy_x,100,fixed,,,,,GBP per case,last year,Assumption: x,",
        "column 'price_year'", ["'last year' is not a price year"],
        id="price-year-text",
    ),
    pytest.param(
        "Bad Name,1,fixed,,,,,days,,Assumption: x,",
        "column 'name'", ["'Bad Name' is not a valid parameter name", "lower_snake_case"],
        id="invalid-name",
    ),
    pytest.param(
        "2nd_value,1,fixed,,,,,days,,Assumption: x,",
        "column 'name'", ["'2nd_value' is not a valid parameter name"],
        id="name-starting-with-digit",
    ),
    pytest.param(
        ",1,fixed,,,,,days,,Assumption: x,",
        "column 'name'", ["parameter name is empty"],
        id="empty-name",
    ),
    pytest.param(
        "toy_x,1,fixed,,,,,,,Assumption: x,",
        "column 'unit'", ["'toy_x' has no unit"],
        id="missing-unit",
    ),
]


@pytest.mark.parametrize("bad_row, column, wording", BAD_ROWS)
def test_bad_row(tmp_path, bad_row, column, wording):
    path = write_table(tmp_path, [HEADER, GOOD_ROW, bad_row])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    error = info.value
    text = str(error)
    assert error.file == str(path)
    assert text.startswith(f"{path}: row 3, {column}: ")
    for piece in wording:
        assert piece in text


def test_first_data_row_is_row_2(tmp_path):
    path = write_table(tmp_path, [HEADER, "toy_x,n/a,fixed,,,,,days,,Assumption: x,", GOOD_ROW])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: row 2, column 'value': 'n/a' is not a number" + NUMBER_HINT


def test_bad_row_through_the_registry_names_the_file(tmp_path):
    directory = tmp_path / "parameters"
    shutil.copytree(TOY / "parameters", directory)
    lines = (directory / "toy.csv").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace("lognormal", "lognormla")  # toy_rr, row 5
    (directory / "toy.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        ParameterRegistry.from_dir(directory)
    text = str(info.value)
    assert text.startswith(f"{directory / 'toy.csv'}: row 5, column 'distribution': ")
    assert "did you mean 'lognormal'?" in text


def test_duplicate_names_across_two_files(tmp_path):
    directory = tmp_path / "parameters"
    directory.mkdir()
    first = write_table(directory, [HEADER, GOOD_ROW, "shared_name,1,fixed,,,,,days,,Assumption: a,"],
                        name="a_first.csv")
    second = write_table(directory, [HEADER, "shared_name,2,fixed,,,,,days,,Assumption: b,"],
                         name="b_second.csv")
    with pytest.raises(InputError) as info:
        ParameterRegistry.from_dir(directory)
    text = str(info.value)
    assert "duplicate parameter name 'shared_name'" in text
    assert text.startswith(f"{second}: row 2, column 'name': ")
    assert f"first defined in {first}, row 3" in text


def test_duplicate_names_in_one_file(tmp_path):
    path = write_table(tmp_path, [HEADER, GOOD_ROW, GOOD_ROW.replace(",1,", ",2,")])
    with pytest.raises(InputError) as info:
        ParameterRegistry.from_files([path])
    text = str(info.value)
    assert text.startswith(f"{path}: row 3, column 'name': duplicate parameter name 'ok_first'")
    assert f"first defined in {path}, row 2" in text


# ------------------------------------------------------------------------------------------------
# Whole-file problems
# ------------------------------------------------------------------------------------------------


def test_missing_column_with_did_you_mean(tmp_path):
    header = HEADER.replace("distribution", "distrbution")
    path = write_table(tmp_path, [header, GOOD_ROW])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    text = str(info.value)
    assert text.startswith(f"{path}: header (row 1): missing column(s) ['distribution']")
    assert "did you mean 'distrbution'?" in text


def test_missing_column_without_a_near_name_lists_the_columns(tmp_path):
    header = HEADER.replace(",source", "")
    path = write_table(tmp_path, [header, "ok_first,1,fixed,,,,,days,,"])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    text = str(info.value)
    assert text.startswith(f"{path}: header (row 1): missing column(s) ['source']")
    assert "expected columns" in text


def test_unexpected_column(tmp_path):
    path = write_table(tmp_path, [HEADER + ",comment", GOOD_ROW + ",hello"])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value).startswith(f"{path}: header (row 1): unexpected column 'comment'")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: the table is empty"


def test_header_only(tmp_path):
    path = write_table(tmp_path, [HEADER])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: the table has no parameter rows"


def test_header_and_blank_lines_only(tmp_path):
    path = write_table(tmp_path, [HEADER, "", ",,,,,,,,,,", ""])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: the table has no parameter rows"


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        read_parameter_csv(tmp_path / "nothing.csv")
    assert str(info.value) == f"{tmp_path / 'nothing.csv'}: file not found"


def test_folder_without_tables(tmp_path):
    shutil.copy(TOY / "parameters" / "sectors.csv", tmp_path / "sectors.csv")
    with pytest.raises(InputError) as info:
        ParameterRegistry.from_dir(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: no parameter tables")
    with pytest.raises(InputError, match="parameter folder not found"):
        ParameterRegistry.from_dir(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------
# Tolerated layout quirks
# ------------------------------------------------------------------------------------------------


def test_blank_lines_are_tolerated(tmp_path):
    path = write_table(tmp_path, [
        HEADER, "", GOOD_ROW, "", "", "ok_second,0.3,beta,3,7,,,probability,,Assumption: x,", "",
    ])
    params = read_parameter_csv(path)
    assert [p.name for p in params] == ["ok_first", "ok_second"]
    assert params[1].distribution.frozen.mean() == pytest.approx(0.3)


def test_row_numbers_count_blank_lines(tmp_path):
    """A blank line is a row in the spreadsheet, so the rows after it keep their spreadsheet numbers."""
    path = write_table(tmp_path, [
        HEADER,                                      # row 1
        GOOD_ROW,                                    # row 2
        "",                                          # row 3
        "toy_x,n/a,fixed,,,,,days,,Assumption: x,",  # row 4
    ])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: row 4, column 'value': 'n/a' is not a number" + NUMBER_HINT


def test_trailing_empty_unnamed_column_is_tolerated(tmp_path):
    # as a spreadsheet exports it: an empty last column with no heading, header included
    path = write_table(tmp_path, [
        HEADER + ",",
        GOOD_ROW + ",",
        "ok_second,2,fixed,,,,,days,,Assumption: x,some notes,",
    ])
    params = read_parameter_csv(path)
    assert [(p.name, p.value, p.notes, p.row) for p in params] == [
        ("ok_first", 1.0, "", 2), ("ok_second", 2.0, "some notes", 3),
    ]


def test_trailing_empty_field_on_data_rows_only_is_tolerated(tmp_path):
    # the header has no trailing comma but every data row does
    path = write_table(tmp_path, [
        HEADER,
        "ok_first,1,fixed,,,,,days,,Assumption: x,notes,",
        "ok_second,2,fixed,,,,,days,,Assumption: x,notes,",
    ])
    params = read_parameter_csv(path)
    assert [(p.name, p.value, p.notes) for p in params] == [
        ("ok_first", 1.0, "notes"), ("ok_second", 2.0, "notes"),
    ]


def test_unnamed_column_with_values_is_an_error(tmp_path):
    padding = "," * (len(COLUMNS) - GOOD_ROW.count(",") - 1)  # up to the last heading
    path = write_table(tmp_path, [HEADER + ",", GOOD_ROW + padding + ",stray"])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value) == f"{path}: row 2: a value lies beyond the last heading ('{COLUMNS[-1]}')"


def test_grade_is_optional_and_checked(tmp_path):
    assert read_parameter_csv(write_table(tmp_path, [HEADER, GOOD_ROW]))[0].grade == ""
    graded = GOOD_ROW + "," * (COLUMNS.index("grade") - GOOD_ROW.count(",") - 1) + ",RCT"
    assert read_parameter_csv(write_table(tmp_path, [HEADER, graded], name="g.csv"))[0].grade == "rct"
    path = write_table(tmp_path, [HEADER, graded.replace(",RCT", ",rtc")], name="bad.csv")
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert "column 'grade': unknown evidence grade 'rtc' (did you mean 'rct'?)" in str(info.value)


def test_optional_p4_and_notes_columns_and_padding(tmp_path):
    header = "name,value,distribution,p1,p2,p3,unit,price_year,source"
    path = write_table(tmp_path, [
        header,
        '  padded_name ," 1000 ", Fixed ,,,,GBP per case, 2022/23 , Assumption: x ',
    ])
    (param,) = read_parameter_csv(path)
    assert param.name == "padded_name"
    assert param.value == 1000.0
    assert param.distribution.name == "fixed"
    assert param.price_year == PriceYear(2022, True)
    assert param.source == "Assumption: x"
    assert param.notes == ""


@pytest.mark.parametrize("typed, hint", [("1,000", "write 1000 or 1.000, not 1,000"),
                                         ("392,1", "write 392.1, not 392,1"),
                                         ("1_000", "write 1000, not 1_000")])
def test_separators_in_numbers_are_refused_not_guessed(tmp_path, typed, hint):
    path = write_table(tmp_path, [HEADER, f'x,"{typed}",fixed,,,,,count,,Assumption: x,'])
    with pytest.raises(InputError) as info:
        read_parameter_csv(path)
    assert str(info.value).startswith(f"{path}: row 2, column 'value': '{typed}' is not a number")
    assert hint in str(info.value)


@pytest.mark.parametrize("label, expected", [("2022", PriceYear(2022, False)),
                                             ("2022-23", PriceYear(2022, True))])
def test_price_year_forms(tmp_path, label, expected):
    path = write_table(tmp_path, [HEADER, f"money_x,5,fixed,,,,,GBP,{label},Assumption: x,"])
    (param,) = read_parameter_csv(path)
    assert param.price_year == expected


def test_probability_distribution_within_unit_interval_is_accepted(tmp_path):
    path = write_table(tmp_path, [
        HEADER,
        "p_a,0.2,pert,0.1,0.2,0.5,,probability,,Assumption: x,",
        "p_b,0.5,uniform,0,1,,,Share of people,,Assumption: x,",
        "p_c,0.4,truncnormal,0.4,0.2,0,1,proportion,,Assumption: x,",
    ])
    assert [p.name for p in read_parameter_csv(path)] == ["p_a", "p_b", "p_c"]
