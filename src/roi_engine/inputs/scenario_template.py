"""A new scenario for an area, as commented TOML text (``roi-engine init``).

The scenario is named after the area, holds the default portfolio (the programmes of the shipped
``scenarios/default.toml``, with their reach and years of delivery) or the programmes chosen, and
explains every setting in a comment, so a commissioner can edit it without the format reference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.interventions import InterventionLibrary
from roi_engine.inputs.library import Library, shipped_library
from roi_engine.inputs.money import _shipped_schemes
from roi_engine.inputs.parameters import SECTORS_FILE, ParameterRegistry
from roi_engine.inputs.population import Area
from roi_engine.inputs.sectors import SectorTable
from roi_engine.inputs.sharing_rule import RULES
from roi_engine.inputs.specs import read_toml

DEFAULT_SCENARIO = "default.toml"
COMMENT_COLUMN = 36


def _line(setting: str, comment: str) -> str:
    """``setting`` padded so that comments line up, then ``# comment``."""
    return f"{setting:<{COMMENT_COLUMN - 1}} # {comment}" if comment else setting


def _toml(value) -> str:
    """A TOML literal for a string, number or list of numbers (JSON's syntax is TOML's for these)."""
    return json.dumps(value, ensure_ascii=False)


def scenario_text(area: Area, library: Library, programmes: Sequence[str] | None = None) -> str:
    """The commented TOML of a new scenario for ``area``.

    Parameters
    ----------
    area : Area
        The area modelled; the scenario is named after it.
    library : Library
        Where the programmes (and the default portfolio) are read from.
    programmes : sequence of str, optional
        Intervention ids; default: the portfolio of the library's ``scenarios/default.toml`` (or the
        shipped one when the library has none).

    Raises
    ------
    InputError
        If a programme is not in the library (with the closest id as a hint).
    """
    registry = ParameterRegistry.from_dir(library.parameters)
    catalogue = InterventionLibrary.from_dir(library.interventions, registry,
                                             SectorTable.from_csv(library.parameters / SECTORS_FILE))
    default_file = library.scenarios / DEFAULT_SCENARIO
    if not default_file.is_file():
        default_file = shipped_library().scenarios / DEFAULT_SCENARIO
    default = read_toml(default_file)
    portfolio = {item["id"]: item for item in default.get("interventions", [])}
    chosen = list(programmes) if programmes else list(portfolio)
    for pid in chosen:
        if pid not in catalogue:
            raise InputError(f"'{pid}' is not a programme in the library", file=library.interventions,
                             where="--programmes",
                             hint=did_you_mean(pid, catalogue)
                             or "run `roi-engine interventions` to list them")
    if len(set(chosen)) != len(chosen):
        raise InputError("a programme is listed twice", where="--programmes")

    schemes = ", ".join(_shipped_schemes())
    rules = " | ".join(RULES)
    out = [
        f"# A prevention portfolio for {area.name}, written by `roi-engine init`.",
        "# Every setting is explained beside it; a line starting with # is not read",
        "# (remove the # to use it).",
        "# Run it:   roi-engine run THIS_FILE.toml          Format: docs/file_formats.md",
        "",
        _line(f"name = {_toml(f'{area.name} prevention portfolio')}",
              "titles the report and workbook: keep the area's name in it"),
        _line(f"description = {_toml(f'Mental-health prevention programmes for {area.name}.')}",
              "a sentence or two for the report"),
        _line(f"area = {_toml(area.code)}",
              f"{area.name} ({area.kind}); `roi-engine areas NAME` finds codes"),
        _line(f"horizon = {int(default.get('horizon', 10))}",
              "years followed; year 0 = the first year of delivery"),
        _line(f"price_year = {_toml(str(default.get('price_year', '2023/24')))}",
              "prices of every £ in the results (HM Treasury GDP deflator)"),
        _line(f"perspective = {_toml(default.get('perspective', 'societal'))}",
              "public_sector (cash to public budgets) | economic (+ earnings) | societal (+ health)"),
        _line(f"discounting = {_toml(default.get('discounting', 'green_book'))}",
              f"discount-rate scheme, one of: {schemes}"),
        _line(f"qaly_value = {_toml(str(default.get('qaly_value') or 'green_book'))}",
              "value of a QALY: green_book (£70,000, 2020/21) | nice_20k | nice_30k | dhsc_15k"),
        _line(f"optimism_bias = {'true' if default.get('optimism_bias') else 'false'}",
              "true: costs up, effects down by evidence grade (Green Book optimism bias)"),
        _line(f"draws = {int(default.get('draws', 10000))}",
              "Monte Carlo draws: more gives steadier intervals, takes longer"),
        _line(f"seed = {int(default.get('seed', 20261123))}",
              "random seed: the same seed gives the same numbers"),
        _line(f"sampling = {_toml(default.get('sampling', 'lhs'))}",
              "lhs (Latin hypercube) | mc (plain Monte Carlo)"),
        _line("# chunk_size = 10000", "draws computed at once; lower it if memory is short"),
        _line('# interventions_dir = "../interventions"',
              "your own programmes (default: ../interventions if it exists, else the shipped ones)"),
        _line('# parameters_dir = "../parameters"', "your own parameter tables (same default)"),
    ]
    for pid in chosen:
        spec = catalogue[pid]
        item = portfolio.get(pid, {})
        low, high = spec.population.ages
        ages = f"age {low}" if low == high else f"ages {low}-{high}"
        out += [
            "",
            "[[interventions]]",
            _line(f"id = {_toml(pid)}", f"{spec.name}; {ages}"),
            _line(f"reach = {_toml(item['reach'])}" if "reach" in item
                  else f"# reach = {_toml(_default_share(spec.population.reach, registry))}",
                  "share of the eligible population offered it, 0-1"
                  + ("" if "reach" in item else " (default: the programme's)")),
            _line(f"uptake = {_toml(item['uptake'])}" if "uptake" in item
                  else f"# uptake = {_toml(_default_share(spec.population.uptake, registry))}",
                  "share of those offered who take part, 0-1"
                  + ("" if "uptake" in item else " (default: the programme's)")),
            _line(f"delivery_years = {_toml(list(item['delivery_years']))}" if "delivery_years" in item
                  else f"# delivery_years = {_toml(list(spec.delivery.years))}",
                  "years in which a new cohort starts"
                  + ("" if "delivery_years" in item else " (default: the programme's)")),
        ]
    sharing = default.get("sharing", {})
    out += [
        "",
        "[sharing]",
        _line(f"rule = {_toml(sharing.get('rule', 'as_modelled'))}", rules),
        _line('# contributors = ["nhs", "local_authority"]',
              "who shares the cost (default: public bodies and employers; individuals never pay)"),
        _line("# shares = { nhs = 0.6, local_authority = 0.4 }",
              'with rule = "agreed": each partner\'s share'),
        "",
        "# Rank correlations between uncertain parameters (names as in parameters/*.csv), e.g.",
        "# [[correlations]]",
        '# between = ["first_parameter", "second_parameter"]',
        "# spearman = 0.5",
        "",
    ]
    return "\n".join(out)


def _default_share(ref, registry: ParameterRegistry) -> float:
    """A programme's own reach or uptake as a number (a parameter name is looked up)."""
    if isinstance(ref, str):
        return float(registry[ref].value)
    return float(ref)


def write_scenario(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` (refusing to replace a file unless ``overwrite``)."""
    from roi_engine.atomic import atomic_write_text

    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise InputError("a scenario file ends in .toml", file=path, hint="e.g. --out manchester.toml")
    if path.exists() and not overwrite:
        raise InputError("the file exists", file=path, hint="choose another --out, or add --force")
    return atomic_write_text(path, text)
