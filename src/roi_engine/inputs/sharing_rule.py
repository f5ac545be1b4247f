"""A cost-sharing rule as the user states it: which rule, who contributes, agreed shares.

The rules are defined and computed in :mod:`roi_engine.analyses.sharing`; this module holds only the
validated statement of the choice, so that scenarios can carry it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.numbers import parse_number, shown
from roi_engine.inputs.sectors import SectorTable

RULES: dict[str, str] = {
    "as_modelled": "costs fall where the cost lines put them",
    "benefit_proportional": "contributors pay the total cost in proportion to their cash-releasing "
                            "benefits (the same cash-releasing return per £1 for each)",
    "break_even": "each contributor pays its cash-releasing benefit (floored at £0): the most it "
                  "could pay and still break even over the horizon",
    "agreed": "contributors pay agreed shares of the total cost",
}
"""The sharing rules and what each means, in words."""

SHARE_TOLERANCE = 1e-6
"""Agreed shares must sum to 1 within this (absolute); they are then rescaled to sum to exactly 1."""

TOTAL = "total"
"""Label of the table's total row."""


@dataclass(frozen=True, eq=True)
class SharingRule:
    """How the total cost is shared among partners.

    Parameters
    ----------
    rule : {'as_modelled', 'benefit_proportional', 'break_even', 'agreed'}
    contributors : sequence of str, optional
        Sectors that pay. Default: those with ``default_contributor = yes`` in ``sectors.csv``.
        Not used by ``as_modelled`` (giving them is an error: costs fall where the cost lines put them).
    shares : mapping of sector to share, optional
        For ``agreed`` only (and required there): shares of the total cost, over contributors only,
        each in [0, 1], summing to 1.

    Structural problems raise :class:`InputError` at once; sector names are checked against the
    run's sectors by :meth:`resolve` (with a did-you-mean hint for a misspelt one).
    """

    rule: str = "as_modelled"
    contributors: tuple[str, ...] | None = None
    shares: Mapping[str, float] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"'{self.rule}' is not a cost-sharing rule", where="rule",
                             hint=did_you_mean(self.rule, RULES) or f"one of {list(RULES)}")
        if self.contributors is not None:
            given = (self.contributors,) if isinstance(self.contributors, str) else self.contributors
            contributors = tuple(str(c).strip() for c in given)
            object.__setattr__(self, "contributors", contributors)
            if self.rule == "as_modelled":
                raise InputError("the 'as_modelled' rule takes no contributors", where="contributors",
                                 hint="costs fall where the cost lines put them; choose another rule "
                                      "to share them")
            if not contributors:
                raise InputError("no contributors named", where="contributors",
                                 hint="name at least one sector, or leave contributors out for the "
                                      "default (public bodies and employers)")
            repeated = sorted({c for c in contributors if contributors.count(c) > 1})
            if repeated:
                raise InputError(f"contributor(s) {repeated} listed twice", where="contributors")
        if self.rule != "agreed":
            if self.shares is not None:
                raise InputError(f"shares are given but the rule is '{self.rule}'", where="shares",
                                 hint="shares apply to the 'agreed' rule only")
            return
        if not self.shares:
            raise InputError("the 'agreed' rule needs shares", where="shares",
                             hint="e.g. nhs=0.5, local_authority=0.3, employers=0.2")
        shares = {}
        for name, value in dict(self.shares).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"share '{value}' for '{name}' is not a number",
                                 where=f"shares.{name}") from None
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise InputError(f"share {value} for '{name}' is not between 0 and 1",
                                 where=f"shares.{name}")
            shares[str(name).strip()] = value
        total = math.fsum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise InputError(f"agreed shares sum to {total:.6g}, not 1", where="shares",
                             hint=", ".join(f"{k}={v:g}" for k, v in shares.items()))
        object.__setattr__(self, "shares", shares)

    @property
    def description(self) -> str:
        return RULES[self.rule]

    def resolve(self, sectors: Sequence[str],
                default_contributors: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Contributor mask and share vector over ``sectors`` (in that order).

        Parameters
        ----------
        sectors : sequence of str
            The run's sectors, in axis order.
        default_contributors : iterable of str, optional
            Used when :attr:`contributors` is not given (and the rule needs contributors).

        Returns
        -------
        contributors : ndarray of bool, shape (S,)
            All False for ``as_modelled`` (it does not use them).
        shares : ndarray, shape (S,), or None
            ``agreed`` only: shares rescaled to sum to exactly 1, 0 for sectors without a share.
        """
        sectors = tuple(sectors)
        mask = np.zeros(len(sectors), dtype=bool)
        if self.rule == "as_modelled":
            return mask, None
        names = self.contributors
        where = "contributors"
        if names is None:
            if default_contributors is None:
                raise InputError("the default contributors come from the sector table, which was "
                                 "not given", where="contributors",
                                 hint="name the contributors, or pass sectors=scenario.sectors")
            names = tuple(default_contributors)
            where = "default contributors (sectors.csv)"
            if not names:
                raise InputError("no sector is marked default_contributor = yes", where=where,
                                 hint="name the contributors")
        for name in names:
            if name not in sectors:
                raise InputError(f"'{name}' is not a sector", where=where,
                                 hint=did_you_mean(name, sectors) or f"one of {list(sectors)}")
            mask[sectors.index(name)] = True
        if self.rule != "agreed":
            return mask, None
        shares = np.zeros(len(sectors))
        for name, value in self.shares.items():
            if name not in sectors:
                raise InputError(f"'{name}' is not a sector", where=f"shares.{name}",
                                 hint=did_you_mean(name, sectors) or f"one of {list(sectors)}")
            if not mask[sectors.index(name)]:
                contributors = [s for s, m in zip(sectors, mask, strict=True) if m]
                raise InputError(f"'{name}' has a share but is not a contributor", where=f"shares.{name}",
                                 hint=f"contributors are {contributors}; add '{name}' to them to give "
                                      "it a share")
            shares[sectors.index(name)] = value
        return mask, shares / shares.sum()


def parse_shares(text: str) -> dict[str, float]:
    """``"nhs=0.5, local_authority=0.3, employers=0.2"`` -> dict (for a command line option).

    Percentages are accepted (``nhs=50%``). Raises InputError on a malformed item.
    """
    shares: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise InputError(f"'{item}' is not sector=share", where="shares",
                             hint="e.g. nhs=0.5,local_authority=0.5")
        scale = 1.0
        if value.endswith("%"):
            value, scale = value[:-1].strip(), 0.01
        try:  # strictly, as every number a user types ('0,5' and '1_0' are errors)
            number = parse_number(value) * scale
        except InputError as exc:
            raise InputError(f"share {shown(value)} for '{name}' is not a number", where="shares",
                             hint=exc.hint) from None
        if name in shares:
            raise InputError(f"'{name}' has two shares", where="shares")
        shares[name] = number
    return shares


def default_contributors(sectors: SectorTable) -> tuple[str, ...]:
    """Sectors marked ``default_contributor = yes`` (public bodies and employers), in table order."""
    return tuple(s.name for s in sectors.sectors if s.default_contributor)
