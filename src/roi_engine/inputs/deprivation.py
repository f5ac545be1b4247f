"""An area's population by national deprivation quintile, and what a scenario says about deprivation.

The quintiles are national: quintile 1 holds the 20% most deprived LSOAs of England by the English
Indices of Deprivation 2019 (IoD2019, Index of Multiple Deprivation), quintile 5 the 20% least
deprived. An area's split is the ONS mid-2020 population of its LSOAs in each quintile, in the age
band nearest to a programme's ages (0-17, 16-64, 18+, 65+ or all ages). The table ships with the
package as ``data/imd2019_population_by_quintile_lad23.csv`` (see its README): LAD April-2023
boundaries; an upper-tier area, region or England is the sum of the districts it contains.

IoD2025 (published 30 October 2025) is not used yet: its LSOA-level file is not in the shipped data,
only district summaries, so the quintile split of an area cannot be rebuilt from it. The edition used
is stated wherever the split is shown (:data:`IMD_EDITION`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd

from roi_engine.inputs.population import Area, load_population

QUINTILE_FILE = "imd2019_population_by_quintile_lad23.csv"
IMD_EDITION = "English Indices of Deprivation 2019 (IMD), national LSOA quintiles; ONS mid-2020 populations"
QUINTILES = (1, 2, 3, 4, 5)
QUINTILE_LABELS = ("1 (most deprived)", "2", "3", "4", "5 (least deprived)")
AGE_BANDS = {"0_17": (0, 17), "16_64": (16, 64), "18plus": (18, 90), "65plus": (65, 90), "total": (0, 90)}


@lru_cache(maxsize=1)
def load_quintile_table() -> pd.DataFrame:
    """The packaged table: one row per LAD (April 2023) and quintile, populations by age band."""
    resource = files("roi_engine") / "data" / QUINTILE_FILE
    with resource.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={"lad23_code": str, "lad23_name": str})


def age_band(ages: tuple[int, int]) -> str:
    """The table's age band that best covers a programme's ages ``(low, high)``.

    The narrowest band containing the ages; if none contains them, the band overlapping most.
    """
    low, high = ages
    containing = [(b[1] - b[0], name) for name, b in AGE_BANDS.items() if b[0] <= low and high <= b[1]]
    if containing:
        return min(containing)[1]
    overlap = {name: min(high, b[1]) - max(low, b[0]) for name, b in AGE_BANDS.items()}
    return max(overlap, key=overlap.get)


@dataclass(frozen=True)
class QuintilePopulation:
    """An area's population by national IMD quintile, by age band.

    Attributes
    ----------
    area_code : str
    districts : tuple of str
        The April-2023 districts summed (the area itself for a district or unitary authority).
    population : dict of str to ndarray, shape (5,)
        Persons in each quintile (1 = most deprived), by age band (keys of :data:`AGE_BANDS`).
    """

    area_code: str
    districts: tuple[str, ...]
    population: dict[str, np.ndarray]

    def shares(self, band: str = "total") -> np.ndarray:
        """Population shares of the five quintiles in ``band`` (sum 1). [fraction]"""
        counts = self.population[band]
        return counts / counts.sum()


def quintile_population(area: Area) -> QuintilePopulation | None:
    """The area's population by IMD quintile, or None when the table does not cover the area."""
    table = load_quintile_table()
    known = set(table["lad23_code"])
    if area.code in known:
        districts = (area.code,)
    else:
        population = load_population()
        lower = population.drop_duplicates("area_code")
        lower = lower[lower["area_code"].isin(known)]
        if area.tier == "country":
            mask = np.ones(len(lower), bool)
        elif area.tier == "region":
            mask = (lower["region_code"] == area.code).to_numpy()
        else:
            mask = (lower["utla_code"] == area.code).to_numpy()
        districts = tuple(sorted(lower.loc[mask, "area_code"]))
        if not districts:
            return None
    rows = table[table["lad23_code"].isin(districts)]
    summed = rows.groupby("imd_quintile")[[f"pop_{b}_mid2020" for b in AGE_BANDS]].sum()
    summed = summed.reindex(QUINTILES, fill_value=0)
    return QuintilePopulation(area.code, districts,
                              {b: summed[f"pop_{b}_mid2020"].to_numpy(float) for b in AGE_BANDS})


def gradient_by_quintile(risk_ratio: np.ndarray) -> np.ndarray:
    """Relative baseline risk of each quintile from the most-to-least-deprived risk ratio.

    Log-linear in the quintile's rank: quintile ``q`` has ``RR ** ((5 - q) / 4)`` times the risk of
    quintile 5 (so quintile 1 has ``RR`` times it). ``RR = 1`` is a flat gradient.

    Parameters
    ----------
    risk_ratio : ndarray, any shape
        Risk in the most deprived fifth divided by risk in the least deprived fifth.

    Returns
    -------
    ndarray, shape ``risk_ratio.shape + (5,)``: relative to quintile 5.
    """
    steps = (5 - np.array(QUINTILES, dtype=float)) / 4.0
    return np.asarray(risk_ratio, dtype=float)[..., None] ** steps


__all__ = ["QuintilePopulation", "quintile_population", "gradient_by_quintile", "age_band",
           "IMD_EDITION", "QUINTILES", "QUINTILE_LABELS", "AGE_BANDS"]
