"""The parameter registry: every named input number, its uncertainty, unit, price year and source.

Parameters live in CSV tables (``parameters/*.csv``, see ``docs/file_formats.md``). Each row is
validated here; a bad row raises one :class:`~roi_engine.errors.InputError` naming the file, the row
(as a spreadsheet row number, header = row 1) and the column.

Rules checked per row:
- ``name`` is lower_snake_case and unique across all tables;
- ``value`` and ``p1..p4`` are numbers where the distribution needs them and blank where it does not;
- ``distribution`` is one of :data:`roi_engine.inputs.distributions.DISTRIBUTIONS` (a typo gets a suggestion);
- the distribution's numbers are consistent (low below high, SD positive, ...);
- ``value`` lies inside the distribution's support;
- a probability (unit whose first word is ``probability``, ``share`` or ``proportion``) lies in [0, 1], and
  so does its distribution's support;
- money (unit whose first word is ``GBP``) has a valid ``price_year``;
- a unit that looks like money or a probability but is not written so (``gbp``, ``£``, ``GBP/QALY``,
  ``Probability``, ``percent``) is an error (:mod:`roi_engine.inputs.units`);
- ``source`` is not blank (an unsourced number says ``Assumption: ...``);
- ``grade`` (optional column), when given, is one of :data:`GRADES`: the kind of evidence behind the number;
- ``label`` (optional column; every shipped row has one): the parameter's name in words, as board-facing
  outputs show it (the report, the results workbook, charts, sensitivity tables). Blank: the code is shown.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.distributions import DISTRIBUTIONS, Distribution, DistributionError, build
from roi_engine.inputs.money import PriceYear, parse_price_year
from roi_engine.inputs.numbers import parse_number
from roi_engine.inputs.units import is_money_unit, is_probability_unit, unit_problem

COLUMNS = ("name", "value", "distribution", "p1", "p2", "p3", "p4", "unit", "price_year", "source",
           "notes", "grade", "label")
GRADES = ("meta-analysis", "rct", "observational", "official statistics", "unit cost", "economic model",
          "appraisal value", "assumption", "decision")
"""Evidence grades, strongest first for effects: a pooled trial estimate, a single randomised trial, an
observational study (cohort, cross-sectional, before-after, ecological), routinely published national data,
a published unit cost, a published economic model's input or output, a normative appraisal value (Green
Book, NICE), an assumption or expert judgement, and a decision variable the commissioner sets."""
REQUIRED_COLUMNS = ("name", "value", "distribution", "p1", "p2", "p3", "unit", "price_year", "source")
PROBABILITY_UNIT_PREFIXES = ("probability", "share", "proportion")
MONEY_UNIT_PREFIX = "GBP"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
SECTORS_FILE = "sectors.csv"


@dataclass(frozen=True)
class Parameter:
    """One row of the registry.

    Attributes
    ----------
    name : str
    value : float
        Point value used in the base case, in ``price_year`` prices when money.
    distribution : Distribution
    unit : str
    price_year : PriceYear or None
        Set for money parameters only.
    source, notes : str
    file : str
        Where the row came from, for error messages.
    row : int
        Spreadsheet row number in ``file`` (header = 1).
    """

    name: str
    value: float
    distribution: Distribution
    unit: str
    price_year: PriceYear | None
    source: str
    notes: str
    file: str
    row: int
    grade: str = ""
    label: str = ""
    basis: str = ""
    """Where the value comes from for this run, when set by :mod:`roi_engine.inputs.local`: e.g.
    ``"local (lower tier: Birmingham E08000025)"``. Blank means the table's own value."""
    replaced: Parameter | None = field(default=None, compare=False, repr=False)
    """For a local value: the national row it replaced (so an unchanged national row read back from a
    workbook is localised again, and an edited one is left as the user's)."""

    @property
    def display_name(self) -> str:
        """The label if there is one, else the code (``name``)."""
        return self.label or self.name

    @property
    def is_money(self) -> bool:
        return is_money_unit(self.unit)

    @property
    def is_probability(self) -> bool:
        return is_probability_unit(self.unit)

    @property
    def is_assumption(self) -> bool:
        return self.source.lower().startswith("assumption")

    @property
    def is_uncertain(self) -> bool:
        return self.distribution.name != "fixed"

    @property
    def basis_label(self) -> str:
        """``local (level: area)``, ``assumption`` (source starts 'Assumption') or ``national``."""
        if self.basis:
            return self.basis
        return "assumption" if self.is_assumption else "national"

    @property
    def location(self) -> str:
        return f"{self.file}, row {self.row}"


class ParameterRegistry(Mapping[str, Parameter]):
    """All parameters, by name. Read-only mapping ``name -> Parameter``."""

    def __init__(self, parameters: Iterable[Parameter]):
        self._params: dict[str, Parameter] = {}
        for p in parameters:
            if p.name in self._params:
                first = self._params[p.name]
                raise InputError(
                    f"duplicate parameter name '{p.name}'",
                    file=p.file,
                    where=f"row {p.row}, column 'name'",
                    hint=f"first defined in {first.location}",
                )
            self._params[p.name] = p

    @classmethod
    def from_dir(cls, directory: str | Path) -> ParameterRegistry:
        """Read every ``*.csv`` in ``directory`` except ``sectors.csv``, in name order."""
        directory = Path(directory)
        if not directory.is_dir():
            raise InputError("parameter folder not found", file=directory)
        files = sorted(p for p in directory.glob("*.csv") if p.name != SECTORS_FILE)
        if not files:
            raise InputError("no parameter tables (*.csv) in this folder", file=directory)
        return cls.from_files(files)

    @classmethod
    def from_files(cls, files: Iterable[str | Path]) -> ParameterRegistry:
        return cls(p for f in files for p in read_parameter_csv(f))

    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def require(self, name: str, *, file: str | Path | None = None, where: str | None = None) -> Parameter:
        """The parameter ``name``, or an InputError at ``file``/``where`` suggesting the closest name."""
        try:
            return self._params[name]
        except KeyError:
            raise InputError(
                f"unknown parameter '{name}'", file=file, where=where,
                hint=did_you_mean(name, self._params) or "see the tables in parameters/",
            ) from None

    def replace(self, updates: Mapping[str, Parameter]) -> ParameterRegistry:
        """A new registry with some rows replaced (for overrides and tests)."""
        merged = dict(self._params)
        merged.update(updates)
        return ParameterRegistry(merged.values())

    def to_frame(self) -> pd.DataFrame:
        """The registry as a table in :data:`COLUMNS` order (plus ``file``)."""
        rows = []
        for p in self._params.values():
            nums = list(p.distribution.params) + [math.nan] * (4 - len(p.distribution.params))
            rows.append({
                "name": p.name, "label": p.label, "value": p.value, "distribution": p.distribution.name,
                "p1": nums[0], "p2": nums[1], "p3": nums[2], "p4": nums[3], "unit": p.unit,
                "price_year": str(p.price_year) if p.price_year else "", "source": p.source,
                "notes": p.notes, "grade": p.grade, "file": p.file,
            })
        return pd.DataFrame(rows, columns=[*COLUMNS, "file"])


def read_parameter_csv(path: str | Path) -> list[Parameter]:
    """Read and validate one parameter table.

    Blank lines and trailing unnamed, empty columns are tolerated. Anything else wrong raises
    :class:`InputError` naming ``path``, the row and the column.
    """
    path = Path(path)
    frame, row_numbers = _read_table(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        hints = [h for h in (did_you_mean(m, frame.columns) for m in missing) if h]
        raise InputError(
            f"missing column(s) {missing}", file=path, where="header (row 1)",
            hint="; ".join(hints) or f"expected columns {list(COLUMNS)}",
        )
    extra = [c for c in frame.columns if c not in COLUMNS]
    if extra:
        raise InputError(
            f"unexpected column '{extra[0]}'", file=path, where="header (row 1)",
            hint=did_you_mean(extra[0], COLUMNS) or f"expected columns {list(COLUMNS)}",
        )
    params = []
    for row_number, raw in zip(row_numbers, (r for _, r in frame.iterrows()), strict=True):
        if all(str(v).strip() == "" for v in raw.values):
            continue
        params.append(_parse_row(raw, path, row_number))
    if not params:
        raise InputError("the table has no parameter rows", file=path)
    return params


def _read_table(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV as text cells, and each row's spreadsheet row number.

    Uses the standard-library ``csv`` reader so that ragged rows are seen, not silently re-shaped:
    trailing empty cells (a header or row ending in commas) are tolerated, a value beyond the last
    heading is an error.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a CSV table", file=path) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a readable CSV text table ({exc})", file=path) from None
    records = [(line, row) for line, row in records if any(cell.strip() for cell in row)]
    if not records:
        raise InputError("the table is empty", file=path)
    header_line, header = records[0]
    while header and not header[-1].strip():
        header = header[:-1]
    if any(not h.strip() for h in header):
        raise InputError("a column has no heading", file=path, where=f"header (row {header_line})")
    width, rows, numbers = len(header), [], []
    for line, row in records[1:]:
        extra = row[width:]
        if any(cell.strip() for cell in extra):
            raise InputError(f"a value lies beyond the last heading ('{header[-1]}')", file=path,
                             where=f"row {line}")
        rows.append([cell for cell in row[:width]] + [""] * (width - len(row)))
        numbers.append(line)
    frame = pd.DataFrame(rows, columns=[h.strip() for h in header], dtype=str)
    return frame, numbers


def _cell(raw: pd.Series, column: str) -> str:
    return str(raw.get(column, "")).strip()


def _number(raw: pd.Series, column: str, path: Path, row: int) -> float | None:
    text = _cell(raw, column)
    if text == "":
        return None
    return parse_number(text, file=path, where=f"row {row}, column '{column}'")


def outside_range_hint(dist_name: str, value: float) -> str:
    """What to change when a point value lies outside its distribution's range: the bounds (named by
    column), the distribution (``fixed``), or, in the parameter workbook, a ``new_central_value``."""
    meanings = DISTRIBUTIONS[dist_name]
    bounds = [f"p{i} ({m})" for i, m in enumerate(meanings, start=1) if m in ("low", "high")]
    if bounds:
        first = f"change {' and '.join(bounds)} so that the range includes {value:g}"
    elif dist_name == "beta":
        first = "a beta distribution covers 0 to 1 only: choose another distribution"
    else:
        first = f"a {dist_name} distribution takes positive values only: choose another distribution"
    return (f"{first}; or set distribution to 'fixed' and clear p1..p{len(meanings)}; or, in the "
            f"parameter workbook, keep the old value and put {value:g} in a column headed "
            "'new_central_value', which re-centres the distribution with the same relative spread")


def _parse_row(raw: pd.Series, path: Path, row: int) -> Parameter:
    def where(column: str) -> str:
        return f"row {row}, column '{column}'"

    name = _cell(raw, "name")
    if not name:
        raise InputError("parameter name is empty", file=path, where=where("name"))
    if not NAME_PATTERN.match(name):
        raise InputError(f"'{name}' is not a valid parameter name", file=path, where=where("name"),
                         hint="use lower_snake_case: letters, digits and underscores")
    value = _number(raw, "value", path, row)
    if value is None:
        raise InputError(f"'{name}' has no value", file=path, where=where("value"))

    dist_name = _cell(raw, "distribution").lower()
    if dist_name not in DISTRIBUTIONS:
        raise InputError(
            f"unknown distribution '{_cell(raw, 'distribution')}'", file=path,
            where=where("distribution"),
            hint=did_you_mean(dist_name, DISTRIBUTIONS) or f"one of {list(DISTRIBUTIONS)}",
        )
    nums = [_number(raw, c, path, row) for c in ("p1", "p2", "p3", "p4")]
    arity = len(DISTRIBUTIONS[dist_name])
    for i, v in enumerate(nums):
        column = f"p{i + 1}"
        if i < arity and v is None:
            raise InputError(
                f"'{dist_name}' needs {column} ({DISTRIBUTIONS[dist_name][i]})", file=path,
                where=where(column))
        if i >= arity and v is not None:
            raise InputError(f"'{dist_name}' takes {arity} numbers; {column} should be blank",
                             file=path, where=where(column))
    try:
        distribution = build(dist_name, tuple(v for v in nums[:arity] if v is not None))
    except DistributionError as exc:
        raise InputError(str(exc), file=path, where=f"row {row}, columns p1..p{max(arity, 1)}") \
            from None

    unit = _cell(raw, "unit")
    if not unit:
        raise InputError(f"'{name}' has no unit", file=path, where=where("unit"))
    if problem := unit_problem(unit):
        raise InputError(f"'{name}': {problem[0]}", file=path, where=where("unit"), hint=problem[1])
    low, high = distribution.support
    if is_probability_unit(unit):
        if not 0 <= value <= 1:
            raise InputError(f"'{name}' is a probability but its value {value:g} is outside [0, 1]",
                             file=path, where=where("value"))
        if distribution.recipe is not None and (low < 0 or high > 1):
            raise InputError(
                f"'{name}' is a probability but its {dist_name} distribution reaches outside [0, 1] "
                f"({low:g} to {high:g})", file=path, where=f"row {row}, column 'distribution'",
                hint="use beta, pert, triangular or uniform within [0, 1]")
    if not low <= value <= high:
        raise InputError(
            f"value {value:g} lies outside its {dist_name} distribution's range ({low:g} to {high:g})",
            file=path, where=where("value"), hint=outside_range_hint(dist_name, value))

    price_text = _cell(raw, "price_year")
    price_year = None
    if is_money_unit(unit):
        if not price_text:
            raise InputError(f"'{name}' is money ({unit}) but has no price year", file=path,
                             where=where("price_year"), hint="e.g. 2023/24 or 2022")
    if price_text:
        try:
            price_year = parse_price_year(price_text)
        except InputError as exc:
            raise InputError(exc.message, file=path, where=where("price_year"),
                             hint=exc.hint) from None

    source = _cell(raw, "source")
    if not source:
        raise InputError(f"'{name}' has no source", file=path, where=where("source"),
                         hint="cite publication, table or page and URL, or write 'Assumption: ...'")
    grade = _cell(raw, "grade").lower()
    if grade and grade not in GRADES:
        raise InputError(f"unknown evidence grade '{_cell(raw, 'grade')}'", file=path, where=where("grade"),
                         hint=did_you_mean(grade, GRADES) or f"one of {', '.join(GRADES)}, or blank")
    return Parameter(
        name=name, value=value, distribution=distribution, unit=unit, price_year=price_year,
        source=source, notes=_cell(raw, "notes"), file=str(path), row=row, grade=grade,
        label=" ".join(_cell(raw, "label").split()),
    )
