"""Our base-case benefit per £1 against the 2011 Department of Health economic case's headline figures.

A programme reproduces its published figure when its base case lies within ±20% of it, on our default basis
(societal, QALYs at the Green Book £70,000) and on the 2011 basis (QALYs not monetised; a reconstruction).
Where the evidence gives another number the test is an expected failure whose reason names the input that
differs; docs/evidence.md explains each. `strict=True`: if a gap closes, the test says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roi_engine.analyses.validation_2011 import (
    TOLERANCE,
    benefit_per_pound_2011,
    markdown_2011,
    published_figures_2011,
    validation_table_2011,
)

ROOT = Path(__file__).resolve().parents[1]

GAPS_DEFAULT = {
    "early_intervention_psychosis":
        "the cost counted is the whole EIP care pathway's NHS cost (eip_ei_pathway_cost_year1, "
        "eip_ei_pathway_cost_later_year: team and all services, McCrone et al. 2009), not the teams' "
        "cost alone that the 2011 figure appears to divide by (not recovered); the NPV per person is "
        "large either way",
    "alcohol_brief_advice":
        "the only benefit is the modelled QALY gain per drinker advised "
        "(aiba_qaly_gain_per_person_advised) valued at GBP 70,000 (value_of_qaly); the 2011 figure is "
        "'savings', and our NHS savings are not counted (no sourced per-person figure)",
}
GAPS_2011_BASIS = {
    "early_intervention_psychosis": GAPS_DEFAULT["early_intervention_psychosis"],
    "alcohol_brief_advice":
        "with QALYs not monetised nothing is left: NHS, crime and work savings from less drinking are "
        "not in our model (no per-person figure from a primary source), while the 2011 figure is savings",
}


def cases(gaps):
    for row in published_figures_2011().itertuples():
        marks = [pytest.mark.xfail(reason=gaps[row.intervention], strict=True)] \
            if row.intervention in gaps else []
        yield pytest.param(row, id=row.intervention, marks=marks)


def base_case(figure, *, basis_2011: bool) -> float:
    results = benefit_per_pound_2011(ROOT, figure.intervention, int(figure.horizon_years),
                                     basis_2011=basis_2011, draws=64)
    return float(results.headline().loc["portfolio", "benefit_per_pound_base"])


@pytest.mark.parametrize("figure", list(cases(GAPS_DEFAULT)))
def test_default_basis_within_20_percent_of_the_2011_figure(figure):
    assert base_case(figure, basis_2011=False) == pytest.approx(float(figure.benefit_per_pound),
                                                                rel=TOLERANCE)


@pytest.mark.parametrize("figure", list(cases(GAPS_2011_BASIS)))
def test_2011_basis_within_20_percent_of_the_2011_figure(figure):
    """The reconstruction of the 2011 counting basis (no QALYs), tested as a hypothesis: nothing is tuned."""
    assert base_case(figure, basis_2011=True) == pytest.approx(float(figure.benefit_per_pound),
                                                               rel=TOLERANCE)


def test_every_2011_figure_names_its_programme_price_year_basis_and_source():
    figures = published_figures_2011()
    assert set(figures.intervention) == {"early_intervention_psychosis", "alcohol_brief_advice",
                                         "school_sel_conduct"}
    for row in figures.itertuples():
        assert (ROOT / "interventions" / f"{row.intervention}.toml").is_file()
        assert re.fullmatch(r"\d{4}/\d{2}", row.price_year)
        assert row.published_basis.strip() and row.horizon_years > 0
        assert re.search(r"https?://", row.source_url)
        if "yumpu" in row.source_url:
            assert row.source_url.startswith("[document-sharing copy] ")


def test_the_2011_basis_removes_qaly_values_and_nothing_else():
    figures = published_figures_2011().set_index("intervention")
    alcohol, sel = figures.loc["alcohol_brief_advice"], figures.loc["school_sel_conduct"]
    # brief advice has no benefit but QALYs: on the 2011 basis its benefits are exactly nothing
    head = benefit_per_pound_2011(ROOT, "alcohol_brief_advice", int(alcohol.horizon_years), basis_2011=True,
                                  draws=16).headline().loc["portfolio"]
    assert head["benefit_per_pound_base"] == 0
    default = benefit_per_pound_2011(ROOT, "alcohol_brief_advice", int(alcohol.horizon_years),
                                     basis_2011=False, draws=16).headline().loc["portfolio"]
    assert default["benefit_per_pound_base"] > 1
    # the SEL model counts no QALYs, so both bases agree to the penny
    a, b = (float(benefit_per_pound_2011(ROOT, "school_sel_conduct", int(sel.horizon_years), basis_2011=x,
                                         draws=16).headline().loc["portfolio", "benefit_per_pound_base"])
            for x in (False, True))
    assert a == pytest.approx(b, rel=1e-12) and a > 1


def test_the_2011_table_and_its_markdown(tmp_path):
    table = validation_table_2011(ROOT, draws=32)
    assert list(table.intervention) == list(published_figures_2011().intervention)
    text = markdown_2011(table)
    for row in table.itertuples():
        assert f"| {row.intervention} | {row.horizon_years} y | {row.published:.2f} (2009/10) |" in text
    # a user's library without these programmes gives an empty table, not an error
    (tmp_path / "interventions").mkdir()
    assert validation_table_2011(tmp_path, draws=8).empty
