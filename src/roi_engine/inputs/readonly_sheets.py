"""Fingerprints of a parameter workbook's read-only sheets, and the check for sheets it does not define.

:func:`roi_engine.inputs.excel.export_workbook` records, in its hidden manifest sheet, a fingerprint of
each row of the ``sectors`` sheet and one of the ``README`` sheet. Reading the workbook back recomputes
them from the cells: an edited sector (who is a public body, who pays by default, its label) would change
the results, so it is an error naming the row; an edited README changes nothing and gets a one-line
warning. A sheet the workbook does not define (``toy (2)``, a copy made in Excel, or a sheet of notes)
is an error naming it, because edits there would be silently ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from roi_engine.errors import did_you_mean

_COPY_SUFFIX = re.compile(r"^(?P<base>.+?)\s*(?:\(\d+\)|-\s*copy|\s+copy(?:\s+\d+)?)$", re.IGNORECASE)


def _digest(parts: Iterable[str]) -> str:
    text = "\x1f".join(" ".join(part.split()) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def sector_fingerprint(label: str, public_body: str, default_contributor: str, description: str) -> str:
    """A short fingerprint of one sector row's cells (whitespace-normalised, yes/no in lower case)."""
    return _digest((label, public_body.lower(), default_contributor.lower(), description))


def sheet_fingerprint(cells: Iterable[tuple[int, int, str]]) -> str:
    """A short fingerprint of a sheet's non-blank cells ``(row, column, text)``."""
    return _digest(f"{row},{col}={text}" for row, col, text in sorted(cells) if text.strip())


def copy_of(sheet: str, defined: Sequence[str]) -> str | None:
    """The defined sheet that ``sheet`` looks like a copy of (``toy (2)`` -> ``toy``), if any."""
    match = _COPY_SUFFIX.match(sheet)
    if match and match.group("base") in defined:
        return match.group("base")
    return None


def extra_sheet_hint(sheet: str, defined: Sequence[str]) -> str:
    """What to do about a sheet the workbook does not define."""
    original = copy_of(sheet, defined)
    if original:
        return (f"it looks like a copy of '{original}', and edits there would be ignored: make them in "
                f"'{original}' and delete '{sheet}'")
    near = did_you_mean(sheet, defined)
    return ((near + " " if near else "")
            + "delete the sheet (or keep your notes in another workbook): only the exported sheets are "
              "read, so edits there would be ignored")
