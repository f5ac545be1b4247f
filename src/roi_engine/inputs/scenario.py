"""Scenarios: an area, a set of interventions at a local scale, and the run's settings.

``scenarios/<name>.toml`` (format in ``docs/file_formats.md``) is validated with pydantic, then
resolved: the area looked up in the ONS table, the parameter registry, sectors and intervention
library read from ``parameters/`` and ``interventions/`` (by default the folders beside the
``scenarios/`` folder; when those do not exist and the scenario does not name its own, the library
shipped with roi-engine, see :mod:`roi_engine.inputs.library`), every override and correlation checked.
A scenario whose name mentions another area than its ``area`` gets a :class:`ScenarioWarning`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, field_validator

from roi_engine.errors import InputError
from roi_engine.inputs.correlations import check_correlations
from roi_engine.inputs.interventions import InterventionLibrary, InterventionSpec
from roi_engine.inputs.library import shipped_library
from roi_engine.inputs.local import carry_basis, localise
from roi_engine.inputs.money import DeflatorTable, DiscountScheme, PriceYear, parse_price_year
from roi_engine.inputs.parameters import SECTORS_FILE, ParameterRegistry
from roi_engine.inputs.population import Area, find_area, list_areas
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.sharing_rule import SharingRule, default_contributors
from roi_engine.inputs.specs import StrictModel, read_toml, validate
from roi_engine.inputs.valuation import with_qaly_value

DEFAULT_CHUNK_SIZE = 10_000
RUN_SETTINGS = frozenset({"draws", "seed", "sampling", "chunk_size", "horizon", "perspective",
                          "qaly_value", "optimism_bias"})
"""Scenario settings that :meth:`Scenario.with_settings` may change."""

# Strict numbers: TOML `horizon = true` or `seed = "42"` is an error, never 1 or 42.
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
StrictFloat = Annotated[float, Strict()]


class ScenarioWarning(UserWarning):
    """Something in a scenario that is probably a mistake but still runs (e.g. a name that mentions
    another area than the one modelled)."""


@dataclass(frozen=True)
class RankCorrelation:
    """A target Spearman correlation between two named parameters."""

    first: str
    second: str
    spearman: float


class ScenarioIntervention(StrictModel):
    """One programme in the scenario, with optional local overrides of its scale."""

    id: str
    reach: StrictFloat | None = Field(default=None, ge=0, le=1)
    uptake: StrictFloat | None = Field(default=None, ge=0, le=1)
    delivery_years: tuple[StrictInt, ...] | None = None
    uptake_by_quintile: tuple[StrictFloat, StrictFloat, StrictFloat, StrictFloat, StrictFloat] | None = None

    @field_validator("uptake_by_quintile")
    @classmethod
    def _uptake_by_quintile(cls, x: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if x is not None and (any(v < 0 for v in x) or not any(v > 0 for v in x)):
            raise ValueError("uptake_by_quintile must be five relative uptakes (most to least deprived "
                             "fifth), none negative and not all zero, e.g. [1.5, 1.25, 1, 0.75, 0.5]")
        return x

    @field_validator("delivery_years")
    @classmethod
    def _years(cls, years: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if years is None:
            return None
        if not years or any(y < 0 for y in years) or len(set(years)) != len(years):
            raise ValueError("delivery_years must be distinct years from 0")
        return tuple(sorted(years))


class CorrelationSpec(StrictModel):
    """A target Spearman rank correlation between two parameters."""

    between: tuple[str, str]
    spearman: StrictFloat = Field(gt=-1, lt=1)


class SharingSpec(StrictModel):
    """How partners would share the cost (see :mod:`roi_engine.analyses.sharing`)."""

    rule: str = "as_modelled"
    contributors: tuple[str, ...] | None = None
    shares: dict[str, StrictFloat] | None = None


class ScenarioSpec(StrictModel):
    """The TOML as written."""

    name: str
    description: str = ""
    area: str
    horizon: StrictInt = Field(ge=1, le=300)
    price_year: str | int
    perspective: Literal["public_sector", "economic", "societal"] = "societal"
    discounting: str = "green_book"
    qaly_value: Any = None  # None: the table's value_of_qaly; see roi_engine.inputs.valuation
    optimism_bias: StrictBool = False  # costs up, effects down by evidence grade (inputs/optimism.py)
    draws: StrictInt = Field(default=10_000, ge=1)
    seed: StrictInt = Field(default=20261123, ge=0)
    sampling: Literal["lhs", "mc"] = "lhs"
    chunk_size: StrictInt = Field(default=DEFAULT_CHUNK_SIZE, ge=1)
    interventions_dir: str = "../interventions"
    parameters_dir: str = "../parameters"
    interventions: tuple[ScenarioIntervention, ...] = Field(min_length=1)
    correlations: tuple[CorrelationSpec, ...] = ()
    sharing: SharingSpec = SharingSpec()


@dataclass(frozen=True)
class Scenario:
    """A scenario with everything it refers to loaded and checked.

    Attributes
    ----------
    spec : ScenarioSpec
    path : Path
    area : Area
    price_year : PriceYear
    discounting : DiscountScheme
    deflator : DeflatorTable
    registry : ParameterRegistry
    sectors : SectorTable
    library : InterventionLibrary
    interventions : tuple of (ScenarioIntervention, InterventionSpec)
    correlations : tuple of RankCorrelation
    sharing : SharingRule
    """

    spec: ScenarioSpec
    path: Path
    area: Area
    price_year: PriceYear
    discounting: DiscountScheme
    deflator: DeflatorTable
    registry: ParameterRegistry
    sectors: SectorTable
    library: InterventionLibrary
    interventions: tuple[tuple[ScenarioIntervention, InterventionSpec], ...]
    correlations: tuple[RankCorrelation, ...]
    sharing: SharingRule

    @property
    def horizon(self) -> int:
        return self.spec.horizon

    @property
    def perspective(self) -> str:
        return self.spec.perspective

    def with_settings(self, **changes) -> Scenario:
        """A copy with run settings changed: any of :data:`RUN_SETTINGS` (``None`` leaves one as is).

        Settings resolved when the scenario was loaded (area, price year, discounting, folders,
        interventions) cannot be changed here: load the scenario again instead.
        """
        fixed = sorted(set(changes) - RUN_SETTINGS)
        if fixed:
            raise ValueError(f"with_settings cannot change {fixed}; it changes only "
                             f"{sorted(RUN_SETTINGS)}: load the scenario again for the others")
        spec = self.spec.model_copy(update={k: v for k, v in changes.items() if v is not None})
        validate(ScenarioSpec, spec.model_dump(), self.path)
        registry = with_qaly_value(self.registry, changes.get("qaly_value"), self.price_year,
                                   file=self.path)
        return Scenario(spec, self.path, self.area, self.price_year, self.discounting,
                        self.deflator, registry, self.sectors, self.library,
                        self.interventions, self.correlations, self.sharing)

    def with_registry(self, registry: ParameterRegistry) -> Scenario:
        """A copy whose parameters come from ``registry`` (e.g. a commissioner's edited table).

        A ``qaly_value`` chosen in the scenario still applies to the new table.
        """
        registry = with_qaly_value(carry_basis(self.registry, registry), self.spec.qaly_value,
                                   self.price_year, file=self.path)
        return Scenario(self.spec, self.path, self.area, self.price_year, self.discounting,
                        self.deflator, registry, self.sectors, self.library, self.interventions,
                        self.correlations, self.sharing)


def load_scenario(path: str | Path, *, parameters_dir: str | Path | None = None,
                  interventions_dir: str | Path | None = None) -> Scenario:
    """Read, validate and resolve a scenario TOML.

    Parameters
    ----------
    path : str or Path
    parameters_dir : str or Path, optional
        Read parameters from here instead of the scenario's ``parameters_dir``.
    interventions_dir : str or Path, optional
        Read programmes from here instead of the scenario's ``interventions_dir``.
    """
    path = Path(path)
    return load_scenario_data(read_toml(path), path=path, parameters_dir=parameters_dir,
                              interventions_dir=interventions_dir)


def load_scenario_data(data: dict, *, path: str | Path, parameters_dir: str | Path | None = None,
                       interventions_dir: str | Path | None = None) -> Scenario:
    """Validate and resolve a scenario given as a dict (as read from TOML or built in code).

    ``path`` names the scenario in error messages; relative folders are resolved from its parent.
    A folder left at its default that does not exist is taken from the shipped library.
    """
    path = Path(path)
    spec = validate(ScenarioSpec, data, path)
    base = path.parent
    params_dir = Path(parameters_dir) if parameters_dir else _folder(spec, base, "parameters_dir")
    programmes_dir = (Path(interventions_dir) if interventions_dir
                      else _folder(spec, base, "interventions_dir"))
    registry = ParameterRegistry.from_dir(params_dir)
    sectors = SectorTable.from_csv(params_dir / SECTORS_FILE)
    library = InterventionLibrary.from_dir(programmes_dir, registry, sectors)

    try:
        area = find_area(spec.area)
    except InputError as exc:
        raise InputError(exc.message, file=path, where="area", hint=exc.hint) from None
    registry = localise(registry, area, parameters_dir=params_dir)
    mismatch = area_name_mismatch(spec.name, area)
    if mismatch:
        warnings.warn(ScenarioWarning(f"{path}: {mismatch}"), stacklevel=2)
    try:
        price_year = parse_price_year(spec.price_year)
        deflator = DeflatorTable.default()
        deflator.index(price_year)
    except InputError as exc:
        raise InputError(exc.message, file=path, where="price_year", hint=exc.hint) from None
    registry = with_qaly_value(registry, spec.qaly_value, price_year, file=path)
    try:
        discounting = DiscountScheme.named(spec.discounting)
    except InputError as exc:
        raise InputError(exc.message, file=path, where="discounting", hint=exc.hint) from None

    chosen = []
    for i, item in enumerate(spec.interventions):
        chosen.append((item, library.require(item.id, file=path, where=f"interventions[{i}].id")))
    for i, (item, intervention) in enumerate(chosen):
        _check_delivery_years(item, intervention, spec.horizon, path, i)
    ids = [item.id for item, _ in chosen]
    if len(set(ids)) != len(ids):
        raise InputError("an intervention is listed twice", file=path, where="interventions")

    correlations = []
    for i, c in enumerate(spec.correlations):
        for name in c.between:
            param = registry.require(name, file=path, where=f"correlations[{i}].between")
            if not param.is_uncertain:
                raise InputError(f"'{name}' is fixed, so it cannot be correlated", file=path,
                                 where=f"correlations[{i}].between")
        if c.between[0] == c.between[1]:
            raise InputError("a parameter cannot be correlated with itself", file=path,
                             where=f"correlations[{i}].between")
        correlations.append(RankCorrelation(c.between[0], c.between[1], c.spearman))
    check_correlations([(c.first, c.second, c.spearman) for c in correlations], path)
    try:
        sharing = SharingRule(spec.sharing.rule, spec.sharing.contributors, spec.sharing.shares)
        sharing.resolve(sectors.names, default_contributors(sectors))
    except InputError as exc:
        raise InputError(exc.message, file=path, where=f"sharing.{exc.where or 'rule'}",
                         hint=exc.hint) from None
    return Scenario(spec, path, area, price_year, discounting, deflator, registry, sectors,
                    library, tuple(chosen), tuple(correlations), sharing)


def _folder(spec: ScenarioSpec, base: Path, setting: str) -> Path:
    """The folder a scenario setting names, relative to the scenario; a default that does not exist
    falls back to the shipped library (a folder the scenario names itself never does)."""
    folder = base / getattr(spec, setting)
    if setting in spec.model_fields_set or folder.is_dir():
        return folder
    shipped = shipped_library()
    return shipped.interventions if setting == "interventions_dir" else shipped.parameters


@lru_cache(maxsize=1)
def _area_name_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(code, whole-word pattern) for every area, matching the name as capitalised in the table ('Bristol,
    City of' as 'Bristol', 'NORTH EAST' as 'North East'), so the word 'reading' is not Reading."""
    patterns = []
    for a in list_areas():
        name = re.sub(r",.*$", "", a.name).strip()
        if name.isupper():
            name = " ".join(w.lower() if w in ("AND", "THE", "OF") else w.capitalize() for w in name.split())
        patterns.append((a.code, re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")))
    return tuple(patterns)


def area_name_mismatch(name: str, area: Area) -> str | None:
    """A warning when a scenario's ``name`` mentions an area but not the one it models, else None.

    e.g. a copy of the Birmingham scenario with ``area = "E08000003"`` still named "Birmingham
    prevention portfolio" would title Manchester's report "Birmingham".
    """
    own = dict(_area_name_patterns()).get(area.code)
    if own is not None and own.search(name):
        return None
    others = [find_area(code) for code, pattern in _area_name_patterns()
              if code != area.code and pattern.search(name)]
    if not others:
        return None
    mentioned = max(others, key=lambda a: len(a.name))  # 'North East Lincolnshire', not 'North East'
    return (f"the scenario's name '{name}' mentions {mentioned.name} but its area is {area}: "
            f"rename it (the name titles the report), or set area = \"{mentioned.code}\"")


def _check_delivery_years(item: ScenarioIntervention, intervention: InterventionSpec, horizon: int,
                          path: Path, index: int) -> None:
    """Refuse delivery years a run would silently drop (a cohort enrolled after the horizon counts £0)."""
    if item.delivery_years is not None:
        late = [y for y in item.delivery_years if y >= horizon]
        if late:
            raise InputError(f"delivery year {late[0]} lies outside the horizon (years 0 to {horizon - 1})",
                             file=path, where=f"interventions[{index}].delivery_years",
                             hint=f"use years below {horizon}, or lengthen the horizon")
        return
    years = tuple(intervention.delivery.years)
    if years and min(years) >= horizon:
        raise InputError(f"'{item.id}' is first delivered in year {min(years)}, after the horizon "
                         f"(years 0 to {horizon - 1}), so it would count nothing", file=path,
                         where=f"interventions[{index}]",
                         hint="set delivery_years within the horizon, or lengthen the horizon")
