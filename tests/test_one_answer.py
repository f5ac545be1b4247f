"""One answer: the same figure in every output, whatever the chunk size, from a saved run.

Each test here failed on the first version (positional results recomputed by every table): chunk size
changed the numbers, the CSVs and the sharing table disagreed on payback, ``sobol(seed=0)`` was not
reproducible, ``sensitivity`` rewrote another run's folder, and the report said overlap was never
modelled.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TOY_SCENARIO, replace_in_file

from roi_engine.analyses import sensitivity as sa
from roi_engine.cli import main
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model, simulate
from roi_engine.outputs.formatting import year
from roi_engine.results import PORTFOLIO, Results, run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.toml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def default_scenario():
    return load_scenario(DEFAULT).with_settings(draws=1500)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("one-answer") / "run"
    result = invoke("run", DEFAULT, "--draws", "1500", "--seed", "11", "--out", out, "-q")
    assert result.exit_code == 0, (result.output, result.stderr)
    return result, out


# --- chunking never changes a number --------------------------------------------------------------


def test_same_seed_same_numbers_whatever_the_chunk_size(default_scenario):
    # 1499 leaves a one-draw last chunk (a one-row matrix product takes another BLAS path)
    runs = [simulate(default_scenario.with_settings(chunk_size=size))[1]
            for size in (1500, 400, 333, 1499)]
    for field in runs[0]:
        for other in runs[1:]:
            np.testing.assert_array_equal(runs[0][field], other[field], err_msg=field)


def test_tables_do_not_move_with_the_chunk_size(toy_scenario):
    frames = [run(toy_scenario.with_settings(draws=2500, chunk_size=size)).tidy()
              for size in (2500, 1000, 64)]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)


def test_latin_hypercube_covers_every_draw_of_a_run(toy_scenario):
    """Each parameter's draws fall one to a stratum over the whole run (not per chunk)."""
    n = 1000
    model = Model(toy_scenario.with_settings(draws=n, chunk_size=128))
    x = np.concatenate([model.draws(s, min(s + 128, n), n) for s in range(0, n, 128)])
    for j, p in enumerate(model.parameters):
        if p.distribution.frozen is None:
            continue
        u = p.distribution.frozen.cdf(x[:, j])
        counts = np.bincount(np.minimum((u * n).astype(int), n - 1), minlength=n)
        assert counts.max() == 1, p.name


def test_sobol_with_seed_zero_is_reproducible(toy_scenario):
    model = Model(toy_scenario)
    from roi_engine.analyses.scalar_outputs import Output, evaluator

    f = evaluator(model, Output("npv"))
    a = sa.sobol(model.parameters, f, 64, seed=0)
    b = sa.sobol(model.parameters, f, 64, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(sa.sobol(model.parameters, f, 64, seed=1))


# --- one payback figure everywhere ------------------------------------------------------------------


def _words(value) -> str:
    """A payback cell from any output, in the terminal's words."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("inf", "never", "not within the horizon") or text.startswith("not within"):
            return "never"
        if text.startswith("n/a") or text in ("", "nan"):
            return "n/a"
        match = re.match(r"year (\d+)", text)
        if match:
            return f"year {match.group(1)}"
        return _words(float(text))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "never" if math.isinf(value) else f"year {float(value):.0f}"


def test_one_payback_figure_in_every_output(default_run):
    result, out = default_run
    results = Results.load(out)
    s = results.summary
    horizon = results.info.horizon
    headline = pd.read_csv(out / "headline.csv").set_index("entity")
    tidy = pd.read_csv(out / "summary.csv")
    by_sector = pd.read_csv(out / "by_sector.csv").set_index(["entity", "sector"])
    sharing = pd.read_csv(out / "cost_sharing.csv").set_index("sector")
    wb = openpyxl.load_workbook(out / "report.xlsx")
    html = (out / "report.html").read_text(encoding="utf-8")
    terminal = result.stdout

    def by_code(ws, code_label: str, figure: str) -> dict:
        """A transposed workbook table (a column per entity or sector, codes in the ``code_label`` row):
        code -> the cell in the row ``figure``."""
        rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
        codes, wanted = rows[code_label], next(r for r in range(rows[code_label], ws.max_row + 1)
                                               if ws.cell(r, 1).value == figure)
        return {ws.cell(codes, c).value: ws.cell(wanted, c).value for c in range(2, ws.max_column + 1)
                if ws.cell(codes, c).value is not None}

    in_workbook = by_code(wb["Summary"], "Programme code (in the scenario file)", "Payback year (base case)")
    for entity in results.entities:
        want = _words(s.payback(entity, statistic="base_case"))
        assert _words(headline.loc[entity, "payback_year_base"]) == want, entity
        row = tidy[(tidy.entity == entity) & (tidy.sector == "all") & (tidy.metric == "payback_year")
                   & (tidy.statistic == "base_case")]
        assert _words(row["value"].iloc[0]) == want, entity
        assert _words(in_workbook[entity]) == want, entity
        line = next(line for line in terminal.splitlines() if line.startswith(entity + " "))
        assert want.replace("never", f"not within {horizon} years") in line, (entity, line)
        if entity != PORTFOLIO:
            card = html[html.index(f'id="card-{entity}"'):]
            card = card[:card.index("</article>")]
            shown = re.search(r"<dt>Payback</dt><dd>([^<;]*)", card).group(1)
            assert _words(shown) == want, (entity, shown)
        for sector in results.sectors:  # cash payback by sector: median over draws
            want_sector = _words(s.payback(entity, sector, cash=True, statistic="median"))
            assert _words(by_sector.loc[(entity, sector), "payback_year_cash_median"]) == want_sector
    in_sharing_ws = by_code(wb["Cost sharing"], "Sector code", "Cash payback year (median over draws)")
    for sector in results.sectors:
        want = _words(s.payback(PORTFOLIO, sector, cash=True, statistic="median"))
        assert _words(sharing.loc[sector, "payback_year_cash_median"]) == want, sector
        assert _words(in_sharing_ws[sector]) == want, sector
        assert _words(year(by_sector.loc[(PORTFOLIO, sector), "payback_year_cash_median"])) == want


def test_headline_states_the_payback_basis_with_the_cash_line(default_run):
    _, out = default_run
    html = (out / "report.html").read_text(encoding="utf-8")
    sentence = re.search(r'id="headline-payback">([^<]*)<', html).group(1)
    assert "counting health and wellbeing value" in sentence
    assert "cash returned to public budgets" in sentence
    assert "base case" in sentence


def test_base_case_and_mean_are_never_mixed_in_a_row(default_run):
    _, out = default_run
    head = pd.read_csv(out / "headline.csv").set_index("entity")
    np.testing.assert_allclose(head["npv_base"], head["pv_benefits_base"] - head["pv_costs_base"], rtol=1e-12)
    np.testing.assert_allclose(head["npv_mean"], head["pv_benefits_mean"] - head["pv_costs_mean"], rtol=1e-9)


def test_people_reached_and_participant_years_are_separate(default_run):
    _, out = default_run
    outcomes = pd.read_csv(out / "outcomes.csv")
    kiva = outcomes[outcomes.entity == "kiva_anti_bullying"].set_index("outcome")
    years, people = kiva.loc["participant_years", "base_case"], kiva.loc["people_reached", "base_case"]
    # Years 3-6 each year for four years: 7 birth cohorts of a quarter of the band, not 16.
    assert people == pytest.approx(years * 7 / 16)


# --- the saved run ------------------------------------------------------------------------------------


def test_run_saves_the_cube_and_a_manifest(default_run):
    _, out = default_run
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["seed"] == 11 and manifest["draws"] == 1500
    assert len(manifest["scenario_sha256"]) == 64
    assert set(manifest["files"]) >= {"results.nc", "report.html", "report.xlsx", "draws.csv"}
    cube = Results.load(out).cube
    assert cube.attrs["price_year"] == "2023/24" and cube["pv"].dims == ("draw", "entity", "sector", "kind")


def test_report_re_renders_a_saved_run_identically(default_run, tmp_path):
    _, out = default_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    result = invoke("report", copy)
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").read_bytes() == (out / "report.html").read_bytes()


def test_run_refuses_a_folder_holding_another_run(default_run):
    _, out = default_run
    result = invoke("run", TOY_SCENARIO, "--draws", "50", "--out", out)
    assert result.exit_code == 2
    assert "--overwrite" in result.stderr and len(result.stderr.splitlines()) == 1


def test_overwrite_replaces_a_run_whole(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", TOY_SCENARIO, "--draws", "60", "--out", out, "-q").exit_code == 0
    assert invoke("run", TOY_SCENARIO, "--draws", "70", "--out", out, "-q", "--overwrite").exit_code == 0
    assert json.loads((out / "run.json").read_text())["draws"] == 70
    assert len(pd.read_csv(out / "draws.csv")) == 70 * 2
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "temporary folders left behind"


@pytest.mark.parametrize("step", ["write_page", "write_sharing_and_workbook", "write_tables"])
def test_a_failed_run_leaves_no_folder_that_looks_complete(tmp_path, monkeypatch, step):
    import roi_engine.outputs.run_folder as run_folder

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_folder, step, broken)  # the page is drawn in a forked process, the rest here
    out = tmp_path / "run"
    result = invoke("run", TOY_SCENARIO, "--draws", "50", "--out", out, "-q")
    assert result.exit_code == 2 and "No space left" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_an_incomplete_folder(tmp_path):
    (tmp_path / "summary.csv").write_text("x\n")
    result = invoke("report", tmp_path)
    assert result.exit_code == 2 and "not a complete run folder" in result.stderr


def test_sensitivity_refuses_a_run_with_other_draws(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", TOY_SCENARIO, "--draws", "300", "--seed", "5", "--out", out, "-q").exit_code == 0
    before = (out / "draws.csv").read_bytes()
    result = invoke("sensitivity", TOY_SCENARIO, "--method", "tornado", "--draws", "200", "--out", out)
    assert result.exit_code == 2 and "another run" in result.stderr, result.stderr
    assert (out / "draws.csv").read_bytes() == before
    assert not (out / "sensitivity_tornado.csv").exists()


def test_sensitivity_adds_to_its_own_run_consistently(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", TOY_SCENARIO, "--draws", "300", "--seed", "5", "--out", out, "-q").exit_code == 0
    before = {name: (out / name).read_bytes() for name in ("draws.csv", "summary.csv", "results.nc")}
    result = invoke("sensitivity", TOY_SCENARIO, "--method", "tornado", "--draws", "300", "--seed", "5",
                    "--out", out)
    assert result.exit_code == 0, result.stderr
    for name, content in before.items():
        assert (out / name).read_bytes() == content, name
    assert "Which assumptions matter" in (out / "report.html").read_text(encoding="utf-8")


def test_sensitivity_without_out_writes_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("sensitivity", TOY_SCENARIO, "--method", "tornado", "--draws", "100")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "results" / "toy-sensitivity" / "sensitivity_tornado.csv").exists()
    help_text = " ".join(invoke("sensitivity", "--help").output.split())
    assert "(default: results/<scenario name>-sensitivity)" in help_text


@pytest.mark.parametrize("command", ["run", "sensitivity", "optimise", "national"])
def test_each_commands_help_names_the_folder_it_writes_by_default(command):
    suffix = {"run": "", "sensitivity": "-sensitivity", "optimise": "-optimise", "national": "-national"}
    help_text = " ".join(invoke(command, "--help").output.split())
    assert f"(default: results/<scenario name>{suffix[command]})" in help_text


# --- the page says what was done, and escapes what users wrote ----------------------------------------


def test_overlap_sentence_matches_whether_overlap_was_applied(default_run, tmp_path):
    _, out = default_run
    results = Results.load(out)
    html = (out / "report.html").read_text(encoding="utf-8")
    if results.overlap_applied:
        assert "double count is removed" in html
    else:
        assert "the portfolio is the sum of the programmes" in html
        assert "not modelled" not in html


def test_user_text_reaches_the_page_escaped(toy_copy, tmp_path):
    attack = "<script>alert(1)</script>"
    scenario = toy_copy / "scenarios" / "toy.toml"
    text = scenario.read_text(encoding="utf-8")
    text = re.sub(r'^name = "[^"]*"', f'name = "{attack}"', text, count=1, flags=re.M)
    scenario.write_text(text, encoding="utf-8")
    programme = toy_copy / "interventions" / "toy_programme.toml"
    text = programme.read_text(encoding="utf-8")
    text = re.sub(r'^name = "[^"]*"', f'name = "Toy {attack}"', text, count=1, flags=re.M)
    programme.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", scenario, "--draws", "50", "--out", out, "-q")
    assert result.exit_code == 0, result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert attack not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


__all__ = ["replace_in_file"]


def test_user_text_in_the_results_workbook_is_never_a_formula(toy_copy, tmp_path):
    programme = toy_copy / "interventions" / "toy_programme.toml"
    text = programme.read_text(encoding="utf-8")
    text = re.sub(r'^name = "[^"]*"', 'name = "=HYPERLINK(\\\\"http://example.invalid\\\\")"', text,
                  count=1, flags=re.M)
    programme.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", toy_copy / "scenarios" / "toy.toml", "--draws", "50", "--out", out, "-q")
    assert result.exit_code == 0, result.stderr
    wb = openpyxl.load_workbook(out / "report.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells, "the name should appear in the workbook"
    assert all(c.data_type == "s" for c in cells)
