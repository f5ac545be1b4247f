"""Excel workbooks for commissioners: the parameter tables and a scenario in one ``.xlsx`` file.

:func:`export_workbook` writes a workbook with

- ``README``: how to use it and what the colours mean;
- ``Scenario`` (when a scenario is given): one row per setting (area, horizon, price year, discounting,
  draws, seed, perspective, sampling...) with a description, a table of interventions (reach, uptake,
  years of delivery) and a table of rank correlations;
- one sheet per parameter table (sheet name = CSV stem, at most 31 characters), same columns as the CSV;
- ``sectors``: the sector table, read-only (a protected sheet);
- a very hidden sheet ``_roi_engine`` that lists the sheets, so a missing or renamed sheet is noticed,
  with fingerprints of the read-only sheets (:mod:`~roi_engine.inputs.readonly_sheets`): an edited
  sector row is an error, an edited README a one-line warning, and a sheet the workbook does not
  define (``toy (2)``, a copy made in Excel) an error naming it.

Input cells are filled light yellow; distribution names, perspective, sampling, discounting,
intervention ids and yes/no cells carry Excel drop-down lists.

:func:`read_workbook` reads it back (numbers as stored, never formatted text) and validates every
parameter row with the same row parser as the CSV tables (:func:`roi_engine.inputs.parameters._parse_row`),
relocating its errors to the sheet and cell (``kiva_anti_bullying!B5``). :func:`check_workbook` gives
a one-paragraph summary or raises. :func:`load_workbook_scenario` turns the workbook into a
:class:`~.scenario.Scenario`; :func:`load_scenario_with_workbook` runs a scenario TOML with the
workbook's parameters.

Every problem in a workbook is one :class:`~roi_engine.errors.InputError` naming the file, the
sheet and cell, and what is wrong. The input workbook is never written to; an exported workbook is
written to a temporary file in the target folder and moved into place, so a crash leaves either the
old file or the new one, never half a file.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import tempfile
import typing
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from roi_engine.atomic import atomic_output
from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.accounting import PERSPECTIVES
from roi_engine.inputs.distributions import DISTRIBUTIONS
from roi_engine.inputs.money import DeflatorTable, _shipped_schemes
from roi_engine.inputs.numbers import parse_value, shown
from roi_engine.inputs.parameters import (
    COLUMNS,
    GRADES,
    REQUIRED_COLUMNS,
    SECTORS_FILE,
    Parameter,
    ParameterRegistry,
    _number,
    _parse_row,
)
from roi_engine.inputs.readonly_sheets import extra_sheet_hint, sector_fingerprint, sheet_fingerprint
from roi_engine.inputs.recentre import recentre
from roi_engine.inputs.scenario import Scenario, ScenarioSpec, ScenarioWarning, load_scenario_data
from roi_engine.inputs.sectors import COLUMNS as SECTOR_COLUMNS
from roi_engine.inputs.sectors import YES_NO, Sector, SectorTable
from roi_engine.inputs.sharing_rule import RULES, SharingRule, default_contributors
from roi_engine.inputs.specs import read_toml, validate
from roi_engine.inputs.valuation import qaly_value_text
from roi_engine.text import write_text_cell

__all__ = [
    "WorkbookInputs",
    "check_workbook",
    "export_workbook",
    "is_workbook",
    "load_scenario_with_workbook",
    "load_workbook_scenario",
    "read_workbook",
]

README_SHEET = "README"
SCENARIO_SHEET = "Scenario"
SECTORS_SHEET = "sectors"
MANIFEST_SHEET = "_roi_engine"
MANIFEST_MARK = "roi-engine workbook"
FORMAT_VERSION = 1
RESERVED_SHEETS = (README_SHEET, SCENARIO_SHEET, SECTORS_SHEET, MANIFEST_SHEET)
MAX_SHEET_NAME = 31
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

#: First bytes of an OLE2 compound file: an encrypted (password-protected) workbook or an old .xls.
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_SIGNATURE = b"PK"

# Commands named in the README sheet (the CLI wires them).
CHECK_COMMAND = "roi-engine params check FILE.xlsx"
RUN_COMMAND = "roi-engine run FILE.xlsx"
RUN_TOML_COMMAND = "roi-engine run scenarios/NAME.toml --params FILE.xlsx"
EXPORT_COMMAND = "roi-engine params export --out FILE.xlsx --scenario scenarios/NAME.toml"

# Colours (explained on the README sheet).
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
INPUT_FONT = Font(color="0B3C8C")
FIXED_FILL = PatternFill("solid", fgColor="E7E6E6")
FIXED_FONT = Font(color="404040")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)

SPARE_ROWS = 300  # rows below a table that carry its drop-down lists, for rows a user adds

# Optional column a user may add to a parameter sheet: a new central value for the row's distribution.
NEW_CENTRAL_VALUE = "new_central_value"
PARAMETER_SHEET_COLUMNS = (*COLUMNS, NEW_CENTRAL_VALUE)
PARAMETER_INPUT_COLUMNS = ("label", "value", "distribution", "p1", "p2", "p3", "p4", "price_year", "source",
                           "notes", "grade")
PARAMETER_WIDTHS = {"name": 36, "label": 48, "value": 12, "distribution": 13, "p1": 11, "p2": 11, "p3": 11,
                    "p4": 11, "unit": 40, "price_year": 11, "source": 70, "notes": 70, "grade": 18}
SECTOR_WIDTHS = {"sector": 20, "label": 34, "public_body": 12, "default_contributor": 19,
                 "description": 100}

# The Scenario sheet: settings (in this order), then the interventions table, then correlations.
SETTINGS = ("name", "description", "area", "horizon", "price_year", "perspective", "discounting", "sharing",
            "draws", "seed", "sampling", "chunk_size", "qaly_value", "optimism_bias")
INTEGER_SETTINGS = frozenset({"horizon", "draws", "seed", "chunk_size"})
BOOLEAN_SETTINGS = frozenset({"optimism_bias"})
_YES, _NO = frozenset({"yes", "true"}), frozenset({"no", "false"})
SETTING_COLUMNS = ("setting", "value", "description")
INTERVENTION_COLUMNS = ("intervention", "reach", "uptake", "delivery_years", "programme")
CORRELATION_COLUMNS = ("parameter_1", "parameter_2", "spearman")
SHARING_COLUMNS = ("sector", "contributor", "agreed_share")
SPARE_INTERVENTION_ROWS = 3
SPARE_CORRELATION_ROWS = 2

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_PLAIN_SHEET = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_WHERE_CELL = re.compile(r"^row (\d+), column '([^']+)'$")
_WHERE_COLUMNS = re.compile(r"^row (\d+), columns p1\.\.p(\d)$")
_LAST_KEY = re.compile(r"(\[\d+\]|\.[^.\[]+|^[^.\[]+)$")
_YEARS_SPLIT = re.compile(r"[,;\s]+")

_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, KeyError, InvalidFileException,
            ParseError, ValueError, TypeError, IndexError, AttributeError, EOFError, OSError)
_T = TypeVar("_T")


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkbookInputs:
    """What :func:`read_workbook` found in a workbook, validated.

    Attributes
    ----------
    path : Path
    registry : ParameterRegistry
        Every parameter; ``Parameter.file`` is the workbook and ``Parameter.row`` the sheet row.
    sectors : SectorTable
    scenario_data : dict or None
        The Scenario sheet as the dict a scenario TOML gives (for
        :func:`~roi_engine.inputs.scenario.load_scenario_data`), without ``interventions_dir`` and
        ``parameters_dir``; None when the workbook has no Scenario sheet.
    tables : tuple of (str, str)
        ``(sheet name, table name)`` of each parameter sheet, in workbook order.
    locations : mapping of str to str
        Parameter name -> its row in the workbook, e.g. ``"params.xlsx!kiva_anti_bullying!A5"``.
    scenario_cells : mapping of str to str
        Scenario key path (``"area"``, ``"interventions[0].reach"``) -> ``"Scenario!B4"``.
    """

    path: Path
    registry: ParameterRegistry
    sectors: SectorTable
    scenario_data: dict[str, Any] | None
    tables: tuple[tuple[str, str], ...]
    locations: Mapping[str, str] = field(repr=False)
    scenario_cells: Mapping[str, str] = field(repr=False)

    def relocate(self, exc: InputError) -> InputError:
        """``exc`` with a Scenario key path (``interventions[0].id``) turned into its cell."""
        return _relocate_scenario_error(exc, self.path, self.scenario_cells)


def is_workbook(path: str | Path) -> bool:
    """True when ``path`` names an Excel workbook (``.xlsx``/``.xlsm``) rather than a CSV folder or TOML."""
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def export_workbook(path: str | Path, registry_dir: str | Path, scenario: Scenario | None = None, *,
                    overwrite: bool = False) -> Path:
    """Write the parameter tables in ``registry_dir`` (and ``scenario``'s settings) to an Excel workbook.

    Parameters
    ----------
    path : str or Path
        The workbook to write; must end in ``.xlsx``. Folders are created as needed.
    registry_dir : str or Path
        A parameter folder (``parameters/``): every ``*.csv`` table and ``sectors.csv``.
    scenario : Scenario, optional
        Adds a Scenario sheet with its settings, interventions and correlations.
    overwrite : bool
        Replace an existing workbook at ``path`` (never an input file). Default: refuse.

    Returns
    -------
    Path
        ``path``. The file is written to a temporary file in the same folder and moved into place.

    Raises
    ------
    InputError
        A bad parameter table, a name not ending in ``.xlsx``, a target that is one of the inputs,
        an existing file without ``overwrite``, or a folder that cannot be written.
    """
    path = Path(path)
    registry_dir = Path(registry_dir)
    if path.suffix.lower() != ".xlsx":
        raise InputError("a workbook's name must end in .xlsx", file=path,
                         hint=f"e.g. {path.with_suffix('.xlsx').name}")
    registry = ParameterRegistry.from_dir(registry_dir)
    if scenario is not None:  # the area's local values, each with its source (roi_engine.inputs.local)
        registry = registry.replace({n: p for n, p in scenario.registry.items() if p.basis and n in registry})
    sectors = SectorTable.from_csv(registry_dir / SECTORS_FILE)
    _refuse_to_overwrite_inputs(path, registry_dir, registry, scenario)
    if path.is_dir():
        raise InputError("is a folder, not a workbook file", file=path)
    if path.exists() and not overwrite:
        raise InputError("the file already exists", file=path,
                         hint="choose another name, or ask to replace it (--force)")
    workbook = _build_workbook(registry, sectors, scenario)
    return _save_atomically(workbook, path)


def read_workbook(path: str | Path) -> WorkbookInputs:
    """Read and validate a workbook made by :func:`export_workbook` (and edited in Excel).

    The file is read once into memory and never written to. Parameter rows are validated by the same
    rules as the CSV tables; every problem is one :class:`InputError` naming the file, the sheet and
    cell (``kiva_anti_bullying!B5``) and what is wrong. Columns are found by their heading, so a
    moved column is fine; blank rows and empty trailing columns are ignored.
    """
    path = Path(path)
    book = _Book.open(path)
    manifest = _read_manifest(book)
    book.require_sheets(manifest)
    book.check_readme(manifest)
    sectors = _read_sectors(book, manifest.sectors, manifest.sector_prints)
    params: list[Parameter] = []
    locations: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for sheet, _table in manifest.tables:
        for parameter, ref in _read_parameter_sheet(book, sheet):
            if parameter.name in first_seen:
                raise InputError(f"duplicate parameter name '{parameter.name}'", file=path, where=ref,
                                 hint=f"first defined at {first_seen[parameter.name]}")
            first_seen[parameter.name] = ref
            locations[parameter.name] = f"{path.name}!{ref}"
            params.append(parameter)
    registry = ParameterRegistry(params)
    scenario_data, cells = None, {}
    if SCENARIO_SHEET in book.sheetnames:
        scenario_data, cells = _read_scenario_sheet(book, registry, sectors)
    return WorkbookInputs(path, registry, sectors, scenario_data, manifest.tables, locations, cells)


def check_workbook(path: str | Path, *, interventions_dir: str | Path | None = None) -> str:
    """A one-paragraph summary of a valid workbook, or the first problem as an :class:`InputError`.

    With ``interventions_dir`` (the intervention library) the Scenario sheet is also resolved: the
    area, price year, discounting and interventions are looked up.
    """
    inputs = read_workbook(path)
    scenario = None
    if interventions_dir is not None and inputs.scenario_data is not None:
        scenario = load_workbook_scenario(inputs, interventions_dir=interventions_dir)
    return _summary(inputs, scenario)


def load_workbook_scenario(workbook: str | Path | WorkbookInputs, *,
                           interventions_dir: str | Path) -> Scenario:
    """The workbook's scenario (Scenario sheet) with the workbook's parameters and sectors.

    Parameters
    ----------
    workbook : str, Path or WorkbookInputs
    interventions_dir : str or Path
        The intervention library (``interventions/``); programmes are not part of the workbook.
    """
    inputs = workbook if isinstance(workbook, WorkbookInputs) else read_workbook(workbook)
    if inputs.scenario_data is None:
        raise InputError("the workbook has no Scenario sheet", file=inputs.path,
                         hint="export it again with a scenario (--scenario), or run a scenario TOML "
                              "with the workbook's parameters (--params)")
    data = dict(inputs.scenario_data, interventions_dir=str(Path(interventions_dir).resolve()))
    return _with_relocation(inputs, lambda: _resolve(data, inputs.path, inputs))


def load_scenario_with_workbook(scenario_path: str | Path, workbook: str | Path | WorkbookInputs) -> Scenario:
    """A scenario TOML run with the workbook's parameters and sectors (its Scenario sheet is not used)."""
    scenario_path = Path(scenario_path)
    inputs = workbook if isinstance(workbook, WorkbookInputs) else read_workbook(workbook)
    return _resolve(read_toml(scenario_path), scenario_path, inputs)


# ------------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------------


def _refuse_to_overwrite_inputs(path: Path, registry_dir: Path, registry: ParameterRegistry,
                                scenario: Scenario | None) -> None:
    inputs = {p.resolve() for p in registry_dir.iterdir() if p.is_file()}
    inputs |= {Path(p.file).resolve() for p in registry.values()}
    if scenario is not None:
        inputs.add(scenario.path.resolve())
        inputs |= {Path(p.file).resolve() for p in scenario.registry.values()}
        inputs |= {p.resolve() for p in scenario.library.paths.values()}
    if path.resolve() in inputs:
        raise InputError("refusing to overwrite an input file", file=path,
                         hint="choose another name for the workbook")


def _save_atomically(workbook: Workbook, path: Path) -> Path:
    """Save through :func:`roi_engine.atomic.atomic_output`, keeping an existing file's permissions."""
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else None
        with atomic_output(path, mode=mode) as temporary:
            workbook.save(temporary)
    except OSError as exc:
        raise InputError(f"cannot write the workbook ({exc.strerror or exc})", file=path,
                         hint="is it open in Excel? close it and try again") from None
    return path


def _sheet_names(stems: Sequence[str]) -> list[str]:
    """Excel sheet names for the tables: the CSV stem, at most 31 characters, unique ignoring case."""
    taken = {name.lower() for name in RESERVED_SHEETS}
    names = []
    for stem in stems:
        base = _SHEET_NAME_BAD.sub("_", stem).strip("'")[:MAX_SHEET_NAME] or "table"
        name, k = base, 2
        while name.lower() in taken:
            suffix = f"~{k}"
            name, k = base[:MAX_SHEET_NAME - len(suffix)] + suffix, k + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _build_workbook(registry: ParameterRegistry, sectors: SectorTable, scenario: Scenario | None) -> Workbook:
    tables: dict[str, list[Parameter]] = {}
    for parameter in registry.values():
        tables.setdefault(Path(parameter.file).stem, []).append(parameter)
    stems = list(tables)
    sheets = _sheet_names(stems)

    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    manifest = workbook.create_sheet(MANIFEST_SHEET)
    manifest.sheet_state = "veryHidden"
    lists = _ListMaker(manifest)
    if scenario is not None:
        _write_scenario_sheet(workbook.create_sheet(SCENARIO_SHEET), scenario, lists)
    for sheet, stem in zip(sheets, stems, strict=True):
        _write_parameter_sheet(workbook.create_sheet(sheet), tables[stem])
    _write_sectors_sheet(workbook.create_sheet(SECTORS_SHEET), sectors)
    _write_manifest(manifest, list(zip(sheets, stems, strict=True)), sectors, scenario is not None)
    last = len(workbook.sheetnames) - 1
    workbook.move_sheet(manifest, offset=last - workbook.sheetnames.index(MANIFEST_SHEET))
    _write_readme(readme, list(zip(sheets, stems, strict=True)), registry, scenario)
    _record_readme(manifest, readme)
    workbook.active = 0
    workbook.properties.creator = "roi-engine"
    workbook.properties.title = "roi-engine parameters" + (f": {scenario.spec.name}" if scenario else "")
    return workbook


def _style_header(ws: Worksheet, headings: Sequence[str], widths: Mapping[str, int],
                  comments: Mapping[str, str] | None = None, row: int = 1) -> None:
    for col, heading in enumerate(headings, start=1):
        cell = ws.cell(row=row, column=col, value=heading)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        if comments and heading in comments:
            cell.comment = Comment(comments[heading], "roi-engine", width=320, height=110)
        if heading in widths:
            ws.column_dimensions[get_column_letter(col)].width = widths[heading]


def _style(cell, editable: bool, text: bool = False) -> None:
    cell.fill, cell.font = (INPUT_FILL, INPUT_FONT) if editable else (FIXED_FILL, FIXED_FONT)
    if text:
        cell.number_format = "@"


def _inline_list(items: Sequence[str]) -> str | None:
    """An inline drop-down list formula, or None when Excel's 255-character limit is exceeded."""
    text = ",".join(items)
    return f'"{text}"' if len(text) <= 250 and not any("," in i or '"' in i for i in items) else None


class _ListMaker:
    """Drop-down lists: inline when short, else a column of the hidden manifest sheet."""

    def __init__(self, manifest: Worksheet):
        self.manifest = manifest
        self.next_column = 6

    def validation(self, items: Sequence[str], prompt: str) -> DataValidation:
        formula = _inline_list(items)
        if formula is None:
            column = get_column_letter(self.next_column)
            for row, item in enumerate(items, start=1):
                self.manifest.cell(row=row, column=self.next_column, value=item)
            formula = f"'{MANIFEST_SHEET}'!${column}$1:${column}${len(items)}"
            self.next_column += 1
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                            errorTitle="Not in the list", error=prompt, showInputMessage=False)
        return dv


PARAMETER_COMMENTS = {
    "name": "Unique name (lower_snake_case). The programmes refer to it: do not change it.",
    "label": "The parameter in words, as the report, results workbook and charts show it. Free text.",
    "value": "Point value used in the base case (the published central estimate).",
    "distribution": "Uncertainty: " + ", ".join(DISTRIBUTIONS) + ". What p1..p4 mean: see README.",
    "p1": "First number of the distribution (see README: e.g. alpha for beta, low for pert).",
    "p2": "Second number of the distribution (see README).",
    "p3": "Third number (truncnormal low, triangular/pert high); blank otherwise.",
    "p4": "Fourth number (truncnormal high); blank otherwise.",
    "unit": "Unit. A unit starting 'GBP' is money and needs a price year; one starting 'probability', "
            "'share' or 'proportion' must lie in [0, 1].",
    "price_year": "Money only: a financial year (2023/24) or calendar year (2023), inside the HM Treasury "
                  "GDP deflator table.",
    "source": "Publication, table or page, and URL. A number with no published source says "
              "'Assumption: ...'. Never blank.",
    "notes": "How the distribution was built, caveats.",
    "grade": "Kind of evidence: " + ", ".join(GRADES) + " (blank: not graded).",
}


def _write_parameter_sheet(ws: Worksheet, params: Sequence[Parameter]) -> None:
    _style_header(ws, COLUMNS, PARAMETER_WIDTHS, PARAMETER_COMMENTS)
    ws.freeze_panes = "B2"
    column = {name: i for i, name in enumerate(COLUMNS, start=1)}
    probability_cells = []
    for row, p in enumerate(params, start=2):
        numbers = [float(x) for x in p.distribution.params] + [None] * (4 - len(p.distribution.params))
        values = {
            "name": p.name, "label": p.label or None, "value": float(p.value),
            "distribution": p.distribution.name,
            "p1": numbers[0], "p2": numbers[1], "p3": numbers[2], "p4": numbers[3], "unit": p.unit,
            "price_year": str(p.price_year) if p.price_year else None, "source": p.source,
            "notes": p.notes or None, "grade": p.grade or None,
        }
        for name, value in values.items():
            cell = ws.cell(row=row, column=column[name])
            if isinstance(value, str):
                write_text_cell(cell, value, file=p.file, where=f"parameter '{p.name}', {name}")
            else:
                cell.value = value
            _style(cell, name in PARAMETER_INPUT_COLUMNS, text=name == "price_year")
        if p.is_probability:
            probability_cells.append(f"{get_column_letter(column['value'])}{row}")
    last = len(params) + 1 + SPARE_ROWS
    letter = get_column_letter(column["distribution"])
    dv = DataValidation(type="list", formula1=f'"{",".join(DISTRIBUTIONS)}"', allow_blank=True,
                        showErrorMessage=True, errorTitle="Unknown distribution",
                        error="Choose one of: " + ", ".join(DISTRIBUTIONS))
    dv.add(f"{letter}2:{letter}{last}")
    ws.add_data_validation(dv)
    if probability_cells:
        prob = DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                              showErrorMessage=True, errorTitle="Not a probability",
                              error="A probability, share or proportion lies between 0 and 1.")
        for cell in probability_cells:
            prob.add(cell)
        ws.add_data_validation(prob)
    price = get_column_letter(column["price_year"])
    for row in range(len(params) + 2, last + 1):
        ws[f"{price}{row}"].number_format = "@"


def _write_sectors_sheet(ws: Worksheet, sectors: SectorTable) -> None:
    _style_header(ws, SECTOR_COLUMNS, SECTOR_WIDTHS)
    ws.freeze_panes = "B2"
    for row, s in enumerate(sectors.sectors, start=2):
        values = (s.name, s.label, "yes" if s.public_body else "no",
                  "yes" if s.default_contributor else "no", s.description)
        for col, value in enumerate(values, start=1):
            _style(ws.cell(row=row, column=col, value=value), False)
    dv = DataValidation(type="list", formula1='"yes,no"', allow_blank=False, showErrorMessage=True,
                        errorTitle="yes or no", error="Type yes or no.")
    dv.add(f"C2:D{len(sectors) + 1}")
    ws.add_data_validation(dv)
    ws.protection.sheet = True  # read-only in Excel (no password: Review > Unprotect Sheet)


def _setting_descriptions() -> dict[str, str]:
    deflator = DeflatorTable.default()
    schemes = ", ".join(_shipped_schemes())
    perspectives = "; ".join(f"{k}: benefits counted {', '.join(v)}" for k, v in PERSPECTIVES.items())
    return {
        "name": "Title printed on every result.",
        "description": "What is commissioned, for whom (free text).",
        "area": "English local authority: ONS GSS code (e.g. E08000025) or exact area name. "
                "'roi-engine areas NAME' finds codes.",
        "horizon": "Years counted; year 0 is the first year of delivery (1 to 300).",
        "price_year": "Prices of every result: a financial year (2023/24) or calendar year (2023), between "
                      f"{deflator.first_year} and {deflator.last_year} (HM Treasury GDP deflator).",
        "perspective": f"Whose costs and benefits count. {perspectives}. Costs: public bodies only under "
                       "public_sector, every payer otherwise.",
        "discounting": f"Discount-rate scheme: {schemes} (Green Book: 3.5% for costs and money, "
                       "1.5% for health).",
        "draws": "Monte Carlo draws: more gives steadier numbers but takes longer (e.g. 10000).",
        "seed": "Random seed: the same seed and settings give exactly the same numbers.",
        "sampling": "lhs (Latin hypercube, steadier) or mc (plain Monte Carlo).",
        "chunk_size": "Advanced: draws computed at a time (memory use). Leave as it is.",
        "qaly_value": "Value of a QALY: blank = the parameter table's (Green Book GBP 70,000, 2020/21); "
                      "green_book, nice_20k, nice_30k, dhsc_15k, or a number with its price year, "
                      "e.g. 25000 (2023/24).",
        "optimism_bias": "yes: raise programme costs and shrink effects by each parameter's evidence "
                         "grade (Green Book optimism bias; see the method docs). no: as the tables say.",
        "sharing": "How partners would share the total cost (the cost-sharing table below names who pays): "
                   + "; ".join(f"{rule}: {meaning}" for rule, meaning in RULES.items()) + ".",
    }


def _years_text(years: Iterable[int]) -> str:
    return ", ".join(str(y) for y in years)


def _write_scenario_sheet(ws: Worksheet, scenario: Scenario, lists: _ListMaker) -> None:
    spec = scenario.spec
    _style_header(ws, SETTING_COLUMNS, {"setting": 26, "value": 46, "description": 110})
    for col, width in (("D", 18), ("E", 90)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    descriptions = _setting_descriptions()
    row_of = {}
    for row, setting in enumerate(SETTINGS, start=2):
        value = spec.sharing.rule if setting == "sharing" else getattr(spec, setting)
        if setting == "qaly_value":
            value = qaly_value_text(value)
        if setting in BOOLEAN_SETTINGS:
            value = "yes" if value else "no"
        row_of[setting] = row
        _style(ws.cell(row=row, column=1, value=setting), False)
        cell = ws.cell(row=row, column=2, value=value if value != "" else None)
        _style(cell, True, text=setting in ("price_year", "area", "name", "description", "qaly_value"))
        _style(ws.cell(row=row, column=3, value=descriptions[setting]), False)
    for setting, items, prompt in (
        ("perspective", list(PERSPECTIVES), "Choose public_sector, economic or societal."),
        ("sampling", ["lhs", "mc"], "Choose lhs or mc."),
        ("discounting", list(_shipped_schemes()), "Choose a discount-rate scheme from the list."),
        ("sharing", list(RULES), "Choose a cost-sharing rule from the list."),
        ("optimism_bias", ["no", "yes"], "Choose no or yes."),
    ):
        dv = lists.validation(items, prompt)
        dv.add(f"B{row_of[setting]}")
        ws.add_data_validation(dv)

    row = len(SETTINGS) + 2  # a spacer row after the settings
    _style_header(ws, INTERVENTION_COLUMNS, {}, row=row, comments={
        "intervention": "Programme id (a file in interventions/). Add a row to add a programme.",
        "reach": "Share of eligible people reached, 0 to 1. Blank: the programme's own value.",
        "uptake": "Share of those reached who take part, 0 to 1. Blank: the programme's own value.",
        "delivery_years": "Years (0 = first year) in which a new cohort starts, e.g. 0, 1, 2, 3. "
                          "Blank: the programme's own years.",
        "programme": "For information: the programme and its own defaults.",
    })
    first = row + 1
    for item, programme in scenario.interventions:
        if item.uptake_by_quintile is not None:
            raise InputError("the parameter workbook cannot carry uptake_by_quintile yet (it would be "
                             "dropped)", file=scenario.path, where=f"interventions '{item.id}'",
                             hint="export the scenario without uptake_by_quintile, or run from the TOML")
        row += 1
        defaults = (f"{programme.name}. Defaults: reach {programme.population.reach}, uptake "
                    f"{programme.population.uptake}, delivery years {_years_text(programme.delivery.years)}")
        values = (item.id, item.reach, item.uptake,
                  _years_text(item.delivery_years) if item.delivery_years is not None else None, defaults)
        for col, value in enumerate(values, start=1):
            _style(ws.cell(row=row, column=col, value=value), col < 5, text=col in (1, 4))
    for _ in range(SPARE_INTERVENTION_ROWS):
        row += 1
        for col in range(1, 5):
            _style(ws.cell(row=row, column=col), True, text=col in (1, 4))
    ids = lists.validation(sorted(scenario.library), "Choose a programme from the intervention library.")
    ids.add(f"A{first}:A{row}")
    ws.add_data_validation(ids)
    share = DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                           allow_blank=True, showErrorMessage=True, errorTitle="Not a share",
                           error="Reach and uptake lie between 0 and 1 (blank: the programme's own).")
    share.add(f"B{first}:C{row}")
    ws.add_data_validation(share)

    row += 2
    sharing = spec.sharing
    _style_header(ws, SHARING_COLUMNS, {}, row=row, comments={
        "sector": "A sector (see the sectors sheet).",
        "contributor": "yes: the sector pays a share of the cost under the sharing rule; no: it does not. "
                       "All blank: the default contributors (default_contributor on the sectors sheet). "
                       "Not used by the as_modelled rule.",
        "agreed_share": "For the 'agreed' rule only: each contributor's share of the total cost, 0 to 1; "
                        "the shares add up to 1.",
    })
    first = row + 1
    for sector in scenario.sectors.names:
        row += 1
        flag = None if sharing.contributors is None else ("yes" if sector in sharing.contributors else "no")
        share_value = None if sharing.shares is None else sharing.shares.get(sector)
        _style(ws.cell(row=row, column=1, value=sector), False, text=True)
        _style(ws.cell(row=row, column=2, value=flag), True, text=True)
        _style(ws.cell(row=row, column=3, value=share_value), True)
    sector_list = lists.validation(list(scenario.sectors.names), "Choose a sector from the list.")
    sector_list.add(f"A{first}:A{row}")
    yes_no = DataValidation(type="list", formula1='"yes,no"', allow_blank=True, showErrorMessage=True,
                            errorTitle="yes or no", error="Type yes or no (or leave every row blank).")
    yes_no.add(f"B{first}:B{row}")
    shares = DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                            allow_blank=True, showErrorMessage=True, errorTitle="Not a share",
                            error="A share lies between 0 and 1.")
    shares.add(f"C{first}:C{row}")
    for dv in (sector_list, yes_no, shares):
        ws.add_data_validation(dv)

    row += 2
    _style_header(ws, CORRELATION_COLUMNS, {}, row=row, comments={
        "parameter_1": "Optional: two uncertain parameters whose draws move together.",
        "spearman": "Target Spearman rank correlation, strictly between -1 and 1.",
    })
    for corr in scenario.spec.correlations:
        row += 1
        for col, value in enumerate((corr.between[0], corr.between[1], corr.spearman), start=1):
            _style(ws.cell(row=row, column=col, value=value), True, text=col < 3)
    for _ in range(SPARE_CORRELATION_ROWS):
        row += 1
        for col in range(1, 4):
            _style(ws.cell(row=row, column=col), True, text=col < 3)


def _write_manifest(ws: Worksheet, tables: Sequence[tuple[str, str]], sectors: SectorTable,
                    has_scenario: bool) -> None:
    rows: list[tuple[Any, ...]] = [(MANIFEST_MARK, FORMAT_VERSION),
                                   ("scenario", "yes" if has_scenario else "no")]
    rows += [("table", sheet, stem) for sheet, stem in tables]
    rows += [("sector", s.name, sector_fingerprint(s.label, "yes" if s.public_body else "no",
                                                   "yes" if s.default_contributor else "no", s.description))
             for s in sectors.sectors]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value)


def _record_readme(manifest: Worksheet, readme: Worksheet) -> None:
    """Append the README sheet's fingerprint to the manifest (after its last row in column A)."""
    row = 1
    while manifest.cell(row=row, column=1).value is not None:
        row += 1
    cells = [(c.row, c.column, _to_text(c.value)) for c in readme._cells.values() if c.value is not None]
    manifest.cell(row=row, column=1, value="readme")
    manifest.cell(row=row, column=2, value=sheet_fingerprint(cells))


def _write_readme(ws: Worksheet, tables: Sequence[tuple[str, str]], registry: ParameterRegistry,
                  scenario: Scenario | None) -> None:
    deflator = DeflatorTable.default()
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 120
    lines: list[tuple[str, str, Any]] = [
        ("roi-engine parameters" + (f": {scenario.spec.name}" if scenario else ""), "", TITLE_FONT),
        ("", "This workbook holds every number behind the return-on-investment model: what a programme "
             "costs, what it changes and what that is worth, with its uncertainty and source.", None),
        ("", "", None),
        ("How to use it", "", BOLD),
        ("1.", "Change the light-yellow cells: your own costs, reach, local rates, or a better source. "
               "Say where a number comes from in 'source'.", None),
        ("2.", "Save the workbook (as .xlsx), then check it: " + CHECK_COMMAND, None),
        ("3.", "Run it: " + RUN_COMMAND + "   (or with a scenario file: " + RUN_TOML_COMMAND + ")", None),
        ("4.", "Problems are reported as one line naming the sheet and cell, e.g. "
               "'kiva_anti_bullying!B5: 'abc' is not a number'.", None),
        ("", "", None),
        ("Colours", "", BOLD),
        ("input", "Light yellow: input cells. Change these.", "input"),
        ("fixed", "Grey: read-only. Names link the tables to the programmes; units and the sector table "
                  "are fixed.", "fixed"),
        ("heading", "Dark blue: column headings. Do not rename them (moving a column is fine).", "header"),
        ("", "Cells with a drop-down arrow only take the values in the list.", None),
        ("", "", None),
        ("Rules", "", BOLD),
        ("", "Do not rename or delete sheets or column headings. You may move columns, add rows and "
             "leave blank rows.", None),
        ("", "Type numbers as numbers. Formulas are fine once Excel has calculated and saved them.", None),
        ("", "Do not merge cells inside a table.", None),
        ("", "Probabilities, shares and proportions (see 'unit') lie between 0 and 1.", None),
        ("", f"Money is in GBP at the row's price year (2023/24 or 2023), between {deflator.first_year} and "
             f"{deflator.last_year}; results are converted with the HM Treasury GDP deflator.", None),
        ("", "Scenario sheet: a blank reach, uptake or delivery_years uses the programme's own value.",
         None),
        ("", "A new central value only: add a column headed new_central_value to a parameter sheet and put "
             "your number in it. The row's value becomes that number and its distribution is re-centred on "
             "it with the same relative spread (low, mode and high scaled alike); notes records it. Or "
             "type the value and change p1..p4 yourself, or set the distribution to 'fixed'.", None),
        ("", "", None),
        ("Distributions", "p1, p2, p3, p4", BOLD),
    ]
    for name, meaning in DISTRIBUTIONS.items():
        lines.append((name, ", ".join(meaning) if meaning else "(no numbers: the value is certain)", None))
    lines += [("", "", None), ("Sheets", "", BOLD)]
    if scenario is not None:
        lines.append((SCENARIO_SHEET, "Area, horizon, price year, perspective, discounting, cost-sharing "
                                      "rule, draws, seed, sampling; the programmes with their reach, uptake "
                                      "and years of delivery; who shares the cost; rank correlations.", None))
    counts: dict[str, int] = {}
    for p in registry.values():
        counts[Path(p.file).stem] = counts.get(Path(p.file).stem, 0) + 1
    for sheet, stem in tables:
        lines.append((sheet, f"Parameter table {stem}.csv ({counts.get(stem, 0)} parameters).", None))
    lines.append((SECTORS_SHEET, "Who pays and who gains (read-only).", None))

    for row, (a, b, style) in enumerate(lines, start=1):
        first = ws.cell(row=row, column=1, value=a or None)
        second = ws.cell(row=row, column=2, value=b or None)
        if style in ("input", "fixed"):
            _style(first, style == "input")
        elif style == "header":
            first.fill, first.font = HEADER_FILL, HEADER_FONT
        elif style is not None:
            first.font = style
            second.font = style


# ------------------------------------------------------------------------------------------------
# Reading: opening the file, the manifest, cells
# ------------------------------------------------------------------------------------------------


def _ref(sheet: str, cell: str) -> str:
    """``sheet!B5``, quoting a sheet name Excel would quote."""
    name = sheet if _PLAIN_SHEET.match(sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{cell}"


def _to_text(value: Any) -> str:
    """A cell's value as the text a CSV cell would hold; numbers exactly (``float(text) == value``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _formula_text(value: Any) -> str | None:
    """The formula in a cell of the formulas workbook, or None for a plain value."""
    if isinstance(value, str):
        return value if value.startswith("=") else None
    text = getattr(value, "text", None)  # ArrayFormula
    if isinstance(text, str):
        return text
    if type(value).__name__ == "DataTableFormula":
        return "{=TABLE()}"
    return None


class _Book:
    """A workbook read twice from the same bytes: cached values (data_only) and formulas."""

    def __init__(self, path: Path, values, formulas):
        self.path = path
        self.values = values
        self.formulas = formulas
        self.sheetnames: list[str] = list(values.sheetnames)
        self._grids: dict[str, _Grid] = {}

    @classmethod
    def open(cls, path: Path) -> _Book:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError("file not found", file=path) from None
        except IsADirectoryError:
            raise InputError("is a folder, not an .xlsx workbook", file=path,
                             hint="a folder of CSV tables is read as such, not as a workbook") from None
        except OSError as exc:
            raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
        _check_signature(path, data)
        _check_expanded_size(path, data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = load_workbook(io.BytesIO(data), data_only=True)
                formulas = load_workbook(io.BytesIO(data), data_only=False)
        except _DAMAGED:
            raise _damaged(path) from None
        except Exception as exc:  # noqa: BLE001 - any other failure inside openpyxl's parser
            raise InputError(f"the workbook cannot be read ({type(exc).__name__})", file=path,
                             hint="open it in Excel and save it again as 'Excel Workbook (*.xlsx)'") from None
        return cls(path, values, formulas)

    def grid(self, sheet: str) -> _Grid:
        """The non-empty cells of a sheet (values and formulas)."""
        if sheet not in self._grids:
            ws, wf = self.values[sheet], self.formulas[sheet]
            values = {(c.row, c.column): c for c in ws._cells.values() if c.value is not None}
            formulas = {}
            for c in wf._cells.values():
                text = _formula_text(c.value)
                if text is not None:
                    formulas[(c.row, c.column)] = text
            columns: dict[int, set[int]] = {}
            for row, col in list(values) + list(formulas):
                columns.setdefault(row, set()).add(col)
            self._grids[sheet] = _Grid(values, formulas,
                                       {row: sorted(cols) for row, cols in sorted(columns.items())})
        return self._grids[sheet]

    def text(self, sheet: str, row: int, col: int) -> str:
        """The cell's value as text ("" for blank); a formula without a result or an error is an error."""
        grid = self.grid(sheet)
        values, formulas = grid.values, grid.formulas
        cell = values.get((row, col))
        where = _ref(sheet, f"{get_column_letter(col)}{row}")
        if cell is None:
            formula = formulas.get((row, col))
            if formula is not None:
                raise InputError(f"the formula '{formula}' has no saved result", file=self.path, where=where,
                                 hint="open the workbook in Excel and save it, so the result is stored, "
                                      "or type the number")
            return ""
        if cell.data_type == "e":
            raise InputError(f"the cell shows the Excel error {cell.value}", file=self.path, where=where,
                             hint="fix the formula or type the value")
        return _to_text(cell.value).strip()

    def raw(self, sheet: str, row: int, col: int) -> Any:
        """The cell's stored value (after :meth:`text` has checked it), or None."""
        self.text(sheet, row, col)
        cell = self.grid(sheet).values.get((row, col))
        return None if cell is None else cell.value

    def no_merged_cells(self, sheet: str) -> None:
        merged = sorted(self.values[sheet].merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
        if merged:
            coord = merged[0].coord
            raise InputError("merged cells in a table", file=self.path, where=_ref(sheet, coord),
                             hint="unmerge them with Home > Merge & Center, and put one value in each cell")

    def require_sheets(self, manifest: _Manifest) -> None:
        expected = [sheet for sheet, _ in manifest.tables] + [SECTORS_SHEET]
        if manifest.has_scenario:
            expected.insert(0, SCENARIO_SHEET)
        present = set(self.sheetnames)
        for sheet in expected:
            if sheet in present:
                continue
            others = [s for s in self.sheetnames if s not in expected and s not in RESERVED_SHEETS]
            hint = did_you_mean(sheet, others)
            raise InputError(
                f"sheet '{sheet}' is missing", file=self.path,
                hint=f"{hint} Rename it back: sheets are found by name" if hint
                else "restore it from a freshly exported workbook: sheets are found by name")
        for sheet in self.sheetnames:
            if sheet not in expected and sheet not in (README_SHEET, MANIFEST_SHEET):
                raise InputError(f"sheet {shown(sheet)} is not part of this workbook", file=self.path,
                                 hint=extra_sheet_hint(sheet, expected))

    def check_readme(self, manifest: _Manifest) -> None:
        """A one-line warning when the read-only README sheet was edited (it changes no number)."""
        if manifest.readme_print is None or README_SHEET not in self.sheetnames:
            return
        cells = [(r, c, _to_text(cell.value)) for (r, c), cell in self.grid(README_SHEET).values.items()]
        if sheet_fingerprint(cells) != manifest.readme_print:
            warnings.warn(ScenarioWarning(
                f"{self.path}: README: the README sheet is read-only and was edited; the edits are ignored "
                "(they change no number)"), stacklevel=3)


def _check_signature(path: Path, data: bytes) -> None:
    """Tell an encrypted workbook, an old .xls, a text file or a cut-short file from an .xlsx."""
    if not data:
        raise InputError("the file is empty (0 bytes), not an .xlsx workbook", file=path,
                         hint="it may not have finished saving or copying: get a fresh copy, or export "
                              "it again")
    if data.startswith(OLE_SIGNATURE):
        if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
            raise InputError("the workbook is password-protected (encrypted), so it cannot be read",
                             file=path, hint="in Excel: File > Info > Protect Workbook > Encrypt with "
                                             "Password, delete the password, save, and try again")
        raise InputError("this is an old Excel 97-2003 (.xls) file, not an .xlsx workbook", file=path,
                         hint="open it in Excel and save it as 'Excel Workbook (*.xlsx)'")
    if not data.startswith(ZIP_SIGNATURE):
        if _looks_like_text(data):
            raise InputError("not an Excel workbook: it is a text file, perhaps a CSV renamed to .xlsx",
                             file=path,
                             hint="open it in Excel and save it as 'Excel Workbook (*.xlsx)', or give "
                                  "the folder of CSV tables instead")
        raise InputError("not an Excel workbook: .xlsx files are zip archives and this one is not", file=path,
                         hint="open it in Excel and save it as 'Excel Workbook (*.xlsx)'")


MAX_UNCOMPRESSED_BYTES = 100 * 2**20
"""Largest total uncompressed size of a workbook's parts (a zip bomb expands to gigabytes)."""
MAX_CELLS = 1_000_000
"""Most cells a parameter workbook may hold (it has hundreds); about 50 bytes of sheet XML each."""


def _check_expanded_size(path: Path, data: bytes) -> None:
    """Refuse, before openpyxl opens it, a workbook whose parts would expand beyond the limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        return  # openpyxl's own failure is reported as a damaged file
    total = sum(m.file_size for m in members)
    sheets = sum(m.file_size for m in members if m.filename.startswith("xl/worksheets/"))
    if total > MAX_UNCOMPRESSED_BYTES or sheets > MAX_CELLS * 50:
        raise InputError(f"the workbook would expand to {total / 2**20:.0f} MB when opened (the limit is "
                         f"{MAX_UNCOMPRESSED_BYTES // 2**20} MB), too large for a parameter workbook",
                         file=path, hint="export a fresh workbook with 'roi-engine params export'")


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the 4096-byte boundary
    return True


def _damaged(path: Path) -> InputError:
    return InputError("the workbook is damaged or incomplete: it cannot be opened as an .xlsx file",
                      file=path, hint="it may have been cut short while copying or downloading: get a "
                                      "fresh copy, or export it again")


@dataclass(frozen=True)
class _Grid:
    values: dict[tuple[int, int], Any]  # (row, column) -> openpyxl cell with a value
    formulas: dict[tuple[int, int], str]  # (row, column) -> formula text
    columns: dict[int, list[int]]  # row -> its non-empty columns, rows in order

    @property
    def max_row(self) -> int:
        return max(self.columns, default=0)


@dataclass(frozen=True)
class _Manifest:
    tables: tuple[tuple[str, str], ...]
    sectors: tuple[str, ...]
    has_scenario: bool
    sector_prints: Mapping[str, str] = field(default_factory=dict)  # name -> fingerprint (if recorded)
    readme_print: str | None = None


def _read_manifest(book: _Book) -> _Manifest:
    path = book.path
    if MANIFEST_SHEET not in book.sheetnames:
        if all(not book.grid(sheet).columns for sheet in book.sheetnames):
            raise InputError("the workbook is empty", file=path,
                             hint=f"start from an exported workbook: {EXPORT_COMMAND}")
        raise InputError(f"not a workbook made by roi-engine: its hidden sheet '{MANIFEST_SHEET}' is "
                         "missing", file=path,
                         hint=f"export a fresh workbook with '{EXPORT_COMMAND}' and copy your changes "
                              "into it")
    grid = book.grid(MANIFEST_SHEET)
    values, max_row = grid.values, grid.max_row

    def cell(row: int, col: int) -> Any:
        found = values.get((row, col))
        return None if found is None else found.value

    damaged = InputError(f"the hidden sheet '{MANIFEST_SHEET}' has been changed", file=path,
                         hint=f"export a fresh workbook with '{EXPORT_COMMAND}' and copy your changes "
                              "into it")
    if cell(1, 1) != MANIFEST_MARK or cell(1, 2) != FORMAT_VERSION:
        raise damaged
    tables, sectors, has_scenario = [], [], None
    sector_prints: dict[str, str] = {}
    readme_print = None
    for row in range(2, max_row + 1):
        kind, first, second = cell(row, 1), cell(row, 2), cell(row, 3)
        if kind == "scenario" and first in ("yes", "no") and has_scenario is None:
            has_scenario = first == "yes"
        elif kind == "table" and isinstance(first, str) and isinstance(second, str) and first:
            tables.append((first, second))
        elif kind == "sector" and isinstance(first, str) and first:
            sectors.append(first)
            if isinstance(second, str) and second:
                sector_prints[first] = second
        elif kind == "readme" and isinstance(first, str) and first and readme_print is None:
            readme_print = first
        elif kind is not None:
            raise damaged
    names = [t for t, _ in tables]
    if has_scenario is None or not tables or not sectors or len(set(names)) != len(names) \
            or any(name in RESERVED_SHEETS for name in names):
        raise damaged
    return _Manifest(tuple(tables), tuple(sectors), has_scenario, sector_prints, readme_print)


# ------------------------------------------------------------------------------------------------
# Reading: tables
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    sheet: str
    header_row: int
    columns: dict[str, int]  # heading -> column number
    rows: tuple[int, ...]  # non-blank data rows


def _read_table(book: _Book, sheet: str, header_row: int, last_row: int, expected: Sequence[str],
                required: Sequence[str], stray_hint: str = "clear it") -> _Table:
    """Find the headings in ``header_row`` by name and the non-blank rows below, up to ``last_row``."""
    grid = book.grid(sheet)
    headings: dict[str, int] = {}
    for col in grid.columns.get(header_row, ()):
        text = book.text(sheet, header_row, col)
        if not text:
            continue
        key = text.lower()
        where = _ref(sheet, f"{get_column_letter(col)}{header_row}")
        if key in headings:
            raise InputError(f"column '{text}' appears twice", file=book.path, where=where,
                             hint=f"it is also in column {get_column_letter(headings[key])}")
        if key not in expected:
            missing = [c for c in expected if c not in headings]
            raise InputError(f"unexpected column '{text}'", file=book.path, where=where,
                             hint=did_you_mean(key, missing) or did_you_mean(key, expected)
                             or f"expected columns: {', '.join(expected)}")
        headings[key] = col
    missing = [c for c in required if c not in headings]
    if missing:
        raise InputError(f"missing column '{missing[0]}'", file=book.path,
                         where=_ref(sheet, f"{header_row}:{header_row}"),
                         hint=f"the heading row needs: {', '.join(required)}")
    rows = []
    known = set(headings.values())
    for row in (r for r in grid.columns if header_row < r <= last_row):
        texts = {col: book.text(sheet, row, col) for col in grid.columns[row]}
        stray = [col for col, text in texts.items() if text and col not in known]
        if stray:
            col = stray[0]
            raise InputError("a value lies in a column with no heading", file=book.path,
                             where=_ref(sheet, f"{get_column_letter(col)}{row}"),
                             hint=stray_hint)
        if any(texts.values()):
            rows.append(row)
    return _Table(sheet, header_row, headings, tuple(rows))


def _first_row(book: _Book, sheet: str) -> int:
    """The first non-blank row of a sheet (the heading row), or an error for an empty sheet."""
    rows = book.grid(sheet).columns
    if not rows:
        raise InputError("the sheet is empty", file=book.path, where=_ref(sheet, "A1"),
                         hint="restore the table from a freshly exported workbook")
    return next(iter(rows))


def _relocate_parameter_error(exc: InputError, sheet: str, columns: Mapping[str, int]) -> InputError:
    """Turn ``row 14, column 'value'`` from the CSV row parser into ``sheet!B14``."""
    where = exc.where or ""
    cell = _WHERE_CELL.match(where)
    if cell and cell.group(2) in columns:
        new = _ref(sheet, f"{get_column_letter(columns[cell.group(2)])}{cell.group(1)}")
    elif (span := _WHERE_COLUMNS.match(where)) is not None:
        row = span.group(1)
        cols = sorted(columns[f"p{i}"] for i in range(1, int(span.group(2)) + 1) if f"p{i}" in columns)
        if cols and cols == list(range(cols[0], cols[-1] + 1)):
            new = _ref(sheet, f"{get_column_letter(cols[0])}{row}:{get_column_letter(cols[-1])}{row}")
        else:
            new = _ref(sheet, ",".join(f"{get_column_letter(c)}{row}" for c in cols))
    else:
        new = f"{sheet}, {where}" if where else sheet
    return InputError(exc.message, file=exc.file, where=new, hint=exc.hint)


def _read_parameter_sheet(book: _Book, sheet: str) -> list[tuple[Parameter, str]]:
    """Every parameter row of a sheet, validated by the CSV row parser, with the cell of its name."""
    book.no_merged_cells(sheet)
    header = _first_row(book, sheet)
    table = _read_table(book, sheet, header, book.grid(sheet).max_row, PARAMETER_SHEET_COLUMNS,
                        REQUIRED_COLUMNS, "put comments in the 'notes' column, or clear the cell")
    deflator = DeflatorTable.default()
    found = []
    for row in table.rows:
        cells = {name: book.text(sheet, row, col) for name, col in table.columns.items()}
        try:
            raw = pd.Series(_recentred(cells, book.path, row), dtype=object)
            parameter = _parse_row(raw, book.path, row)
            if parameter.price_year is not None:
                deflator.index(parameter.price_year)
        except InputError as exc:
            if exc.where is None:  # the deflator's range error
                exc = InputError(exc.message, file=book.path, where=f"row {row}, column 'price_year'",
                                 hint=exc.hint)
            raise _relocate_parameter_error(exc, sheet, table.columns) from None
        found.append((parameter, _ref(sheet, f"{get_column_letter(table.columns['name'])}{row}")))
    if not found:
        raise InputError("the table has no parameter rows", file=book.path,
                         where=_ref(sheet, f"A{header + 1}"),
                         hint="restore the rows from a freshly exported workbook")
    return found


def _recentred(cells: dict[str, str], path: Path, row: int) -> dict[str, str]:
    """A parameter row's cells with its distribution re-centred on ``new_central_value`` when given.

    The row's ``value`` becomes the new central value and ``p1..p4`` are moved by
    :func:`~roi_engine.inputs.recentre.recentre` (same relative spread); ``notes`` says so. Rows
    without a new central value, or whose distribution is itself invalid, are returned unchanged (the
    row parser then reports them).
    """
    text = cells.get(NEW_CENTRAL_VALUE, "").strip()
    name = cells.get("distribution", "").strip().lower()
    if not text or name not in DISTRIBUTIONS:
        return cells
    raw = pd.Series(cells, dtype=object)
    new = _number(raw, NEW_CENTRAL_VALUE, path, row)
    old = tuple(_number(raw, f"p{i}", path, row) for i in range(1, len(DISTRIBUTIONS[name]) + 1))
    if any(p is None for p in old):
        return cells
    try:
        params = recentre(name, old, new)
    except ValueError as exc:
        raise InputError(str(exc), file=path, where=f"row {row}, column '{NEW_CENTRAL_VALUE}'") from None
    was = cells.get("value", "").strip() or "blank"
    note = f"Re-centred on {new:g} (value was {was}) with the same relative spread (new_central_value)."
    updated = dict(cells, value=repr(new),
                   notes=" ".join(part for part in (cells.get("notes", "").strip(), note) if part))
    for i, p in enumerate(params, start=1):
        updated[f"p{i}"] = repr(p)
    return updated


def _read_sectors(book: _Book, expected: Sequence[str],
                  prints: Mapping[str, str] | None = None) -> SectorTable:
    """The sectors sheet, checked like sectors.csv; its names must be the exported ones (read-only)."""
    sheet, path = SECTORS_SHEET, book.path
    book.no_merged_cells(sheet)
    header = _first_row(book, sheet)
    table = _read_table(book, sheet, header, book.grid(sheet).max_row, SECTOR_COLUMNS, SECTOR_COLUMNS)
    cols = table.columns
    sectors: list[Sector] = []
    for row in table.rows:
        def text(column: str, row: int = row) -> str:
            return book.text(sheet, row, cols[column])

        def where(column: str, row: int = row) -> str:
            return _ref(sheet, f"{get_column_letter(cols[column])}{row}")

        name = text("sector")
        if not name:
            raise InputError("the sector name is empty", file=path, where=where("sector"))
        if name not in expected:
            raise InputError(f"'{name}' is not a sector", file=path, where=where("sector"),
                             hint=(did_you_mean(name, expected) or f"one of {', '.join(expected)}.")
                             + " The sectors sheet is read-only")
        if name in {s.name for s in sectors}:
            raise InputError(f"duplicate sector '{name}'", file=path, where=where("sector"))
        flags = {}
        for column in ("public_body", "default_contributor"):
            value = text(column).lower()
            if value not in YES_NO:
                raise InputError(f"'{text(column)}' is not yes or no", file=path, where=where(column))
            flags[column] = YES_NO[value]
        recorded = (prints or {}).get(name)
        if recorded is not None and recorded != sector_fingerprint(
                text("label"), text("public_body"), text("default_contributor"), text("description")):
            first, last = min(cols.values()), max(cols.values())
            raise InputError(
                f"sector '{name}' has been edited, but the sectors sheet is read-only", file=path,
                where=_ref(sheet, f"{get_column_letter(first)}{row}:{get_column_letter(last)}{row}"),
                hint="restore the exported values (who is a public body, who pays by default, label and "
                     "description); to change a sector, edit sectors.csv in the library and export again")
        sectors.append(Sector(name, text("label") or name, flags["public_body"],
                              flags["default_contributor"], text("description")))
    names = [s.name for s in sectors]
    for name in expected:
        if name not in names:
            raise InputError(f"sector '{name}' is missing", file=path,
                             where=_ref(sheet, f"{get_column_letter(cols['sector'])}:"
                                               f"{get_column_letter(cols['sector'])}"),
                             hint="the sectors sheet is read-only: restore it from a freshly exported "
                                  "workbook")
    return SectorTable(tuple(sectors))


# ------------------------------------------------------------------------------------------------
# Reading: the Scenario sheet
# ------------------------------------------------------------------------------------------------


def _find_heading_row(book: _Book, sheet: str, heading: str, after: int) -> int | None:
    rows = sorted(r for (r, _), cell in book.grid(sheet).values.items()
                  if r > after and isinstance(cell.value, str) and cell.value.strip().lower() == heading)
    return rows[0] if rows else None


def _setting_value(book: _Book, sheet: str, row: int, col: int, setting: str) -> Any:
    """A setting as pydantic should see it: whole numbers as int, everything else as text."""
    text = book.text(sheet, row, col)
    if not text:
        return None
    value = book.raw(sheet, row, col)
    if setting in INTEGER_SETTINGS:
        return parse_value(value, file=book.path, where=_ref(sheet, f"{get_column_letter(col)}{row}"),
                           integer=True)
    if setting in BOOLEAN_SETTINGS:
        if isinstance(value, bool):
            return value
        word = text.strip().lower()
        if word in _YES | _NO:
            return word in _YES
        raise InputError(f"setting '{setting}' must be yes or no, not {text!r}", file=book.path,
                         where=_ref(sheet, f"{get_column_letter(col)}{row}"), hint="type yes or no")
    return text


def _read_scenario_sheet(book: _Book, registry: ParameterRegistry,
                         sectors: SectorTable) -> tuple[dict[str, Any], dict[str, str]]:
    """The Scenario sheet as a scenario dict, and each key path's cell."""
    sheet, path = SCENARIO_SHEET, book.path
    book.no_merged_cells(sheet)
    header = _first_row(book, sheet)
    max_row = book.grid(sheet).max_row
    interventions_row = _find_heading_row(book, sheet, "intervention", header)
    if interventions_row is None:
        raise InputError("the interventions table is missing", file=path, where=_ref(sheet, "A:A"),
                         hint="it starts with a heading row: " + ", ".join(INTERVENTION_COLUMNS[:4]))
    correlations_row = _find_heading_row(book, sheet, "spearman", header)
    sharing_row = _find_heading_row(book, sheet, "contributor", header)
    starts = sorted(r for r in (interventions_row, correlations_row, sharing_row) if r is not None)

    def end(start: int) -> int:
        later = [r for r in starts if r > start]
        return later[0] - 1 if later else max_row

    data: dict[str, Any] = {}
    cells: dict[str, str] = {}

    def cell_ref(row: int, col: int) -> str:
        return _ref(sheet, f"{get_column_letter(col)}{row}")

    settings = _read_table(book, sheet, header, end(header), SETTING_COLUMNS, ("setting", "value"))
    setting_col, value_col = settings.columns["setting"], settings.columns["value"]
    for row in settings.rows:
        name = book.text(sheet, row, setting_col)
        if not name:
            raise InputError("the setting's name is empty", file=path, where=cell_ref(row, setting_col),
                             hint="one of " + ", ".join(SETTINGS))
        key = name.lower()
        if key not in SETTINGS:
            raise InputError(f"unknown setting '{name}'", file=path, where=cell_ref(row, setting_col),
                             hint=did_you_mean(key, SETTINGS) or "one of " + ", ".join(SETTINGS))
        if key in cells:
            raise InputError(f"setting '{key}' is given twice", file=path, where=cell_ref(row, setting_col),
                             hint=f"first at {cells[key]}")
        cells[key] = cell_ref(row, value_col)
        value = _setting_value(book, sheet, row, value_col, key)
        if value is None:
            field = ScenarioSpec.model_fields[key]
            if field.is_required():
                raise InputError(f"setting '{key}' needs a value", file=path, where=cells[key])
            if field.default not in ("", None):
                # A blank cell must not silently mean the default: say which value to type.
                default = getattr(field.default, "rule", field.default)
                raise InputError(f"setting '{key}' is blank", file=path, where=cells[key],
                                 hint=f"type a value (the default is {default}), or delete the row")
            continue
        choices = typing.get_args(ScenarioSpec.model_fields[key].annotation)
        if choices and all(isinstance(c, str) for c in choices) and value not in choices:
            raise InputError(f"unknown {key} '{value}'", file=path, where=cells[key],
                             hint=did_you_mean(str(value), choices) or f"one of {', '.join(choices)}")
        if key == "sharing":
            cells["sharing.rule"] = cells[key]
            data.setdefault("sharing", {})["rule"] = value
        else:
            data[key] = value
    for key in SETTINGS:
        if key not in cells and ScenarioSpec.model_fields[key].is_required():
            raise InputError(f"setting '{key}' is missing", file=path,
                             where=_ref(sheet, f"{get_column_letter(setting_col)}:"
                                               f"{get_column_letter(setting_col)}"),
                             hint=f"add a row '{key}' to the settings table")

    table = _read_table(book, sheet, interventions_row, end(interventions_row), INTERVENTION_COLUMNS,
                        ("intervention",))
    cells["interventions"] = _ref(sheet, f"{interventions_row}:{interventions_row}")
    interventions = []
    keys = {"intervention": "id", "reach": "reach", "uptake": "uptake", "delivery_years": "delivery_years"}
    inputs = {column: col for column, col in table.columns.items() if column in keys}
    for row in table.rows:
        if not any(book.text(sheet, row, col) for col in inputs.values()):
            continue  # only the read-only programme column is filled
        item: dict[str, Any] = {}
        at = f"interventions[{len(interventions)}]"
        cells[at] = _ref(sheet, f"{row}:{row}")
        for column, col in inputs.items():
            key = keys[column]
            cells[f"{at}.{key}"] = cell_ref(row, col)
            text = book.text(sheet, row, col)
            if not text:
                if key == "id":
                    raise InputError("the row has no intervention id", file=path, where=cells[f"{at}.id"],
                                     hint="type the programme's id, or clear the whole row")
                continue
            if key == "delivery_years":
                item[key] = _years(book.raw(sheet, row, col), text, path, cell_ref(row, col))
            elif key == "id":
                item[key] = text
            else:
                item[key] = float(parse_value(book.raw(sheet, row, col), file=path, where=cell_ref(row, col)))
        interventions.append(item)
    if not interventions:
        raise InputError("the scenario has no interventions", file=path, where=cells["interventions"],
                         hint="type a programme's id in the 'intervention' column below the headings")
    data["interventions"] = interventions

    correlations = []
    if correlations_row is not None:
        table = _read_table(book, sheet, correlations_row, end(correlations_row), CORRELATION_COLUMNS,
                            CORRELATION_COLUMNS)
        cells["correlations"] = _ref(sheet, f"{correlations_row}:{correlations_row}")
        for i, row in enumerate(table.rows):
            at = f"correlations[{i}]"
            between = []
            for j, column in enumerate(("parameter_1", "parameter_2")):
                col = table.columns[column]
                cells[f"{at}.between[{j}]"] = cell_ref(row, col)
                name = book.text(sheet, row, col)
                registry.require(name, file=path, where=cell_ref(row, col))
                between.append(name)
            cells[f"{at}.between"] = cells[f"{at}.between[0]"]
            col = table.columns["spearman"]
            cells[f"{at}.spearman"] = cell_ref(row, col)
            raw = book.raw(sheet, row, col)
            spearman = raw if isinstance(raw, int | float) and not isinstance(raw, bool) \
                else book.text(sheet, row, col)
            correlations.append({"between": between, "spearman": spearman})
    if correlations:
        data["correlations"] = correlations
    if sharing_row is not None:
        _read_sharing_table(book, sharing_row, end(sharing_row), sectors, data, cells)

    try:
        spec = validate(ScenarioSpec, data, path)
        try:
            rule = SharingRule(spec.sharing.rule, spec.sharing.contributors, spec.sharing.shares)
            rule.resolve(sectors.names, default_contributors(sectors))
        except InputError as exc:
            raise InputError(exc.message, file=path, where=f"sharing.{exc.where or 'rule'}",
                             hint=exc.hint) from None
    except InputError as exc:
        raise _relocate_scenario_error(exc, path, cells) from None
    return data, cells


def _read_sharing_table(book: _Book, header: int, last: int, sectors: SectorTable, data: dict[str, Any],
                        cells: dict[str, str]) -> None:
    """The cost-sharing table into ``data["sharing"]`` (contributors, shares); the rule is a setting."""
    sheet, path = SCENARIO_SHEET, book.path
    table = _read_table(book, sheet, header, last, SHARING_COLUMNS, ("sector", "contributor"))
    cols = table.columns
    for column, key in (("contributor", "contributors"), ("agreed_share", "shares")):
        if column in cols:
            cells[f"sharing.{key}"] = _ref(sheet, f"{get_column_letter(cols[column])}{header}")
    contributors: list[str] = []
    shares: dict[str, Any] = {}
    flagged = False
    seen: dict[str, str] = {}
    for row in table.rows:
        def where(column: str, row: int = row) -> str:
            return _ref(sheet, f"{get_column_letter(cols[column])}{row}")

        name = book.text(sheet, row, cols["sector"])
        if not name:
            raise InputError("the row has no sector", file=path, where=where("sector"),
                             hint="type a sector, or clear the whole row")
        if name not in sectors.names:
            raise InputError(f"'{name}' is not a sector", file=path, where=where("sector"),
                             hint=did_you_mean(name, sectors.names) or f"one of {', '.join(sectors.names)}")
        if name in seen:
            raise InputError(f"sector '{name}' is listed twice", file=path, where=where("sector"),
                             hint=f"first at {seen[name]}")
        seen[name] = where("sector")
        flag = book.text(sheet, row, cols["contributor"])
        if flag:
            flagged = True
            if flag.lower() not in YES_NO:
                raise InputError(f"'{flag}' is not yes or no", file=path, where=where("contributor"))
            if YES_NO[flag.lower()]:
                contributors.append(name)
        if "agreed_share" in cols and book.text(sheet, row, cols["agreed_share"]):
            raw = book.raw(sheet, row, cols["agreed_share"])
            cells[f"sharing.shares.{name}"] = where("agreed_share")
            shares[name] = raw if isinstance(raw, int | float) and not isinstance(raw, bool) \
                else book.text(sheet, row, cols["agreed_share"])
    if flagged:
        data.setdefault("sharing", {})["contributors"] = contributors
    if shares:
        data.setdefault("sharing", {})["shares"] = shares


def _years(value: Any, text: str, path: Path, where: str) -> list[int] | str:
    """``0, 1, 2, 3`` (or a single number) as a list of whole numbers."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        parts = [value]
    else:
        parts = [p for p in _YEARS_SPLIT.split(text) if p]
    years = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not number.is_integer():
            raise InputError(f"'{text}' is not a list of years", file=path, where=where,
                             hint="whole numbers from 0 separated by commas, e.g. 0, 1, 2, 3; "
                                  "blank: the programme's own years")
        years.append(int(number))
    return years


def _relocate_scenario_error(exc: InputError, path: Path, cells: Mapping[str, str]) -> InputError:
    """An error at a scenario key path (``interventions[0].reach``) moved to its Scenario-sheet cell."""
    if exc.file != str(path) or not exc.where or "!" in exc.where:
        return exc
    key = exc.where
    while key and key not in cells:
        key = _LAST_KEY.sub("", key)
    where = cells[key] if key else f"{SCENARIO_SHEET}, {exc.where}"
    return InputError(exc.message, file=exc.file, where=where, hint=exc.hint)


# ------------------------------------------------------------------------------------------------
# Resolving a scenario with the workbook's parameters
# ------------------------------------------------------------------------------------------------


def _with_relocation(inputs: WorkbookInputs, action: Callable[[], _T]) -> _T:
    try:
        return action()
    except InputError as exc:
        raise inputs.relocate(exc) from None


def _resolve(data: dict[str, Any], path: Path, inputs: WorkbookInputs) -> Scenario:
    """Resolve ``data`` like a scenario TOML at ``path``, with the workbook's parameters and sectors.

    :func:`~roi_engine.inputs.scenario.load_scenario_data` reads parameters from a folder, so the (already
    validated) registry and sectors are written to a temporary folder of CSV tables for it; the
    resulting scenario then gets the workbook's own registry, whose rows point into the workbook.
    """
    with tempfile.TemporaryDirectory(prefix="roi-engine-workbook-") as folder:
        folder = Path(folder)
        frame = inputs.registry.to_frame().drop(columns="file")
        frame.to_csv(folder / "workbook.csv", index=False)
        pd.DataFrame(
            [(s.name, s.label, "yes" if s.public_body else "no", "yes" if s.default_contributor else "no",
              s.description) for s in inputs.sectors.sectors], columns=list(SECTOR_COLUMNS),
        ).to_csv(folder / SECTORS_FILE, index=False)
        scenario = load_scenario_data(data, path=path, parameters_dir=folder)
    return scenario.with_registry(inputs.registry)


# ------------------------------------------------------------------------------------------------
# Summary
# ------------------------------------------------------------------------------------------------


def _summary(inputs: WorkbookInputs, scenario: Scenario | None) -> str:
    registry = inputs.registry
    money = [p for p in registry.values() if p.is_money]
    uncertain = sum(p.is_uncertain for p in registry.values())
    assumptions = sum(p.is_assumption for p in registry.values())
    text = (f"{inputs.path.name} is OK: {len(registry)} parameters in {len(inputs.tables)} tables, "
            f"{uncertain} of them uncertain, "
            f"{assumptions} marked as assumptions, {len(money)} in money")
    years = sorted({p.price_year for p in money if p.price_year is not None},
                   key=lambda y: (y.start, y.financial))
    if years:
        text += f" at price years {years[0]} to {years[-1]}" if len(years) > 1 else f" at {years[0]} prices"
    text += f"; {len(inputs.sectors)} sectors"
    data = inputs.scenario_data
    if data is None:
        return text + "; no Scenario sheet."
    spec = validate(ScenarioSpec, data, inputs.path)
    ids = ", ".join(i.id for i in spec.interventions)
    area = f"{scenario.area.name} ({scenario.area.code})" if scenario is not None else spec.area
    text += (f"; scenario '{spec.name}': {area}, {len(spec.interventions)} intervention(s) ({ids}), "
             f"horizon {spec.horizon} years, {spec.price_year} prices, {spec.perspective} perspective, "
             f"{spec.discounting} discounting, {spec.sharing.rule} cost sharing, {spec.draws:,} draws "
             f"({spec.sampling}, seed {spec.seed})")
    if spec.correlations:
        text += f", {len(spec.correlations)} correlation(s)"
    if scenario is None:
        text += " (area and programmes not looked up: give the intervention library to check them)"
    return text + "."
