"""Money: price years, GDP-deflator conversion and Green Book discounting.

Two jobs, both driven by data files shipped in ``roi_engine/data/`` (no rates or indices are written
in code):

* **Price years.** Every money parameter states the year whose prices it is in: a calendar year
  (``2022``) or a financial year (``2022/23``). :class:`DeflatorTable` holds a GDP-deflator series
  and converts amounts between price years (:func:`convert_price_year`). The default series is HM
  Treasury's December 2025 calendar-year GDP deflator, 1990-2024
  (``data/hmt_gdp_deflator_calendar_year_dec2025.csv``; see its README).
* **Discounting.** :class:`DiscountScheme` holds a schedule of annual discount rates by year band,
  one schedule per *rate kind* (``standard``, ``health``), read from ``data/discount_rates.csv``.
  :func:`discount_factors` turns rates into discount factors and :func:`present_value` applies them.

Discounting convention
----------------------
Year 0 is the first year of the appraisal and is not discounted. The rate for year ``t``, ``r(t)``,
is the rate of the band that contains ``t``, and the discount factor is

    D(0) = 1,    D(t) = prod_{s=1..t} 1 / (1 + r(s)).

Under the Green Book standard schedule (3.5% for years 0-30, 3.0% for 31-75, ...),
``D(t) = 1.035**-t`` for ``t <= 30`` and ``D(40) = 1.035**-30 * 1.03**-10``.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import itertools
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from roi_engine.errors import InputError, did_you_mean

__all__ = [
    "DEFLATOR_FILE",
    "DISCOUNT_RATES_FILE",
    "FINANCIAL_YEAR_WEIGHTS",
    "RATE_KINDS",
    "VALUE_TYPE_RATE_KIND",
    "DeflatorTable",
    "DiscountScheme",
    "PriceYear",
    "convert_price_year",
    "discount_factors",
    "parse_price_year",
    "present_value",
    "rate_kind_for_value_type",
]

#: File name (in ``roi_engine/data/``) of the default deflator series.
DEFLATOR_FILE = "hmt_gdp_deflator_calendar_year_dec2025.csv"
#: File name (in ``roi_engine/data/``) of the discount-rate schedules.
DISCOUNT_RATES_FILE = "discount_rates.csv"

#: Weights of calendar years ``Y`` and ``Y+1`` in financial year ``Y/Y+1`` [unitless]: the months
#: April-December (9 of 12) and January-March (3 of 12). This is a calendar identity, not a
#: parameter.
FINANCIAL_YEAR_WEIGHTS: tuple[float, float] = (9 / 12, 3 / 12)

#: The rate kinds every discount scheme must give.
RATE_KINDS: tuple[str, ...] = ("standard", "health")

#: Which rate kind discounts which value stream. Per the Green Book, costs and fiscal and economic
#: values are discounted at the standard rate, and health and wellbeing values (QALYs, WELLBYs:
#: value type ``social``) at the lower health rate.
VALUE_TYPE_RATE_KIND: Mapping[str, str] = MappingProxyType(
    {"cost": "standard", "fiscal": "standard", "economic": "standard", "social": "health"}
)

_PRICE_YEAR_HINT = "write a calendar year like 2022 or a financial year like 2022/23"
_CALENDAR_RE = re.compile(r"(\d{4})(?:\.0+)?")
_FINANCIAL_RE = re.compile(r"(\d{4})\s*[/\-\u2013]\s*(\d{4}|\d{2})")
_WHOLE_RE = re.compile(r"(\d+)(?:\.0+)?")


# ------------------------------------------------------------------------------------------------
# Price years
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class PriceYear:
    """The year whose prices an amount is in.

    Parameters
    ----------
    start : int
        The calendar year in which the price year starts, e.g. ``2022`` for both ``2022`` and
        ``2022/23``.
    financial : bool
        True for a UK financial year (April ``start`` to March ``start + 1``), False for a calendar
        year.

    Notes
    -----
    Price years sort by ``start`` and then calendar before financial: ``2022 < 2022/23 < 2023``.
    ``str()`` gives ``"2022"`` or ``"2022/23"``.
    """

    start: int
    financial: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.start, bool) or not isinstance(self.start, numbers.Integral):
            raise TypeError(f"PriceYear.start must be an int, not {type(self.start).__name__}")
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "financial", bool(self.financial))

    @property
    def calendar_years(self) -> tuple[int, ...]:
        """The calendar years the price year spans: ``(start,)`` or ``(start, start + 1)``."""
        return (self.start, self.start + 1) if self.financial else (self.start,)

    def __str__(self) -> str:
        if self.financial:
            return f"{self.start}/{(self.start + 1) % 100:02d}"
        return str(self.start)


PriceYearLike = PriceYear | str | int | float


def parse_price_year(
    label: PriceYearLike, *, file: str | Path | None = None, where: str | None = None
) -> PriceYear:
    """Read a price year written as a calendar or a financial year.

    Parameters
    ----------
    label : str, int, float or PriceYear
        A calendar year (``2022``, ``"2022"``, ``2022.0``) or a financial year (``"2022/23"``,
        ``"2022-23"``, ``"2022/2023"``, ``"2022-2023"``). The second year of a financial year must
        be the year after the first. A :class:`PriceYear` is returned unchanged.
    file, where : optional
        Where the label was read from, passed to the :class:`InputError` if it is not a price year.

    Returns
    -------
    PriceYear

    Raises
    ------
    InputError
        ``"'2022/24' is not a price year"`` for anything else, including two-digit years
        (``"22/23"``), non-whole numbers and blanks.
    """
    if isinstance(label, PriceYear):
        return label
    error = InputError(
        f"'{label}' is not a price year", file=file, where=where, hint=_PRICE_YEAR_HINT
    )
    start: int | None = None
    financial = False
    if isinstance(label, bool):
        raise error
    if isinstance(label, numbers.Integral):
        start = int(label)
    elif isinstance(label, numbers.Real):
        value = float(label)
        if math.isfinite(value) and value.is_integer():
            start = int(value)
    elif isinstance(label, str):
        text = label.strip()
        calendar = _CALENDAR_RE.fullmatch(text)
        fin = _FINANCIAL_RE.fullmatch(text)
        if calendar:
            start = int(calendar.group(1))
        elif fin:
            first, second = int(fin.group(1)), fin.group(2)
            expected = first + 1 if len(second) == 4 else (first + 1) % 100
            if int(second) == expected:
                start, financial = first, True
    if start is None or not 1000 <= start <= 9999:
        raise error
    return PriceYear(start, financial)


# ------------------------------------------------------------------------------------------------
# Reading the CSV data files
# ------------------------------------------------------------------------------------------------


def _package_text(name: str) -> str:
    """The text of ``roi_engine/data/<name>``."""
    return (importlib.resources.files("roi_engine") / "data" / name).read_text(encoding="utf-8")


def _file_text(path: str | Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} file: {exc}", file=path) from None


def _read_rows(
    text: str, file: str | Path, required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV text as ``(line number, {column: stripped value})``, skipping blank rows.

    The line number counts the header as line 1 and is the line on which the row ends.
    """
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}",
            file=file,
            where="header",
            hint=f"the columns must include {', '.join(required)}",
        )
    rows = []
    for raw in reader:
        row = {
            (k or "").strip(): (v or "").strip() if isinstance(v, str) else ""
            for k, v in raw.items()
        }
        if any(row.values()):
            rows.append((reader.line_num, row))
    return rows


def _whole(
    row: dict[str, str], column: str, line: int, file: str | Path, *, blank_ok: bool = False
) -> int | None:
    """A whole number >= 0 from ``row[column]``, or None when blank and ``blank_ok``."""
    text = row.get(column, "")
    if text == "" and blank_ok:
        return None
    match = _WHOLE_RE.fullmatch(text)
    if not match:
        raise InputError(
            f"'{text}' is not a whole number of years",
            file=file,
            where=f"row {line}, column '{column}'",
            hint="write a whole number >= 0" + (", or leave blank" if blank_ok else ""),
        )
    return int(match.group(1))


def _number(row: dict[str, str], column: str, line: int, file: str | Path) -> float:
    text = row.get(column, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        message = f"'{text}' is not a number" if text else "the value is blank"
        raise InputError(message, file=file, where=f"row {line}, column '{column}'")
    return value


def _join_sources(sources: Iterable[str]) -> str:
    """Distinct non-blank sources, in order of first appearance, joined by ``" | "``."""
    return " | ".join(dict.fromkeys(s for s in sources if s))


# ------------------------------------------------------------------------------------------------
# Deflator
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DeflatorTable:
    """A calendar-year GDP-deflator series for converting amounts between price years.

    Parameters
    ----------
    years : ndarray of int, shape (n,)
        Consecutive calendar years, increasing.
    values : ndarray of float, shape (n,)
        The deflator index for each year [unitless; any base, as only ratios are used].
    source : str
        Where the series comes from.

    Notes
    -----
    Build one with :meth:`default` (the shipped HM Treasury series) or :meth:`from_csv`.
    """

    years: np.ndarray
    values: np.ndarray
    source: str = ""
    _lookup: dict[int, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        years = np.asarray(self.years)
        values = np.asarray(self.values, dtype=float)
        if years.ndim != 1 or years.shape != values.shape or years.size == 0:
            raise ValueError("years and values must be non-empty 1-D arrays of the same length")
        if not np.issubdtype(years.dtype, np.integer):
            raise ValueError("years must be integers")
        if np.any(np.diff(years) != 1):
            raise ValueError("years must be consecutive and increasing")
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError("deflator values must be finite and > 0")
        years = years.astype(np.int64)
        years.flags.writeable = False
        values.flags.writeable = False
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_lookup", dict(zip(years.tolist(), values.tolist(), strict=True)))

    @classmethod
    def default(cls) -> DeflatorTable:
        """The shipped HM Treasury GDP deflator, December 2025 edition, calendar years 1990-2024.

        Read once from ``roi_engine/data/hmt_gdp_deflator_calendar_year_dec2025.csv`` and cached.
        """
        return _default_deflator()

    @classmethod
    def from_csv(cls, path: str | Path) -> DeflatorTable:
        """Read a user-supplied deflator table.

        Parameters
        ----------
        path : str or Path
            A CSV file with columns ``calendar_year`` and ``deflator_index`` and optionally
            ``source`` (other columns are ignored). It must cover every year from its first to its
            last, once each.

        Returns
        -------
        DeflatorTable

        Raises
        ------
        InputError
            When the file is missing or a row is not valid; the message names the file and row.
        """
        return cls._from_text(_file_text(path, "deflator table"), path)

    @classmethod
    def _from_text(cls, text: str, file: str | Path) -> DeflatorTable:
        rows = _read_rows(text, file, ("calendar_year", "deflator_index"))
        if not rows:
            raise InputError("the deflator table has no rows", file=file)
        seen: dict[int, int] = {}
        for line, row in rows:
            year_text = row["calendar_year"]
            if not re.fullmatch(r"\d{4}", year_text):
                raise InputError(
                    f"'{year_text}' is not a calendar year",
                    file=file,
                    where=f"row {line}, column 'calendar_year'",
                    hint="write a four-digit year like 2022",
                )
            year = int(year_text)
            if year in seen:
                raise InputError(
                    f"calendar year {year} appears twice (also row {seen[year]})",
                    file=file,
                    where=f"row {line}, column 'calendar_year'",
                )
            seen[year] = line
            value = _number(row, "deflator_index", line, file)
            if value <= 0:
                raise InputError(
                    f"deflator index {value:g} is not > 0",
                    file=file,
                    where=f"row {line}, column 'deflator_index'",
                )
        order = sorted(range(len(rows)), key=lambda i: int(rows[i][1]["calendar_year"]))
        years = np.array([int(rows[i][1]["calendar_year"]) for i in order], dtype=np.int64)
        gaps = sorted(set(range(int(years[0]), int(years[-1]) + 1)) - set(years.tolist()))
        if gaps:
            shown = ", ".join(str(y) for y in gaps[:5]) + (", ..." if len(gaps) > 5 else "")
            raise InputError(
                f"the deflator table has no row for {shown}",
                file=file,
                hint="give every calendar year from the first to the last",
            )
        values = np.array([float(rows[i][1]["deflator_index"]) for i in order])
        source = _join_sources(row.get("source", "") for _, row in rows) or f"deflator table {file}"
        return cls(years, values, source)

    @property
    def first_year(self) -> int:
        """The first calendar year in the series."""
        return int(self.years[0])

    @property
    def last_year(self) -> int:
        """The last calendar year in the series."""
        return int(self.years[-1])

    def index(self, year: PriceYearLike) -> float:
        """The deflator index for a price year [unitless].

        Parameters
        ----------
        year : PriceYear, str, int or float
            A calendar year (``2022``) or a financial year (``"2022/23"``); see
            :func:`parse_price_year`.

        Returns
        -------
        float
            For a calendar year, the series value. For a financial year ``Y/Y+1``, the weighted mean
            of its two calendar years by the months it has in each, April-December and
            January-March: ``0.75 * index(Y) + 0.25 * index(Y+1)``. This approximates a
            financial-year deflator from the calendar-year series; it is not HM Treasury's own
            financial-year figure.

        Raises
        ------
        InputError
            When the label is not a price year, or a calendar year it needs is outside the series
            (there is no extrapolation). With the default table (1990-2024), 1989 and 2025 are
            outside, and so is the financial year 2024/25, which needs 2025.
        """
        price_year = parse_price_year(year)
        needed = price_year.calendar_years
        outside = [y for y in needed if y not in self._lookup]
        if outside:
            span = f"{self.first_year} to {self.last_year}"
            if price_year.financial:
                message = (
                    f"price year {price_year} needs calendar years {needed[0]} and {needed[1]}, "
                    f"but the deflator table covers {span}"
                )
            else:
                message = (
                    f"price year {price_year} is outside the deflator table, which covers {span}"
                )
            raise InputError(
                message,
                hint="use a price year inside that range or supply your own deflator table",
            )
        if not price_year.financial:
            return self._lookup[price_year.start]
        w_first, w_second = FINANCIAL_YEAR_WEIGHTS
        return w_first * self._lookup[needed[0]] + w_second * self._lookup[needed[1]]

    def factor(self, from_year: PriceYearLike, to_year: PriceYearLike) -> float:
        """The factor re-pricing an amount from ``from_year`` to ``to_year`` prices [unitless].

        Multiply an amount in ``from_year`` prices by this factor to get it in ``to_year`` prices:
        ``index(to_year) / index(from_year)``.

        Raises
        ------
        InputError
            As :meth:`index`, for either year.
        """
        return self.index(to_year) / self.index(from_year)


@functools.cache
def _default_deflator() -> DeflatorTable:
    return DeflatorTable._from_text(
        _package_text(DEFLATOR_FILE), f"roi_engine/data/{DEFLATOR_FILE}"
    )


def convert_price_year(
    amount: Any,
    from_year: PriceYearLike,
    to_year: PriceYearLike,
    deflator: DeflatorTable | None = None,
) -> Any:
    """Re-price an amount from one price year to another.

    Parameters
    ----------
    amount : float or ndarray, any shape
        Money in ``from_year`` prices [GBP]. Lists are turned into arrays; pandas objects keep their
        index.
    from_year, to_year : PriceYear, str, int or float
        The price years; see :func:`parse_price_year`.
    deflator : DeflatorTable, optional
        The series to use; default :meth:`DeflatorTable.default`.

    Returns
    -------
    float or ndarray, same shape as ``amount``
        The amount in ``to_year`` prices [GBP].

    Raises
    ------
    InputError
        When a price year is not valid or is outside the deflator series.
    """
    table = deflator if deflator is not None else DeflatorTable.default()
    multiplier = table.factor(from_year, to_year)
    if isinstance(amount, list | tuple):
        amount = np.asarray(amount, dtype=float)
    return amount * multiplier


# ------------------------------------------------------------------------------------------------
# Discounting
# ------------------------------------------------------------------------------------------------


def discount_factors(rates: np.ndarray) -> np.ndarray:
    """Discount factors from the annual rates applying in each year.

    Parameters
    ----------
    rates : array_like, shape (..., n_years)
        ``rates[..., t]`` is the discount rate applying in year ``t`` [fraction per year, e.g.
        0.035]. ``rates[..., 0]`` is not used, because year 0 is not discounted.

    Returns
    -------
    ndarray, shape (..., n_years)
        ``D[..., 0] = 1`` and ``D[..., t] = prod_{s=1..t} 1 / (1 + rates[..., s])`` [unitless]; a
        cumulative product along the last axis.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.ndim == 0:
        raise ValueError("rates must have a year axis (the last axis)")
    yearly = 1.0 / (1.0 + rates)
    if yearly.shape[-1] > 0:
        yearly[..., 0] = 1.0
    return np.cumprod(yearly, axis=-1)


def present_value(flows: np.ndarray, factors: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """The discounted sum of yearly flows.

    Parameters
    ----------
    flows : array_like, shape (..., n_years, ...)
        Flows by year [GBP, or any unit]; the year axis is ``axis``. A scalar means the same flow in
        every year.
    factors : array_like, shape (n_years,)
        Discount factors by year [unitless], e.g. from :meth:`DiscountScheme.factors`.
    axis : int, default -1
        The year axis of ``flows``.

    Returns
    -------
    ndarray or numpy float, shape of ``flows`` without ``axis``
        ``sum_t flows[t] * factors[t]`` [same unit as ``flows``]. For 1-D flows, a scalar; for flows
        of shape ``(n_draws, n_years)``, shape ``(n_draws,)``.

    Raises
    ------
    ValueError
        When ``factors`` is not 1-D or its length differs from the length of ``flows`` along
        ``axis``.
    """
    flows = np.asarray(flows, dtype=float)
    factors = np.asarray(factors, dtype=float)
    if factors.ndim != 1:
        raise ValueError(f"factors must be 1-D (n_years,), not shape {factors.shape}")
    if flows.ndim == 0:
        return flows * factors.sum()
    n_years = flows.shape[axis]
    if n_years != factors.shape[0]:
        raise ValueError(
            f"flows have {n_years} years along axis {axis} but there are {factors.shape[0]} factors"
        )
    return (np.moveaxis(flows, axis, -1) @ factors)[()]


def rate_kind_for_value_type(value_type: str) -> str:
    """The rate kind (``standard`` or ``health``) that discounts a value type.

    Raises
    ------
    InputError
        When ``value_type`` is not one of ``cost``, ``fiscal``, ``economic``, ``social``.
    """
    try:
        return VALUE_TYPE_RATE_KIND[value_type]
    except KeyError:
        names = ", ".join(VALUE_TYPE_RATE_KIND)
        raise InputError(
            f"'{value_type}' is not a value type",
            hint=did_you_mean(value_type, VALUE_TYPE_RATE_KIND) or f"the value types are {names}",
        ) from None


@dataclass(frozen=True, eq=False)
class DiscountScheme:
    """A set of discount-rate schedules, one per rate kind.

    Parameters
    ----------
    name : str
        The scheme's name, e.g. ``"green_book"``.
    bands : dict of str to (ndarray, ndarray)
        ``rate_kind -> (starts, rates)``: ``starts`` (int, shape (n_bands,)) is the first year of
        each band, increasing from 0; a band runs to the year before the next one starts, and the
        last is open-ended. ``rates`` (float, shape (n_bands,)) is the annual rate in each band
        [fraction per year].
    source : str
        Where the rates come from.

    Notes
    -----
    Build one with :meth:`named` (from the shipped table) or :meth:`from_csv`. The rate for year
    ``t`` is the rate of the band containing ``t``, and ``D(t) = prod_{s=1..t} 1/(1 + r(s))``; see
    :func:`discount_factors`.
    """

    name: str
    bands: dict[str, tuple[np.ndarray, np.ndarray]]
    source: str = ""

    def __post_init__(self) -> None:
        clean: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind, (starts, rates) in self.bands.items():
            starts = np.array(starts, dtype=np.int64)
            rates = np.array(rates, dtype=float)
            if starts.ndim != 1 or starts.shape != rates.shape or starts.size == 0:
                raise ValueError(
                    f"{kind}: starts and rates must be non-empty 1-D of the same length"
                )
            if starts[0] != 0 or np.any(np.diff(starts) <= 0):
                raise ValueError(f"{kind}: band starts must increase from 0")
            if not np.all(np.isfinite(rates) & (rates > -1)):
                raise ValueError(f"{kind}: rates must be finite and > -1")
            starts.flags.writeable = False
            rates.flags.writeable = False
            clean[kind] = (starts, rates)
        object.__setattr__(self, "bands", clean)

    @classmethod
    def named(cls, name: str) -> DiscountScheme:
        """A scheme from the shipped table ``roi_engine/data/discount_rates.csv``.

        Parameters
        ----------
        name : str
            ``"green_book"`` or ``"none"`` (no discounting, for checks).

        Raises
        ------
        InputError
            When there is no such scheme; the hint suggests the closest name and lists the schemes.
        """
        return _pick_scheme(_shipped_schemes(), name, None)

    @classmethod
    def from_csv(cls, path: str | Path, name: str) -> DiscountScheme:
        """A scheme from a user-supplied table in the format of ``discount_rates.csv``.

        Parameters
        ----------
        path : str or Path
            CSV with columns ``scheme, rate_kind, period_years_from, period_years_to, rate_pct`` and
            optionally ``source``. Rates are in percent per year. For each scheme and rate kind, the
            bands start at year 0, follow on without gaps or overlaps, and the last has a blank
            ``period_years_to``. Each scheme gives both ``standard`` and ``health`` rates.
        name : str
            The scheme to take from the file.

        Raises
        ------
        InputError
            When the file or one of its rows is not valid, or it has no scheme ``name``.
        """
        schemes = _parse_schemes(_file_text(path, "discount-rate table"), path)
        return _pick_scheme(schemes, name, path)

    def _kind(self, rate_kind: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            return self.bands[rate_kind]
        except KeyError:
            kinds = ", ".join(self.bands)
            raise InputError(
                f"'{rate_kind}' is not a rate kind of discount scheme '{self.name}'",
                hint=did_you_mean(rate_kind, self.bands) or f"the rate kinds are {kinds}",
            ) from None

    def rate_for_years(self, rate_kind: str, years: np.ndarray) -> np.ndarray:
        """The annual discount rate applying in each year.

        Parameters
        ----------
        rate_kind : str
            ``"standard"`` or ``"health"``.
        years : array_like of int, any shape
            Years from the start of the appraisal (0 = first year), each >= 0.

        Returns
        -------
        ndarray of float, same shape as ``years``
            The rate of the band containing each year [fraction per year].
        """
        starts, rates = self._kind(rate_kind)
        years = np.asarray(years)
        if np.any(years < 0):
            raise ValueError("years must be >= 0")
        return rates[np.searchsorted(starts, years, side="right") - 1]

    def factors(self, rate_kind: str, n_years: int) -> np.ndarray:
        """Discount factors for years ``0 .. n_years - 1``.

        Parameters
        ----------
        rate_kind : str
            ``"standard"`` or ``"health"``.
        n_years : int
            The number of years, >= 0.

        Returns
        -------
        ndarray of float, shape (n_years,)
            ``D[0] = 1``, ``D[t] = prod_{s=1..t} 1 / (1 + r(s))`` [unitless].
        """
        n = int(n_years)
        if n != n_years or n < 0:
            raise ValueError(f"n_years must be a whole number >= 0, not {n_years!r}")
        return discount_factors(self.rate_for_years(rate_kind, np.arange(n)))

    def describe(self) -> str:
        """A one-line summary of the rates, e.g.

        ``"Green Book: 3.5% (years 0-30, declining after); health 1.5% (declining after year 30)"``.
        """
        label = self.name.replace("_", " ").title()
        if all(np.all(rates == 0) for _, rates in self.bands.values()):
            return f"{label}: no discounting (0% in every year)"
        parts = []
        kinds = [k for k in RATE_KINDS if k in self.bands]
        kinds += sorted(k for k in self.bands if k not in RATE_KINDS)
        for kind in kinds:
            starts, rates = self.bands[kind]
            prefix = "" if kind == "standard" else f"{kind} "
            rate = _format_pct(rates[0])
            if rates.size == 1:
                parts.append(f"{prefix}{rate} (all years)")
                continue
            steps = np.diff(rates)
            trend = (
                "declining"
                if np.all(steps <= 0)
                else "rising"
                if np.all(steps >= 0)
                else "changing"
            )
            end = int(starts[1]) - 1
            if kind == "standard":
                parts.append(f"{rate} (years 0-{end}, {trend} after)")
            else:
                parts.append(f"{prefix}{rate} ({trend} after year {end})")
        return f"{label}: " + "; ".join(parts)


def _format_pct(rate: float) -> str:
    return f"{round(float(rate) * 100, 6):g}%"


def _pick_scheme(
    schemes: Mapping[str, DiscountScheme], name: str, file: str | Path | None
) -> DiscountScheme:
    if name in schemes:
        return schemes[name]
    listing = f"the schemes are {', '.join(schemes)}"
    suggestion = did_you_mean(str(name), schemes)
    raise InputError(
        f"'{name}' is not a discount scheme",
        file=file,
        hint=f"{suggestion} {listing}" if suggestion else listing,
    )


@functools.cache
def _shipped_schemes() -> Mapping[str, DiscountScheme]:
    text = _package_text(DISCOUNT_RATES_FILE)
    return MappingProxyType(_parse_schemes(text, f"roi_engine/data/{DISCOUNT_RATES_FILE}"))


def _parse_schemes(text: str, file: str | Path) -> dict[str, DiscountScheme]:
    """All schemes in a discount-rate table, validated."""
    columns = ("scheme", "rate_kind", "period_years_from", "period_years_to", "rate_pct")
    rows = _read_rows(text, file, columns)
    if not rows:
        raise InputError("the discount-rate table has no rows", file=file)
    # scheme -> rate kind -> [(line, from, to, rate fraction)]
    table: dict[str, dict[str, list[tuple[int, int, int | None, float]]]] = {}
    sources: dict[str, list[str]] = {}
    for line, row in rows:
        scheme = row["scheme"]
        if not scheme:
            raise InputError("the scheme is blank", file=file, where=f"row {line}, column 'scheme'")
        kind = row["rate_kind"]
        if kind not in RATE_KINDS:
            raise InputError(
                f"'{kind}' is not a rate kind",
                file=file,
                where=f"row {line}, column 'rate_kind'",
                hint=did_you_mean(kind, RATE_KINDS)
                or f"the rate kinds are {', '.join(RATE_KINDS)}",
            )
        start = _whole(row, "period_years_from", line, file)
        end = _whole(row, "period_years_to", line, file, blank_ok=True)
        assert start is not None
        if end is not None and end < start:
            raise InputError(
                f"the band ends (year {end}) before it starts (year {start})",
                file=file,
                where=f"row {line}, column 'period_years_to'",
            )
        pct = _number(row, "rate_pct", line, file)
        if not 0 <= pct < 100:
            raise InputError(
                f"discount rate {pct:g}% is not between 0% and 100%",
                file=file,
                where=f"row {line}, column 'rate_pct'",
                hint="rate_pct is a percentage per year, e.g. 3.5",
            )
        table.setdefault(scheme, {}).setdefault(kind, []).append((line, start, end, pct / 100))
        sources.setdefault(scheme, []).append(row.get("source", ""))

    schemes = {}
    for scheme, kinds in table.items():
        for kind in RATE_KINDS:
            if kind not in kinds:
                raise InputError(
                    f"discount scheme '{scheme}' has no {kind} rates",
                    file=file,
                    hint=f"give each scheme rates of every kind: {', '.join(RATE_KINDS)}",
                )
        bands = {}
        for kind, items in kinds.items():
            items.sort(key=lambda item: item[1])
            _check_bands(scheme, kind, items, file)
            bands[kind] = (
                np.array([item[1] for item in items], dtype=np.int64),
                np.array([item[3] for item in items]),
            )
        source = _join_sources(sources[scheme]) or f"discount-rate table {file}"
        schemes[scheme] = DiscountScheme(scheme, bands, source)
    return schemes


def _check_bands(
    scheme: str, kind: str, items: list[tuple[int, int, int | None, float]], file: str | Path
) -> None:
    """Bands (sorted by start) must start at 0, follow on, and end with one open-ended band."""
    first_line, first_start = items[0][0], items[0][1]
    if first_start != 0:
        raise InputError(
            f"the {kind} rates of scheme '{scheme}' start at year {first_start}, not year 0",
            file=file,
            where=f"row {first_line}, column 'period_years_from'",
        )
    for (line, _, end, _), (next_line, next_start, _, _) in itertools.pairwise(items):
        if end is None:
            raise InputError(
                f"only the last {kind} band of scheme '{scheme}' can be open-ended",
                file=file,
                where=f"row {line}, column 'period_years_to'",
                hint=f"end this band at year {next_start - 1}",
            )
        if next_start != end + 1:
            raise InputError(
                f"the {kind} band of scheme '{scheme}' starting at year {next_start} does not "
                f"follow on from the band ending at year {end}",
                file=file,
                where=f"row {next_line}, column 'period_years_from'",
                hint=f"start it at year {end + 1}",
            )
    last_line, _, last_end, _ = items[-1]
    if last_end is not None:
        raise InputError(
            f"the last {kind} band of scheme '{scheme}' ends at year {last_end}",
            file=file,
            where=f"row {last_line}, column 'period_years_to'",
            hint="leave period_years_to blank on the last band so that every year has a rate",
        )
