"""Results of a run as one labelled cube, and every figure derived from it, computed once.

The cube (:attr:`Results.cube`, an ``xarray.Dataset``) holds what the Monte Carlo produced, labelled:

- ``pv[draw, entity, sector, kind]``: present values of all flows (before the perspective); entity =
  each intervention, then ``portfolio``; [GBP, discounted, the run's price year]
- ``payback[draw, entity, group, basis]``: payback year (``inf`` = not within the horizon, NaN = pays
  nothing); group = each sector, then ``public`` (public bodies) and ``all``; basis = ``perspective``
  (every benefit the perspective counts) or ``cash`` (cash-releasing benefits only);
- ``cumulative_net[detail_draw, entity, aggregate, basis, year]`` for the first
  :data:`~roi_engine.model.evaluation.YEAR_DETAIL_DRAWS` draws;
- means over draws of yearly flows, outcomes avoided and participants; the base case of each;
- the settings that say what the numbers mean (price year, currency, discounting, perspective,
  horizon, draws, seed...) as attributes, and the parameters used as a table.

:mod:`roi_engine.results.summary` derives every metric (PVs by perspective, NPV, benefit per £1, net
ROI, payback, probabilities, mean / median / percentiles / base case) once, from this cube; every
output (terminal, CSV, workbook, HTML, charts) reads those. Nothing outside this package relies on
array positions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from roi_engine.inputs.accounting import KINDS, PERSPECTIVES, perspective_weights
from roi_engine.inputs.deprivation import IMD_EDITION, QUINTILES, age_band, quintile_population
from roi_engine.inputs.optimism import effect_grades
from roi_engine.inputs.valuation import QALY_PARAMETER
from roi_engine.model.draw_store import BLOCK_DRAWS, draw_array, draw_blocks
from roi_engine.model.evaluation import AGGREGATES, BASES, YEAR_DETAIL_DRAWS, simulate
from roi_engine.results.labels import ALL_SECTORS, PORTFOLIO, PUBLIC

CUBE_FILE = "results.nc"


@dataclass(frozen=True)
class RunInfo:
    """The settings that say what the numbers mean."""

    scenario: str
    area_name: str
    area_code: str
    price_year: str
    currency: str
    discounting: str
    perspective: str
    horizon: int
    draws: int
    seed: int
    sampling: str
    chunk_size: int
    year_detail_draws: int

    def lines(self) -> list[str]:
        """Human-readable description, one setting per line."""
        return [
            f"Scenario:     {self.scenario}",
            f"Area:         {self.area_name} ({self.area_code})",
            f"Money:        {self.currency}, {self.price_year} prices (HM Treasury GDP deflator)",
            f"Discounting:  {self.discounting}",
            f"Perspective:  {self.perspective} (benefits counted: "
            f"{', '.join(PERSPECTIVES[self.perspective])})",
            f"Horizon:      {self.horizon} years (year 0 = first year of delivery)",
            f"Draws:        {self.draws:,} ({self.sampling.upper()}, seed {self.seed})",
        ]

    @property
    def basis(self) -> str:
        """One line: what every money figure is."""
        return (f"{self.currency}, {self.price_year} prices, discounted ({self.discounting}); "
                f"{self.perspective} perspective; {self.horizon}-year horizon")


def build_cube(model, per_draw: dict, sums: dict, base) -> xr.Dataset:
    """The labelled cube of a run from what :func:`~roi_engine.model.evaluation.simulate` returns."""
    scenario, spec = model.scenario, model.scenario.spec
    info = RunInfo(
        scenario=spec.name, area_name=scenario.area.name, area_code=scenario.area.code,
        price_year=str(scenario.price_year), currency="GBP",
        discounting=scenario.discounting.describe(), perspective=spec.perspective,
        horizon=spec.horizon, draws=spec.draws, seed=spec.seed, sampling=spec.sampling,
        chunk_size=spec.chunk_size, year_detail_draws=min(spec.draws, YEAR_DETAIL_DRAWS),
    )
    interventions = [plan.spec.id for plan in model.plans]
    entities = [*interventions, PORTFOLIO]
    sectors = list(scenario.sectors.names)
    groups = [*sectors, *AGGREGATES]
    n = per_draw["pv"].shape[0]

    def with_portfolio(x, axis=1):
        return np.concatenate([x, x.sum(axis=axis, keepdims=True)], axis=axis)

    outcome_entity = [o[0] for o in model.outcome_labels]
    outcome_id = [o[1] for o in model.outcome_labels]
    years = np.arange(spec.horizon)
    data = {
        "pv": (("draw", "entity", "sector", "kind"), per_draw["pv"]),
        "pv_base": (("entity", "sector", "kind"), with_portfolio(base.pv)[0]),
        "payback": (("draw", "entity", "group", "basis"), per_draw["payback"]),
        "payback_base": (("entity", "group", "basis"), base.payback[0]),
        "cumulative_net": (("detail_draw", "entity", "aggregate", "basis", "year"),
                           per_draw["cumulative_net"]),
        "cumulative_net_base": (("entity", "aggregate", "basis", "year"), base.cumulative_net[0]),
        "flows_mean": (("entity", "year", "sector", "kind"), with_portfolio(sums["flows_sum"] / n, 0)),
        "discounted_mean": (("entity", "year", "sector", "kind"),
                            with_portfolio(sums["discounted_sum"] / n, 0)),
        "avoided": (("draw", "outcome"), per_draw["avoided_total"]),
        "avoided_base": (("outcome",), base.avoided_total[0]),
        "avoided_mean_by_year": (("outcome", "year"), sums["avoided_sum"] / n),
        "participant_years": (("draw", "intervention"), per_draw["participants_total"]),
        "participant_years_base": (("intervention",), base.participants_total[0]),
        "distinct_share": (("intervention",), np.array([plan.distinct_share for plan in model.plans])),
        "public_body": (("sector",), np.array([s.public_body for s in scenario.sectors.sectors])),
        "default_contributor": (("sector",),
                                np.array([s.default_contributor for s in scenario.sectors.sectors])),
        "sector_label": (("sector",), np.array([s.label for s in scenario.sectors.sectors], dtype=str)),
        "entity_name": (("entity",), np.array([plan.spec.name for plan in model.plans]
                                              + ["Portfolio"], dtype=str)),
        "outcome_entity": (("outcome",), np.array(outcome_entity, dtype=str)),
        "outcome_id": (("outcome",), np.array(outcome_id, dtype=str)),
        "outcome_unit": (("outcome",), np.array([o[2] for o in model.outcome_labels], dtype=str)),
    }
    coords = {"draw": np.arange(n), "detail_draw": np.arange(per_draw["cumulative_net"].shape[0]),
              "entity": entities, "intervention": interventions, "sector": sectors, "group": groups,
              "aggregate": list(AGGREGATES), "basis": list(BASES), "kind": list(KINDS), "year": years,
              "outcome": [f"{e}:{o}" for e, o in zip(outcome_entity, outcome_id, strict=True)]}
    if model.overlaps:  # no zero-length overlap dimension (readers of older netCDF-3 runs need none)
        data.update({"overlap_units": (("draw", "overlap"), per_draw["overlap_units"]),
                     "overlap_units_base": (("overlap",), base.overlap_units[0])})
    data.update({"overlap_value": (("draw",), per_draw["overlap_value"]),
                 "overlap_value_base": ((), base.overlap_value[0]),
                 "qalys": (("draw", "intervention"), per_draw["qalys"]),
                 "qalys_base": (("intervention",), base.qalys[0]),
                 "risk_ratio": (("draw", "intervention"), per_draw["risk_ratio"]),
                 "risk_ratio_base": (("intervention",), base.risk_ratio[0])})
    deprivation, deprivation_attrs = _deprivation_inputs(model)
    data.update(deprivation)
    if deprivation:
        coords["quintile"] = list(QUINTILES)
    if model.overlaps:
        coords["overlap"] = [f"{model.plans[o.first].spec.id}+{model.plans[o.second].spec.id}:{o.outcome}"
                             for o in model.overlaps]
    cube = xr.Dataset(data, coords=coords)
    cube.attrs.update({k: v for k, v in asdict(info).items()})
    cube.attrs.update(deprivation_attrs)
    cube.attrs["qaly_value"] = _qaly_value(scenario)
    cube.attrs["optimism_bias"] = int(bool(spec.optimism_bias))
    cube["effect_grades"] = (("intervention",), np.array(
        [effect_grades(plan.spec, scenario.registry) for plan in model.plans], dtype=str))
    cube.attrs["overlap_notes"] = json.dumps(list(model.overlap_notes))
    cube.attrs["overlap_applied"] = int(bool(model.overlaps))
    rule = scenario.sharing
    cube.attrs["sharing"] = json.dumps({"rule": rule.rule, "contributors": rule.contributors,
                                        "shares": dict(rule.shares) if rule.shares else None})
    for name in ("pv", "pv_base", "cumulative_net", "cumulative_net_base", "flows_mean"):
        cube[name].attrs.update(units="GBP", price_year=info.price_year,
                                discounted="no" if name == "flows_mean" else "yes")
    cube["discounted_mean"].attrs.update(units="GBP", price_year=info.price_year, discounted="yes")
    cube["payback"].attrs.update(units="year (0 = first year of delivery); inf = not within the horizon")
    return cube


def _deprivation_inputs(model) -> tuple[dict, dict]:
    """What the results by deprivation need: populations, uptake and baseline health by quintile."""
    scenario = model.scenario
    split = quintile_population(scenario.area)
    if split is None:
        return {}, {"deprivation": 0, "deprivation_note": (
            f"no split by deprivation quintile: the shipped IMD table does not cover "
            f"{scenario.area.code} ({scenario.area.kind})")}
    bands = [age_band(plan.spec.population.ages) for plan in model.plans]
    uptake = np.array([item.uptake_by_quintile or (1.0,) * 5 for item, _ in scenario.interventions])
    data = {
        "quintile_population": (("intervention", "quintile"),
                                np.array([split.population[b] for b in bands])),
        "quintile_age_band": (("intervention",), np.array(bands, dtype=str)),
        "area_population_by_quintile": (("quintile",), split.population["total"]),
        "uptake_by_quintile": (("intervention", "quintile"), uptake),
    }
    registry = scenario.registry
    names = [f"dep_qale_q{q}" for q in QUINTILES]
    if all(n in registry for n in names):
        data["baseline_health"] = (("quintile",), np.array([registry[n].value for n in names]))
    attrs = {"deprivation": 1, "imd_edition": IMD_EDITION,
             "deprivation_districts": ",".join(split.districts)}
    if "dep_atkinson_epsilon_england" in registry:
        attrs["epsilon_england"] = float(registry["dep_atkinson_epsilon_england"].value)
    return data, attrs


def _qaly_value(scenario) -> float:
    """The run's value of a QALY in its price year (NaN when the library has none). [GBP per QALY]"""
    if QALY_PARAMETER not in scenario.registry:
        return float("nan")
    param = scenario.registry[QALY_PARAMETER]
    factor = scenario.deflator.factor(param.price_year, scenario.price_year) if param.is_money else 1.0
    return float(param.value * factor)


class Results:
    """A run's results: the labelled :attr:`cube` and the figures derived from it (computed once).

    Attributes
    ----------
    cube : xarray.Dataset
    info : RunInfo
    entities : tuple of str
        Intervention ids, then ``"portfolio"``.
    sectors : tuple of str
    """

    def __init__(self, cube: xr.Dataset, parameters=None):
        self.cube = cube
        attrs = cube.attrs
        self.info = RunInfo(**{k: type_(attrs[k]) for k, type_ in _INFO_TYPES.items()})
        self.entities: tuple[str, ...] = tuple(str(e) for e in cube["entity"].values)
        self.interventions: tuple[str, ...] = self.entities[:-1]
        self.sectors: tuple[str, ...] = tuple(str(s) for s in cube["sector"].values)
        self.groups: tuple[str, ...] = tuple(str(g) for g in cube["group"].values)
        self.public_body = cube["public_body"].values.astype(bool)
        self.weights = perspective_weights(self.info.perspective, self.public_body)
        self.overlap_notes: tuple[str, ...] = tuple(json.loads(attrs.get("overlap_notes", "[]")))
        self.overlap_applied = bool(int(attrs.get("overlap_applied", 0)))
        self.parameters = parameters  # the parameters-used table (pandas) when known
        self._summary = None

    @classmethod
    def from_arrays(cls, model, per_draw: dict, sums: dict, base) -> Results:
        """Results from what :func:`roi_engine.model.evaluation.simulate` collected."""
        from roi_engine.results.parameters_used import parameters_table

        return cls(build_cube(model, per_draw, sums, base), parameters_table(model))

    # --- labels --------------------------------------------------------------------------------

    @property
    def sharing_rule(self):
        from roi_engine.inputs.sharing_rule import SharingRule

        spec = json.loads(self.cube.attrs["sharing"])
        contributors = tuple(spec["contributors"]) if spec["contributors"] else None
        return SharingRule(spec["rule"], contributors, spec["shares"])

    @property
    def default_contributors(self) -> tuple[str, ...]:
        return tuple(s for s, d in zip(self.sectors, self.cube["default_contributor"].values, strict=True)
                     if d)

    def sector_labels(self) -> dict[str, str]:
        return dict(zip(self.sectors, (str(x) for x in self.cube["sector_label"].values), strict=True))

    def overlap_correction(self):
        """The double count removed for each overlap: units (base case, mean, 5th, 95th percentile over
        draws), and the present value of the benefits removed in all (base case and mean). [GBP]"""
        import pandas as pd

        from roi_engine.results.metrics import summarise

        cube = self.cube
        if "overlap" not in cube.coords or cube.sizes.get("overlap", 0) == 0:
            return pd.DataFrame()
        s = summarise(cube["overlap_units"].values)
        frame = pd.DataFrame({"units_removed_base": cube["overlap_units_base"].values,
                              **{f"units_removed_{k}": v for k, v in s.items()}},
                             index=pd.Index([str(o) for o in cube["overlap"].values], name="overlap"))
        frame.attrs["value_removed_base"] = float(cube["overlap_value_base"].values)
        frame.attrs["value_removed_mean"] = float(cube["overlap_value"].values.mean())
        return frame

    def overlap_sentence(self) -> str:
        """One sentence on the size of the overlap correction (empty when there is no overlap)."""
        frame = self.overlap_correction()
        if frame.empty:
            return ""
        parts = [f"{row.units_removed_base:,.0f} {name.split(':', 1)[1]} units counted twice by "
                 f"{name.split(':', 1)[0].replace('+', ' and ')} (base case; mean over draws "
                 f"{row.units_removed_mean:,.0f})" for name, row in frame.iterrows()]
        return ("Overlap correction: " + "; ".join(parts) + f", worth {self.info.currency} "
                f"{frame.attrs['value_removed_base']:,.0f} of benefits (present value, base case; mean "
                f"{frame.attrs['value_removed_mean']:,.0f}), removed from the portfolio.")

    @property
    def optimism_bias(self) -> bool:
        """True when the run adjusted costs and effects for optimism bias by evidence grade."""
        return bool(int(self.cube.attrs.get("optimism_bias", 0)))

    def effect_grades(self) -> dict[str, str]:
        """Intervention -> the evidence grades behind its effects (weakest last)."""
        if "effect_grades" not in self.cube:
            return {}
        return dict(zip(self.interventions, (str(x) for x in self.cube["effect_grades"].values), strict=True))

    def entity_names(self) -> dict[str, str]:
        return dict(zip(self.entities, (str(x) for x in self.cube["entity_name"].values), strict=True))

    def __repr__(self) -> str:
        i = self.info
        return (f"<roi_engine.Results draws={i.draws} entities={list(self.entities)} "
                f"sectors={len(self.sectors)} area={i.area_code} price_year={i.price_year} "
                f"perspective={i.perspective} horizon={i.horizon} seed={i.seed}>")

    # --- derived figures (one place: roi_engine.results.summary) -----------------------------

    @property
    def summary(self):
        """The :class:`~roi_engine.results.summary.Summary` of this run (computed once)."""
        if self._summary is None:
            from roi_engine.results.summary import Summary

            self._summary = Summary(self)
        return self._summary

    def headline(self):
        return self.summary.headline()

    def by_sector(self, entity: str = PORTFOLIO):
        return self.summary.by_sector(entity)

    def tidy(self):
        return self.summary.tidy()

    def draws(self):
        return self.summary.draws()

    def yearly(self):
        return self.summary.yearly()

    def cumulative_net_band(self):
        return self.summary.cumulative_net_band()

    def outcomes(self):
        return self.summary.outcomes()

    def payback_by_year(self):
        return self.summary.payback_by_year()

    def to_dataset(self) -> xr.Dataset:
        """The labelled cube (``xarray.Dataset``)."""
        return self.cube

    # --- arrays, for code that wants NumPy (labels above say what each axis is) ---------------

    @property
    def pv(self) -> np.ndarray:
        """Present values of the interventions, shape ``(draw, intervention, sector, kind)``. [GBP]"""
        return self.cube["pv"].values[:, :-1]

    def sector_metrics(self, base: bool = False) -> dict[str, np.ndarray]:
        """Per-draw metrics by entity and sector (no aggregates): ``{name: (n, E, S)}``."""
        m = self.summary.base_metrics if base else self.summary.draw_metrics
        m = m.sel(group=list(self.sectors))
        out = {name: np.asarray(m[name].values) for name in m.data_vars}
        return {k: (v[None] if base else v) for k, v in out.items()}

    def total_metrics(self, base: bool = False) -> dict[str, np.ndarray]:
        """Per-draw metrics by entity, all sectors together: ``{name: (n, E)}`` (n = 1 for base)."""
        m = (self.summary.base_metrics if base else self.summary.draw_metrics).sel(group=ALL_SECTORS)
        out = {name: np.asarray(m[name].values) for name in m.data_vars}
        years = (self.cube["participant_years_base"] if base else self.cube["participant_years"]).values
        years = np.atleast_2d(years)
        out["participants"] = np.concatenate([years, years.sum(axis=1, keepdims=True)], axis=1)
        return {k: (v[None] if base and v.ndim == 1 else v) for k, v in out.items()}

    # --- saving --------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the cube as netCDF (``results.nc``) into ``directory``; returns the path."""
        from roi_engine.atomic import atomic_output

        path = Path(directory) / CUBE_FILE
        cube = self.cube.copy()
        if self.parameters is not None:
            table = self.parameters.reset_index(drop=True)
            for column in table.columns:
                cube[f"parameter_{column}"] = (("parameter",), table[column].astype(str).to_numpy())
        with atomic_output(path) as tmp:  # netCDF-4 through h5py: each variable written from its array
            cube.to_netcdf(tmp, engine="h5netcdf")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Results from a saved cube (``results.nc``, or the run folder holding it)."""
        import pandas as pd

        path = Path(path)
        if path.is_dir():
            path = path / CUBE_FILE
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            cube = _load_bounded(opened)
        columns = [v for v in cube.data_vars if v.startswith("parameter_")]
        parameters = None
        if columns:
            parameters = pd.DataFrame({c.removeprefix("parameter_"): cube[c].values.astype(str)
                                       for c in columns})
            cube = cube.drop_vars(columns)
        for name in ("sector_label", "entity_name", "outcome_entity", "outcome_id", "outcome_unit",
                     "quintile_age_band", "effect_grades"):
            if name in cube:
                cube[name] = cube[name].astype(str)
        return cls(cube, parameters)


def _load_bounded(opened: xr.Dataset) -> xr.Dataset:
    """A saved cube in memory, with its per-draw variables copied a block of draws at a time into
    :func:`~roi_engine.model.draw_store.draw_array` arrays (on disk once large)."""
    per_draw = {}
    for name, variable in opened.data_vars.items():
        if variable.dims and variable.dims[0] == "draw":
            target = draw_array(variable.shape, variable.dtype)
            for block in draw_blocks(variable.shape[0]):
                target[block] = variable.isel(draw=block).values
            per_draw[name] = (variable.dims, target, variable.attrs)
    cube = opened.drop_vars(list(per_draw)).load()
    for name, value in per_draw.items():
        cube[name] = value
    return cube


_INFO_TYPES = {"scenario": str, "area_name": str, "area_code": str, "price_year": str, "currency": str,
               "discounting": str, "perspective": str, "horizon": int, "draws": int, "seed": int,
               "sampling": str, "chunk_size": int, "year_detail_draws": int}


def estimated_peak_bytes(model, draws: int) -> int:
    """A run's peak memory, estimated: one chunk's working arrays, one block's per-draw metrics, and
    what still grows with the draws (statistics copy one entity's draws at a time; the large per-draw
    arrays themselves are paged to disk, :func:`estimated_scratch_bytes`). [bytes]"""
    spec = model.scenario.spec
    entities, sectors = len(model.plans) + 1, len(model.scenario.sectors)
    groups = sectors + len(AGGREGATES)
    chunk = min(spec.chunk_size, draws) * entities * groups * 2 * spec.horizon * 8 * 3
    block = min(BLOCK_DRAWS, draws) * entities * groups * 8 * 14 * 2
    growing = draws * (groups * 8 * 4 + sectors * 8 * 12 + len(model.outcome_labels) * 8 * 3)
    return int(chunk + block + growing + 200 * 2**20)


def estimated_scratch_bytes(model, draws: int) -> int:
    """Disk the per-draw arrays of a run need once paged (:mod:`roi_engine.model.draw_store`). [bytes]"""
    entities, sectors = len(model.plans) + 1, len(model.scenario.sectors)
    groups = sectors + len(AGGREGATES)
    per_draw = (entities * sectors * 4 + entities * groups * 2 + 13 * entities * groups
                + len(model.outcome_labels) + 3 * len(model.plans) + 12 * (sectors + 1)
                + 5 * entities * 5 + 6 * entities) * 8
    return int(draws * per_draw)


def available_memory_bytes() -> int | None:
    """Memory the system can give this process now (Linux ``MemAvailable``), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def run(scenario, *, progress=None) -> Results:
    """Run a scenario's Monte Carlo in chunks and return its :class:`Results`.

    ``draws``, ``seed``, ``sampling`` and ``chunk_size`` are read from the scenario's spec;
    ``progress`` is called with the number of draws finished after each chunk.
    """
    model, per_draw, sums, base = simulate(scenario, progress=progress)
    return Results.from_arrays(model, per_draw, sums, base)


__all__ = ["Results", "RunInfo", "PORTFOLIO", "ALL_SECTORS", "PUBLIC", "CUBE_FILE", "build_cube", "run"]
