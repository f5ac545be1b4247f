"""Intervention specs: one TOML per programme in ``interventions/``, validated with pydantic.

The format is documented in ``docs/file_formats.md``. Loading happens in two steps:

1. :func:`load_intervention` checks the file's structure (keys, types, ranges); an unknown key gets
   the closest valid key;
2. :func:`check_references` checks every parameter name against the registry and every sector against
   ``sectors.csv``, naming the file and key and suggesting the closest valid name.

A *reference* (``Ref``) is either a parameter name or a plain number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.specs import StrictModel, read_toml, validate

Ref = str | float
VALUE_TYPES = ("fiscal", "economic", "social")
MAX_AGE = 90


class PopulationSpec(StrictModel):
    """Who is reached: single years of age, and shares of them (each a Ref in [0, 1])."""

    ages: tuple[int, int]
    eligible_share: Ref = 1.0
    reach: Ref = 1.0
    uptake: Ref = 1.0

    @field_validator("ages")
    @classmethod
    def _ages(cls, ages: tuple[int, int]) -> tuple[int, int]:
        low, high = ages
        if not 0 <= low <= high <= MAX_AGE:
            raise ValueError(f"ages must be [low, high] with 0 <= low <= high <= {MAX_AGE}")
        return ages


class DeliverySpec(StrictModel):
    """Years (from 0) in which a new cohort starts, and who each cohort is.

    ``enrols = "new_people"`` (default): each year's cohort are different people, so distinct people
    reached equal participant-years. ``enrols = "age_band"``: every year the whole age band takes part
    (a whole-school programme), so the same people are counted again while they stay in the band.
    """

    years: tuple[int, ...] = (0,)
    enrols: Literal["new_people", "age_band"] = "new_people"

    @field_validator("years")
    @classmethod
    def _years(cls, years: tuple[int, ...]) -> tuple[int, ...]:
        return _check_years(years)


def _check_years(years: tuple[int, ...]) -> tuple[int, ...]:
    if not years:
        raise ValueError("at least one year is needed")
    if any(y < 0 for y in years):
        raise ValueError("years are offsets from 0 and cannot be negative")
    if len(set(years)) != len(years):
        raise ValueError("a year is listed twice")
    return tuple(sorted(years))


class CostSpec(StrictModel):
    """One cost line: who pays, how much per participant or per cohort, in which cohort-years."""

    payer: str
    per_participant: Ref | None = None
    per_cohort: Ref | None = None
    years: tuple[int, ...] = (0,)
    label: str = ""

    @field_validator("years")
    @classmethod
    def _years(cls, years: tuple[int, ...]) -> tuple[int, ...]:
        return _check_years(years)

    @model_validator(mode="after")
    def _one_amount(self) -> CostSpec:
        if (self.per_participant is None) == (self.per_cohort is None):
            raise ValueError("give exactly one of per_participant or per_cohort")
        return self

    @property
    def amount(self) -> Ref:
        return self.per_participant if self.per_participant is not None else self.per_cohort


class EffectSpec(StrictModel):
    """How the programme changes the outcome: exactly one of the four forms."""

    relative_risk: Ref | None = None
    odds_ratio: Ref | None = None
    relative_reduction: Ref | None = None
    absolute: Ref | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EffectSpec:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of relative_risk, odds_ratio, relative_reduction, absolute")
        return self

    @property
    def form(self) -> str:
        return next(k for k, v in self.model_dump().items() if v is not None)

    @property
    def ref(self) -> Ref:
        return getattr(self, self.form)


class PersistenceSpec(StrictModel):
    """Share of the effect in cohort-year k: 1 for k < years_full, then (1 - fade)^(k - years_full + 1)."""

    years_full: Ref = 1.0
    fade: Ref = 1.0


class ConsequenceSpec(StrictModel):
    """Money released per avoided unit, to one sector, as one value type, spread over a lag profile."""

    sector: str
    value_type: Literal["fiscal", "economic", "social"]
    per_unit: Ref | tuple[Ref, ...]
    lag: tuple[float, ...] = (1.0,)
    label: str = ""

    @field_validator("lag")
    @classmethod
    def _lag(cls, lag: tuple[float, ...]) -> tuple[float, ...]:
        if not lag:
            raise ValueError("lag needs at least one multiplier")
        if any(x < 0 for x in lag):
            raise ValueError("lag multipliers cannot be negative")
        return lag

    @property
    def factors(self) -> tuple[Ref, ...]:
        return self.per_unit if isinstance(self.per_unit, tuple) else (self.per_unit,)


class OutcomeSpec(StrictModel):
    """Something the programme changes, and what each avoided unit is worth to whom."""

    id: str
    unit: str
    baseline: Ref | None = None
    effect: EffectSpec
    persistence: PersistenceSpec = PersistenceSpec()
    deadweight: Ref = 0.0
    displacement: Ref = 0.0
    attribution: Ref = 0.0
    consequences: tuple[ConsequenceSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _baseline(self) -> OutcomeSpec:
        if self.effect.form == "absolute" and self.baseline is not None:
            raise ValueError("an absolute effect is the change per participant: omit baseline")
        if self.effect.form != "absolute" and self.baseline is None:
            raise ValueError(f"a {self.effect.form} effect needs a baseline rate")
        return self


class InterventionSpec(StrictModel):
    """A programme, as declared in ``interventions/<id>.toml``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    life_stage: str
    description: str = ""
    population: PopulationSpec
    delivery: DeliverySpec = DeliverySpec()
    costs: tuple[CostSpec, ...] = Field(min_length=1)
    outcomes: tuple[OutcomeSpec, ...] = Field(min_length=1)

    def references(self) -> Iterator[tuple[str, Ref]]:
        """Every (key path, reference) in the spec, for checking against the registry."""
        pop = self.population
        yield "population.eligible_share", pop.eligible_share
        yield "population.reach", pop.reach
        yield "population.uptake", pop.uptake
        for i, cost in enumerate(self.costs):
            key = "per_participant" if cost.per_participant is not None else "per_cohort"
            yield f"costs[{i}].{key}", cost.amount
        for i, out in enumerate(self.outcomes):
            at = f"outcomes[{i}]"
            if out.baseline is not None:
                yield f"{at}.baseline", out.baseline
            yield f"{at}.effect.{out.effect.form}", out.effect.ref
            yield f"{at}.persistence.years_full", out.persistence.years_full
            yield f"{at}.persistence.fade", out.persistence.fade
            for key in ("deadweight", "displacement", "attribution"):
                yield f"{at}.{key}", getattr(out, key)
            for j, con in enumerate(out.consequences):
                for k, factor in enumerate(con.factors):
                    yield f"{at}.consequences[{j}].per_unit[{k}]", factor

    def parameter_names(self) -> list[str]:
        """Parameter names referenced, in first-use order, without repeats."""
        seen: dict[str, None] = {}
        for _, ref in self.references():
            if isinstance(ref, str):
                seen.setdefault(ref, None)
        return list(seen)

    def cost_per_participant_names(self) -> list[Ref]:
        return [c.per_participant for c in self.costs if c.per_participant is not None]


def load_intervention(path: str | Path) -> InterventionSpec:
    """Read and structurally validate one intervention TOML."""
    path = Path(path)
    spec = validate(InterventionSpec, read_toml(path), path)
    if spec.id != path.stem:
        raise InputError(f"id '{spec.id}' differs from the file name '{path.stem}'", file=path,
                         where="id")
    return spec


def check_references(spec: InterventionSpec, registry: ParameterRegistry, sectors: SectorTable,
                     path: str | Path) -> None:
    """Every parameter name must exist and every sector must be in ``sectors.csv``."""
    shares = {"population.eligible_share", "population.reach", "population.uptake"}
    for where, ref in spec.references():
        if isinstance(ref, str):
            param = registry.require(ref, file=path, where=where)
            if (where in shares or where.rsplit(".", 1)[-1] in
                    ("deadweight", "displacement", "attribution")) and not param.is_probability:
                raise InputError(f"'{ref}' must be a share or probability (its unit is "
                                 f"'{param.unit}')", file=path, where=where)
        elif where in shares and not 0 <= ref <= 1:
            raise InputError(f"{ref:g} is not a share in [0, 1]", file=path, where=where)
    for i, cost in enumerate(spec.costs):
        sectors.require(cost.payer, file=path, where=f"costs[{i}].payer")
    for i, out in enumerate(spec.outcomes):
        for j, con in enumerate(out.consequences):
            sectors.require(con.sector, file=path, where=f"outcomes[{i}].consequences[{j}].sector")
    for i, out in enumerate(spec.outcomes):
        if out.effect.form == "odds_ratio":
            base = out.baseline
            ok = (registry[base].is_probability if isinstance(base, str) else 0 <= base <= 1)
            if not ok:
                raise InputError("an odds_ratio effect needs a probability baseline (unit starting "
                                 "'probability' or 'share')", file=path, where=f"outcomes[{i}].baseline")
    ids = [o.id for o in spec.outcomes]
    if len(set(ids)) != len(ids):
        raise InputError("two outcomes share an id", file=path, where="outcomes")


class InterventionLibrary(Mapping[str, InterventionSpec]):
    """The intervention specs of a folder, by id, each checked against registry and sectors."""

    def __init__(self, specs: dict[str, InterventionSpec], paths: dict[str, Path]):
        self._specs = specs
        self.paths = paths

    @classmethod
    def from_dir(cls, directory: str | Path, registry: ParameterRegistry,
                 sectors: SectorTable) -> InterventionLibrary:
        directory = Path(directory)
        if not directory.is_dir():
            raise InputError("intervention folder not found", file=directory)
        specs, paths = {}, {}
        for path in sorted(directory.glob("*.toml")):
            spec = load_intervention(path)
            check_references(spec, registry, sectors, path)
            specs[spec.id], paths[spec.id] = spec, path
        if not specs:
            raise InputError("no intervention specs (*.toml) in this folder", file=directory)
        return cls(specs, paths)

    def __getitem__(self, key: str) -> InterventionSpec:
        return self._specs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def require(self, key: str, *, file: str | Path | None = None,
                where: str | None = None) -> InterventionSpec:
        if key not in self._specs:
            raise InputError(f"unknown intervention '{key}'", file=file, where=where,
                             hint=did_you_mean(key, self._specs) or f"one of {list(self._specs)}")
        return self._specs[key]
