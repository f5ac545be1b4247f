"""The one exception type for problems in a user's input.

Every user-facing problem (a bad parameter row, a misspelt sector, an unknown area, a price year outside
the deflator table) is raised as :class:`InputError`. It carries *where* the problem is (file, row or
sheet/cell, key) and *what* is wrong, and renders as one readable line. The CLI prints that line and
exits with code 2; it never shows a traceback for an ``InputError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class InputError(ValueError):
    """A problem in user input, located precisely.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence, e.g. ``"'educaton' is not a sector"``.
    file : str or Path, optional
        The file the problem is in.
    where : str, optional
        The place inside the file: ``"row 14, column 'value'"``, ``"Parameters!C14"``,
        ``"[[costs]][0].payer"``.
    hint : str, optional
        What to do about it, e.g. ``"did you mean 'education'?"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """One line: ``file: where: message (hint)``."""
        location = ": ".join(part for part in (self.file, self.where) if part)
        text = f"{location}: {self.message}" if location else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        # One line, always: a newline or control character echoed from the input is shown escaped.
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def closest(name: str, candidates: Iterable[str], *, n: int = 1) -> list[str]:
    """The candidates closest to ``name`` by difflib ratio (case-insensitive), best first."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``"did you mean 'x'?"`` hint, or None when nothing is close."""
    hits = closest(name, candidates)
    return f"did you mean '{hits[0]}'?" if hits else None
