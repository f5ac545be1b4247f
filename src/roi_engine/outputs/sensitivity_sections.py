"""Sensitivity results as sections of the results workbook and the HTML report.

`roi-engine sensitivity` writes ``sensitivity_<method>.csv`` (and, for a tornado, ``charts/tornado.png``)
into a results folder. :func:`collect_sections` reads whichever of those are there, so that the workbook
and the report of that folder can show them; both are rebuilt whenever `run` or `sensitivity` writes to it.
"""

from __future__ import annotations

import math
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

BOARD_COLUMNS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "tornado": (("Value at its 5th percentile", "low_value", None),
                ("Value at its 95th percentile", "high_value", None),
                ("Output at the 5th", "output_low", None), ("Output at the 95th", "output_high", None),
                ("Swing", "swing", None)),
    "switching": (("Base value", "base_value", None), ("Switching value", "switching_value", None),
                  ("Plausible range from", "range_low", None), ("Plausible range to", "range_high", None),
                  ("Finding", "status", None)),
    "sobol": (("Share of variance alone (S1)", "S1", "S1_conf"),
              ("Share with interactions (ST)", "ST", "ST_conf")),
    "morris": (("Mean absolute effect (mu*)", "mu_star", "mu_star_conf"),
               ("Spread of effects (sigma)", "sigma", None)),
    "delta": (("Importance (delta)", "delta", "delta_conf"),
              ("Share of variance alone (S1)", "S1", "S1_conf")),
    "evppi": (("Value of the information", "value", None), ("Mean NPV", "mean_npv", None),
              ("P(NPV > 0)", "p_npv_gt_0", None)),
}
"""Board-facing columns of each method's table: (heading, column, column of its 95% interval's
half-width or None). The parameter is named by its label, never by its code; the output, constant down
a table, goes into the note."""


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

    @property
    def output(self) -> str:
        """The output the method explains (e.g. 'benefit per £1 (portfolio)'), or ''."""
        if "output" in self.table and len(self.table):
            return str(self.table["output"].iloc[0])
        return ""

    @property
    def caption(self) -> str:
        """What the table holds (not a repeat of :attr:`title`)."""
        what = "decisions and information groups" if self.method == "evppi" else "uncertain parameters"
        n, shown = len(self.table), len(self.shown)
        head = f"The {shown} largest of {n} {what}" if shown < n else f"All {n} {what}"
        return head + (f"; output: {self.output}" if self.output else "")

    def board_table(self, *, text: bool, rows: int | None = MAX_ROWS) -> pd.DataFrame:
        """The table as a board member reads it: parameters by label, readable headings, no raw
        ``*_conf`` columns (an interval's half-width is written ``0.12 ± 0.03`` when ``text``, or in its
        own column headed '... : ± (95% interval)' when not). ``rows``: the first rows only (ranked)."""
        table = self.table if rows is None else self.table.head(rows)
        out = pd.DataFrame(index=table.index)
        if self.method == "evppi":
            out["Decision"] = table["decision"]
            out["Information about"] = _labels(table, "group")
        else:
            out["Parameter"] = _labels(table, "parameter")
        for heading, column, conf in BOARD_COLUMNS.get(self.method, ()):
            if column not in table:
                continue
            if text:
                values = [_number(v) for v in table[column]]
                if conf is not None and conf in table:
                    values = [f"{v} ± {_number(c)}" if v else v for v, c in zip(values, table[conf],
                                                                                  strict=True)]
                out[heading] = values
            else:
                out[heading] = table[column]
                if conf is not None and conf in table:
                    out[f"{heading}: ± (95% interval)"] = table[conf]
        return out.reset_index(drop=True)


def _labels(table: pd.DataFrame, column: str) -> pd.Series:
    """The ``label`` column where a row has one, else the code in ``column`` (tables written before
    parameters had labels have none)."""
    codes = table[column].astype(str)
    if "label" not in table:
        return codes
    labels = table["label"]
    return labels.where(labels.notna() & (labels.astype(str).str.strip() != ""), codes).astype(str)


def _number(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


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
