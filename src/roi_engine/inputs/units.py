"""The controlled unit vocabulary: how a parameter's unit declares money or a probability.

A unit is free text (``GBP per participant``, ``share of eligible people``, ``QALY per case``), but two
kinds of unit change what the engine does with the number, so they are declared by an exact first word:

- money: the first word is exactly ``GBP`` (``GBP``, ``GBP per QALY``); the value is converted from its
  ``price_year`` to the scenario's prices;
- a probability: the first word is ``probability``, ``share`` or ``proportion``, in lower case or with a
  capital first letter only (``Share of people``); the value and its distribution must lie in [0, 1].

A unit that looks like money or a probability but is written another way (``gbp per QALY``, ``£ per
case``, ``GBP/QALY``, ``pounds``, ``Probability per year``, ``percent``, ``%``) is refused with the
accepted form, because it would otherwise be read silently as neither: a price year ignored, a share
of 25 accepted as a count.
"""

from __future__ import annotations

import re

from roi_engine.inputs.numbers import shown

MONEY_WORD = "GBP"
PROBABILITY_WORDS = ("probability", "share", "proportion")
_MONEY_LOOKALIKES = {"gbp", "£", "pound", "pounds", "sterling", "stg", "gbp£"}
_PROBABILITY_LOOKALIKES = {"probabilities": "probability", "prob": "probability", "prob.": "probability",
                           "shares": "share", "proportions": "proportion"}
_PERCENT = re.compile(r"%|\bper ?cent(?:age)?s?\b|\bpct\b", re.IGNORECASE)


def _first_word(unit: str) -> str:
    return unit.split()[0] if unit.split() else ""


def is_money_unit(unit: str) -> bool:
    """Whether ``unit`` declares money (first word exactly ``GBP``)."""
    return _first_word(unit) == MONEY_WORD


def is_probability_unit(unit: str) -> bool:
    """Whether ``unit`` declares a probability (first word exactly ``probability``, ``share`` or
    ``proportion``)."""
    first = _first_word(unit)
    return first in PROBABILITY_WORDS or (first[1:].islower() and first.lower() in PROBABILITY_WORDS
                                          and first[0].isupper())


def unit_problem(unit: str) -> tuple[str, str] | None:
    """``(message, hint)`` when ``unit`` looks like money or a probability but is not written the
    accepted way; ``None`` when it is acceptable (money, a probability, or any other unit)."""
    first = _first_word(unit)
    if first == MONEY_WORD or is_probability_unit(unit):
        return None
    rest = unit[unit.find(first) + len(first):].strip() if first else ""
    head = re.split(r"[/\s(]", first, maxsplit=1)[0]
    lowered = first.lower()
    if "£" in unit or lowered.startswith("gbp") or head.lower() in _MONEY_LOOKALIKES:
        if head.upper() == MONEY_WORD and "/" in first:
            tail = (first.split("/", 1)[1] + " " + rest).strip()
            form = f"GBP per {tail}"
        else:
            tail = rest or (first[len(head):].lstrip("/ ") if head else "")
            tail = tail.replace("£", "").strip()
            form = f"GBP {tail}" if tail else "GBP"
            form = form.replace("GBP /", "GBP per ").replace("  ", " ")
        return (f"unit {shown(unit, 80)} looks like money but is not written the accepted way, so its price "
                "year would be ignored",
                f"write '{form}': a money unit starts with the word 'GBP' (capitals), then a space")
    if _PERCENT.search(unit):
        return (f"unit {shown(unit, 80)} is a percentage: the engine reads probabilities and shares "
                "from 0 to 1",
                "write the value as a share (25% is 0.25) and the unit as 'share of ...' or "
                "'probability per ...'")
    if lowered in PROBABILITY_WORDS:
        return (f"unit {shown(unit, 80)} looks like a probability but is not written the accepted way",
                f"write '{lowered}{' ' + rest if rest else ''}': a probability unit starts with "
                "'probability', 'share' or 'proportion' in lower case")
    if lowered in _PROBABILITY_LOOKALIKES:
        word = _PROBABILITY_LOOKALIKES[lowered]
        return (f"unit {shown(unit, 80)} looks like a probability but is not written the accepted way",
                f"write '{word}{' ' + rest if rest else ''}': a probability unit starts with "
                "'probability', 'share' or 'proportion' in lower case")
    return None
