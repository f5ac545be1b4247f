"""Our results against published headline returns (the 2017 LSE/PHE tool and LSE ESSENCE).

For each programme with a published "£X returned per £1 over N years", the programme is run for
England over the published horizon with its own default delivery years, in 2023/24 prices with Green
Book discounting, and its benefit per £1 is reported under each perspective beside the published
figure. The published figures are "savings to society"; their counting basis is not stated in any
source we could read, so four bases are shown: societal (QALYs at the Green Book £70,000), economic
(no QALYs), public sector, and the **2017 basis**: the independent evidence review's reconstruction
(a hypothesis, not a finding) that the 2017 figures are cash-releasing savings plus QALYs at about
£20,000 (KiVa's published saving of £1,037 per £4,658 is £0.22 cash per £1; collaborative care gives
1.52 at £20,000 per QALY). It is computed as the societal perspective with the value of a QALY set to
£20,000 in 2015/16 prices (the price year this project assumes for the 2017 tool, see
``shared/reference/kiva_cost.csv``), so other social values (suicide's intangible cost, WELLBYs) are
still counted at their own values. Horizons are the published ones; delivery years are each
programme's own (the 2017 cohort structure is not recoverable beyond the horizon).

The shipped table ``data/published_roi.csv`` copies the figures with their sources.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from roi_engine.inputs.scenario import load_scenario_data
from roi_engine.results import run
from roi_engine.results.cube import PORTFOLIO

PERSPECTIVE_ORDER = ("societal", "economic", "public_sector")
BASIS_2017_QALY = {"value": 20_000, "price_year": "2015/16"}
"""The 2017 basis (hypothesis): cash-releasing savings plus QALYs at £20,000 (2015/16 prices)."""
TOLERANCE = 0.20
"""A programme 'reproduces' a published figure when its societal base case is within ±20% of it."""


def published_figures() -> pd.DataFrame:
    """The published headline returns, one row per programme (``data/published_roi.csv``)."""
    with (files("roi_engine") / "data" / "published_roi.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle)


def benefit_per_pound(root: Path, intervention: str, horizon: int, perspective: str, *,
                      draws: int = 2000, seed: int = 20261123, area: str = "E92000001",
                      qaly_value=None):
    """Results of one programme alone over ``horizon`` years, for England by default."""
    root = Path(root)
    data = {
        "name": f"validation: {intervention}, {horizon} years, {perspective}",
        "area": area, "horizon": horizon, "price_year": "2023/24", "perspective": perspective,
        "discounting": "green_book", "draws": draws, "seed": seed,
        "interventions_dir": str((root / "interventions").resolve()),
        "parameters_dir": str((root / "parameters").resolve()),
        "interventions": [{"id": intervention}],
    }
    if qaly_value is not None:
        data["qaly_value"] = qaly_value
    return run(load_scenario_data(data, path=root / "scenarios" / "validation.toml"))


def validation_table(root: Path, *, draws: int = 2000) -> pd.DataFrame:
    """Base-case and probabilistic benefit per £1 against each published figure.

    Columns: ``intervention, horizon_years, published, societal_base, societal_p05, societal_p95,
    economic_base, public_sector_base, basis_2017_base, gap_societal_pct, gap_economic_pct,
    gap_basis_2017_pct, within_20pct, within_20pct_2017, source``.
    """
    rows = []
    for fig in published_figures().itertuples():
        row = {"intervention": fig.intervention, "horizon_years": int(fig.horizon_years),
               "published": float(fig.benefit_per_pound), "publication": fig.publication}
        for perspective in PERSPECTIVE_ORDER:
            head = benefit_per_pound(root, fig.intervention, int(fig.horizon_years), perspective,
                                     draws=draws).headline().loc[PORTFOLIO]
            row[f"{perspective}_base"] = float(head["benefit_per_pound_base"])
            if perspective == "societal":
                row["societal_p05"] = float(head["benefit_per_pound_p05"])
                row["societal_p95"] = float(head["benefit_per_pound_p95"])
        head = benefit_per_pound(root, fig.intervention, int(fig.horizon_years), "societal",
                                 draws=draws, qaly_value=BASIS_2017_QALY).headline().loc[PORTFOLIO]
        row["basis_2017_base"] = float(head["benefit_per_pound_base"])
        for basis in ("societal", "economic", "basis_2017"):
            row[f"gap_{basis}_pct"] = 100 * (row[f"{basis}_base"] / row["published"] - 1)
        row["within_20pct"] = abs(row["gap_societal_pct"]) <= 100 * TOLERANCE
        row["within_20pct_2017"] = abs(row["gap_basis_2017_pct"]) <= 100 * TOLERANCE
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The validation table as Markdown, for docs/validation.md."""
    lines = ["| programme | horizon | published £ per £1 | ours, societal (base; 90% interval) | "
             "gap | ours, economic (no QALYs) | gap | ours, public sector | "
             "ours, 2017 basis (cash + QALY at £20k, 2015/16; hypothesis) | gap |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in table.itertuples():
        lines.append(
            f"| {r.intervention} | {r.horizon_years} y | {r.published:.2f} | {r.societal_base:.2f} "
            f"({r.societal_p05:.2f} to {r.societal_p95:.2f}) | {r.gap_societal_pct:+.0f}% | "
            f"{r.economic_base:.2f} | {r.gap_economic_pct:+.0f}% | {_ratio(r.public_sector_base)} | "
            f"{r.basis_2017_base:.2f} | {r.gap_basis_2017_pct:+.0f}% |")
    return "\n".join(lines)


def _ratio(x: float) -> str:
    return "n/a (no public-sector cost)" if x != x else f"{x:.2f}"
