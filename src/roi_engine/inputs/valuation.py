"""The value of a QALY as a stated choice of the scenario (``qaly_value`` in the scenario TOML).

Every QALY in the library is valued through one parameter, ``value_of_qaly``. A scenario may leave it
as the parameter table has it (HM Treasury Green Book, £70,000 in 2020/21 prices) or choose:

======================  ===========  ==========================================================
setting                 £ per QALY   price year and basis
======================  ===========  ==========================================================
``"green_book"``        70,000       2020/21: HM Treasury Green Book (2022) social value of a QALY
``"nice_20k"``          20,000       the scenario's price year: NICE lower threshold
``"nice_30k"``          30,000       the scenario's price year: NICE upper threshold
``"dhsc_15k"``          15,000       the scenario's price year: DHSC impact-assessment estimate of
                                     the NHS opportunity cost of a QALY
``{ value = V,          V            the year given
price_year = "Y" }``
``"V (Y)"``             V            the year given (the same as text, as in the workbook)
======================  ===========  ==========================================================

The NICE and DHSC figures are thresholds that are applied to costs in current prices and are not
indexed (NICE PMG36, 2022, section 6.2; DHSC, the 'Green Book supplementary guidance for health
impact assessment'), so they are taken to be in the scenario's own price year. The Green Book value
is a social willingness-to-pay value with a stated price base and is re-based with the GDP deflator
like any other money. A chosen value is fixed (a normative choice, not an uncertain quantity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from roi_engine.errors import InputError
from roi_engine.inputs.distributions import build
from roi_engine.inputs.money import PriceYear, parse_price_year
from roi_engine.inputs.parameters import Parameter, ParameterRegistry

QALY_PARAMETER = "value_of_qaly"


@dataclass(frozen=True)
class QalyValuePreset:
    """A named value of a QALY. ``price_year=None`` means "in the scenario's price year"."""

    value: float
    price_year: str | None
    source: str


QALY_VALUE_PRESETS: dict[str, QalyValuePreset] = {
    "green_book": QalyValuePreset(
        70_000, "2020/21",
        "HM Treasury, The Green Book (2022): GBP 70,000 per QALY, 2020-21 prices (government answer HL5283, "
        "https://parallelparliament.co.uk/question/HL5283/cost-benefit-analysis)"),
    "nice_20k": QalyValuePreset(
        20_000, None,
        "NICE health technology evaluations: the manual (PMG36, 2022), section 6.2: GBP 20,000 per QALY, "
        "lower threshold (https://www.nice.org.uk/process/pmg36)"),
    "nice_30k": QalyValuePreset(
        30_000, None,
        "NICE health technology evaluations: the manual (PMG36, 2022), section 6.2: GBP 30,000 per QALY, "
        "upper threshold (https://www.nice.org.uk/process/pmg36)"),
    "dhsc_15k": QalyValuePreset(
        15_000, None,
        "DHSC impact assessments: GBP 15,000 per QALY as the NHS opportunity cost (after Claxton et al. "
        "2015, Health Technol Assess 19(14), https://doi.org/10.3310/hta19140); tabulated with the other UK "
        "values in PMC10722785 Table 2 (https://pmc.ncbi.nlm.nih.gov/articles/PMC10722785/table/Tab2)"),
}

_NUMBER_WITH_YEAR = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*\(\s*([^()]+?)\s*\)\s*$")
_HINT = ('write qaly_value = "green_book" (default), "nice_20k", "nice_30k", "dhsc_15k", '
         '{ value = 25000, price_year = "2023/24" } or "25000 (2023/24)"')


def qaly_value_parameter(setting, base: Parameter, scenario_price_year: PriceYear, *,
                         file: str | Path | None = None, where: str = "qaly_value") -> Parameter:
    """The ``value_of_qaly`` parameter a scenario setting stands for.

    Parameters
    ----------
    setting : str or dict
        A key of :data:`QALY_VALUE_PRESETS`, or ``{"value": number, "price_year": label}``.
    base : Parameter
        The table's ``value_of_qaly`` row (its unit and name are kept).
    scenario_price_year : PriceYear
        Used for the thresholds, which are not indexed.

    Raises
    ------
    InputError
        One line naming ``where`` in ``file``: an unknown name, a number without a price year, a value that is
        not a positive number, or a bad price year.
    """
    if isinstance(setting, str) and (match := _NUMBER_WITH_YEAR.match(setting)):
        setting = {"value": float(match.group(1).replace(",", "")), "price_year": match.group(2)}
    if isinstance(setting, str):
        preset = QALY_VALUE_PRESETS.get(setting)
        if preset is None:
            raise InputError(f"unknown value of a QALY {setting!r}", file=file, where=where, hint=_HINT)
        year = (parse_price_year(preset.price_year) if preset.price_year else scenario_price_year)
        value, source = float(preset.value), preset.source
        label = f"scenario setting qaly_value = {setting!r}"
    elif isinstance(setting, dict):
        unknown = sorted(set(setting) - {"value", "price_year"})
        if unknown or "value" not in setting or "price_year" not in setting:
            raise InputError("a number for qaly_value needs exactly 'value' and 'price_year'"
                             + (f" (unexpected {unknown})" if unknown else ""), file=file, where=where,
                             hint=_HINT)
        value = setting["value"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value != value:
            raise InputError(f"qaly_value.value must be a positive number of GBP per QALY, not {value!r}",
                             file=file, where=f"{where}.value", hint=_HINT)
        year = parse_price_year(setting["price_year"], file=file, where=f"{where}.price_year")
        value, source = float(value), "Scenario setting: a value of a QALY chosen by the user"
        label = "scenario setting qaly_value"
    elif isinstance(setting, int | float) and not isinstance(setting, bool):
        raise InputError(f"qaly_value = {setting!r} has no price year", file=file, where=where, hint=_HINT)
    else:
        raise InputError(f"qaly_value must be a name or a table, not {type(setting).__name__}",
                         file=file, where=where, hint=_HINT)
    return Parameter(base.name, value, build("fixed", ()), base.unit, year, source,
                     f"{label} ({value:,.0f} GBP per QALY, {year}); replaces the table's value",
                     str(file) if file is not None else base.file, base.row, "appraisal value")


def qaly_value_text(setting) -> str | None:
    """A ``qaly_value`` setting as one line of text (``"nice_20k"``, ``"25000 (2023/24)"``) for a cell."""
    if isinstance(setting, dict) and set(setting) == {"value", "price_year"}:
        return f"{setting['value']:g} ({setting['price_year']})"
    return None if setting is None else str(setting)


def with_qaly_value(registry: ParameterRegistry, setting, scenario_price_year: PriceYear, *,
                    file: str | Path | None = None) -> ParameterRegistry:
    """``registry`` with ``value_of_qaly`` set from ``setting`` (unchanged when ``setting`` is None)."""
    if setting is None:
        return registry
    base = registry.require(QALY_PARAMETER, file=file, where="qaly_value")
    return registry.replace({QALY_PARAMETER: qaly_value_parameter(
        setting, base, scenario_price_year, file=file)})
