"""Local-authority codes retired by the boundary changes of 2019-2023, and their successors.

The population table and every local table shipped with roi-engine use April 2023 local-authority
districts (296 in England). A code of a district or county abolished since then is not silently mapped
to its successor (the successor is a bigger area, with another population): it gets one line naming
the successor and the date, so the user can choose it. The table is the merger table of
``../shared/reference/local_indicators/README.md`` (all whole-district mergers; no district was split),
plus the 2019 changes (Dorset, Bournemouth-Christchurch-Poole, East and West Suffolk, Somerset West and
Taunton), whose predecessor codes ended on 1 April 2019.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RETIRED", "Retired", "retired_code"]


@dataclass(frozen=True)
class Retired:
    """A retired GSS code: its old name, when it ended, and the code(s) that replaced it."""

    code: str
    name: str
    ended: str
    successors: tuple[tuple[str, str], ...]

    def message(self) -> str:
        """One line for the user: what the code was, and what to use instead."""
        names = " and ".join(f"{name} ({code})" for code, name in self.successors)
        if len(self.successors) == 1:
            use = f'use area = "{self.successors[0][0]}"'
        else:
            use = "use one of " + ", ".join(f'"{code}"' for code, _ in self.successors)
        return (f"'{self.code}' ({self.name}) is a local-authority code retired on {self.ended}: it became "
                f"part of {names}; {use}")


_MERGERS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    # successor code, successor name, date, (old code, old name) ...
    ("E06000060", "Buckinghamshire", "1 April 2020", (
        ("E07000004", "Aylesbury Vale"), ("E07000005", "Chiltern"), ("E07000006", "South Bucks"),
        ("E07000007", "Wycombe"), ("E10000002", "Buckinghamshire County"))),
    ("E06000061", "North Northamptonshire", "1 April 2021", (
        ("E07000150", "Corby"), ("E07000152", "East Northamptonshire"), ("E07000153", "Kettering"),
        ("E07000156", "Wellingborough"))),
    ("E06000062", "West Northamptonshire", "1 April 2021", (
        ("E07000151", "Daventry"), ("E07000154", "Northampton"), ("E07000155", "South Northamptonshire"))),
    ("E06000063", "Cumberland", "1 April 2023", (
        ("E07000026", "Allerdale"), ("E07000028", "Carlisle"), ("E07000029", "Copeland"))),
    ("E06000064", "Westmorland and Furness", "1 April 2023", (
        ("E07000027", "Barrow-in-Furness"), ("E07000030", "Eden"), ("E07000031", "South Lakeland"))),
    ("E06000065", "North Yorkshire", "1 April 2023", (
        ("E07000163", "Craven"), ("E07000164", "Hambleton"), ("E07000165", "Harrogate"),
        ("E07000166", "Richmondshire"), ("E07000167", "Ryedale"), ("E07000168", "Scarborough"),
        ("E07000169", "Selby"), ("E10000023", "North Yorkshire County"))),
    ("E06000066", "Somerset", "1 April 2023", (
        ("E07000187", "Mendip"), ("E07000188", "Sedgemoor"), ("E07000189", "South Somerset"),
        ("E07000246", "Somerset West and Taunton"), ("E10000027", "Somerset County"))),
    ("E06000059", "Dorset", "1 April 2019", (
        ("E07000049", "East Dorset"), ("E07000050", "North Dorset"), ("E07000051", "Purbeck"),
        ("E07000052", "West Dorset"), ("E07000053", "Weymouth and Portland"))),
    ("E06000058", "Bournemouth, Christchurch and Poole", "1 April 2019", (
        ("E06000028", "Bournemouth"), ("E06000029", "Poole"), ("E07000048", "Christchurch"))),
    ("E07000244", "East Suffolk", "1 April 2019", (
        ("E07000205", "Suffolk Coastal"), ("E07000206", "Waveney"))),
    ("E07000245", "West Suffolk", "1 April 2019", (
        ("E07000201", "Forest Heath"), ("E07000204", "St Edmundsbury"))),
    ("E07000246", "Somerset West and Taunton", "1 April 2019", (
        ("E07000190", "Taunton Deane"), ("E07000191", "West Somerset"))),
)


def _build() -> dict[str, Retired]:
    out: dict[str, Retired] = {}
    for new, new_name, date, olds in _MERGERS:
        for old, old_name in olds:
            out[old] = Retired(old, old_name, date, ((new, new_name),))
    # Counties split between two or more unitaries, or absorbed after their districts.
    out["E10000006"] = Retired("E10000006", "Cumbria County", "1 April 2023",
                               (("E06000063", "Cumberland"), ("E06000064", "Westmorland and Furness")))
    out["E10000021"] = Retired("E10000021", "Northamptonshire County", "1 April 2021",
                               (("E06000061", "North Northamptonshire"),
                                ("E06000062", "West Northamptonshire")))
    # Somerset West and Taunton itself was retired in 2023: follow the chain to the current code.
    for code, item in list(out.items()):
        successor = item.successors[0][0]
        if len(item.successors) == 1 and successor in out:
            out[code] = Retired(code, item.name, f"{item.ended} (then {out[successor].ended})",
                                out[successor].successors)
    return out


RETIRED: dict[str, Retired] = _build()
"""Retired code -> :class:`Retired`, for every district or county code retired in 2019, 2020, 2021, 2023."""


def retired_code(code: str) -> Retired | None:
    """The :class:`Retired` record of a GSS code abolished by a boundary change, or None."""
    return RETIRED.get(code.strip().upper()) if isinstance(code, str) else None
