"""The parameters a run drew on, as a table that travels with its results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from roi_engine.inputs.distributions import DISTRIBUTIONS

COLUMNS = ("name", "label", "value", "distribution", "unit", "price_year", "source", "notes", "file",
           "assumption")


def distribution_text(parameter) -> str:
    """``gamma (shape 100, scale 1)``; ``fixed`` for a fixed value."""
    d = parameter.distribution
    names = DISTRIBUTIONS.get(d.name, ())
    if not names:
        return d.name
    return f"{d.name} (" + ", ".join(f"{n} {v:g}" for n, v in zip(names, d.params, strict=False)) + ")"


def parameters_table(model) -> pd.DataFrame:
    """One row per parameter a model draws on (first-use order), with its source.

    Money values are in their own price year (column ``price_year``); the model converts them.
    """

    rows = []
    for p in model.parameters:
        rows.append({"name": p.name, "label": getattr(p, "label", "") or p.name, "value": p.value,
                     "distribution": distribution_text(p),
                     "unit": p.unit, "price_year": str(p.price_year) if p.price_year else "",
                     "source": p.source, "notes": p.notes or "",
                     "file": Path(p.file).name if p.file else "",
                     "assumption": "yes" if getattr(p, "is_assumption", False) else "no"})
    return pd.DataFrame(rows, columns=list(COLUMNS))
