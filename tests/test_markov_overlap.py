"""A Markov block linked to an outcome id takes part in the portfolio overlap correction.

Perinatal depression (Markov) and workplace wellbeing both change ``common_mental_disorder``: the
mother's person-years depressed and the employees' years with a CMD. The double count is in
person-years (model/overlap.py, docs/markov.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roi_engine.errors import InputError
from roi_engine.inputs.population import population_in_band
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.engine import KIND_INDEX, intervention_flows, year_shift_matrix
from roi_engine.model.evaluation import Model
from roi_engine.model.markov import comparator_occupancy
from roi_engine.model.overlap import remove_double_counting

ROOT = Path(__file__).resolve().parents[1]
PND, WW = "perinatal_depression_markov", "workplace_wellbeing"


def scenario(tmp_path: Path, ids: list[str]):
    head = (ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8").split("[[interventions]]")[0]
    head = head.replace("horizon", f'interventions_dir = "{ROOT / "interventions"}"\n'
                        f'parameters_dir = "{ROOT / "parameters"}"\nhorizon', 1)
    blocks = "".join(f'[[interventions]]\nid = "{i}"\nreach = 0.5\ndelivery_years = [0, 1, 2]\n'
                     for i in ids)
    path = tmp_path / f"{'_'.join(ids)}.toml"
    path.write_text(head + blocks, encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    model = Model(scenario(tmp_path_factory.mktemp("pair"), [PND, WW]))
    (overlap,) = model.overlaps
    x = model.sample(32)
    values = model.values(x)
    separate = [intervention_flows(plan, values, 32) for plan in model.plans]
    corrected, removed = remove_double_counting(model.plans, separate, model.overlaps, values, 32)
    return model, overlap, values, separate, corrected, removed


def test_the_markov_state_is_the_shared_outcome(pair):
    model, overlap, *_ = pair
    assert overlap.outcome == "common_mental_disorder"
    assert overlap.first_markov == 0 and overlap.second_markov is None
    pnd = model.plans[0].spec
    # the children's outcome keeps its own id: the mother's CMD is counted once, by the Markov block
    assert [o.id for o in pnd.outcomes] == ["maternal_depression_at_6_months"]
    assert overlap.first_outcome == len(pnd.outcomes)  # the column of 'depressed' after the outcomes
    assert overlap.shared_population == population_in_band(model.scenario.area, 16, 45)


def test_the_double_count_is_person_years_by_hand(pair):
    """D(y) = N_AB m(y) e_A(y) e_B(y), with m(y) the comparator's depressed-years per new mother summed
    over the cohorts started by then, and e = avoided / (pool x risk)."""
    model, overlap, values, separate, corrected, removed = pair
    n = 32
    pnd, ww = model.plans
    block = pnd.spec.markov[0]
    m = comparator_occupancy(block, values, n, pnd.n_years)[:, :, 0] @ year_shift_matrix(
        pnd.delivery, pnd.n_years).T
    share_a = values[pnd.spec.population.eligible_share]
    share_b = values[ww.spec.population.eligible_share]
    pool_a, pool_b = pnd.population * share_a, ww.population * share_b
    assert np.all(pool_a < pool_b)  # new mothers are the narrower pool: their risk applies
    e_a = separate[0].avoided[:, :, overlap.first_outcome] / (pool_a[:, None] * m)
    ww_outcome = [o.id for o in ww.spec.outcomes].index("common_mental_disorder")
    e_b = separate[1].avoided[:, :, ww_outcome] / (pool_b * values["ww_p_cmd"])[:, None]
    double = overlap.shared_population * (share_a * share_b)[:, None] * m * e_a * e_b
    np.testing.assert_allclose(removed[0], double.sum(axis=1), rtol=1e-12)
    beneficial = (values["pnd_rr_epds12_at_6m"] < 1) & (values["ww_or_cmd"] < 1)
    assert beneficial.sum() > 5 and np.all(removed[0][beneficial] > 0)
    given_up = (separate[0].avoided - corrected[0].avoided)[:, :, overlap.first_outcome]
    np.testing.assert_allclose(given_up, double * e_a / (e_a + e_b), rtol=1e-10)


def test_each_depressed_year_given_up_carries_its_qalys_and_care_costs(pair):
    """Two states, no deaths: a depressed-year avoided is a year not depressed, worth
    (u_not_depressed - u_depressed) QALYs and the state costs; exactly that is removed."""
    model, overlap, values, separate, corrected, _ = pair
    pnd = model.plans[0]
    given_up = (separate[0].avoided - corrected[0].avoided)[:, :, overlap.first_outcome]
    qalys = (values["mk_u_remission"] - values["mk_u_depressed"])[:, None] * given_up
    np.testing.assert_allclose(separate[0].qalys - corrected[0].qalys, qalys, rtol=1e-9)
    cells = {cell: c for c, cell in enumerate(separate[0].cells)}
    social = cells[(pnd.sector_index["individuals"], KIND_INDEX["social"])]
    removed_social = (separate[0].cell_flows - corrected[0].cell_flows)[:, social]
    np.testing.assert_allclose(removed_social, qalys * values["value_of_qaly"][:, None], rtol=1e-9)
    nhs = cells[(pnd.sector_index["nhs"], KIND_INDEX["fiscal"])]
    per_year = (values["pnd_excess_hsc_cost_per_case"] * values["pnd_share_hsc_cost_nhs"]
                * values["mk_pnd_cost_scale_per_depressed_year"])
    np.testing.assert_allclose((separate[0].cell_flows - corrected[0].cell_flows)[:, nhs],
                               given_up * per_year[:, None], rtol=1e-9)
    education = cells[(pnd.sector_index["education"], KIND_INDEX["fiscal"])]  # children: not touched
    np.testing.assert_array_equal(corrected[0].cell_flows[:, education],
                                  separate[0].cell_flows[:, education])
    costs = [c for (s, k), c in cells.items() if k == KIND_INDEX["cost"]]
    np.testing.assert_array_equal(corrected[0].cell_flows[:, costs], separate[0].cell_flows[:, costs])


def test_the_joint_benefit_is_below_the_sum_of_the_separate_ones(tmp_path, pair):
    model = pair[0]
    x = model.sample(64)
    x = x[x[:, model.names.index("pnd_rr_epds12_at_6m")] < 1]  # beneficial effects (see test_overlap)
    assert len(x) > 10

    def benefits(ids):
        m = Model(scenario(tmp_path, ids))
        pv = m.evaluate(x[:, [model.names.index(n) for n in m.names]]).pv.sum(axis=1)
        return pv[..., KIND_INDEX["cost"] + 1:].sum(axis=(1, 2))

    joint, first, second = benefits([PND, WW]), benefits([PND]), benefits([WW])
    assert np.all(joint < first + second)


def test_an_unknown_linked_state_is_one_line(tmp_path):
    text = (ROOT / "interventions" / f"{PND}.toml").read_text(encoding="utf-8")
    bad = text.replace('outcome = { id = "common_mental_disorder", state = "depressed" }',
                       'outcome = { id = "common_mental_disorder", state = "depresed" }')
    assert bad != text
    from roi_engine.inputs.interventions import load_intervention

    path = tmp_path / f"{PND}.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match="depresed"):
        load_intervention(path)
