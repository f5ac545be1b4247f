"""The parameters a run drew on, as a table that travels with its results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from roi_engine.inputs.distributions import DISTRIBUTIONS

COLUMNS = ("name", "label", "value", "distribution", "unit", "price_year", "source", "notes", "file",
           "assumption", "basis")
"""``basis``: ``local (level: area code)``, ``national`` or ``assumption``."""


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
                     "assumption": "yes" if getattr(p, "is_assumption", False) else "no",
                     "basis": basis_of(p)})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def basis_of(parameter) -> str:
    """``local (level: area)``, ``national`` or ``assumption`` for a parameter (registry row)."""
    label = getattr(parameter, "basis_label", None)
    if label:
        return label
    return "assumption" if getattr(parameter, "is_assumption", False) else "national"


def basis_line(table: pd.DataFrame | None) -> str | None:
    """One line: how many inputs are local (which, at what level), national, or assumptions."""
    if table is None or not len(table):
        return None
    if "basis" in table.columns:
        basis = table["basis"].astype(str)
    else:  # a run saved before the column existed
        basis = table["assumption"].map({"yes": "assumption"}).fillna("national")
    local = table[basis.str.startswith("local")]
    n_assumed = int((basis == "assumption").sum())
    n_national = len(table) - len(local) - n_assumed
    if len(local):
        which = "; ".join(f"{r.name} [{b.removeprefix('local (').removesuffix(')')}]"
                          for r, b in zip(local.itertuples(), basis[local.index], strict=True))
        head = f"{len(local)} local ({which})"
    else:
        head = "none local"
    return (f"Inputs: {head}; {n_national} national; {n_assumed} assumptions "
            "(column 'basis' of the parameters used).")
