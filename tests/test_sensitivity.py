"""Sensitivity analysis and value of information: known analytic answers through the real plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from roi_engine.analyses import sensitivity as sa
from roi_engine.analyses.scalar_outputs import Output, evaluator, parse_output
from roi_engine.analyses.voi import evpi, evppi, evppi_table
from roi_engine.cli import main
from roi_engine.inputs.distributions import build
from roi_engine.inputs.parameters import Parameter
from roi_engine.inputs.scenario import load_scenario
from roi_engine.model.evaluation import Model

TOY = Path(__file__).parent / "data" / "toy" / "scenarios" / "toy.toml"


def make_parameter(name: str, dist: str, params: tuple[float, ...], value: float) -> Parameter:
    return Parameter(name=name, value=value, distribution=build(dist, params), unit="unitless",
                     price_year=None, source="test", notes="", file="test", row=0)


def linear_problem():
    """Y = sum a_i X_i, X_i independent: S_i = a_i^2 Var(X_i) / sum_j a_j^2 Var(X_j), ST_i = S_i."""
    params = [
        make_parameter("x1", "normal", (1.0, 2.0), 1.0),
        make_parameter("x2", "uniform", (0.0, 6.0), 3.0),
        make_parameter("x3", "gamma", (4.0, 0.5), 2.0),
        make_parameter("fixed_one", "fixed", (), 5.0),
    ]
    a = np.array([1.0, 2.0, -3.0, 10.0])
    variances = np.array([4.0, 36.0 / 12.0, 4.0 * 0.25])
    shares = a[:3] ** 2 * variances / np.sum(a[:3] ** 2 * variances)
    return params, (lambda x: x @ a), shares


def test_sobol_recovers_analytic_indices_of_a_linear_model():
    params, evaluate, shares = linear_problem()
    result = sa.sobol(params, evaluate, 4096, seed=3)
    assert list(result.index) == ["x1", "x2", "x3"]  # the fixed parameter is not varied
    np.testing.assert_allclose(result["S1"], shares, atol=0.03)
    np.testing.assert_allclose(result["ST"], shares, atol=0.03)


def test_morris_mu_star_equals_the_elementary_effect_of_a_linear_model_in_uniform_inputs():
    widths = np.array([1.0, 4.0, 2.0])
    params = [make_parameter(f"u{i}", "uniform", (0.0, w), w / 2) for i, w in enumerate(widths)]
    a = np.array([3.0, -1.0, 0.5])
    result = sa.morris(params, lambda x: x @ a, 30, seed=1)
    low, high = sa.MORRIS_RANGE
    # One unit-space step of size delta moves u_i by width * (high - low) * delta: EE = a * width * 0.98.
    expected = np.abs(a) * widths * (high - low)
    np.testing.assert_allclose(result.loc[["u0", "u1", "u2"], "mu_star"], expected, rtol=1e-9)
    np.testing.assert_allclose(result["sigma"], 0, atol=1e-9)  # linear: no interactions
    assert list(result.index) == ["u1", "u0", "u2"]  # ranked by mu_star: 4, 3, 1


def test_delta_ranks_parameters_from_a_given_sample():
    params, evaluate, shares = linear_problem()
    rng = np.random.default_rng(5)
    x = sa.from_unit(rng.random((3000, 3)), params)
    result = sa.delta(params, x, evaluate(x), seed=2)
    assert result.index[0] == ["x1", "x2", "x3"][int(np.argmax(shares))]
    np.testing.assert_allclose(result.loc[["x1", "x2", "x3"], "S1"], shares, atol=0.06)


def test_tornado_uses_each_parameters_own_percentiles_and_ranks_by_swing():
    params, evaluate, _ = linear_problem()
    frame = sa.tornado(params, evaluate)
    row = frame.set_index("parameter").loc["x1"]
    assert row["low_value"] == pytest.approx(stats.norm(1, 2).ppf(0.05))
    assert row["swing"] == pytest.approx(abs(1.0) * (stats.norm(1, 2).ppf(0.95)
                                                     - stats.norm(1, 2).ppf(0.05)))
    assert list(frame["swing"]) == sorted(frame["swing"], reverse=True)
    assert frame["base"].iloc[0] == pytest.approx(evaluate(sa.base_point(params)[None, :])[0])


def test_switching_value_found_by_root_finding_or_reported_absent():
    params, evaluate, _ = linear_problem()
    base_y = float(evaluate(sa.base_point(params)[None, :])[0])
    frame = sa.switching_values(params, evaluate, threshold=base_y + 2.0).set_index("parameter")
    assert frame.loc["x1", "status"] == "switches"
    assert frame.loc["x1", "switching_value"] == pytest.approx(1.0 + 2.0, abs=1e-8)
    far = sa.switching_values(params, evaluate, threshold=base_y + 1e6).set_index("parameter")
    assert (far["status"] == "no switch within the plausible range").all()
    assert far["switching_value"].isna().all()


def expected_positive_part(mean: float, sd: float) -> float:
    """E[max(Z, 0)] - max(E[Z], 0) for Z ~ N(mean, sd)."""
    return mean * stats.norm.cdf(mean / sd) + sd * stats.norm.pdf(mean / sd) - max(mean, 0.0)


def test_evpi_and_regression_evppi_match_the_normal_closed_form():
    rng = np.random.default_rng(11)
    n = 100_000
    x1, x2 = rng.normal(100, 300, n), rng.normal(0, 200, n)
    nb = x1 + x2
    assert evpi(nb) == pytest.approx(expected_positive_part(100, np.hypot(300, 200)), rel=0.04)
    assert evppi(nb, x1) == pytest.approx(expected_positive_part(100, 300), rel=0.04)
    # E[NB | x2] = 100 + x2 ~ N(100, 200).
    assert evppi(nb, x2) == pytest.approx(expected_positive_part(100, 200), rel=0.04)
    table = evppi_table(nb, np.column_stack([x1, x2]), ["x1", "x2"],
                        {"x1": ["x1"], "both": ["x1", "x2"]})
    assert table.iloc[0]["evppi"] <= table.iloc[0]["evpi"] + 1e-9
    assert table.set_index("group").loc["both", "evppi"] == pytest.approx(evpi(nb), rel=1e-6)


def test_evppi_of_a_nonlinear_function_of_one_parameter():
    rng = np.random.default_rng(2)
    phi = rng.normal(0, 1, 200_000)
    nb = phi**2 - 1.2 + rng.normal(0, 0.5, phi.size)
    # E[NB | phi] = phi^2 - 1.2; E[max(phi^2 - 1.2, 0)] by numerical integration.
    grid = np.linspace(-8, 8, 400_001)
    exact = np.trapezoid(np.maximum(grid**2 - 1.2, 0) * stats.norm.pdf(grid), grid) - max(1 - 1.2, 0)
    assert evppi(nb, phi) == pytest.approx(exact, rel=0.03)


def test_outputs_parse_and_evaluate_on_the_toy_scenario():
    model = Model(load_scenario(TOY))
    out = parse_output("net:nhs@toy_programme", model)
    assert out == Output("net", "toy_programme", "nhs")
    x = model.sample(50)
    f = evaluator(model, Output("npv"), chunk_size=17)
    total = f(x)
    per_sector = sum(evaluator(model, Output("net", sector=s), chunk_size=17)(x)
                     for s in model.scenario.sectors.names)
    np.testing.assert_allclose(total, per_sector, rtol=1e-12)
    for bad in ("npvv", "net", "npv:nhs", "net:nhz", "npv@nothing"):
        with pytest.raises(Exception, match="--output"):
            parse_output(bad, model)


@pytest.mark.parametrize("method", ["tornado", "switching", "sobol", "morris", "delta", "evppi"])
def test_cli_sensitivity_methods_write_their_table(tmp_path, method):
    runner = CliRunner()
    result = runner.invoke(main, ["sensitivity", str(TOY), "--method", method, "--n", "64",
                                  "--draws", "600", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Birmingham" in result.output and "2023/24" in result.output
    table = tmp_path / f"sensitivity_{method}.csv"
    assert table.exists() and len(table.read_text().splitlines()) > 2
    if method == "tornado":
        chart = tmp_path / "charts" / "tornado.png"
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_cli_sensitivity_bad_output_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["sensitivity", str(TOY), "--output", "roi",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown output 'roi'" in result.output


def test_sensitivity_results_are_added_to_an_existing_workbook_and_report(tmp_path):
    import openpyxl

    runner = CliRunner()
    assert runner.invoke(main, ["run", str(TOY), "--draws", "300", "--out", str(tmp_path)]).exit_code == 0
    before = openpyxl.load_workbook(tmp_path / "report.xlsx").sheetnames
    assert "Sensitivity" not in before
    for method in ("tornado", "switching"):
        result = runner.invoke(main, ["sensitivity", str(TOY), "--method", method, "--draws", "300",
                                      "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == [*before, "Sensitivity"]
    titles = [row[0].value for row in book["Sensitivity"].iter_rows() if row[0].value]
    assert "One-way sensitivity (tornado)" in titles and "Switching values" in titles
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Which assumptions matter" in page and 'id="chart-tornado"' in page
    assert 'data-charts="6"' in page  # the three report charts, two on deprivation and the tornado


def test_sensitivity_without_a_report_writes_only_its_own_files(tmp_path):
    result = CliRunner().invoke(main, ["sensitivity", str(TOY), "--method", "tornado", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charts", "sensitivity_tornado.csv"]
