"""The sectors that pay and gain, read from ``parameters/sectors.csv`` (a list kept as data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from roi_engine.errors import InputError, did_you_mean

COLUMNS = ("sector", "label", "public_body", "default_contributor", "description")
YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class Sector:
    """One payer or gainer (``nhs``, ``education``...)."""

    name: str
    label: str
    public_body: bool
    default_contributor: bool
    description: str


@dataclass(frozen=True)
class SectorTable:
    """The sectors in file order; their order is the ``sector`` axis of every flows array."""

    sectors: tuple[Sector, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sectors)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def __len__(self) -> int:
        return len(self.sectors)

    def require(self, name: str, *, file: str | Path | None = None, where: str | None = None) -> Sector:
        """The sector ``name``, or an InputError suggesting the closest sector."""
        for s in self.sectors:
            if s.name == name:
                return s
        raise InputError(f"'{name}' is not a sector", file=file, where=where,
                         hint=did_you_mean(name, self.names) or f"one of {list(self.names)}")

    @classmethod
    def from_csv(cls, path: str | Path) -> SectorTable:
        path = Path(path)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise InputError("sector table not found", file=path) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"not a readable CSV table ({exc})", file=path) from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"missing column(s) {missing}", file=path, where="header (row 1)")
        sectors = []
        for index, raw in frame.iterrows():
            row = int(index) + 2
            name = raw["sector"].strip()
            if not name:
                continue
            flags = {}
            for column in ("public_body", "default_contributor"):
                text = raw[column].strip().lower()
                if text not in YES_NO:
                    raise InputError(f"'{raw[column]}' is not yes or no", file=path,
                                     where=f"row {row}, column '{column}'")
                flags[column] = YES_NO[text]
            if name in {s.name for s in sectors}:
                raise InputError(f"duplicate sector '{name}'", file=path,
                                 where=f"row {row}, column 'sector'")
            sectors.append(Sector(name, raw["label"].strip() or name, flags["public_body"],
                                  flags["default_contributor"], raw["description"].strip()))
        if not sectors:
            raise InputError("no sectors listed", file=path)
        return cls(tuple(sectors))
