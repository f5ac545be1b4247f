"""Local parameters: a parameter takes its value for the scenario's area from a local table.

The tables live in the library's ``parameters/local/`` folder (shipped with the package; a library
without one uses the shipped tables):

- ``indicators.csv``: one row per indicator and area (GSS code on April 2023 boundaries): value, 95%
  confidence interval where the publisher gives one, period, and a note for derived rows. Levels:
  ``lower tier`` (districts and single-tier authorities), ``upper tier`` (counties), ``region`` and
  ``England`` (both derived: population-weighted means of the authorities, see
  ``tools/build_local_tables.py``).
- ``sources.csv``: per indicator, its unit, publisher, edition, URL and caveats.
- ``bindings.csv``: which parameter takes which indicator, and how (``method``):

  ``value``
      the local value replaces the parameter (a share: beta distribution from the published 95% CI);
  ``ratio``
      the parameter becomes the ratio local / England of the indicator (lognormal; its spread from the CI,
      or from a Poisson count for rates without one);
  ``scale``
      the national parameter is multiplied by that ratio; ``spread = scaled`` keeps the national
      relative spread and adds the ratio's, ``spread = local`` replaces it (for a national parameter
      whose range was the spread *between* areas).

- ``imd2019_population_by_quintile.csv``: the area's population by national IMD 2019 quintile.

Look-up follows lower tier -> upper tier -> region -> England; the level used is reported in the
parameter's ``basis`` and ``source``. At England level a parameter keeps its national row unchanged.
A retired (pre-2023) code gets one line naming its successor (:mod:`roi_engine.inputs.boundaries`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from roi_engine.errors import InputError
from roi_engine.inputs.distributions import build
from roi_engine.inputs.parameters import Parameter, ParameterRegistry
from roi_engine.inputs.population import Area, find_area, population_in_band

__all__ = [
    "IMD_EDITION",
    "LOCAL_FOLDER",
    "LocalValue",
    "local_folder",
    "localise",
    "lookup",
    "population_by_imd_quintile",
]

LOCAL_FOLDER = "local"
"""Sub-folder of a library's ``parameters/`` holding the local tables."""

ENGLAND = "E92000001"
LEVELS = ("lower tier", "upper tier", "region", "England")
METHODS = ("value", "ratio", "scale")

IMD_EDITION = (
    "English Indices of Deprivation 2019 (MHCLG, 26 Sep 2019), national IMD quintiles of LSOAs (2011 "
    "boundaries; quintile 1 = most deprived 20% of LSOAs in England), populations ONS mid-2020 LSOA "
    "estimates (SAPE23DT2), summed to April 2023 local authorities. IoD2025 is published, but only its "
    "local-authority summaries (File 10) were available, not LSOA ranks, so the quintile mix is IoD2019. "
    "OGL v3."
)
"""The edition of the IMD quintile mix, stated wherever it is used."""

POPULATION_BANDS = {"total": "all ages", "0_17": "aged 0-17", "16_64": "aged 16-64",
                    "18plus": "aged 18+", "65plus": "aged 65+"}

DERIVED_NO_CI_SD = {"share": 0.015, "ratio": 0.03}
"""Spread used when the value found is a derived region row without a published CI (assumption:
about the sampling error of a regional APS estimate)."""

SERIES_MISMATCH_SD = 0.10
"""Extra log-SD on a ratio taken from a series whose definition is not confirmed (the Health Index
suicide indicator): assumption, see docs/local.md."""


@dataclass(frozen=True)
class LocalValue:
    """An indicator's value found for an area, and where it was found."""

    indicator: str
    area: Area
    code: str
    name: str
    level: str
    value: float
    lci: float | None
    uci: float | None
    period: str
    note: str
    england: float

    @property
    def ratio(self) -> float:
        """Value relative to England in the same table."""
        return self.value / self.england

    @property
    def sd(self) -> float | None:
        """Standard error from the 95% CI (normal approximation), or None."""
        if self.lci is None or self.uci is None:
            return None
        return (self.uci - self.lci) / (2 * 1.959964)

    @property
    def basis(self) -> str:
        if self.level == "England":
            return "national"
        return f"local ({self.level}: {self.name} {self.code})"

    def describe(self) -> str:
        ci = f" (95% CI {self.lci:.4g} to {self.uci:.4g})" if self.sd is not None else ""
        found = "" if self.code == self.area.code else f", used for {self.area} (no {self.area.kind} value)"
        note = f"; {self.note}" if self.note else ""
        return (f"{self.indicator} for {self.name} ({self.code}), {self.level}, {self.period}: "
                f"{self.value:.4g}{ci}{found}; England {self.england:.4g}{note}")


def local_folder(parameters_dir: str | Path | None = None) -> Path:
    """``parameters_dir/local`` if it exists, else the shipped library's."""
    if parameters_dir is not None:
        folder = Path(parameters_dir) / LOCAL_FOLDER
        if folder.is_dir():
            return folder
    shipped = files("roi_engine").joinpath("library", "parameters", LOCAL_FOLDER)
    if shipped.is_dir():
        return Path(str(shipped))
    repo = Path(__file__).resolve().parents[3] / "parameters" / LOCAL_FOLDER
    if repo.is_dir():
        return repo
    raise InputError("the local tables (parameters/local/) were not found", file=parameters_dir)


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise InputError("local table not found", file=path) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a readable CSV table ({exc})", file=path) from None


def _float(text: str, path: Path, row: int, column: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"'{text}' is not a number", file=path,
                         where=f"row {row}, column '{column}'") from None


@lru_cache(maxsize=8)
def _indicators(folder: str) -> dict[tuple[str, str], tuple]:
    path = Path(folder) / "indicators.csv"
    table = {}
    for i, r in enumerate(_read(path), start=2):
        if r.get("level") not in LEVELS:
            raise InputError(f"unknown level '{r.get('level')}'", file=path, where=f"row {i}, column 'level'",
                             hint=f"one of {', '.join(LEVELS)}")
        value = _float(r["value"], path, i, "value")
        if value is None:
            raise InputError("no value", file=path, where=f"row {i}, column 'value'")
        table[(r["indicator"], r["area_code"])] = (
            r["area_name"], r["level"], value, _float(r["lci_95"], path, i, "lci_95"),
            _float(r["uci_95"], path, i, "uci_95"), r["period"], r["note"])
    return table


@lru_cache(maxsize=8)
def _sources(folder: str) -> dict[str, dict[str, str]]:
    return {r["indicator"]: r for r in _read(Path(folder) / "sources.csv")}


def lookup(indicator: str, area: Area | str, *, parameters_dir: str | Path | None = None) -> LocalValue:
    """The indicator's value for ``area``, following lower tier -> upper tier -> region -> England.

    Raises
    ------
    InputError
        The indicator is unknown, or the area code is retired (the message names its successor).
    """
    if isinstance(area, str):
        area = find_area(area)
    folder = str(local_folder(parameters_dir))
    table = _indicators(folder)
    if (indicator, ENGLAND) not in table:
        known = sorted({k for k, _ in table})
        raise InputError(f"unknown local indicator '{indicator}'", file=Path(folder) / "indicators.csv",
                         hint=f"one of {', '.join(known)}")
    england = table[(indicator, ENGLAND)][2]
    for code in (area.code, area.utla_code, area.region_code, ENGLAND):
        if code and (indicator, code) in table:
            name, level, value, lci, uci, period, note = table[(indicator, code)]
            return LocalValue(indicator, area, code, name, level, value, lci, uci, period, note, england)
    raise AssertionError("England row checked above")  # pragma: no cover


def population_by_imd_quintile(area: Area | str, band: str = "total", *,
                               parameters_dir: str | Path | None = None) -> pd.DataFrame:
    """The area's population by national IMD quintile (1 = most deprived), IoD2019 edition.

    Parameters
    ----------
    area : Area or str
        A local authority, a county or metropolitan county, a region or England (these sum their
        authorities).
    band : str
        One of ``total``, ``0_17``, ``16_64``, ``18plus``, ``65plus``.

    Returns
    -------
    pandas.DataFrame
        Index ``imd_quintile`` 1..5; columns ``population`` (ONS mid-2020), ``share`` (sums to 1) and
        ``lsoas``. ``frame.attrs["edition"]`` is :data:`IMD_EDITION`; ``frame.attrs["area"]`` the area.
        Shares can be applied to the mid-2022 population the model uses.
    """
    if band not in POPULATION_BANDS:
        raise InputError(f"unknown population band '{band}'", hint=f"one of {', '.join(POPULATION_BANDS)}")
    if isinstance(area, str):
        area = find_area(area)
    folder = str(local_folder(parameters_dir))
    frame = _quintile_table(folder)
    members = _member_authorities(area, _quintile_codes(folder))
    rows = frame[frame["area_code"].isin(members)]
    quintile = rows["imd_quintile"].to_numpy() - 1  # sums by quintile (as a groupby, 20x faster)
    sums = {}
    for column, source in (("population", f"pop_{band}"), ("lsoas", "n_lsoas")):
        sums[column] = np.zeros(5, dtype=np.int64)
        np.add.at(sums[column], quintile, rows[source].to_numpy(dtype=np.int64))
    out = pd.DataFrame(sums, index=pd.Index(range(1, 6), name="imd_quintile"))
    out["share"] = out["population"] / out["population"].sum()
    out.attrs["edition"] = IMD_EDITION
    out.attrs["area"] = str(area)
    out.attrs["band"] = POPULATION_BANDS[band]
    return out[["population", "share", "lsoas"]]


@lru_cache(maxsize=8)
def _quintile_table(folder: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / "imd2019_population_by_quintile.csv", dtype={"area_code": str})


@lru_cache(maxsize=8)
def _quintile_codes(folder: str) -> frozenset[str]:
    return frozenset(_quintile_table(folder)["area_code"])


METROPOLITAN_COUNTIES = {
    "E11000001": tuple(f"E080000{i:02d}" for i in range(1, 11)),        # Greater Manchester
    "E11000002": tuple(f"E080000{i:02d}" for i in range(11, 16)),       # Merseyside
    "E11000003": tuple(f"E080000{i:02d}" for i in range(16, 20)),       # South Yorkshire
    "E11000005": tuple(f"E080000{i:02d}" for i in range(25, 32)),       # West Midlands
    "E11000006": tuple(f"E080000{i:02d}" for i in range(32, 37)),       # West Yorkshire
    "E11000007": ("E08000021", "E08000022", "E08000023", "E08000024", "E08000037"),  # Tyne and Wear
}
"""The metropolitan districts of each metropolitan county (the population table has no link between them;
``tests/test_local.py`` checks that the districts' populations add up to the county's)."""


def _member_authorities(area: Area, known: set[str]) -> list[str]:
    if area.code in known:
        return [area.code]
    if area.code in METROPOLITAN_COUNTIES:
        return [c for c in METROPOLITAN_COUNTIES[area.code] if c in known]
    from roi_engine.inputs.population import list_areas

    lower = [a for a in list_areas("lower") if a.code in known]
    if area.tier == "country":
        return [a.code for a in lower]
    if area.tier == "region":
        return [a.code for a in lower if a.region_code == area.code]
    inside = [a.code for a in lower if a.utla_code == area.code]
    if not inside:
        raise InputError(f"no IMD quintile mix for {area} (a {area.kind})",
                         hint="use one of its local authorities, its region or England")
    return inside


# --- binding parameters to local values ---------------------------------------------------------

@dataclass(frozen=True)
class Binding:
    parameter: str
    indicator: str
    method: str
    spread: str
    note: str


def _bindings(folder: Path) -> list[Binding]:
    path = folder / "bindings.csv"
    out = []
    for i, r in enumerate(_read(path), start=2):
        method = (r.get("method") or "").strip()
        if method not in METHODS:
            raise InputError(f"unknown method '{method}'", file=path, where=f"row {i}, column 'method'",
                             hint=f"one of {', '.join(METHODS)}")
        spread = (r.get("spread") or "").strip() or "scaled"
        if spread not in ("scaled", "local"):
            raise InputError(f"unknown spread '{spread}'", file=path, where=f"row {i}, column 'spread'",
                             hint="scaled or local")
        out.append(Binding(r["parameter"].strip(), r["indicator"].strip(), method, spread,
                           (r.get("note") or "").strip()))
    return out


@dataclass(frozen=True)
class LocalRatio:
    """Local / England ratio of an indicator, with its log-scale SD and a description."""

    value: float
    sdlog: float
    level: str
    basis: str
    text: str


def _ratio(indicator: str, area: Area, folder: Path, registry: ParameterRegistry) -> LocalRatio:
    if indicator == "cmd_imd_gradient":
        return _cmd_gradient_ratio(area, folder, registry)
    found = lookup(indicator, area, parameters_dir=folder.parent)
    if found.sd is not None:
        sdlog = found.sd / found.value
    elif indicator.startswith("suicide_rate"):
        # Poisson error of the deaths behind the rate (one year's count: conservative, the Health
        # Index pooling is not confirmed) plus the series-definition term.
        deaths = max(found.value / 1e5 * _population_of(found.code, found.area), 1.0)
        sdlog = math.sqrt(1.0 / deaths + SERIES_MISMATCH_SD ** 2)
    else:
        sdlog = DERIVED_NO_CI_SD["ratio"]
    if found.level == "England":
        sdlog = 0.0
    return LocalRatio(found.ratio, sdlog, found.level, found.basis,
                      f"{found.describe()}; ratio to England {found.ratio:.3f} (log-SD {sdlog:.3f})")


def _population_of(code: str, area: Area) -> float:
    try:
        return population_in_band(code, 0, 90)
    except InputError:
        return population_in_band(area, 0, 90)


CMD_GRADIENT_PARAMETER = "cmd_imd_ratio_most_to_least_deprived"


def _cmd_gradient_ratio(area: Area, folder: Path, registry: ParameterRegistry) -> LocalRatio:
    """Area CMD prevalence relative to England from its IMD quintile mix (ages 16-64).

    Relative prevalence in quintile q is ``R ** ((3 - q) / 4)`` (log-linear, quintile 3 = 1), R the ratio
    most / least deprived (:data:`CMD_GRADIENT_PARAMETER`). The area's ratio is
    ``sum_q s_q g_q / sum_q e_q g_q`` with s the area's and e England's population shares. Its spread is
    half the gap between the ratios at R's low and high bounds (on the log scale, about +/- 2 SD).
    """
    gradient = registry.require(CMD_GRADIENT_PARAMETER, file=folder / "bindings.csv")
    mix = population_by_imd_quintile(area, "16_64", parameters_dir=folder.parent)["share"].to_numpy()
    england = population_by_imd_quintile(find_area(ENGLAND), "16_64",
                                         parameters_dir=folder.parent)["share"].to_numpy()
    q = np.arange(1, 6)

    def ratio(r: float) -> float:
        g = r ** ((3 - q) / 4)
        return float(mix @ g / (england @ g))

    point = ratio(gradient.value)
    low, high = gradient.distribution.support
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = gradient.distribution.percentiles(np.array([0.025, 0.975]), gradient.value)
    ends = sorted([ratio(low), ratio(high)])
    sdlog = abs(math.log(ends[1]) - math.log(ends[0])) / 4
    shares = ", ".join(f"Q{i} {s:.1%}" for i, s in zip(q, mix, strict=True))
    if area.code == ENGLAND:
        return LocalRatio(1.0, 0.0, "England", "national", "England: ratio 1")
    return LocalRatio(point, sdlog, "lower tier" if area.is_lower_tier else area.kind,
                      f"local (IMD quintile mix: {area.name} {area.code})",
                      f"{area} residents aged 16-64 by national IMD 2019 quintile: {shares}; relative CMD "
                      f"prevalence by quintile R^((3-q)/4), R = {gradient.value:g} "
                      f"({CMD_GRADIENT_PARAMETER}); "
                      f"area / England = {point:.3f} (log-SD {sdlog:.3f})")


def _rounded(x: float) -> float:
    """``x`` to 10 significant digits: the parameter workbook (Excel keeps 15) then reads back the same
    float, so a run from an exported workbook is bit for bit the run from the tables."""
    return float(f"{x:.10g}")


def _beta(mean: float, sd: float) -> tuple[float, float]:
    sd = min(sd, 0.99 * math.sqrt(mean * (1 - mean)))
    k = mean * (1 - mean) / sd ** 2 - 1
    return mean * k, (1 - mean) * k


def _scaled(p: Parameter, r: LocalRatio, spread: str):
    """(value, distribution) of ``p`` multiplied by the ratio, with the ratio's spread added."""
    value = p.value * r.value
    d = p.distribution
    cap = 1.0 if p.is_probability else math.inf
    width = math.exp(2 * r.sdlog)
    if spread == "local" or d.name == "fixed":
        low, high = value / width, min(value * width, cap)
        if r.sdlog == 0:
            return value, build("fixed", ())
        return value, build("pert", (low, value, high))
    if d.name in ("pert", "triangular"):
        low, mode, high = d.params
        return value, build(d.name, (low * r.value / width, mode * r.value, min(high * r.value * width, cap)))
    if d.name == "beta":
        a, b = d.params
        mean = a / (a + b)
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        new_mean = mean * r.value
        new_sd = new_mean * math.sqrt((sd / mean) ** 2 + r.sdlog ** 2)
        return value, build("beta", _beta(new_mean, new_sd))
    if d.name == "lognormal":
        mu, s = d.params
        return value, build("lognormal", (mu + math.log(r.value), math.sqrt(s ** 2 + r.sdlog ** 2)))
    raise InputError(f"'{p.name}' has a {d.name} distribution, which the local 'scale' method cannot scale",
                     file=p.file, where=f"row {p.row}", hint="use pert, triangular, beta, lognormal or fixed")


def localise(registry: ParameterRegistry, area: Area, *,
             parameters_dir: str | Path | None = None) -> ParameterRegistry:
    """``registry`` with every bound parameter set from the area's local value (see the module doc).

    Parameters at England level are left as they are (their basis stays national).
    """
    folder = local_folder(parameters_dir)
    updates: dict[str, Parameter] = {}
    for b in _bindings(folder):
        if b.parameter not in registry:
            continue  # a library without that programme
        p = registry[b.parameter]
        already = local_basis_in_source(p.source)
        if already is not None:  # a row carrying its local value already (an exported workbook)
            if f" {area.code})" not in already:
                raise InputError(
                    f"'{p.name}' holds a local value for another area ({already}), but the scenario's area "
                    f"is {area}", file=p.file, where=f"row {p.row}, column 'source'",
                    hint="export the parameter workbook again for this area, or give your own value and "
                         f"source (a source not starting '{LOCAL_PREFIX}')")
            updates[b.parameter] = replace(p, basis=already)
            continue
        source_row = _sources(str(folder)).get(b.indicator, {})
        cite = source_row.get("source", b.indicator)
        if b.method == "value":
            found = lookup(b.indicator, area, parameters_dir=folder.parent)
            if found.level == "England":
                continue
            sd = found.sd if found.sd is not None else DERIVED_NO_CI_SD["share"]
            distribution = build("beta", _beta(found.value, sd))
            value, basis, text = found.value, found.basis, found.describe()
            method = "beta distribution with the published 95% CI (method of moments)" if found.sd \
                else f"beta with SD {sd} (derived regional value, no published CI: assumption)"
        else:
            r = _ratio(b.indicator, area, folder, registry)
            if r.level == "England":
                continue
            basis, text = r.basis, r.text
            if b.method == "ratio":
                value = r.value
                distribution = build("lognormal", (math.log(r.value), r.sdlog)) if r.sdlog > 0 \
                    else build("fixed", ())
                method = "lognormal ratio (median = the ratio; log-SD from the CI or count)"
            else:
                value, distribution = _scaled(p, r, b.spread)
                how = ("local spread only" if b.spread == "local"
                       else "national spread widened by the ratio uncertainty")
                method = f"national value x area ratio ({how})"
        note = f" {b.note}" if b.note else ""
        value, distribution = _rounded(value), build(distribution.name,
                                                     tuple(_rounded(x) for x in distribution.params))
        updates[b.parameter] = replace(
            p, value=value, distribution=distribution, basis=basis, replaced=p,
            source=(f"{LOCAL_PREFIX}{basis}: {text}. Method: {method}. Source: {cite}. "
                    f"National row: {p.source}"),
            notes=(f"{note.strip()} " + (p.notes or "")).strip(),
        )
    return registry.replace(updates) if updates else registry


LOCAL_PREFIX = "Local value, "
"""How the ``source`` of a localised parameter starts: ``Local value, local (level: area code): ...``."""


def local_basis_in_source(source: str) -> str | None:
    """The basis written at the start of a localised parameter's source, or None."""
    if not source.startswith(LOCAL_PREFIX + "local ("):
        return None
    rest = source[len(LOCAL_PREFIX):]
    end = rest.find("): ")
    return rest[:end + 1] if end > 0 else None


def _same(a: Parameter, b: Parameter) -> bool:
    return (a.value == b.value and a.distribution.name == b.distribution.name
            and np.allclose(a.distribution.params, b.distribution.params, rtol=1e-12, atol=0))


def carry_basis(local: ParameterRegistry, given: ParameterRegistry) -> ParameterRegistry:
    """``given`` (e.g. read back from a workbook) with the area's local values where it left them alone.

    For each parameter the scenario localised: a row of ``given`` equal to the national row it replaced
    takes the local value again (a workbook exported from the national tables); a row equal to the local
    value keeps its local basis (a workbook exported from the scenario); any other row is the user's own
    and is kept as given.
    """
    keep = {}
    for name, p in local.items():
        if not p.basis or name not in given or given[name].basis:
            continue
        q = given[name]
        if p.replaced is not None and _same(q, p.replaced) and q.source == p.replaced.source:
            keep[name] = p
        elif _same(q, p):
            keep[name] = replace(q, basis=p.basis, replaced=p.replaced)
    return given.replace(keep) if keep else given
