"""Resident population of English local areas by single year of age (ONS mid-2022).

The data ship with the package as ``data/ons_mid2022_la_population_by_age.csv.gz`` (see the README
beside it for provenance and licence). Every area (local authority, metropolitan county, region and
England) has persons by single year of age 0..90, where 90 means "90 and over".

Areas are looked up by ONS GSS code or by name (:func:`find_area`), and populations come back as
``(91,)`` float64 arrays of persons indexed by age (:func:`population_by_age`), or summed over an
inclusive age band (:func:`population_in_band`). The long table is read once; the per-area arrays
are built once, as one ``(n_areas, 91)`` matrix.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd

from roi_engine.errors import InputError, closest
from roi_engine.inputs.boundaries import retired_code

__all__ = [
    "AGES",
    "MAX_AGE",
    "POPULATION_SOURCE",
    "Area",
    "age_mask",
    "find_area",
    "list_areas",
    "load_population",
    "population_by_age",
    "population_in_band",
    "search_areas",
]

DATA_FILE = "ons_mid2022_la_population_by_age.csv.gz"
"""Name of the packaged population table inside ``roi_engine/data``."""

MAX_AGE = 90
"""The oldest single-year age; it stands for "90 and over"."""

AGES: np.ndarray = np.arange(MAX_AGE + 1)
"""Ages in years, int, shape ``(91,)``: 0, 1, ..., 89, 90 (90 means "90 and over"). Read-only."""
AGES.flags.writeable = False

POPULATION_SOURCE = (
    "ONS mid-year population estimates, mid-2022 (release MYE22UK, published 26 March 2024; "
    "local authorities on April 2023 boundaries), persons by single year of age. "
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0."
)
"""One-line attribution, with edition and licence, for printing in reports."""

_LOWER_TIERS = frozenset({"LTLA", "LTLA+UTLA"})
_UPPER_TIERS = frozenset({"UTLA", "LTLA+UTLA"})
_KIND_BY_TIER = {
    "LTLA": "lower-tier authority",
    "UTLA": "upper-tier authority",
    "LTLA+UTLA": "single-tier authority",
    "metropolitan county (aggregate)": "metropolitan county",
    "region": "region",
    "country": "country",
}
_TIER_FILTERS = ("lower", "upper", "region", "country")
_GSS_CODE = re.compile(r"^[A-Z]\d{8}$")


@dataclass(frozen=True)
class Area:
    """One area of the population table.

    Attributes
    ----------
    code : str
        ONS 9-character GSS code, e.g. ``"E08000025"``.
    name : str
        Name as ONS gives it, e.g. ``"Birmingham"`` (regions and ``"ENGLAND"`` in upper case).
    geography : str
        ONS geography label, e.g. ``"Metropolitan District"``.
    tier : str
        ``"LTLA"``, ``"UTLA"``, ``"LTLA+UTLA"``, ``"metropolitan county (aggregate)"``,
        ``"region"`` or ``"country"``.
    utla_code : str or None
        GSS code of the upper-tier authority containing the area (the area itself for single-tier
        authorities and counties); None for metropolitan counties, regions and England.
    region_code : str or None
        GSS code of the containing region; None for regions and England.
    """

    code: str
    name: str
    geography: str
    tier: str
    utla_code: str | None
    region_code: str | None

    @property
    def is_lower_tier(self) -> bool:
        """True for lower-tier authorities: districts and single-tier authorities."""
        return self.tier in _LOWER_TIERS

    @property
    def is_upper_tier(self) -> bool:
        """True for upper-tier authorities: counties and single-tier authorities."""
        return self.tier in _UPPER_TIERS

    @property
    def kind(self) -> str:
        """Human label, e.g. ``"single-tier authority"`` or ``"region"``."""
        return _KIND_BY_TIER.get(self.tier, self.tier)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


@lru_cache(maxsize=1)
def load_population() -> pd.DataFrame:
    """The packaged population table, in long form, exactly as shipped.

    Returns
    -------
    pandas.DataFrame
        One row per area and age (333 areas x 91 ages = 30,303 rows) with columns ``area_code``,
        ``area_name``, ``geography``, ``tier``, ``utla_code``, ``region_code`` (missing as NA),
        ``year`` (2022), ``age`` (years, 0..90, 90 = "90 and over") and ``population`` (persons,
        int64). The result is cached and shared: treat it as read-only.
    """
    resource = files("roi_engine") / "data" / DATA_FILE
    with resource.open("rb") as handle:
        return pd.read_csv(
            handle,
            compression="gzip",
            dtype={
                "area_code": "string",
                "area_name": "string",
                "geography": "string",
                "tier": "string",
                "utla_code": "string",
                "region_code": "string",
                "year": "int64",
                "age": "int64",
                "population": "int64",
            },
            keep_default_na=False,
            na_values={"utla_code": [""], "region_code": [""]},
        )


def _optional(value: object) -> str | None:
    """A table cell as ``str``, or None when missing."""
    return None if pd.isna(value) else str(value)


@lru_cache(maxsize=1)
def _areas() -> tuple[Area, ...]:
    """All areas in table order (England, then each region followed by its areas)."""
    columns = ["area_code", "area_name", "geography", "tier", "utla_code", "region_code"]
    first = load_population().drop_duplicates("area_code")[columns]
    return tuple(
        Area(str(code), str(name), str(geo), str(tier), _optional(utla), _optional(region))
        for code, name, geo, tier, utla, region in first.itertuples(index=False)
    )


def _normalise_name(text: str) -> str:
    """Case-folded name with ``&`` read as ``and`` and runs of whitespace collapsed."""
    return " ".join(text.casefold().replace("&", " and ").split())


@lru_cache(maxsize=1)
def _row_by_code() -> dict[str, int]:
    """GSS code -> row of :func:`_matrix`."""
    return {area.code: i for i, area in enumerate(_areas())}


@lru_cache(maxsize=1)
def _area_by_name() -> dict[str, Area]:
    """Normalised name (see :func:`_normalise_name`) -> area."""
    return {_normalise_name(area.name): area for area in _areas()}


@lru_cache(maxsize=1)
def _matrix() -> np.ndarray:
    """Persons by area and age, float64, shape ``(n_areas, 91)``, rows in :func:`_areas` order."""
    wide = load_population().pivot(index="area_code", columns="age", values="population")
    wide = wide.reindex(index=[a.code for a in _areas()], columns=AGES)
    if wide.isna().to_numpy().any():
        raise RuntimeError(f"packaged {DATA_FILE} lacks some area/age rows")
    matrix = wide.to_numpy(dtype=np.float64)
    matrix.flags.writeable = False
    return matrix


def list_areas(tier: str | None = None) -> list[Area]:
    """Areas in table order, optionally filtered by tier.

    Parameters
    ----------
    tier : {None, "lower", "upper", "region", "country"}
        None for all 333 areas; ``"lower"`` for the 296 lower-tier authorities (districts and
        single-tier authorities); ``"upper"`` for the 153 upper-tier authorities (counties and
        single-tier authorities); ``"region"`` for the 9 regions; ``"country"`` for England.

    Returns
    -------
    list of Area
    """
    areas = _areas()
    if tier is None:
        return list(areas)
    key = str(tier).strip().lower()
    if key == "lower":
        return [a for a in areas if a.is_lower_tier]
    if key == "upper":
        return [a for a in areas if a.is_upper_tier]
    if key in ("region", "country"):
        return [a for a in areas if a.tier == key]
    hits = closest(key, _TIER_FILTERS)
    raise InputError(
        f"'{tier}' is not an area tier",
        hint=f"did you mean '{hits[0]}'?" if hits else f"use one of {', '.join(_TIER_FILTERS)}",
    )


def _quoted(areas: list[Area]) -> str:
    """``'A' (code), 'B' (code) or 'C' (code)``."""
    parts = [f"'{a.name}' ({a.code})" for a in areas]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def _closest_areas(query: str, n: int) -> list[Area]:
    """Up to ``n`` areas whose names are closest to ``query``, best first."""
    by_name = _area_by_name()
    return [by_name[name] for name in closest(_normalise_name(query), by_name, n=n)]


def find_area(query: str) -> Area:
    """The area with exactly this GSS code or name.

    Parameters
    ----------
    query : str
        A GSS code (case-insensitive, surrounding whitespace ignored), e.g. ``"e08000025"``, or a
        name (case-insensitive; ``&`` and ``and`` are equivalent; extra spaces ignored), e.g.
        ``"Birmingham"`` or ``"brighton & hove"``.

    Returns
    -------
    Area

    Raises
    ------
    InputError
        If the query is empty or matches no area; the hint names the closest areas.
    """
    if not isinstance(query, str):
        raise InputError(
            f"an area must be given as a GSS code or name, not {type(query).__name__} {query!r}"
        )
    text = query.strip()
    if not text:
        raise InputError(
            "the area is empty",
            hint="give a GSS code such as 'E08000025' or a name such as 'Birmingham'",
        )
    row = _row_by_code().get(text.upper())
    if row is not None:
        return _areas()[row]
    area = _area_by_name().get(_normalise_name(text))
    if area is not None:
        return area
    retired = retired_code(text)
    if retired is not None:
        raise InputError(retired.message())
    if _GSS_CODE.match(text.upper()):
        message = f"'{text}' is not the GSS code of an English local authority, region or England"
        hint = "run `roi-engine areas QUERY` to search area names and codes"
    else:
        message = f"'{text}' is not an area name or GSS code"
        near = _closest_areas(text, n=3)
        hint = (
            f"did you mean {_quoted(near)}?"
            if near
            else "run `roi-engine areas QUERY` to search area names and codes"
        )
    raise InputError(message, hint=hint)


def _areas_or_none(row: int | None) -> Area | None:
    """The area at ``row`` of :func:`_areas`, or None."""
    return None if row is None else _areas()[row]


def search_areas(query: str, limit: int = 20) -> list[Area]:
    """Areas matching a free-text query, best first; for ``roi-engine areas QUERY``.

    Order: the area with exactly this code, the area with exactly this name, areas whose names
    contain the query (names starting with it first), areas whose codes start with it, then fuzzy
    name matches. Matching is case-insensitive and treats ``&`` as ``and``.

    Parameters
    ----------
    query : str
        Code, name or fragment of either.
    limit : int, default 20
        Most areas to return (>= 1).

    Returns
    -------
    list of Area
        At most ``limit`` areas, without duplicates; empty when nothing matches or the query is
        blank.
    """
    limit = _as_int(limit, "limit")
    if limit < 1:
        raise InputError(f"limit must be at least 1, got {limit}")
    text = str(query).strip()
    if not text:
        return []
    areas = _areas()
    needle = _normalise_name(text)
    code = text.upper()
    exact = [_areas_or_none(_row_by_code().get(code)), _area_by_name().get(needle)]
    names = [_normalise_name(a.name) for a in areas]
    containing = sorted(
        (i for i, name in enumerate(names) if needle in name),
        key=lambda i: (not names[i].startswith(needle), i),
    )
    code_prefix = [a for a in areas if a.code.startswith(code)]
    fuzzy = _closest_areas(text, n=limit)
    ranked = [*exact, *(areas[i] for i in containing), *code_prefix, *fuzzy]
    return [a for a in dict.fromkeys(ranked) if a is not None][:limit]


def _resolve(area: Area | str) -> int:
    """Row of :func:`_matrix` for an :class:`Area` or a code/name query."""
    if isinstance(area, Area):
        row = _row_by_code().get(area.code)
        if row is None:
            raise InputError(f"area {area} is not in the population table")
        return row
    return _row_by_code()[find_area(area).code]


def population_by_age(area: Area | str) -> np.ndarray:
    """Persons in an area by single year of age, mid-2022.

    Parameters
    ----------
    area : Area or str
        An :class:`Area`, or a GSS code or name as accepted by :func:`find_area`.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(91,)``: persons aged 0, 1, ..., 89, and 90 and over (index = age in
        years, see :data:`AGES`). A fresh copy the caller may modify.

    Raises
    ------
    InputError
        If the area is unknown.
    """
    return _matrix()[_resolve(area)].copy()


def _as_int(value: object, what: str) -> int:
    """``value`` as a Python int, or InputError if it is not an integer."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a whole number, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise InputError(f"{what} must be a whole number, got {value!r}") from None


def age_mask(low: int, high: int) -> np.ndarray:
    """Which of :data:`AGES` fall in an inclusive age band.

    Parameters
    ----------
    low, high : int
        Youngest and oldest age in the band, in years, inclusive, with ``0 <= low <= high <= 90``
        (90 means "90 and over", so ``high=90`` takes in everyone aged 90+).

    Returns
    -------
    numpy.ndarray
        bool, shape ``(91,)``: True where ``low <= age <= high``.

    Raises
    ------
    InputError
        If a bound is not a whole number, lies outside 0..90, or ``low > high``.
    """
    low = _as_int(low, "the lowest age")
    high = _as_int(high, "the highest age")
    for what, value in (("lowest", low), ("highest", high)):
        if not 0 <= value <= MAX_AGE:
            raise InputError(
                f"the {what} age of a band must be between 0 and {MAX_AGE}, got {value}",
                hint=f"use {MAX_AGE} for '{MAX_AGE} and over'",
            )
    if low > high:
        raise InputError(
            f"the age band {low}-{high} is empty: the lowest age is above the highest",
            hint=f"did you mean {high}-{low}?",
        )
    return (AGES >= low) & (AGES <= high)


def population_in_band(area: Area | str, low: int, high: int) -> float:
    """Persons in an area aged ``low`` to ``high`` inclusive, mid-2022.

    Parameters
    ----------
    area : Area or str
        An :class:`Area`, or a GSS code or name as accepted by :func:`find_area`.
    low, high : int
        Inclusive age band in years, ``0 <= low <= high <= 90`` (90 means "90 and over").

    Returns
    -------
    float
        Persons (a whole number, exact in float64).

    Raises
    ------
    InputError
        If the area is unknown or the band is invalid (see :func:`age_mask`).
    """
    mask = age_mask(low, high)
    return float(_matrix()[_resolve(area)][mask].sum())
