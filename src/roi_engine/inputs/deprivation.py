"""An area's population by national deprivation quintile, and what a scenario says about deprivation.

The quintiles are national: quintile 1 holds the 20% most deprived LSOAs of England by the English
Indices of Deprivation 2019 (IoD2019, Index of Multiple Deprivation), quintile 5 the 20% least
deprived. An area's split is the ONS mid-2020 population of its LSOAs in each quintile, in the age
band nearest to a programme's ages (0-17, 16-64, 18+, 65+ or all ages). The table ships with the
library as ``parameters/local/imd2019_population_by_quintile.csv`` (read by
:mod:`roi_engine.inputs.local`): April-2023 district boundaries; a county, region or England is the sum
of the districts it contains.

IoD2025 (published 30 October 2025) is not used yet: its LSOA-level file is not in the shipped data,
only district summaries, so the quintile split of an area cannot be rebuilt from it. The edition used
is stated wherever the split is shown (:data:`IMD_EDITION`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roi_engine.errors import InputError
from roi_engine.inputs.local import IMD_EDITION, population_by_imd_quintile
from roi_engine.inputs.population import Area

QUINTILES = (1, 2, 3, 4, 5)
QUINTILE_LABELS = ("1 (most deprived)", "2", "3", "4", "5 (least deprived)")
AGE_BANDS = {"0_17": (0, 17), "16_64": (16, 64), "18plus": (18, 90), "65plus": (65, 90), "total": (0, 90)}


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
        The area as the local table names it (a county, region or England sums its districts).
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
    """The area's population by IMD quintile in every age band, or None when the table lacks the area.

    Read through :func:`roi_engine.inputs.local.population_by_imd_quintile` (the shipped local tables).
    """
    try:
        frames = {band: population_by_imd_quintile(area, band) for band in AGE_BANDS}
    except InputError:
        return None
    if frames["total"]["population"].sum() <= 0:
        return None
    return QuintilePopulation(area.code, (frames["total"].attrs.get("area", area.code),),
                              {b: f["population"].to_numpy(float) for b, f in frames.items()})


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
