"""Safe text: what may be written into a workbook cell and what may reach a matplotlib label.

Base layer (imports only :mod:`roi_engine.errors`). Three jobs:

- :func:`check_text` rejects control characters (form feed, vertical tab, ESC... pasted from Word),
  which openpyxl cannot write (``IllegalCharacterError``) and which make a file unreadable;
- :func:`cell_text` neutralises text a spreadsheet would run as a formula, as the OWASP CSV-injection
  guidance recommends: a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
  apostrophe, and :func:`write_text_cell` sets the cell's data type to string so openpyxl never stores
  a formula;
- :func:`mathtext_escape` escapes ``$`` (and backslashes) so matplotlib shows a label literally
  instead of parsing it as mathtext.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from roi_engine.errors import InputError

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# C0 controls other than tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_text(text: str, *, file: str | Path | None = None, where: str | None = None) -> str:
    """``text`` unchanged, or an InputError naming the first control character and its position."""
    found = _CONTROL.search(text)
    if found:
        char = found.group()
        name = unicodedata.name(char, f"U+{ord(char):04X}")
        raise InputError(f"the text contains a control character ({name}, {char!r}) at position "
                         f"{found.start() + 1}", file=file, where=where,
                         hint="delete it (it often comes from pasting from a word processor)")
    return text


def cell_text(text: str, *, file: str | Path | None = None, where: str | None = None) -> str:
    """Text safe to write into a workbook cell: control characters refused, formulas neutralised."""
    check_text(text, file=file, where=where)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def write_text_cell(cell: Any, text: str, *, file: str | Path | None = None,
                    where: str | None = None) -> None:
    """Set an openpyxl ``cell`` to ``text`` as a string, never a formula.

    The cell keeps the text exactly (so a round trip reads back what was written) and is stored as a
    string (``data_type = "s"``); text that starts like a formula also gets Excel's quote prefix, the
    workbook form of the leading apostrophe, so editing the cell in Excel does not turn it into one.
    """
    check_text(text, file=file, where=where)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def mathtext_escape(text: str) -> str:
    r"""A label matplotlib prints literally: ``\`` and ``$`` escaped (mathtext parses ``$...$``)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")
