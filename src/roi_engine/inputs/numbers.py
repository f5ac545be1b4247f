"""The one strict reader for numbers typed by a user (CSV cells, workbook text cells, TOML values).

A number is a plain decimal with a dot, optionally signed, optionally in scientific notation:
``392.1``, ``-0.5``, ``1e-3``, ``2.5E+06``. Everything else is refused with a hint, because the
lenient readers Python offers change meaning silently: ``float("1_000")`` is 1000, a thousands
separator stripped from ``392,1`` gives 3921, ``float("١٢")`` reads Arabic-Indic digits, and a TOML
``true`` or ``"42"`` passes for a number in pydantic's lax mode.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from roi_engine.errors import InputError

# ASCII only: [0-9] rather than \d, which matches every Unicode decimal digit.
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
_MAX_ECHO = 40


def shown(text: str, limit: int = _MAX_ECHO) -> str:
    """``text`` as it may be echoed in a message: quoted, invisible characters as escapes, truncated."""
    if text.isprintable() and len(text) <= limit:
        return f"'{text}'"
    body = repr(text[:limit])
    return body + ("..." if len(text) > limit else "")


def _hint(text: str) -> str | None:
    if _DECIMAL_COMMA.fullmatch(text):
        dot = text.replace(",", ".")
        if len(text.split(",")[1]) == 3:  # 1,000: a thousands separator or a decimal comma
            return f"write {text.replace(',', '')} or {dot}, not {text}: no thousands separators, " \
                   "and the decimal separator is a dot"
        return f"write {dot}, not {text}: the decimal separator is a dot"
    if "," in text and _PLAIN.fullmatch(text.replace(",", "")):
        return f"write {text.replace(',', '')}, not {text}: no thousands separators"
    if "_" in text and _PLAIN.fullmatch(text.replace("_", "")):
        return f"write {text.replace('_', '')}, not {text}: no underscores in numbers"
    if " " in text.strip() and _PLAIN.fullmatch(text.replace(" ", "")):
        return f"write {text.replace(' ', '')}: no spaces inside a number"
    if any(ch.isdigit() and not ("0" <= ch <= "9") for ch in text):
        return "use the digits 0-9"
    return "a plain decimal number with a dot, e.g. 392.1 or 1e-3"


def parse_number(text: str, *, file: str | Path | None = None, where: str | None = None,
                 finite: bool = True) -> float:
    """A user's text as a float, strictly.

    Parameters
    ----------
    text : str
        The cell or value as typed; surrounding whitespace is allowed.
    file, where : optional
        Where the text came from, for the error.
    finite : bool
        Refuse ``inf`` and overflow (``1e999``) too.

    Raises
    ------
    InputError
        Naming ``file`` and ``where``, with a hint such as "write 392.1, not 392,1".
    """
    stripped = text.strip()
    if not _PLAIN.fullmatch(stripped):
        raise InputError(f"{shown(stripped)} is not a number", file=file, where=where, hint=_hint(stripped))
    value = float(stripped)
    if finite and not math.isfinite(value):
        raise InputError(f"{shown(stripped)} is too large a number", file=file, where=where)
    return value


def parse_value(value: Any, *, file: str | Path | None = None, where: str | None = None,
                integer: bool = False) -> float | int:
    """A value read by a typed reader (TOML, openpyxl) as a number, strictly.

    ``int`` and ``float`` pass (a float for ``integer=True`` only when whole); a ``bool`` is refused
    (``True`` is not 1 here); ``str`` goes through :func:`parse_number`, so ``"42"`` in a workbook text
    cell is read but ``"42,5"`` is not. TOML callers that want quoted numbers refused pass the value
    through :func:`require_number` instead.
    """
    if isinstance(value, bool):
        raise InputError(f"{str(value).lower()} is not a number", file=file, where=where,
                         hint="write a number, e.g. 10")
    if isinstance(value, int):
        number: float | int = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value} is not a finite number", file=file, where=where)
        number = value
    elif isinstance(value, str):
        number = parse_number(value, file=file, where=where)
    else:
        raise InputError(f"{shown(str(value))} is not a number", file=file, where=where)
    if integer:
        if float(number) != int(number):
            raise InputError(f"{number} is not a whole number", file=file, where=where)
        return int(number)
    return number


def require_number(value: Any, *, file: str | Path | None = None, where: str | None = None,
                   integer: bool = False) -> float | int:
    """A TOML value that must already be a number: quoted numbers and booleans are refused."""
    if isinstance(value, str):
        hint = (f"write {value.strip()} without quotes" if _PLAIN.fullmatch(value.strip())
                else "write a number without quotes")
        raise InputError(f"{shown(value)} is text, not a number", file=file, where=where, hint=hint)
    return parse_value(value, file=file, where=where, integer=integer)
