"""The workspace's form: what a commissioner can change, turned into the scenario data a TOML holds.

The form never builds a :class:`~roi_engine.inputs.scenario.Scenario` itself. :func:`scenario_data`
turns the submitted fields into the dict a scenario TOML gives, on top of the scenario the workspace
started from (its name, price year, discounting, seed, correlations... are kept as they are), and
:func:`roi_engine.inputs.scenario.load_scenario_data` validates and resolves it exactly as it does a
TOML for ``roi-engine run``. :func:`toml_text` writes that dict as a scenario TOML, so the file a
commissioner downloads runs the same numbers on the command line.

A programme's reach, uptake or delivery years are written into the scenario only when they differ from
the programme's own (its TOML in ``interventions/``), so a programme whose uptake is an uncertain
parameter keeps its uncertainty unless the commissioner types another number.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_engine.errors import InputError
from roi_engine.inputs.numbers import parse_number, shown
from roi_engine.inputs.population import Area, find_area, search_areas
from roi_engine.inputs.sharing_rule import RULES, default_contributors, parse_shares

QUICK_DRAWS = 2_000
"""Draws of a quick run: a steady enough picture in about a second."""
PERSPECTIVES = ("public_sector", "economic", "societal")
FORM_FILE = "the form"
"""What a form error names instead of a file."""
_CODE_IN_BRACKETS = re.compile(r"\(([EWSN]\d{8})\)\s*$")


@dataclass
class ProgrammeRow:
    """One programme of the library as the form shows it."""

    id: str
    name: str
    life_stage: str
    ages: str
    default_reach: float
    default_uptake: float
    default_years: tuple[int, ...]
    on: bool = False
    reach: str = ""
    uptake: str = ""
    years: str = ""


@dataclass
class FormState:
    """The values in the form (text as typed, so a bad value is shown back as it was)."""

    area: str
    horizon: str
    perspective: str
    qaly_value: str
    rule: str
    contributors: list[str]
    shares: str
    programmes: list[ProgrammeRow]
    full_draws: int
    errors: dict[str, str] = field(default_factory=dict)

    def programme(self, pid: str) -> ProgrammeRow:
        return next(p for p in self.programmes if p.id == pid)


def number_text(x: float) -> str:
    """A number as the form shows it: ``0.5``, ``1``, ``0.035``."""
    return f"{x:g}" if math.isfinite(x) else ""


def years_text(years) -> str:
    return ", ".join(str(int(y)) for y in years)


def _share(ref, registry) -> float:
    """A programme's own reach or uptake as a number (a parameter name is looked up: its point value)."""
    return float(registry[ref].value) if isinstance(ref, str) else float(ref)


def programme_rows(scenario) -> list[ProgrammeRow]:
    """Every programme in the scenario's library, with its own reach, uptake and years of delivery."""
    rows = []
    for pid in scenario.library:
        spec = scenario.library[pid]
        low, high = spec.population.ages
        rows.append(ProgrammeRow(
            id=pid, name=spec.name, life_stage=spec.life_stage,
            ages=f"age {low}" if low == high else f"ages {low}-{high}",
            default_reach=_share(spec.population.reach, scenario.registry),
            default_uptake=_share(spec.population.uptake, scenario.registry),
            default_years=tuple(spec.delivery.years)))
    return rows


def form_from_scenario(scenario) -> FormState:
    """The form as a loaded scenario fills it."""
    spec = scenario.spec
    rows = programme_rows(scenario)
    by_id = {r.id: r for r in rows}
    for item in spec.interventions:
        row = by_id[item.id]
        row.on = True
        row.reach = number_text(item.reach) if item.reach is not None else ""
        row.uptake = number_text(item.uptake) if item.uptake is not None else ""
        row.years = years_text(item.delivery_years) if item.delivery_years is not None else ""
    for row in rows:
        row.reach = row.reach or number_text(row.default_reach)
        row.uptake = row.uptake or number_text(row.default_uptake)
        row.years = row.years or years_text(row.default_years)
    chosen = [by_id[i.id] for i in spec.interventions]  # the scenario's programmes first, in its order
    rows = chosen + [r for r in rows if not r.on]
    sharing = scenario.sharing
    contributors = list(sharing.contributors if sharing.contributors is not None
                        else default_contributors(scenario.sectors))
    shares = ", ".join(f"{k}={v:g}" for k, v in (sharing.shares or {}).items())
    qaly = spec.qaly_value
    if isinstance(qaly, Mapping):
        qaly = f"{qaly.get('value')} ({qaly.get('price_year')})"
    return FormState(area=str(scenario.area), horizon=str(spec.horizon), perspective=spec.perspective,
                     qaly_value="" if qaly is None else str(qaly), rule=sharing.rule,
                     contributors=contributors, shares=shares, programmes=rows, full_draws=spec.draws)


def form_from_fields(fields: Mapping[str, Any], getlist, template: FormState) -> FormState:
    """The form as submitted (``fields``: the posted form; ``getlist``: its multi-valued getter).

    Programme rows keep the order and defaults of ``template`` (the form the page showed).
    """
    rows = []
    for row in template.programmes:
        p = copy.copy(row)
        p.on = fields.get(f"on_{p.id}") is not None
        p.reach = str(fields.get(f"reach_{p.id}", p.reach)).strip()
        p.uptake = str(fields.get(f"uptake_{p.id}", p.uptake)).strip()
        p.years = str(fields.get(f"years_{p.id}", p.years)).strip()
        rows.append(p)
    return FormState(
        area=str(fields.get("area", "")).strip(), horizon=str(fields.get("horizon", "")).strip(),
        perspective=str(fields.get("perspective", "")), qaly_value=str(fields.get("qaly_value", "")).strip(),
        rule=str(fields.get("rule", "")), contributors=[str(c) for c in getlist("contributors")],
        shares=str(fields.get("shares", "")).strip(), programmes=rows, full_draws=template.full_draws)


def resolve_area(text: str) -> Area:
    """The area typed (``Birmingham``, ``E08000025``, or a pick from the list: ``Birmingham (E08000025)``).

    A unique partial name is accepted as the CLI's ``init`` accepts it; otherwise one line with the
    closest names.
    """
    text = text.strip()
    if not text:
        raise InputError("type part of an area's name or its ONS code, then pick it from the list",
                         file=FORM_FILE, where="area")
    picked = _CODE_IN_BRACKETS.search(text)
    query = picked.group(1) if picked else text
    try:
        return find_area(query)
    except InputError as exc:
        matches = search_areas(query, limit=6)
        if len(matches) == 1 and query.lower() in matches[0].name.lower():
            return matches[0]
        names = ", ".join(str(a) for a in matches[:5])
        raise InputError(exc.message, file=FORM_FILE, where="area",
                         hint=f"did you mean {names}?" if names else exc.hint) from None


def _rename_for(data: dict[str, Any], area: Area) -> None:
    """A scenario moved to another area keeps its name with the new area's in place of the old one's
    (the name titles the report: Manchester's must not say "Birmingham"), as ``roi-engine init`` names it."""
    try:
        old = find_area(str(data.get("area", "")))
    except InputError:
        return
    if old.code == area.code:
        return
    for key in ("name", "description"):
        text = data.get(key)
        if isinstance(text, str) and old.name in text:
            data[key] = text.replace(old.name, area.name)
    if isinstance(data.get("name"), str) and area.name not in data["name"]:
        data["name"] = f"{area.name}: {data['name']}"


def _number(text: str, where: str, *, low: float = 0.0, high: float = 1.0) -> float:
    value = text.strip()
    scale = 1.0
    if value.endswith("%"):
        value, scale = value[:-1].strip(), 0.01
    try:  # the project's one strict parser: '0,5' is an error, never 5
        x = parse_number(value) * scale
    except InputError as exc:
        raise InputError(f"{shown(text.strip())} is not a number", file=FORM_FILE, where=where,
                         hint=exc.hint or "e.g. 0.5 or 50%") from None
    if not math.isfinite(x) or not low <= x <= high:
        raise InputError(f"{text} is outside {low:g} to {high:g}", file=FORM_FILE, where=where,
                         hint="a share of people: 0 to 1 (or 0% to 100%)")
    return x


def _years(text: str, where: str) -> list[int]:
    try:
        years = [int(part) for part in re.split(r"[,\s]+", text.strip()) if part]
    except ValueError:
        raise InputError(f"'{text}' is not a list of years", file=FORM_FILE, where=where,
                         hint="whole years from 0, e.g. 0, 1, 2") from None
    if not years:
        raise InputError("no years of delivery given", file=FORM_FILE, where=where, hint="e.g. 0, 1, 2")
    return years


def scenario_data(form: FormState, base: Mapping[str, Any], sectors, *, draws: int) -> dict[str, Any]:
    """The scenario dict (as a TOML gives it) for ``form`` on top of ``base``; form errors as InputError.

    Parameters
    ----------
    form : FormState
    base : mapping
        The scenario the workspace started from (or the uploaded workbook's), as read from its TOML.
    sectors : SectorTable
        For the default contributors.
    draws : int
        Monte Carlo draws of this run (written into the scenario, so its TOML reruns it).
    """
    data = copy.deepcopy(dict(base))
    area = resolve_area(form.area)
    _rename_for(data, area)
    data["area"] = area.code
    try:
        data["horizon"] = int(form.horizon)
    except ValueError:
        raise InputError(f"'{form.horizon}' is not a whole number of years", file=FORM_FILE,
                         where="horizon", hint="e.g. 10") from None
    if form.perspective not in PERSPECTIVES:
        raise InputError(f"'{form.perspective}' is not a perspective", file=FORM_FILE, where="perspective",
                         hint=" | ".join(PERSPECTIVES))
    data["perspective"] = form.perspective
    if form.qaly_value:
        data["qaly_value"] = form.qaly_value
    else:
        data.pop("qaly_value", None)
    data["draws"] = int(draws)
    items = []
    for p in form.programmes:
        if not p.on:
            continue
        item: dict[str, Any] = {"id": p.id}
        reach = _number(p.reach, f"{p.id}: reach")
        uptake = _number(p.uptake, f"{p.id}: uptake")
        years = _years(p.years, f"{p.id}: delivery years")
        old = next((i for i in base.get("interventions", ()) if i.get("id") == p.id), {})
        # written when the base scenario states it, or when it differs from the programme's own
        if "reach" in old or not math.isclose(reach, p.default_reach, rel_tol=0, abs_tol=1e-12):
            item["reach"] = reach
        if "uptake" in old or not math.isclose(uptake, p.default_uptake, rel_tol=0, abs_tol=1e-12):
            item["uptake"] = uptake
        if "delivery_years" in old or tuple(sorted(years)) != tuple(p.default_years):
            item["delivery_years"] = years
        if "uptake_by_quintile" in old:
            item["uptake_by_quintile"] = list(old["uptake_by_quintile"])
        items.append(item)
    if not items:
        raise InputError("no programme chosen", file=FORM_FILE, where="programmes",
                         hint="tick at least one programme")
    data["interventions"] = items
    if form.rule not in RULES:
        raise InputError(f"'{form.rule}' is not a cost-sharing rule", file=FORM_FILE, where="sharing rule",
                         hint=" | ".join(RULES))
    sharing: dict[str, Any] = {"rule": form.rule}
    if form.rule != "as_modelled":
        chosen = [c for c in sectors.names if c in form.contributors]
        unknown = [c for c in form.contributors if c not in sectors.names]
        if unknown:
            raise InputError(f"'{unknown[0]}' is not a sector", file=FORM_FILE, where="contributors")
        if tuple(chosen) != tuple(default_contributors(sectors)):
            sharing["contributors"] = chosen
        if form.rule == "agreed":
            try:
                sharing["shares"] = parse_shares(form.shares)
            except InputError as exc:
                raise InputError(exc.message, file=FORM_FILE, where="agreed shares", hint=exc.hint) from None
    data["sharing"] = sharing
    return data


def located(exc: InputError, data: Mapping[str, Any] | None = None) -> str:
    """Where an error is, in the form's words: ``interventions[2].reach`` -> ``debt_advice: reach``."""
    where = exc.where or ""
    found = re.match(r"interventions\[(\d+)\](?:\.(.*))?$", where)
    if found and data is not None:
        items = data.get("interventions", ())
        index = int(found.group(1))
        if index < len(items):
            rest = (found.group(2) or "").replace("delivery_years", "delivery years")
            return f"{items[index].get('id')}: {rest}".rstrip(": ")
    return where.replace("sharing.", "sharing ")


# --- TOML ----------------------------------------------------------------------------------------

def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a scenario holds only finite numbers")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: quotes and controls escaped
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_text(data: Mapping[str, Any], *, comment: str = "") -> str:
    """``data`` (a scenario dict) as TOML: settings, then ``[[interventions]]``, ``[[correlations]]``,
    ``[sharing]``. ``tomllib.loads(toml_text(d)) == d`` for every scenario dict."""
    tables = ("interventions", "correlations", "sharing")
    lines = [f"# {line}" for line in comment.splitlines()] + ([""] if comment else [])
    for key, value in data.items():
        if key not in tables:
            lines.append(f"{_key(key)} = {_literal(value)}")
    for name in ("interventions", "correlations"):
        for item in data.get(name, ()):
            lines += ["", f"[[{name}]]"] + [f"{_key(k)} = {_literal(v)}" for k, v in item.items()]
    if "sharing" in data:
        lines += ["", "[sharing]"] + [f"{_key(k)} = {_literal(v)}" for k, v in data["sharing"].items()]
    return "\n".join(lines) + "\n"


def library_folders(scenario) -> dict[str, str]:
    """``interventions_dir`` / ``parameters_dir`` as absolute paths when the scenario's library is not the
    shipped one (so a downloaded TOML finds it from anywhere); empty for the shipped library."""
    from roi_engine.inputs.library import library_of

    interventions = Path(next(iter(scenario.library.paths.values()))).parent
    library = library_of(interventions)
    if library.shipped:
        return {}
    parameters = parameters_folder(scenario)
    return {"interventions_dir": str(interventions.resolve()), "parameters_dir": str(parameters)}


def parameters_folder(scenario) -> Path:
    """The folder of CSV tables the scenario's parameters came from (as ``params export`` finds it)."""
    return Path(next(iter(scenario.registry.values())).file).parent.resolve()
