"""Portfolio choice under budgets (roi_engine.analyses.optimise and `roi-engine optimise`).

The MILP's choice is checked against brute force over every combination of levels; the levels are
checked against the engine itself on the same draws; overlap against the engine's own correction."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_overlap import SECOND as OVERLAP_SECOND

from roi_engine.analyses.optimise import (
    Budget,
    Constraints,
    exact_values,
    objective_weights,
    optimise,
    payer_mask,
    per_draw_choices,
    scaled_scenario,
    simulate_levels,
    solve,
)
from roi_engine.cli import main
from roi_engine.errors import InputError
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"
SMALL = {"parenting_conduct_problems": 0.3, "perinatal_depression_markov": 0.5,
         "loneliness_older_people": 0.03, "collaborative_care_ltc_markov": 0.5}
LEVELS = (0.5, 1.0)


@pytest.fixture(scope="module")
def small():
    """Four shipped programmes (council and NHS payers) at two levels, 300 draws."""
    scenario = scaled_scenario(load_scenario(DEFAULT), SMALL).with_settings(draws=300)
    return scenario, simulate_levels(scenario, LEVELS)


def brute_force(lv, constraints: Constraints, objective=None):
    """The best feasible choice by enumerating every combination of (no level, level 1, level 2...)."""
    value = lv.nb.mean(axis=0) if objective is None else objective
    mean_cost = lv.cost_pv.mean(axis=0)
    choices = [[None, *lv.options_of(j)] for j in range(len(lv.ids))]
    best, best_x = -np.inf, None
    for combo in itertools.product(*choices):
        x = np.zeros(lv.n_options, dtype=bool)
        x[[o for o in combo if o is not None]] = True
        funded = {lv.ids[j] for j, o in enumerate(combo) if o is not None}
        if any(p not in funded for p in constraints.must_fund):
            continue
        if any(len(funded & set(g)) > 1 for g in constraints.exclusive):
            continue
        if any(a in funded and b not in funded for a, b in constraints.requires):
            continue
        ok = True
        for b in constraints.budgets:
            mask = payer_mask(b.payer, lv.sectors, lv.public_body)
            if b.yearly:
                spent = (lv.cost_year_mean[:, mask, :].sum(axis=1) * x[:, None]).sum(axis=0).max()
            else:
                spent = mean_cost[x][:, mask].sum()
            ok &= spent <= b.amount * (1 + 1e-9)
        if ok and value[x].sum() > best:
            best, best_x = value[x].sum(), x
    return best, best_x


BUDGETS = Constraints(budgets=(Budget("local_authority", 2.5e6), Budget("nhs", 5e6)))


@pytest.mark.parametrize("constraints", [
    BUDGETS,
    Constraints(budgets=(Budget("public", 6e6),)),
    Constraints(budgets=(Budget("local_authority", 1e6, yearly=True), Budget("nhs", 2e6, yearly=True))),
    replace(BUDGETS, must_fund=("parenting_conduct_problems",), exclusive=(("perinatal_depression_markov",
                                                                            "loneliness_older_people"),)),
    replace(BUDGETS, must_fund=("collaborative_care_ltc_markov",)),
    replace(BUDGETS, requires=(("loneliness_older_people", "perinatal_depression_markov"),)),
    Constraints(),
], ids=["pv budgets", "public", "yearly", "must-fund and exclusive", "infeasible", "requires",
        "unconstrained"])
def test_the_choice_equals_brute_force(small, constraints):
    _, lv = small
    best, best_x = brute_force(lv, constraints)
    choice = solve(lv, constraints)
    if best_x is None:  # collaborative care at half its reach costs the NHS more than £5m
        assert choice is None
        return
    assert choice.objective == pytest.approx(best, rel=1e-9)
    assert np.array_equal(choice.x, best_x)
    assert choice.x.reshape(len(lv.ids), len(LEVELS)).sum(axis=1).max() <= 1


def test_the_budgets_bind_in_the_brute_force_case(small):
    """The budget case above is a real test: the unconstrained best breaks a budget."""
    _, lv = small
    free = solve(lv, Constraints())
    assert solve(lv, BUDGETS).objective < free.objective - 1


def test_per_draw_choices_equal_brute_force_in_those_draws(small):
    _, lv = small
    choice = solve(lv, BUDGETS)
    draws = per_draw_choices(lv, BUDGETS, choice, m=5)
    for s in range(5):
        best, best_x = brute_force(lv, BUDGETS, lv.nb[s])
        assert draws.best[s] == pytest.approx(best, rel=1e-9)
        assert np.array_equal(draws.x[s], best_x)
    assert draws.evpi >= 0


def test_relaxing_a_budget_never_lowers_the_objective(small):
    _, lv = small
    for constraints in (BUDGETS, replace(BUDGETS, alpha=0.2, chance_draws=100)):
        values = [solve(lv, constraints.scaled(f)).objective for f in np.linspace(0, 2, 9)]
        assert all(b >= a - 1e-6 * abs(a) for a, b in zip(values, values[1:], strict=False)), values
        raised = replace(constraints, budgets=(constraints.budgets[0],
                                               replace(constraints.budgets[1], amount=8e6)))
        assert solve(lv, raised).objective >= solve(lv, constraints).objective - 1e-6


def test_alpha_one_is_the_unconstrained_choice_and_a_small_alpha_holds(small):
    _, lv = small
    plain = solve(lv, BUDGETS)
    assert np.array_equal(solve(lv, replace(BUDGETS, alpha=1.0)).x, plain.x)
    tight = solve(lv, replace(BUDGETS, alpha=0.05, chance_draws=lv.n_draws))
    for b in BUDGETS.budgets:
        mask = payer_mask(b.payer, lv.sectors, lv.public_body)
        spent = lv.cost_pv[:, :, mask].sum(axis=2) @ tight.x.astype(float)
        assert (spent > b.amount * (1 + 1e-9)).mean() <= 0.05
    assert tight.objective <= plain.objective + 1e-6


def test_a_cash_return_constraint_equals_brute_force_and_beta_zero_changes_nothing():
    from roi_engine.analyses.optimise import CashReturn, cash_return_probability

    scenario = scaled_scenario(load_scenario(DEFAULT), SMALL).with_settings(draws=300)
    lv = simulate_levels(scenario, LEVELS, cash_returns=(("nhs", 10),))
    cash = lv.cash_net[("nhs", 10)]
    assert cash.shape == (300, lv.n_options)
    budgets = Constraints(budgets=(Budget("local_authority", 2.5e6), Budget("nhs", 2e7)))
    chosen = {}
    for beta in (0.0, 0.3, 0.6):
        constraints = replace(budgets, cash_returns=(CashReturn("nhs", 10, beta),), chance_draws=300)
        choice = solve(lv, constraints)
        best = -np.inf
        for combo in itertools.product(*[[None, *lv.options_of(j)] for j in range(len(lv.ids))]):
            x = np.zeros(lv.n_options, dtype=bool)
            x[[o for o in combo if o is not None]] = True
            mean_cost = lv.cost_pv.mean(axis=0)[x]
            if any(mean_cost[:, payer_mask(b.payer, lv.sectors, lv.public_body)].sum() > b.amount
                   for b in budgets.budgets):
                continue
            if (cash @ x >= -1e-6).mean() >= beta - 1e-9:
                best = max(best, lv.nb.mean(axis=0)[x].sum())
        assert choice.objective == pytest.approx(best, rel=1e-9), beta
        met = cash_return_probability(lv, constraints, choice.x)
        assert list(met.values())[0] >= beta - 1e-9
        chosen[beta] = choice
    assert np.array_equal(chosen[0.0].x, solve(lv, budgets).x)
    # collaborative care never repays the NHS in cash within 10 years: the constraint binds
    assert chosen[0.6].objective < chosen[0.0].objective - 1


def test_the_most_deprived_fifths_share_is_the_deprivation_results_and_the_equity_rule_is_brute_force(
        small, monkeypatch):
    from roi_engine.analyses.deprivation import deprivation_results
    from roi_engine.analyses.optimise import most_deprived_gain_share
    from roi_engine.model import evaluation
    from roi_engine.results import run

    scenario, lv = small
    # The levels are additive (each programme on its own; the overlap correction comes in the
    # re-check of the best portfolios): compare with a run of the same additive model. Perinatal
    # depression and collaborative care (Markov) both change common_mental_disorder, so the scenario's
    # own run would remove their double count.
    monkeypatch.setattr(evaluation, "find_overlaps", lambda plans, area: ())
    results = run(scenario)
    quintiles = deprivation_results(results).quintiles
    qaly = results.cube.attrs["qaly_value"]
    for j, pid in enumerate(lv.ids):
        o = int(np.flatnonzero((lv.option_programme == j) & (lv.option_level == 1.0))[0])
        row = quintiles[(quintiles["entity"] == pid) & (quintiles["quintile"] == 1)].iloc[0]
        ours = (lv.social[:, o] * lv.most_deprived_share[:, j]).mean() / qaly
        assert ours == pytest.approx(row["health_gain_qalys_mean"], rel=1e-9)
        assert lv.most_deprived_population_share == pytest.approx(row["population_share"])
    plain = solve(lv, BUDGETS)
    ratio = most_deprived_gain_share(lv, plain.x) / lv.most_deprived_population_share
    constraints = replace(BUDGETS, equity=ratio * 1.02)  # just above the plain choice's: it binds
    choice = solve(lv, constraints)
    best = -np.inf
    value, mean_cost = lv.nb.mean(axis=0), lv.cost_pv.mean(axis=0)
    for combo in itertools.product(*[[None, *lv.options_of(j)] for j in range(len(lv.ids))]):
        x = np.zeros(lv.n_options, dtype=bool)
        x[[o for o in combo if o is not None]] = True
        if any(mean_cost[x][:, payer_mask(b.payer, lv.sectors, lv.public_body)].sum() > b.amount
               for b in BUDGETS.budgets):
            continue
        fifth = most_deprived_gain_share(lv, x)
        if fifth is None or fifth >= constraints.equity * lv.most_deprived_population_share - 1e-12:
            best = max(best, value[x].sum())
    assert choice.objective == pytest.approx(best, rel=1e-9)
    assert choice.objective < plain.objective


def test_levels_are_the_engine_on_the_same_draws(small):
    """Level 1 is the scenario as it is, level 0.5 a scenario built at half the reach: both equal the
    engine's own present values on the same draws (common random numbers)."""
    scenario, lv = small
    weights = objective_weights(scenario.perspective, lv.sectors, lv.public_body)
    for level in LEVELS:
        built = scaled_scenario(scenario, {k: v * level for k, v in SMALL.items()})
        model = Model(built)
        assert model.names == lv.model.names
        model.overlaps = ()  # levels are additive: the overlap correction comes in the re-check
        pv = model.evaluate(model.draws(0, lv.n_draws, lv.n_draws)).pv  # (n, I, S, K)
        nb = np.einsum("nisk,sk->ni", pv, weights)
        columns = [int(np.flatnonzero((lv.option_programme == j) & (lv.option_level == level))[0])
                   for j in range(len(lv.ids))]
        np.testing.assert_allclose(lv.nb[:, columns], nb, rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(lv.cost_pv[:, columns], pv[..., 0], rtol=1e-10, atol=1e-6)


# The overlap tests' second programme, in ages 22-35: it shares outcome 'episode' with toy_programme.
SECOND = OVERLAP_SECOND.format(low=22, high=35, eligible="0.1", baseline="toy_baseline")

OVERLAP_SCENARIO = """\
name = "overlap test"
area = "E08000025"
horizon = 6
price_year = "2023/24"
draws = 200
seed = 3

[[interventions]]
id = "toy_programme"
reach = 0.5

[[interventions]]
id = "toy_second"
reach = 0.4
"""


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory):
    root = tmp_path_factory.mktemp("overlap") / "toy"
    shutil.copytree(ROOT / "tests" / "data" / "toy", root)
    (root / "interventions" / "toy_second.toml").write_text(SECOND, encoding="utf-8")
    (root / "scenarios" / "both.toml").write_text(OVERLAP_SCENARIO, encoding="utf-8")
    return root / "scenarios" / "both.toml"


def test_overlap_is_removed_as_the_engine_removes_it(overlapping):
    scenario = load_scenario(overlapping)
    lv = simulate_levels(scenario, (0.5, 1.0))
    x = (lv.option_level == 0.5)
    exact, overlapped = exact_values(lv, x)
    assert overlapped
    built = scaled_scenario(scenario, {"toy_programme": 0.25, "toy_second": 0.2})
    model = Model(built)
    pv = model.evaluate(model.draws(0, lv.n_draws, lv.n_draws)).pv
    engine = np.einsum("nisk,sk->n", pv, lv.weights)
    np.testing.assert_allclose(exact, engine, rtol=1e-10)
    assert exact.mean() < lv.nb[:, x].sum(axis=1).mean()  # the double count was removed
    alone = (lv.option_programme == 0) & (lv.option_level == 1.0)
    assert exact_values(lv, alone)[1] is False


def test_optimise_reports_the_best_exactly_among_every_portfolio(overlapping):
    """With as many candidates as portfolios, the answer is brute force over the exact values."""
    scenario = load_scenario(overlapping)
    constraints = Constraints(budgets=(Budget("all", 1e12),))
    result = optimise(scenario, constraints, levels=(0.5, 1.0), top=9, per_draw=5, frontier_points=3)
    lv = result.lv
    exact = []
    for combo in itertools.product(*[[None, *lv.options_of(j)] for j in range(len(lv.ids))]):
        x = np.zeros(lv.n_options, dtype=bool)
        x[[o for o in combo if o is not None]] = True
        exact.append(exact_values(lv, x)[0].mean())
    assert len(result.candidates) == 9
    assert result.exact.mean() == pytest.approx(max(exact), rel=1e-12)


def test_the_chosen_portfolio_is_written_as_a_scenario_that_runs(overlapping, tmp_path):
    from roi_engine.analyses.optimise import chosen_reach
    from roi_engine.outputs.optimise_report import CHOSEN_SCENARIO, write_optimisation

    scenario = load_scenario(overlapping)
    result = optimise(scenario, Constraints(budgets=(Budget("local_authority", 2e5),)), levels=(0.5, 1.0),
                      top=2, per_draw=3, frontier_points=3)
    written = write_optimisation(tmp_path, result)
    assert tmp_path / CHOSEN_SCENARIO in written
    chosen = load_scenario(tmp_path / CHOSEN_SCENARIO)
    reach = {item.id: item.reach for item, _ in chosen.interventions}
    assert reach == chosen_reach(result.lv, result.choice.x)
    assert (chosen.spec.seed, chosen.spec.draws, chosen.spec.horizon) == (3, 200, 6)


def test_an_uncertain_reach_cannot_be_scaled(toy_scenario):
    with pytest.raises(InputError, match="uncertain parameter 'toy_reach'"):
        simulate_levels(toy_scenario)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_the_command_writes_its_tables(tmp_path, overlapping):
    result = invoke("optimise", overlapping, "--budget", "local_authority=2e5", "--levels", "0.5,1",
                    "--per-draw", "10", "--frontier-points", "4", "--out", tmp_path / "out")
    assert result.exit_code == 0, (result.output, result.stderr)
    for name in ("choice", "frontier", "probability", "budgets", "candidates"):
        assert (tmp_path / "out" / f"optimise_{name}.csv").is_file()
    assert (tmp_path / "out" / "optimise_frontier.png").read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "out" / "optimise.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "Efficiency frontier" in page and "EVPI" in page
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "out" / "optimise.xlsx")
    assert book.sheetnames == ["Basis", "Choice", "Frontier", "Probability", "Budgets", "Candidates"]
    for text in ("Efficiency frontier", "P(in optimal)", "Portfolio EVPI", "2023/24 prices",
                 "societal perspective", "Draws:        200"):
        assert text in result.output


def test_run_chosen_writes_the_full_results_of_the_choice(tmp_path, overlapping):
    result = invoke("optimise", overlapping, "--budget", "local_authority=2e5", "--levels", "0.5,1",
                    "--per-draw", "5", "--frontier-points", "3", "--out", tmp_path / "out", "--run-chosen")
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "Full results of the chosen portfolio" in result.output
    assert (tmp_path / "out" / "chosen" / "results.nc").is_file()
    assert (tmp_path / "out" / "chosen" / "report.html").is_file()


@pytest.mark.parametrize("args, message", [
    (["--budget", "nhs"], "'nhs' is not PAYER=AMOUNT"),
    (["--budget", "nhss=1e6"], "'nhss' is not a payer"),
    (["--budget", "nhs=-5"], "is not PAYER=AMOUNT"),
    (["--levels", "0,1"], "scale levels must be positive"),
    (["--levels", "half"], "is not a list of numbers"),
    (["--levels", "3"], "reach cannot exceed 1"),
    (["--budget", "nhs=1e6", "--alpha", "2"], "is not a probability"),
    (["--alpha", "0.1"], "--alpha needs a PV budget"),
    (["--must-fund", "toy_progamme"], "did you mean 'toy_programme'"),
    (["--exclusive", "toy_programme"], "needs two programmes"),
    (["--requires", "toy_programme"], "is not A:B"),
    (["--perspective", "cash:nhx"], "'nhx' is not a sector"),
    (["--perspective", "wellbeing"], "unknown perspective"),
    (["--levels-for", "toy_second"], "is not ID=LEVELS"),
    (["--cash-return", "nhs=0.5"], "is not PAYER:YEARS=PROBABILITY"),
    (["--equity", "-1"], "the equity ratio must be 0 or more"),
    (["--cash-return", "nhs:99=0.5"], "beyond the horizon"),
    (["--cash-return", "nsh:3=0.5"], "'nsh' is not a payer"),
    (["--levels-for", "nope=1"], "'nope' is not a programme"),
    (["--budget", "nhs=1", "--must-fund", "toy_second"], "no portfolio meets every constraint"),
])
def test_bad_options_are_one_line_and_exit_2(overlapping, tmp_path, args, message):
    result = invoke("optimise", overlapping, "--draws", "20", "--per-draw", "2", "--out",
                    tmp_path / "out", *args)
    assert result.exit_code == 2, (result.output, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("roi-engine: error:"), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
