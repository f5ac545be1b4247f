"""Sensitivity results as sections of the results workbook and the HTML report.

`roi-engine sensitivity` writes ``sensitivity_<method>.csv`` (and, for a tornado, ``charts/tornado.png``)
into a results folder. :func:`collect_sections` reads whichever of those are there, so that the workbook
and the report of that folder can show them; both are rebuilt whenever `run` or `sensitivity` writes to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

METHOD_TITLES = {
    "tornado": ("One-way sensitivity (tornado)",
                "Each parameter at its 5th and 95th percentile, the others at base; ranked by swing."),
    "switching": ("Switching values",
                  "The value of each parameter at which benefit per £1 equals 1 (or NPV equals 0), the "
                  "others at base, searched over its 0.5th-99.5th percentile."),
    "sobol": ("Global sensitivity: Sobol indices",
              "Share of the output's variance due to each parameter alone (S1) and with its interactions "
              "(ST), with 95% intervals."),
    "morris": ("Screening: Morris elementary effects",
               "mu* ranks parameters by their effect across their distributions; sigma flags "
               "interactions or non-linearity."),
    "delta": ("Global sensitivity: Borgonovo delta",
              "Moment-independent importance from the run's own draws (valid with correlated inputs)."),
    "evppi": ("Value of information (EVPI, EVPPI)",
              "What removing uncertainty before deciding would be worth, in £ for this area and horizon."),
}
MAX_ROWS = 15


@dataclass(frozen=True)
class SensitivitySection:
    """One method's results: a title, a note, its table and, for a tornado, its chart (PNG bytes)."""

    method: str
    title: str
    note: str
    table: pd.DataFrame
    png: bytes | None = None

    @property
    def shown(self) -> pd.DataFrame:
        """The rows to show on a page: the first :data:`MAX_ROWS` (tables are ranked)."""
        return self.table.head(MAX_ROWS)


def collect_sections(out_dir: str | Path) -> list[SensitivitySection]:
    """The sensitivity results present in ``out_dir``, in :data:`METHOD_TITLES` order."""
    out_dir = Path(out_dir)
    sections = []
    for method, (title, note) in METHOD_TITLES.items():
        path = out_dir / f"sensitivity_{method}.csv"
        if not path.exists():
            continue
        table = pd.read_csv(path)
        chart = out_dir / "charts" / "tornado.png"
        png = chart.read_bytes() if method == "tornado" and chart.exists() else None
        sections.append(SensitivitySection(method, title, note, table, png))
    return sections
