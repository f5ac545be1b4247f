"""The audit workbook, recalculated by LibreOffice, equals the engine's base case.

LibreOffice (Debian's ``libreoffice-calc``, installed by ``make libreoffice``, which ``make test``
depends on) opens each workbook headless and saves it again with every formula recalculated; the
cached values are then read with openpyxl. If ``soffice`` is missing the tests FAIL, naming that
target: they are never skipped. All workbooks are converted in one LibreOffice start (a few seconds).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_overlap import library as overlap_library

from roi_engine.analyses.sharing import rule_contributions
from roi_engine.inputs.accounting import KINDS, kind_discount_factors, perspective_weights
from roi_engine.inputs.money import DiscountScheme
from roi_engine.inputs.scenario import load_scenario
from roi_engine.inputs.sharing_rule import default_contributors
from roi_engine.model.evaluation import Model
from roi_engine.outputs.audit import build_audit_workbook, safe_text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"
TOLERANCE = 1e-9
EFFECT = "kiva_or_victimisation"        # an effect size (odds ratio)
UNIT_COST = "par_cost_per_child"        # a unit cost
NEW_DELIVERY_YEAR = 6
NEW_STANDARD_RATE = 0.05                # instead of the Green Book's 3.5% in years 0-30
MARKOV_CHANGES = (("markov_hr", "mk_cc_hr_remission", 0.8),              # a hazard ratio (effect)
                  ("markov_band", "mk_pnd_p_still_depressed_later", 1.2))  # a later-cycle band

# Every branch the Markov section writes that the shipped programmes do not use: a Weibull shape, a
# relative risk with a fading effect, an explicit "rest" off the diagonal, a start distribution with a
# "rest", an absorbing state and the end-of-cycle convention (beside the toy library's toy_programme).
TOY_MARKOV = """\
id = "toy_markov"
name = "Toy Markov programme"
life_stage = "working age"

[population]
ages = [30, 60]
eligible_share = 0.1
reach = "toy_reach"

[delivery]
years = [0, 1]

[[costs]]
payer = "nhs"
per_participant = "toy_cost"

[[markov]]
id = "course"
states = ["well", "sick", "dead"]
start = { well = "rest", sick = "toy_baseline" }
cycle = "end"

  [[markov.transitions]]
  from = "well"
  to = "sick"
  probability = ["toy_baseline", 0.5]
  weibull_shape = 0.7

  [[markov.transitions]]
  from = "sick"
  to = "well"
  probability = "rest"

  [[markov.transitions]]
  from = "sick"
  to = "sick"
  probability = 0.6
  bands = [{ from_cycle = 3, probability = 0.5 }]

  [[markov.transitions]]
  from = "sick"
  to = "dead"
  probability = 0.02

  [[markov.effects]]
  transition = ["sick", "sick"]
  relative_risk = "toy_rr"
  persistence = { years_full = 2, fade = 0.3 }

  [[markov.state_costs]]
  state = "sick"
  sector = "nhs"
  value_type = "fiscal"
  per_year = ["toy_value_nhs", 2]

  [markov.utilities]
  well = 0.9
  sick = 0.6
"""


def _soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        pytest.fail("LibreOffice is not installed: run `make libreoffice` (make test does)")
    return path


def recalculate(paths: list[Path], tmp: Path) -> list[Path]:
    """Each workbook opened and saved by headless LibreOffice (formulas recalculated)."""
    out = tmp / "recalculated"
    profile = (tmp / "lo_profile").as_uri()  # a private profile: parallel runs do not clash
    subprocess.run([_soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(out), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    return [out / p.name for p in paths]


def present_values(ws, n_sectors: int) -> np.ndarray:
    """The (sector, kind) grid under the 'Present values by sector and kind' heading; blank = 0."""
    start = next(c.row for c in ws["A"] if str(c.value or "").startswith("Present values by sector"))
    grid = np.zeros((n_sectors, len(KINDS)))
    for s in range(n_sectors):
        for k in range(len(KINDS)):
            value = ws.cell(row=start + 2 + s, column=4 + k).value
            grid[s, k] = 0.0 if value is None else value
    return grid


def labelled(ws, label: str, column: int = 3):
    row = next(c.row for c in ws["A"] if c.value == label)
    return ws.cell(row=row, column=column).value


def max_relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    scale = np.maximum(np.abs(want), 1.0)
    return float(np.max(np.abs(got - want) / scale))


def parameter_row(ws, name: str) -> int:
    return next(c.row for c in ws["A"] if c.value == name)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Engine base cases and recalculated workbooks: as written, and with one input changed each."""
    tmp = tmp_path_factory.mktemp("audit")
    scenario = load_scenario(DEFAULT)
    model = Model(scenario)
    wb = build_audit_workbook(model)
    paths = {"base": tmp / "base.xlsx"}
    wb.save(paths["base"])
    engine = {"base": model.evaluate(model.base_case())}

    for case, name, factor in (("effect", EFFECT, 0.8), ("cost", UNIT_COST, 1.7)):
        x = model.base_case()
        j = model.names.index(name)
        x[0, j] *= factor
        changed = load_workbook(paths["base"])
        changed["Parameters"].cell(row=parameter_row(changed["Parameters"], name), column=2).value = \
            x[0, j]
        paths[case] = tmp / f"{case}.xlsx"
        changed.save(paths[case])
        engine[case] = model.evaluate(x)

    changed = load_workbook(paths["base"])
    ws = changed["Discounting"]
    row = next(c.row for c in ws["A"] if c.value == "standard")
    ws.cell(row=row, column=3).value = NEW_STANDARD_RATE
    paths["rate"] = tmp / "rate.xlsx"
    changed.save(paths["rate"])
    bands = dict(scenario.discounting.bands)
    starts, rates = bands["standard"]
    bands["standard"] = (starts, np.concatenate([[NEW_STANDARD_RATE], rates[1:]]))
    other = Model(scenario)
    other.discount = kind_discount_factors(DiscountScheme("changed", bands), scenario.horizon)
    engine["rate"] = other.evaluate(other.base_case())

    # A delivery year added to KiVa (a cohort starting in year 6) moves both costs and outcomes.
    changed = load_workbook(paths["base"])
    ws = changed["kiva_anti_bullying"]
    row = next(c.row for c in ws["A"] if c.value == "cohort starts in the year (1 = yes)")
    ws.cell(row=row, column=4 + NEW_DELIVERY_YEAR).value = 1.0
    paths["delivery"] = tmp / "delivery.xlsx"
    changed.save(paths["delivery"])
    other = Model(scenario)
    i = [p.spec.id for p in other.plans].index("kiva_anti_bullying")
    delivery = other.plans[i].delivery.copy()
    delivery[NEW_DELIVERY_YEAR] = 1.0
    plans = list(other.plans)
    plans[i] = replace(plans[i], delivery=delivery)
    other.plans = tuple(plans)
    engine["delivery"] = other.evaluate(other.base_case())

    # Two programmes changing the same outcome in the same people: the overlap adjustment applies.
    root = overlap_library(tmp, low=25, high=34, eligible="0.2")
    both = Model(load_scenario(root / "scenarios" / "both.toml"))
    assert both.overlaps
    paths["overlap"] = tmp / "overlap.xlsx"
    build_audit_workbook(both).save(paths["overlap"])
    engine["overlap"] = both.evaluate(both.base_case())

    # The two Markov programmes of the default scenario: two Markov inputs changed in the workbook.
    # Both programmes are in the portfolio's overlap correction, whose units the workbook holds as
    # values of the base case; so these cases set those values to 0 and compare with the engine run
    # without the correction: every other cell of the programmes is then a live formula.
    assert sum(bool(p.spec.markov) for p in model.plans) == 2 and model.overlaps
    markov = Model(scenario)
    markov.overlaps = ()
    for case, name, factor in MARKOV_CHANGES:
        x = markov.base_case()
        j = markov.names.index(name)
        x[0, j] *= factor
        changed = load_workbook(paths["base"])
        changed["Parameters"].cell(row=parameter_row(changed["Parameters"], name), column=2).value = \
            x[0, j]
        for ws in changed.worksheets:
            for row in (c.row for c in ws["A"] if c.value == "overlap adjustment (value from the engine)"):
                for y in range(scenario.horizon):
                    ws.cell(row=row, column=4 + y).value = 0.0
        paths[case] = tmp / f"{case}.xlsx"
        changed.save(paths[case])
        engine[case] = markov.evaluate(x)
    (root / "interventions" / "toy_markov.toml").write_text(TOY_MARKOV, encoding="utf-8")
    scenario_text = (root / "scenarios" / "both.toml").read_text(encoding="utf-8")
    (root / "scenarios" / "toy_markov.toml").write_text(
        scenario_text + '[[interventions]]\nid = "toy_markov"\n', encoding="utf-8")
    toy = Model(load_scenario(root / "scenarios" / "toy_markov.toml"))
    paths["toy_markov"] = tmp / "toy_markov.xlsx"
    build_audit_workbook(toy).save(paths["toy_markov"])
    engine["toy_markov"] = toy.evaluate(toy.base_case())
    models = {"markov_hr": markov, "markov_band": markov, "toy_markov": toy}

    out = recalculate(list(paths.values()), tmp)
    books = {case: load_workbook(p, data_only=True) for case, p in zip(paths, out, strict=True)}
    return model, engine, books, both, models


@pytest.mark.parametrize("case", ["base", "effect", "cost", "rate", "delivery", "markov_hr", "markov_band",
                                  "toy_markov"])
def test_present_values_equal_the_engine(recalculated, case):
    model, engine, books, _, models = recalculated
    model = models.get(case, model)
    n_sectors = len(model.scenario.sectors)
    pv = engine[case].pv[0]
    worst = {}
    for i, plan in enumerate(model.plans):
        got = present_values(books[case][plan.spec.id[:31]], n_sectors)
        worst[plan.spec.id] = max_relative_difference(got, pv[i])
    print(f"\n{case}: largest relative difference by programme")
    for name, d in worst.items():
        print(f"  {name:35s} {d:.2e}")
    assert max(worst.values()) <= TOLERANCE, worst


def test_the_changes_move_the_answer(recalculated):
    """A test of the changed cases that could not pass by accident: each change moves its programme."""
    model, engine, _, _, models = recalculated
    ids = [p.spec.id for p in model.plans]
    for case, programme in (("effect", "kiva_anti_bullying"), ("cost", "parenting_conduct_problems"),
                            ("delivery", "kiva_anti_bullying")):
        i = ids.index(programme)
        assert not np.allclose(engine[case].pv[0, i], engine["base"].pv[0, i], rtol=1e-3)
    assert not np.allclose(engine["rate"].pv[0], engine["base"].pv[0], rtol=1e-3)
    for case, programme in (("markov_hr", "collaborative_care_ltc_markov"),
                            ("markov_band", "perinatal_depression_markov")):
        i = ids.index(programme)
        assert not np.allclose(engine[case].pv[0, i], engine["base"].pv[0, i], rtol=1e-2)


@pytest.mark.parametrize("case", ["base", "rate"])
def test_payback_and_cost_sharing_equal_the_engine(recalculated, case):
    model, engine, books, _, _ = recalculated
    scenario = model.scenario
    summary = engine[case]
    for i, plan in enumerate(model.plans):
        got = labelled(books[case][plan.spec.id[:31]], "payback year")
        want = summary.payback[0, i, -1, 0]  # all sectors, the perspective's basis
        assert (got == "not within the horizon") if np.isinf(want) else got == want, plan.spec.id
    portfolio = books[case]["Portfolio"]
    want = summary.payback[0, len(model.plans), -1, 0]
    got = labelled(portfolio, "payback year")
    assert (got == "not within the horizon") if np.isinf(want) else got == want

    weights = perspective_weights(scenario.perspective,
                                  np.array([s.public_body for s in scenario.sectors.sectors]))
    counted = summary.pv[0].sum(axis=0) * weights  # (S, K)
    cost, cash = counted[:, 0], counted[:, 1] + counted[:, 2]
    names = scenario.sectors.names
    contributors = np.array([n in default_contributors(scenario.sectors) for n in names])
    want_contribution = rule_contributions(scenario.sharing.rule, cost[None], cash[None],
                                           contributors).contribution[0]
    header = next(c.row for c in portfolio["D"] if c.value == "cost as modelled")
    got_cost = np.array([portfolio.cell(row=header + 1 + s, column=4).value for s in range(len(names))])
    got_contribution = np.array([portfolio.cell(row=header + 1 + s, column=10).value
                                 for s in range(len(names))])
    assert max_relative_difference(got_cost, cost) <= TOLERANCE
    assert max_relative_difference(got_contribution, want_contribution) <= TOLERANCE
    benefits = counted[:, 1:].sum()
    assert labelled(portfolio, "net present value") == pytest.approx(benefits - cost.sum(), rel=TOLERANCE)


def test_every_formula_is_live_and_no_text_is_a_formula(recalculated):
    model, _, _, _, models = recalculated
    wb = build_audit_workbook(model)
    for ws in wb.worksheets:
        assert str(ws["A2"].value).startswith("How to read"), ws.title
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "s":
                    assert not str(cell.value).startswith(("=", "+", "-", "@")), (ws.title, cell.coordinate)
    programme = wb[model.plans[0].spec.id]
    start = next(c.row for c in programme["A"] if str(c.value or "").startswith("Present values by"))
    pv_cells = [programme.cell(row=start + 2 + s, column=4 + k).value
                for s in range(len(model.scenario.sectors)) for k in range(len(KINDS))]
    assert all(v is None or str(v).startswith("=SUM(") for v in pv_cells)


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2", "@cmd", "plain"])
def test_safe_text_never_starts_a_formula(text):
    assert not safe_text(text).startswith(("=", "+", "-", "@"))
    assert safe_text(text).endswith(text)


def test_overlap_adjustment_is_noted_and_the_values_equal_the_engine(recalculated):
    _, engine, books, both, _ = recalculated
    pv = engine["overlap"].pv[0]
    for i, plan in enumerate(both.plans):
        ws = books["overlap"][plan.spec.id[:31]]
        got = present_values(ws, len(both.scenario.sectors))
        assert max_relative_difference(got, pv[i]) <= TOLERANCE, plan.spec.id
        row = next(c.row for c in ws["A"] if c.value == "overlap adjustment (value from the engine)")
        assert str(ws.cell(row=row, column=2).value).startswith("overlap applies")
        assert sum(ws.cell(row=row, column=4 + y).value for y in range(both.scenario.horizon)) > 0


def test_the_command_writes_the_workbook_and_refuses_a_name_not_ending_in_xlsx(tmp_path):
    from click.testing import CliRunner

    from roi_engine.cli import main

    out = tmp_path / "audit.xlsx"
    result = CliRunner().invoke(main, ["audit", str(DEFAULT), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).sheetnames[:2] == ["Parameters", "Discounting"]
    result = CliRunner().invoke(main, ["audit", str(DEFAULT), "--out", str(tmp_path / "a.csv")])
    assert result.exit_code == 2 and ".xlsx" in result.output


def test_markov_traces_are_formulas_and_the_labels_are_values(recalculated):
    """The cohort trace is SUMPRODUCT of the previous cycle's shares and a matrix column; the
    states' and transitions' names are text cells, never inside a formula."""
    model, _, _, _, _ = recalculated
    wb = build_audit_workbook(model)
    ws = wb["collaborative_care_ltc_markov"]
    rows = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}
    trace = rows["intervention: share in not_depressed"]
    assert ws.cell(row=trace, column=5).value.startswith("=SUMPRODUCT(D")
    assert ws.cell(row=rows["comparator: share in depressed"], column=4).value.startswith("=")
    start = rows["Markov model 1: depression_course"]
    end = rows["Flows by sector and kind (GBP, undiscounted)"]
    for row in ws.iter_rows(min_row=start, max_row=end):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                assert not any(ch in cell.value for ch in "\"' >"), cell.coordinate
            elif cell.data_type == "s":
                assert not str(cell.value).startswith(("=", "+", "-", "@")), cell.coordinate


def test_the_command_writes_a_markov_programme(tmp_path):
    from roi_engine.cli import main as cli_main

    scenario = tmp_path / "markov.toml"
    root = Path(__file__).resolve().parents[1]
    scenario.write_text(
        'name = "Markov audit"\narea = "E08000025"\nhorizon = 10\nprice_year = "2023/24"\n'
        f'interventions_dir = "{root / "interventions"}"\nparameters_dir = "{root / "parameters"}"\n'
        '[[interventions]]\nid = "collaborative_care_ltc_markov"\n', encoding="utf-8")
    result = CliRunner().invoke(cli_main, ["audit", str(scenario), "--out", str(tmp_path / "a.xlsx")])
    assert result.exit_code == 0, result.output
    ws = load_workbook(tmp_path / "a.xlsx")["collaborative_care_ltc_markov"]
    assert any(c.value == "Markov model 1: depression_course" for c in ws["A"])



def test_the_markov_overlap_adjustment_is_noted_and_moves_the_values(recalculated):
    """In the default scenario perinatal depression's depressed-years overlap with workplace
    wellbeing's employee-years with a CMD: the engine's units are written (green) and every value of
    the Markov block keeps 1 - units / person-years avoided (the base case then equals the engine)."""
    _, _, books, _, _ = recalculated
    ws = books["base"]["perinatal_depression_markov"]
    rows = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}
    row = rows["overlap adjustment (value from the engine)"]
    assert str(ws.cell(row=row, column=2).value).startswith("overlap applies")
    assert sum(ws.cell(row=row, column=4 + y).value for y in range(10)) > 0
    kept = [ws.cell(row=rows["share of the model's values kept after the overlap"], column=4 + y).value
            for y in range(10)]
    # (a later year can give back a trace: collaborative care's depressed-years avoided turn slightly
    # negative as its usual-care arm catches up)
    assert all(0 < k < 1 + 1e-4 for k in kept) and min(kept) < 1 - 1e-3

