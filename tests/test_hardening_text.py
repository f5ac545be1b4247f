"""Strict numbers (inputs/numbers.py) and safe text (text.py)."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from roi_engine.errors import InputError
from roi_engine.inputs.numbers import parse_number, parse_value, require_number
from roi_engine.text import cell_text, check_text, mathtext_escape, write_text_cell


@pytest.mark.parametrize("text, value", [("392.1", 392.1), (" -0.5 ", -0.5), ("1e-3", 1e-3),
                                         ("2.5E+06", 2.5e6), (".5", 0.5), ("7", 7.0), ("+3.", 3.0)])
def test_plain_numbers_are_read(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text, hint", [
    ("392,1", "write 392.1, not 392,1"),
    ("1,000", "write 1000 or 1.000, not 1,000"),
    ("1,234,567", "write 1234567, not 1,234,567"),
    ("1_000", "write 1000, not 1_000"),
    ("١٢", "use the digits 0-9"),
    ("1 000", "write 1000"),
    ("nan", "plain decimal"),
    ("inf", "plain decimal"),
    ("0x10", "plain decimal"),
    ("", "plain decimal"),
])
def test_anything_else_is_refused_with_a_hint(text, hint):
    with pytest.raises(InputError) as info:
        parse_number(text, file="p.csv", where="row 3, column 'value'")
    message = str(info.value)
    assert message.startswith("p.csv: row 3, column 'value': ")
    assert hint in message
    assert "\n" not in message


def test_overflow_is_refused():
    with pytest.raises(InputError, match="too large"):
        parse_number("1e999")


def test_long_or_invisible_input_is_not_echoed_raw():
    with pytest.raises(InputError) as info:
        parse_number("x" * 5000)
    assert len(str(info.value)) < 200
    with pytest.raises(InputError) as info:
        parse_number("1\u200b2")
    assert "\\u200b" in str(info.value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_repr_round_trips(x):
    assert parse_number(repr(x)) == x


def test_typed_values():
    assert parse_value(3) == 3 and parse_value(2.5) == 2.5 and parse_value("4.5") == 4.5
    assert parse_value(10.0, integer=True) == 10
    for bad in (True, False):
        with pytest.raises(InputError, match="is not a number"):
            parse_value(bad, file="s.toml", where="horizon")
    with pytest.raises(InputError, match="whole number"):
        parse_value(2.5, integer=True)
    with pytest.raises(InputError, match="write 42 without quotes"):
        require_number("42", file="s.toml", where="seed", integer=True)


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_triggers_are_neutralised(text):
    assert cell_text(text) == "'" + text
    wb = Workbook()
    cell = wb.active["A1"]
    write_text_cell(cell, text)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    back = load_workbook(buffer)["Sheet"]["A1"]
    # XML turns a lone CR into a newline; the cell is text either way
    assert back.data_type == "s" and back.value.replace("\n", "\r") == text.replace("\n", "\r")
    assert back.quotePrefix


def test_plain_text_is_unchanged():
    assert cell_text("Knapp et al. 2011, table 3") == "Knapp et al. 2011, table 3"


@pytest.mark.parametrize("char", ["\x0c", "\x0b", "\x1b", "\x00", "\x7f"])
def test_control_characters_are_rejected(char):
    with pytest.raises(InputError) as info:
        check_text(f"notes{char}here", file="p.csv", where="row 2, column 'notes'")
    assert "control character" in str(info.value) and "position 6" in str(info.value)
    assert char not in str(info.value)


def test_newlines_and_tabs_inside_text_are_allowed():
    assert check_text("line one\nline two\tend") == "line one\nline two\tend"


def test_mathtext_escape():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    label = mathtext_escape("costs $x^{2}$ and \\alpha")
    assert label == "costs \\$x^{2}\\$ and \\\\alpha"
    fig, ax = plt.subplots()
    ax.set_title(label)
    fig.canvas.draw()  # would raise ValueError on unescaped broken mathtext
    plt.close(fig)


def test_openpyxl_uses_defusedxml():
    from openpyxl.xml import DEFUSEDXML
    assert DEFUSEDXML
