"""One scenario, many areas: the areas of a level, and the scenario made for each of them.

A national run (``roi-engine national``) takes one scenario and evaluates it for every area of a level
(the 296 lower-tier authorities by default). Each area gets

- its own population (the ONS mid-2022 persons in each programme's target ages), and
- its own local parameters: every parameter bound to a local indicator (``parameters/local/bindings.csv``)
  takes the area's value, exactly as a scenario written for that area would
  (:func:`roi_engine.inputs.local.localise`), starting from the national rows.

Everything else (programmes, reach, horizon, seed, draws, discounting, price year, the value of a QALY,
parameters the user edited) is the scenario's own, the same for every area.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from roi_engine.errors import InputError
from roi_engine.inputs.local import local_basis_in_source, localise
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.population import Area, find_area, list_areas
from roi_engine.inputs.scenario import Scenario

LEVELS = {"lower": "lower-tier authorities (districts and single-tier authorities)",
          "upper": "upper-tier authorities (counties and single-tier authorities)",
          "region": "regions"}
"""Area levels a national run covers; each partitions England (their populations add up to England's)."""

ENGLAND = "E92000001"

__all__ = ["LEVELS", "ENGLAND", "areas_of_level", "parse_area_list", "national_registry",
           "area_scenario", "parameters_folder"]


def areas_of_level(level: str) -> list[Area]:
    """The areas of ``level`` (a key of :data:`LEVELS`), in the population table's order.

    Raises
    ------
    InputError
        An unknown level (integrated care boards are named: the shipped data have no ICB look-up).
    """
    key = str(level).strip().lower()
    if key not in LEVELS:
        hint = f"one of {', '.join(LEVELS)}"
        if key in ("icb", "icbs", "sicbl", "integrated care board"):
            hint = ("integrated care boards are not available: the shipped population table has no "
                    f"ICB look-up; use {', '.join(LEVELS)}")
        raise InputError(f"unknown area level '{level}'", where="--level", hint=hint)
    return list_areas(key)


def parse_area_list(text: str, where: str = "--areas") -> list[Area]:
    """Areas from a comma-separated list of GSS codes or names (each as ``roi-engine areas`` finds it)."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise InputError("no area given", where=where, hint="e.g. E08000025,Manchester")
    out: dict[str, Area] = {}
    for item in items:
        try:
            area = find_area(item)
        except InputError as exc:
            raise InputError(exc.message, where=where, hint=exc.hint) from None
        out.setdefault(area.code, area)
    return list(out.values())


def national_registry(scenario: Scenario) -> ParameterRegistry:
    """The scenario's parameters with every local value put back to its national row.

    A row localised when the scenario was read keeps the national row it replaced
    (``Parameter.replaced``); that row comes back. A row that carries a local value with no national row
    behind it (a parameter workbook exported for one area) cannot be used for other areas.
    """
    registry = scenario.registry
    back = {}
    for name, p in registry.items():
        if p.replaced is not None:
            back[name] = p.replaced
        elif p.basis and local_basis_in_source(p.source) is not None:
            raise InputError(
                f"'{name}' holds a local value for {scenario.area} with no national row behind it, so "
                "it cannot be used for other areas", file=p.file, where=f"row {p.row}",
                hint="run the national command on the scenario's TOML (with --params for a folder of "
                     "tables), or export the workbook without a local scenario")
    return registry.replace(back) if back else registry


def parameters_folder(scenario: Scenario) -> Path | None:
    """The folder the scenario's parameter tables came from (its ``local/`` tables are used), or None."""
    for p in scenario.registry.values():
        if p.file:
            folder = Path(p.file).parent
            return folder if folder.is_dir() else None
    return None


def area_scenario(scenario: Scenario, area: Area, *, national: ParameterRegistry | None = None,
                  local: bool = True) -> Scenario:
    """``scenario`` for another area: that area's population and (with ``local``) its local parameters.

    Parameters
    ----------
    scenario : Scenario
    area : Area
    national : ParameterRegistry, optional
        :func:`national_registry` of the scenario (computed when not given; pass it when making many).
    local : bool
        False: every parameter at its national row (population scaling only).
    """
    national = national_registry(scenario) if national is None else national
    registry = localise(national, area, parameters_dir=parameters_folder(scenario)) if local else national
    name = scenario.spec.name
    own = scenario.area.name
    if own and own in name and area.code != scenario.area.code:
        name = name.replace(own, area.name)
    elif area.code != scenario.area.code:
        name = f"{name} ({area.name})"
    spec = scenario.spec.model_copy(update={"area": area.code, "name": name})
    return replace(scenario, spec=spec, area=area, registry=registry)


def england() -> Area:
    """England as an area of the population table."""
    return find_area(ENGLAND)
