"""Our base-case benefit per £1 against the published 2017 LSE/PHE (and LSE ESSENCE) headline figures.

A programme reproduces its published figure when the societal base case lies within ±20% of it. Where
honest evidence gives another number the test is an expected failure whose reason says why; the full
explanation is in docs/validation.md. `strict=True`: if a gap closes, the test says so.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from roi_engine.analyses.validation import (
    BASIS_2017_QALY,
    TOLERANCE,
    benefit_per_pound,
    published_figures,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = ROOT.parent / "shared" / "reference" / "lse_phe_2017_headline_roi.csv"

GAPS = {
    "kiva_anti_bullying":
        "QALYs valued at the Green Book GBP 70,000 (qaly_value) where the 2017 figure appears to use "
        "about GBP 20,000; pupils' QALY loss 0.03 per victim-year (qaly_loss_per_victim_year) is still "
        "above the ~0.018 the 2017 figure implies on that basis",
    "school_sel_penn_resilience":
        "effect from the English UK Resilience Programme (prp_or_depressive_disorder, d = 0.093, gone "
        "by one year); GBP 5.08 needs efficacy effects with persistence that no UK trial shows",
    "workplace_stress_prevention":
        "participants' baseline risk wsp_p_sda (10%, an assumption) and a guided NHS course price "
        "(wsp_cost_per_participant) against eHealth-trial effects; result -35%",
    "collaborative_care_ltc":
        "QALYs valued at GBP 70,000 (qaly_value) where the 2017 figure equals COINCIDE's gain at "
        "GBP 20,000 per QALY (the 2017 basis reproduces it)",
    "debt_advice":
        "debt_p_debt_made_manageable (25%) is an assumption with no controlled estimate; ESSENCE's "
        "GBP 2.60 comes from different, unpublished inputs",
}

# On the 2017 basis (hypothesis: cash-releasing savings + QALYs at GBP 20,000, 2015/16 prices).
GAPS_2017_BASIS = {
    "kiva_anti_bullying":
        "two inputs differ and pull apart: teachers' and KiVa-team time "
        "(kiva_staff_time_cost_per_pupil_year, GBP 13.2) is costed here and apparently not in the 2017 "
        "GBP 4,658 (0.91 with it, 2.51 without), and the QALY loss 0.03 is above the ~0.018 implied",
    "school_sel_penn_resilience":
        "UK Resilience Programme effect (prp_or_depressive_disorder, d = 0.093, one year only); 2017 "
        "inputs unrecoverable",
    "workplace_wellbeing":
        "absence effect ww_rr_sickness_absence has mode 0 (Kuoppala: education and psychological "
        "programmes do not affect absence; 1.69 with the former 7.6%, still -29%); the 2017 figure "
        "likely used larger absence and productivity effects (Mills et al. 2007)",
    "workplace_stress_prevention":
        "baseline risk wsp_p_sda (an assumption) and presenteeism per case; 2017 inputs unrecoverable",
    "debt_advice":
        "debt_p_debt_made_manageable (an assumption) against ESSENCE's unpublished inputs; not a 2017 "
        "tool figure",
}


def cases(gaps=GAPS):
    for row in published_figures().itertuples():
        marks = [pytest.mark.xfail(reason=gaps[row.intervention], strict=True)] \
            if row.intervention in gaps else []
        yield pytest.param(row, id=row.intervention, marks=marks)


@pytest.mark.parametrize("figure", list(cases()))
def test_societal_base_case_within_20_percent_of_the_published_figure(figure):
    results = benefit_per_pound(ROOT, figure.intervention, int(figure.horizon_years), "societal",
                                draws=200)
    ours = float(results.headline().loc["portfolio", "benefit_per_pound_base"])
    assert ours == pytest.approx(float(figure.benefit_per_pound), rel=TOLERANCE)


@pytest.mark.parametrize("figure", list(cases(GAPS_2017_BASIS)))
def test_2017_basis_within_20_percent_of_the_published_figure(figure):
    """The review's reconstruction of the 2017 counting basis, tested as a hypothesis: nothing is tuned."""
    results = benefit_per_pound(ROOT, figure.intervention, int(figure.horizon_years), "societal",
                                draws=200, qaly_value=BASIS_2017_QALY)
    ours = float(results.headline().loc["portfolio", "benefit_per_pound_base"])
    assert ours == pytest.approx(float(figure.benefit_per_pound), rel=TOLERANCE)


def test_the_shipped_published_figures_match_the_shared_reference():
    if not SHARED_REFERENCE.exists():
        pytest.skip("../shared/reference is not beside the repository (it is in CI)")
    reference = pd.read_csv(SHARED_REFERENCE)
    shipped = published_figures().set_index("published_as")
    for row in reference.itertuples():
        assert shipped.loc[row.programme, "benefit_per_pound"] == pytest.approx(
            row.benefit_per_pound_invested)
        assert shipped.loc[row.programme, "horizon_years"] == row.horizon_years
