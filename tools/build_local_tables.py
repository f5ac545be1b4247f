"""Build the local tables shipped in ``parameters/local/`` from ``../shared/reference/local_indicators``.

Run from the repository root: ``.venv/bin/python tools/build_local_tables.py``. The output is
deterministic; ``tests/test_local.py`` checks a few cells against the shared files.

Every table is put on April 2023 local-authority boundaries (the geography of the tool's population
file). Region and England rows are **derived** here: population-weighted means of the lower-tier rows
(weights: ONS mid-2020 LSOA populations summed to districts, from the IoD2019 population file; the age
band named per indicator). Rows aggregated from pre-2023 districts say so in ``note``.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference" / "local_indicators"
OUT = ROOT / "parameters" / "local"
POP = ROOT / "src" / "roi_engine" / "data" / "ons_mid2022_la_population_by_age.csv.gz"

# LAD 2019/2021 districts merged into new unitary authorities (README of the shared files).
MERGERS = {
    "E06000060": ("Buckinghamshire", "2020-04-01", ["E07000004", "E07000005", "E07000006", "E07000007"]),
    "E06000061": ("North Northamptonshire", "2021-04-01",
                  ["E07000150", "E07000152", "E07000153", "E07000156"]),
    "E06000062": ("West Northamptonshire", "2021-04-01", ["E07000151", "E07000154", "E07000155"]),
    "E06000063": ("Cumberland", "2023-04-01", ["E07000026", "E07000028", "E07000029"]),
    "E06000064": ("Westmorland and Furness", "2023-04-01", ["E07000027", "E07000030", "E07000031"]),
    "E06000065": ("North Yorkshire", "2023-04-01", ["E07000163", "E07000164", "E07000165", "E07000166",
                                                     "E07000167", "E07000168", "E07000169"]),
    "E06000066": ("Somerset", "2023-04-01", ["E07000187", "E07000188", "E07000189", "E07000246"]),
}


def read(name: str) -> list[dict[str, str]]:
    with (SHARED / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def areas() -> dict[str, dict[str, str]]:
    """Area code -> {name, tier, utla_code, region_code} from the packaged population table."""
    out: dict[str, dict[str, str]] = {}
    with gzip.open(POP, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["area_code"] not in out:
                out[row["area_code"]] = {k: row[k] for k in ("area_name", "tier", "utla_code", "region_code")}
    return out


def weights() -> dict[str, dict[str, float]]:
    """District code (LAD 2019 and LAD 2023) -> mid-2020 population by band."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for name, key in (("imd2019_population_by_quintile_lad19.csv", "lad19_code"),
                      ("imd2019_population_by_quintile_lad23.csv", "lad23_code")):
        for row in read(name):
            for band in ("total", "16_64", "18plus"):
                out[row[key]][band] += float(row[f"pop_{band}_mid2020"])
    return out


AREAS = areas()
WEIGHTS = weights()
LOWER = {c for c, a in AREAS.items() if a["tier"] in ("LTLA", "LTLA+UTLA")}
REGION_NAMES = {c: a["area_name"] for c, a in AREAS.items() if a["tier"] == "region"}


def region_of(code: str) -> str:
    if code in AREAS:
        return AREAS[code]["region_code"]
    for new, (_, _, old) in MERGERS.items():
        if code in old:
            return AREAS[new]["region_code"]
    raise KeyError(code)


def weighted(rows: list[tuple[str, float, float | None, float | None]], band: str):
    """Population-weighted mean of (code, value, lci, uci); bounds averaged the same way (wider than a
    pooled interval: conservative)."""
    total = sum(WEIGHTS[c][band] for c, *_ in rows)
    value = sum(WEIGHTS[c][band] * v for c, v, *_ in rows) / total
    if all(lo is not None and hi is not None for _, _, lo, hi in rows):
        lci = sum(WEIGHTS[c][band] * lo for c, _, lo, _ in rows) / total
        uci = sum(WEIGHTS[c][band] * hi for c, _, _, hi in rows) / total
    else:
        lci = uci = None
    return value, lci, uci


def num(text: str) -> float | None:
    return float(text) if text.strip() else None


def build_indicator(indicator: str, lower: dict[str, tuple[float, float | None, float | None]],
                    upper: dict[str, tuple[float, float | None, float | None]], period: str, band: str,
                    scale: float, merge_predecessors: bool) -> list[dict[str, object]]:
    """Rows for one indicator: lower tier (2023 codes), counties, regions, England."""
    rows: list[dict[str, object]] = []
    have: dict[str, tuple[float, float | None, float | None]] = {}
    for code in sorted(LOWER):
        note = ""
        if code in lower:
            have[code] = lower[code]
        elif merge_predecessors and code in MERGERS and all(c in lower for c in MERGERS[code][2]):
            old = MERGERS[code][2]
            have[code] = weighted([(c, *lower[c]) for c in old], band)
            note = ("derived: mid-2020-population-weighted mean of the predecessor districts "
                    + " ".join(old) + " (the publisher's table is on pre-2023 boundaries)")
        else:
            continue
        v, lo, hi = have[code]
        rows.append({"indicator": indicator, "area_code": code, "area_name": AREAS[code]["area_name"],
                     "level": "lower tier", "value": v * scale, "lci_95": None if lo is None else lo * scale,
                     "uci_95": None if hi is None else hi * scale, "period": period, "note": note})
        if note == "" and code in MERGERS:
            pass
    for code, (v, lo, hi) in sorted(upper.items()):
        rows.append({"indicator": indicator, "area_code": code, "area_name": AREAS[code]["area_name"],
                     "level": "upper tier", "value": v * scale, "lci_95": None if lo is None else lo * scale,
                     "uci_95": None if hi is None else hi * scale, "period": period, "note": ""})
    # Regions and England from the lower-tier values on the publisher's own geography (no double counting).
    by_region: dict[str, list] = defaultdict(list)
    for code, (v, _lo, _hi) in lower.items():
        if WEIGHTS.get(code, {}).get(band):
            by_region[region_of(code)].append((code, v, None, None))
    for region, members in sorted(by_region.items()):
        v, _, _ = weighted(members, band)
        rows.append({"indicator": indicator, "area_code": region, "area_name": REGION_NAMES[region],
                     "level": "region", "value": v * scale, "lci_95": None, "uci_95": None, "period": period,
                     "note": f"derived: mid-2020-population-weighted ({band}) mean of {len(members)} "
                             "authorities"})
    everyone = [m for members in by_region.values() for m in members]
    v, _, _ = weighted(everyone, band)
    rows.append({"indicator": indicator, "area_code": "E92000001", "area_name": "England", "level": "England",
                 "value": v * scale, "lci_95": None, "uci_95": None, "period": period,
                 "note": f"derived: mid-2020-population-weighted ({band}) mean of {len(everyone)} "
                         "authorities"})
    return rows


def employment() -> list[dict[str, object]]:
    lower, upper = {}, {}
    for row in read("aps_employment_rate_16_64_la.csv"):
        if row["year"] != "2023" or row["status"].strip() == "x" or not row["employment_rate_16_64_pct"]:
            continue
        triple = (float(row["employment_rate_16_64_pct"]), num(row["lci_95"]), num(row["uci_95"]))
        (upper if row["area_code"].startswith("E10") else lower)[row["area_code"]] = triple
    return build_indicator("employment_rate_16_64", lower, upper, "Jan-Dec 2023", "16_64", 0.01, False)


def wellbeing(name: str, indicator: str) -> list[dict[str, object]]:
    lower, upper = {}, {}
    for row in read("aps_personal_wellbeing_la.csv"):
        if row["indicator"] != name or row["financial_year"] != "2022/23" or not row["mean_score_0_10"]:
            continue
        triple = (float(row["mean_score_0_10"]), num(row["lci_95"]), num(row["uci_95"]))
        (upper if row["area_code"].startswith("E10") else lower)[row["area_code"]] = triple
    # Counties abolished in 2023 are kept only where their area is still a county.
    upper = {c: t for c, t in upper.items() if c in AREAS}
    return build_indicator(indicator, lower, upper, "Apr 2022-Mar 2023", "18plus", 1.0, True)


def suicides() -> list[dict[str, object]]:
    lower = {}
    for row in read("ons_health_index_suicides_ltla21_UNCERTAIN.csv"):
        if row["year"] == "2021":
            lower[row["lad21_code"]] = (float(row["suicides_value"]), None, None)
    # No predecessor merging: age-standardised rates of merged districts are not re-derived here.
    return build_indicator("suicide_rate_health_index", lower, {}, "Health Index 2021", "total", 1.0, False)


def quintiles() -> list[dict[str, object]]:
    out = []
    for row in read("imd2019_population_by_quintile_lad23.csv"):
        out.append({"area_code": row["lad23_code"], "area_name": row["lad23_name"],
                    "imd_quintile": int(row["imd_quintile"]), "n_lsoas": int(row["n_lsoas"]),
                    **{f"pop_{b}": int(row[f"pop_{b}_mid2020"])
                       for b in ("total", "0_17", "16_64", "18plus", "65plus")}})
    return out


def write(name: str, rows: list[dict[str, object]]) -> None:
    def fmt(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    with (OUT / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: fmt(v) for k, v in r.items()})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = employment() + suicides()
    for name, indicator in (("Satisfaction", "life_satisfaction"), ("Anxiety", "anxiety"),
                            ("Happiness", "happiness"), ("Worthwhile", "worthwhile")):
        rows += wellbeing(name, indicator)
    write("indicators.csv", rows)
    write("imd2019_population_by_quintile.csv", quintiles())


if __name__ == "__main__":
    main()
