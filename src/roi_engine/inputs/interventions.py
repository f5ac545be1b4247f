"""Intervention specs: one TOML per programme in ``interventions/``, validated with pydantic.

The format is documented in ``docs/file_formats.md``. Loading happens in two steps:

1. :func:`load_intervention` checks the file's structure (keys, types, ranges); an unknown key gets
   the closest valid key;
2. :func:`check_references` checks every parameter name against the registry and every sector against
   ``sectors.csv``, naming the file and key and suggesting the closest valid name.

A *reference* (``Ref``) is either a parameter name or a plain number.

An intervention may also declare state-transition (Markov) cohort models in ``[[markov]]`` blocks
(:class:`MarkovSpec`, ``docs/markov.md``); they add to the same cash flows as the outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.parameters import ParameterRegistry
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.specs import StrictModel, read_toml, validate

Ref = StrictStr | StrictInt | StrictFloat
"""A parameter name or a plain number (never a boolean: ``true`` is not 1)."""
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


class DeprivationSpec(StrictModel):
    """How the programme's target condition varies with deprivation (results by IMD quintile).

    ``risk_ratio``: baseline risk of the condition in the most deprived fifth of areas divided by that
    in the least deprived fifth (national IMD quintiles); 1 is a flat gradient. It shapes only how the
    area's results split across quintiles (:mod:`roi_engine.analyses.deprivation`), never the totals.
    """

    risk_ratio: Ref = 1.0


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


REST = "rest"
"""Marker for the complement of a row (1 minus the other probabilities of the row)."""
CYCLE_CONVENTIONS = ("start", "end", "half_cycle")


def _factors(value: Ref | tuple[Ref, ...]) -> tuple[Ref, ...]:
    return value if isinstance(value, tuple) else (value,)


class BandSpec(StrictModel):
    """From cycle ``from_cycle`` on (time since the cohort started), the transition takes this value."""

    from_cycle: int = Field(ge=1)
    probability: Ref | tuple[Ref, ...]


class TransitionSpec(StrictModel):
    """A yearly transition probability from one state to another.

    ``probability`` is a parameter name, a number, a list of them multiplied together, or ``"rest"``
    (one minus the other probabilities of the row). Optional time dependence: ``bands`` (a new value
    from a given cycle on) or ``weibull_shape`` (the cumulative hazard grows as ``t ** shape``).
    """

    from_: str = Field(alias="from")
    to: str
    probability: Ref | tuple[Ref, ...]
    bands: tuple[BandSpec, ...] = ()
    weibull_shape: Ref | None = None
    label: str = ""

    @model_validator(mode="after")
    def _time(self) -> TransitionSpec:
        rest = self.probability == REST
        if rest and (self.bands or self.weibull_shape is not None):
            raise ValueError("a 'rest' transition is the complement of its row: it takes no bands "
                             "or weibull_shape")
        if self.bands and self.weibull_shape is not None:
            raise ValueError("give bands or weibull_shape, not both")
        starts = [b.from_cycle for b in self.bands]
        if starts != sorted(set(starts)):
            raise ValueError("bands must start at increasing cycles, each once")
        if REST in self.factors[1:] or (REST in self.factors and len(self.factors) > 1):
            raise ValueError("'rest' stands alone; it cannot be multiplied")
        return self

    @property
    def is_rest(self) -> bool:
        return self.probability == REST

    @property
    def factors(self) -> tuple[Ref, ...]:
        return _factors(self.probability)


class MarkovEffectSpec(StrictModel):
    """The programme's effect on one transition: a relative risk or a hazard ratio, with persistence.

    In cycle k the ratio applied is ``1 + (ratio - 1) x persistence(k)`` (``persistence`` as for
    outcomes: full for ``years_full`` cycles, then fading by ``fade`` a cycle).
    """

    transition: tuple[str, str]
    relative_risk: Ref | None = None
    hazard_ratio: Ref | None = None
    persistence: PersistenceSpec = PersistenceSpec()

    @model_validator(mode="after")
    def _one(self) -> MarkovEffectSpec:
        if (self.relative_risk is None) == (self.hazard_ratio is None):
            raise ValueError("give exactly one of relative_risk or hazard_ratio")
        return self

    @property
    def form(self) -> str:
        return "relative_risk" if self.relative_risk is not None else "hazard_ratio"

    @property
    def ref(self) -> Ref:
        return self.relative_risk if self.relative_risk is not None else self.hazard_ratio


class StateCostSpec(StrictModel):
    """Money per person-year spent in a state, to one sector, as one value type.

    The programme's value is the comparator's minus the intervention's (a cost avoided is a benefit).
    """

    state: str
    sector: str
    value_type: Literal["fiscal", "economic", "social"]
    per_year: Ref | tuple[Ref, ...]
    label: str = ""

    @property
    def factors(self) -> tuple[Ref, ...]:
        return _factors(self.per_year)


class MarkovOutcomeSpec(StrictModel):
    """The outcome id a state's person-years count as, for the portfolio overlap correction.

    Person-years in ``state`` avoided are then units of outcome ``id``: a programme whose
    ``[[outcomes]]`` (or another Markov block) has the same id, in overlapping ages, changes the same
    outcome in the same people, and the double count is removed (``model/overlap.py``,
    ``docs/markov.md``).
    """

    id: str
    state: str


class MarkovSpec(StrictModel):
    """A state-transition cohort model run for each cohort with and without the programme.

    Cycles are years, cycle 0 starting when the cohort starts. Its yearly value (the difference
    between the two traces) is added to the intervention's cash flows. See ``docs/markov.md``.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    states: tuple[str, ...] = Field(min_length=2)
    start: dict[str, Ref]
    cycle: Literal["start", "end", "half_cycle"] = "half_cycle"
    transitions: tuple[TransitionSpec, ...] = Field(min_length=1)
    effects: tuple[MarkovEffectSpec, ...] = Field(min_length=1)
    state_costs: tuple[StateCostSpec, ...] = ()
    utilities: dict[str, Ref] = {}
    qaly_value: Ref = "value_of_qaly"
    qaly_sector: str = "individuals"
    label: str = ""
    outcome: MarkovOutcomeSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MarkovSpec:
        states = self.states
        if len(set(states)) != len(states):
            raise ValueError("a state is listed twice")

        def known(state: str, where: str) -> None:
            if state not in states:
                hint = did_you_mean(state, states) or f"one of {list(states)}"
                raise ValueError(f"{where}: unknown state '{state}' ({hint})")

        for state in self.start:
            known(state, "start")
        if sum(1 for v in self.start.values() if v == REST) > 1:
            raise ValueError("start: at most one state can be 'rest'")
        pairs = []
        for t in self.transitions:
            known(t.from_, "transitions")
            known(t.to, "transitions")
            pairs.append((t.from_, t.to))
        if len(set(pairs)) != len(pairs):
            raise ValueError("a transition (from, to) is listed twice")
        for state in states:
            if sum(1 for t in self.transitions if t.from_ == state and t.is_rest) > 1:
                raise ValueError(f"transitions from '{state}': at most one can be 'rest'")
        rest_pairs = {(t.from_, t.to) for t in self.transitions if t.is_rest}
        for e in self.effects:
            known(e.transition[0], "effects")
            known(e.transition[1], "effects")
            if tuple(e.transition) not in pairs:
                raise ValueError(f"effects: no transition {list(e.transition)} is declared")
            if tuple(e.transition) in rest_pairs:
                raise ValueError(f"effects: {list(e.transition)} is the 'rest' of its row; put the "
                                 "effect on a declared probability")
        for c in self.state_costs:
            known(c.state, "state_costs")
        for state in self.utilities:
            known(state, "utilities")
        if self.outcome is not None:
            known(self.outcome.state, "outcome")
        if not self.state_costs and not self.utilities:
            raise ValueError("give state_costs or utilities (or both): nothing would be valued")
        return self

    def references(self, at: str) -> Iterator[tuple[str, Ref]]:
        for state, ref in self.start.items():
            if ref != REST:
                yield f"{at}.start.{state}", ref
        for i, t in enumerate(self.transitions):
            if not t.is_rest:
                for k, f in enumerate(t.factors):
                    yield f"{at}.transitions[{i}].probability[{k}]", f
            for b, band in enumerate(t.bands):
                for k, f in enumerate(_factors(band.probability)):
                    yield f"{at}.transitions[{i}].bands[{b}].probability[{k}]", f
            if t.weibull_shape is not None:
                yield f"{at}.transitions[{i}].weibull_shape", t.weibull_shape
        for i, e in enumerate(self.effects):
            yield f"{at}.effects[{i}].{e.form}", e.ref
            yield f"{at}.effects[{i}].persistence.years_full", e.persistence.years_full
            yield f"{at}.effects[{i}].persistence.fade", e.persistence.fade
        for i, c in enumerate(self.state_costs):
            for k, f in enumerate(c.factors):
                yield f"{at}.state_costs[{i}].per_year[{k}]", f
        for state, ref in self.utilities.items():
            yield f"{at}.utilities.{state}", ref
        if self.utilities:
            yield f"{at}.qaly_value", self.qaly_value


class InterventionSpec(StrictModel):
    """A programme, as declared in ``interventions/<id>.toml``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    life_stage: str
    description: str = ""
    population: PopulationSpec
    delivery: DeliverySpec = DeliverySpec()
    costs: tuple[CostSpec, ...] = Field(min_length=1)
    outcomes: tuple[OutcomeSpec, ...] = ()
    markov: tuple[MarkovSpec, ...] = ()
    deprivation: DeprivationSpec = DeprivationSpec()

    @model_validator(mode="after")
    def _something_changes(self) -> InterventionSpec:
        if not self.outcomes and not self.markov:
            raise ValueError("give at least one [[outcomes]] or [[markov]] block")
        ids = [m.id for m in self.markov]
        if len(set(ids)) != len(ids):
            raise ValueError("two markov blocks share an id")
        return self

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
        for i, block in enumerate(self.markov):
            yield from block.references(f"markov[{i}]")
        yield "deprivation.risk_ratio", self.deprivation.risk_ratio

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
        elif where == "deprivation.risk_ratio" and not ref > 0:
            raise InputError(f"{ref:g} is not a risk ratio (it must be above 0; 1 = no gradient)",
                             file=path, where=where)
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
    for i, block in enumerate(spec.markov):
        for j, cost in enumerate(block.state_costs):
            sectors.require(cost.sector, file=path, where=f"markov[{i}].state_costs[{j}].sector")
        if block.utilities:
            sectors.require(block.qaly_sector, file=path, where=f"markov[{i}].qaly_sector")
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
