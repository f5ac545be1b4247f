"""Our results against the headline returns of the 2011 Department of Health economic case.

Knapp M, McDaid D, Parsonage M (eds.) 2011, *Mental health promotion and mental illness prevention: the
economic case*, Department of Health / PSSRU, LSE. Its per-£1 figures were recovered from press copies
(King's College London, the Mental Health Foundation), not from the report's own tables; the shipped table
``data/published_roi_2011.csv`` copies each figure with its source, its price year and what it is known to
count. The 2011 money is in 2009/10 prices; a ratio of money to money does not depend on the price year,
but the inputs were deflated by the HM Treasury GDP deflator and ours are in 2023/24 prices.

Each programme is run alone for England over the published horizon (inferred from the report's national
projections where the figure gives none), in 2023/24 prices with Green Book discounting, and its base-case
benefit per £1 is shown on two bases:

- **default**: our societal perspective (QALYs at the Green Book £70,000, 2020/21 prices);
- **2011 basis** (a reconstruction, not a finding): the societal perspective with QALYs *not* monetised,
  every other value kept (crime victims' harm, the human cost of a suicide). The GMCA Unit Cost Database
  records that the 2011 school SEL and parenting models counted public-sector savings plus victims' and
  other crime costs and the voluntary sector, and no QALYs (its comments on lines E&S4.1 and SS15.3); the
  early-intervention models it drew on (McCrone, Park and Knapp 2010) counted costs only. That the alcohol
  and workplace chapters did the same is an assumption: their figures are "savings".

QALYs are removed by setting ``value_of_qaly`` to 0 in the registry the run reads; nothing else changes.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import pandas as pd

from roi_engine.inputs.distributions import build
from roi_engine.inputs.scenario import load_scenario_data
from roi_engine.inputs.valuation import QALY_PARAMETER
from roi_engine.results import run
from roi_engine.results.cube import PORTFOLIO

TOLERANCE = 0.20
"""A programme 'reproduces' a published figure when its base case is within ±20% of it."""
BASIS_2011 = "societal perspective, QALYs not monetised (the 2011 models' convention as far as known)"


def published_figures_2011() -> pd.DataFrame:
    """The 2011 headline returns, one row per programme (``data/published_roi_2011.csv``)."""
    with (files("roi_engine") / "data" / "published_roi_2011.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle)


def benefit_per_pound_2011(root: Path, intervention: str, horizon: int, *, basis_2011: bool,
                           draws: int = 2000, seed: int = 20261123, area: str = "E92000001"):
    """Results of one programme alone over ``horizon`` years (societal), with or without QALYs valued."""
    root = Path(root)
    data = {
        "name": f"validation 2011: {intervention}, {horizon} years",
        "area": area, "horizon": horizon, "price_year": "2023/24", "perspective": "societal",
        "discounting": "green_book", "draws": draws, "seed": seed,
        "interventions_dir": str((root / "interventions").resolve()),
        "parameters_dir": str((root / "parameters").resolve()),
        "interventions": [{"id": intervention}],
    }
    scenario = load_scenario_data(data, path=root / "scenarios" / "validation_2011.toml")
    if basis_2011:
        registry = scenario.registry
        base = registry.require(QALY_PARAMETER)
        unvalued = replace(base, value=0.0, distribution=build("fixed", ()),
                           source="2011 basis: QALYs not monetised",
                           notes="validation on the 2011 counting basis: value of a QALY set to 0")
        scenario = scenario.with_registry(registry.replace({QALY_PARAMETER: unvalued}))
    return run(scenario)


def validation_table_2011(root: Path, *, draws: int = 2000) -> pd.DataFrame:
    """Base-case benefit per £1 on the default and the 2011 basis against each 2011 figure.

    Columns: ``intervention, horizon_years, published, price_year, published_basis, societal_base,
    societal_p05, societal_p95, basis_2011_base, gap_societal_pct, gap_basis_2011_pct, within_20pct_2011,
    source``. A programme missing from ``root/interventions`` (a user's own library) is left out.
    """
    rows = []
    for fig in published_figures_2011().itertuples():
        if not (Path(root) / "interventions" / f"{fig.intervention}.toml").is_file():
            continue
        horizon = int(fig.horizon_years)
        row = {"intervention": fig.intervention, "horizon_years": horizon,
               "published": float(fig.benefit_per_pound), "price_year": fig.price_year,
               "published_basis": fig.published_basis, "source": fig.source_url}
        head = benefit_per_pound_2011(root, fig.intervention, horizon, basis_2011=False,
                                      draws=draws).headline().loc[PORTFOLIO]
        row["societal_base"] = float(head["benefit_per_pound_base"])
        row["societal_p05"] = float(head["benefit_per_pound_p05"])
        row["societal_p95"] = float(head["benefit_per_pound_p95"])
        head = benefit_per_pound_2011(root, fig.intervention, horizon, basis_2011=True,
                                      draws=draws).headline().loc[PORTFOLIO]
        row["basis_2011_base"] = float(head["benefit_per_pound_base"])
        for basis in ("societal", "basis_2011"):
            row[f"gap_{basis}_pct"] = 100 * (row[f"{basis}_base"] / row["published"] - 1)
        row["within_20pct_2011"] = abs(row["gap_basis_2011_pct"]) <= 100 * TOLERANCE
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_2011(table: pd.DataFrame) -> str:
    """The 2011 validation table as Markdown (``roi-engine validation`` prints it after the 2017 one)."""
    lines = ["2011 Department of Health economic case (Knapp, McDaid, Parsonage 2011); published figures "
             "in 2009/10 prices; ours England, 2023/24 prices, Green Book discounting, base case.",
             "",
             "| programme | horizon | published £ per £1 (price year) | ours, default (societal, QALY £70k; "
             "90% interval) | gap | ours, 2011 basis (no QALYs; reconstruction) | gap |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in table.itertuples():
        lines.append(
            f"| {r.intervention} | {r.horizon_years} y | {r.published:.2f} ({r.price_year}) | "
            f"{r.societal_base:.2f} ({r.societal_p05:.2f} to {r.societal_p95:.2f}) | "
            f"{r.gap_societal_pct:+.0f}% | {r.basis_2011_base:.2f} | {r.gap_basis_2011_pct:+.0f}% |")
    return "\n".join(lines)
