"""The workspace (``roi-engine serve``) without a browser: Starlette's test client against the app.

Runs the form at 2,000 draws on the shipped default scenario, and checks what must never happen: an
upload past the limit read whole, a file name used as a path, a typed script reaching the page as
markup, a traceback in a page.
"""

from __future__ import annotations

import io
import re
import tempfile
import time
import tomllib
from html import unescape
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="the workspace needs the 'web' extra")
from starlette.testclient import TestClient  # noqa: E402

from roi_engine.analyses.sharing import cost_sharing  # noqa: E402
from roi_engine.cli import main  # noqa: E402
from roi_engine.inputs.scenario import load_scenario_data  # noqa: E402
from roi_engine.outputs.formatting import money  # noqa: E402
from roi_engine.results import run as run_model  # noqa: E402
from roi_engine.workspace.app import MAX_UPLOAD_BYTES, create_app, shown_name  # noqa: E402
from roi_engine.workspace.form import toml_text  # noqa: E402


@pytest.fixture(scope="module")
def app():
    return create_app("default")


@pytest.fixture
def client(app):
    return TestClient(app, raise_server_exceptions=False)


def form_fields(app, **changes) -> dict:
    """The form as the page shows it for the default scenario, with ``changes``."""
    form = app.state.workspace.form
    fields = {"area": form.area, "horizon": form.horizon, "perspective": form.perspective,
              "qaly_value": form.qaly_value, "rule": form.rule, "shares": form.shares, "mode": "quick",
              "contributors": list(form.contributors)}
    for p in form.programmes:
        if p.on:
            fields[f"on_{p.id}"] = "1"
        fields[f"reach_{p.id}"], fields[f"uptake_{p.id}"] = p.reach, p.uptake
        fields[f"years_{p.id}"] = p.years
    fields.update(changes)
    return fields


def run_form(client, app, **changes):
    response = client.post("/run", data=form_fields(app, **changes), follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    token = re.search(r"run=([\w-]+)", response.headers["location"]).group(1)
    return token, client.get(response.headers["location"])


def cell_texts(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


def errors_of(html: str) -> list[list[str]]:
    return cell_texts(html, "error-table")[1:]


def test_a_quick_run_shows_the_library_s_numbers_for_the_same_scenario(app, client):
    token, page = run_form(client, app, **{"reach_kiva_anti_bullying": "0.25"})
    assert page.status_code == 200
    run = app.state.workspace.store.run(token)
    assert run.results.info.draws == 2000
    assert run.data["interventions"][0] == {"id": "kiva_anti_bullying", "reach": 0.25,
                                            "delivery_years": [0, 1, 2, 3]}
    # the same scenario dict, validated and run by the library directly, gives the page's figures
    again = load_scenario_data(run.data, path=app.state.workspace.path)
    results = run_model(again)
    sharing = cost_sharing(results, results.sharing_rule)
    rows = {r[0]: r for r in cell_texts(page.text, "table-sharing-rule")[1:]}
    assert rows["Total"][2] == money(sharing.table.loc["total", "contribution_mean"])
    assert rows["NHS"][2] == money(sharing.table.loc["nhs", "contribution_mean"])
    bcr = results.headline().loc["portfolio", "benefit_per_pound_base"]
    assert f"returns £{bcr:,.2f}" in unescape(page.text)
    for heading in ("Who pays and who gains", "When it pays back", "A fair split of the cost",
                    "Outcomes in natural units", "Local and national inputs", "Who gains by deprivation"):
        assert heading in unescape(page.text)
    for key in ("who_pays", "cumulative", "distribution", "deprivation_share"):
        image = client.get(f"/runs/{token}/charts/{key}.png")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_the_scenario_toml_on_screen_reads_back_as_the_same_scenario(app, client):
    token, _ = run_form(client, app, perspective="public_sector", qaly_value="nice_20k",
                        rule="agreed", shares="nhs=0.6, local_authority=0.4",
                        contributors=["nhs", "local_authority"])
    run = app.state.workspace.store.run(token)
    text = client.get(f"/runs/{token}/download/scenario.toml").text
    assert tomllib.loads(text) == run.data
    assert run.data["sharing"] == {"rule": "agreed", "contributors": ["nhs", "local_authority"],
                                   "shares": {"nhs": 0.6, "local_authority": 0.4}}
    hostile = {"name": 'say "hi"\n\t\\ [x] # not a comment', "draws": 5, "f": 0.1, "b": True,
               "interventions": [{"id": "a", "delivery_years": [0, 1]}], "sharing": {"rule": "as_modelled"}}
    assert tomllib.loads(toml_text(hostile, comment="two\nlines")) == hostile


def test_an_unknown_area_is_one_line_in_the_page(app, client):
    response = client.post("/run", data=form_fields(app, area="Atlantis"))
    assert response.status_code == 400
    (row,) = errors_of(response.text)
    assert row[0] == "area" and "Atlantis" in row[1] and "\n" not in row[1]
    assert "Traceback" not in response.text
    assert 'value="Atlantis"' in response.text  # the form comes back as typed


def test_a_partial_name_that_fits_one_area_is_that_area_and_an_ambiguous_one_says_which(app, client):
    token, _ = run_form(client, app, area="Birmingham (E08000025)")
    assert app.state.workspace.store.run(token).data["area"] == "E08000025"
    response = client.post("/run", data=form_fields(app, area="manch"))
    (row,) = errors_of(response.text)
    assert "Manchester (E08000003)" in row[2]


def test_a_scenario_moved_to_another_area_is_renamed_for_it(app, client):
    token, page = run_form(client, app, area="Manchester (E08000003)")
    run = app.state.workspace.store.run(token)
    assert run.data["name"] == "Manchester prevention portfolio, 2024-2027"
    assert "Birmingham" not in run.data["description"] and not run.warnings
    assert "Manchester prevention portfolio" in page.text


def test_a_bad_reach_names_the_programme(app, client):
    response = client.post("/run", data=form_fields(app, reach_debt_advice="lots"))
    assert response.status_code == 400
    (row,) = errors_of(response.text)
    assert row[:2] == ["debt_advice: reach", "'lots' is not a number"]
    # a decimal comma is an error with the project's hint, never read as 5 (the one strict parser)
    response = client.post("/run", data=form_fields(app, reach_debt_advice="0,5"))
    assert response.status_code == 400
    (row,) = errors_of(response.text)
    assert row[:2] == ["debt_advice: reach", "'0,5' is not a number"] and "write 0.5, not 0,5" in row[2]
    response = client.post("/run", data=form_fields(app, years_debt_advice="0, 40"))
    (row,) = errors_of(response.text)
    assert row[0] == "debt_advice: delivery years" and "outside the horizon" in row[1]


def test_a_script_typed_anywhere_comes_back_as_text(app, client):
    script = "<script>alert('x')</script>"
    response = client.post("/run", data=form_fields(app, area=script, qaly_value=script))
    assert response.status_code == 400
    assert script not in response.text and "&lt;script&gt;" in response.text
    token, _ = run_form(client, app)
    client.post(f"/runs/{token}/save", data={"name": script})
    client.post(f"/runs/{token}/save", data={"name": "plain"})
    page = client.get(f"/?run={token}").text
    assert script not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    compared = client.get("/compare", params={"a": script, "b": "plain"})
    assert compared.status_code == 200 and script not in compared.text


def test_an_upload_past_the_limit_is_refused_before_it_is_read_whole(app, client):
    big = b"x" * (MAX_UPLOAD_BYTES + 1)
    response = client.post("/upload", files={"workbook": ("big.xlsx", big)})
    assert response.status_code == 413
    (row,) = errors_of(response.text)
    assert row[0] == "upload" and "larger than 10 MB" in row[1]

    def chunks():  # no Content-Length: counted while reading
        for _ in range(11):
            yield b"y" * 2**20

    response = client.post("/upload", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 413


def test_a_hostile_file_name_is_shown_never_used_as_a_path(app, client, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = "../../../../tmp/evil<script>alert(1)</script>.xlsx"
    response = client.post("/upload", files={"workbook": (name, b"name,value\nnot,a workbook\n")})
    assert response.status_code == 400
    (row,) = errors_of(response.text)
    assert row[0] == "script_.xlsx"  # the last part of the name, '>' replaced
    assert "text file" in row[1]
    assert "<script>alert(1)" not in response.text and str(tmp_path) not in response.text
    assert not Path("/tmp/evil<script>alert(1)</script>.xlsx").exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone
    assert shown_name("C:\\Users\\me\\Desktop\\my book.xlsx") == "my book.xlsx"


def test_an_edited_workbook_with_a_typo_is_shown_at_its_cell_then_a_good_one_runs(app, client):
    token, _ = run_form(client, app)
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/runs/{token}/download/parameters.xlsx").content))
    assert "Scenario" in book.sheetnames
    sheet = book["kiva_anti_bullying"]
    assert sheet["A1"].value == "name" and sheet["B1"].value == "value"
    good = io.BytesIO()
    sheet["B2"].value = float(sheet["B2"].value)
    draws = next(r for r in book["Scenario"].iter_rows(max_col=2) if r[0].value == "draws")[1]
    assert draws.value == 2000  # the run on screen
    draws.value = 12000
    book.save(good)
    sheet["B2"].value = "0.l5"
    bad = io.BytesIO()
    book.save(bad)
    response = client.post("/upload", files={"workbook": ("board pack.xlsx", bad.getvalue())},
                           data={"from": token})
    assert response.status_code == 400
    (row,) = errors_of(response.text)
    assert row[0] == "board pack.xlsx: kiva_anti_bullying!B2"
    assert "'0.l5' is not a number" in row[1]
    response = client.post("/upload", files={"workbook": ("board pack.xlsx", good.getvalue())},
                           follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "board pack.xlsx" in page and 'name="use_workbook"' in page
    assert "Full run (12,000 draws" in page  # the workbook's own draw count; run at 2,000 first
    assert "2,000 draws, computed in" in page


def test_downloads_are_what_the_cli_writes(app, client):
    token, _ = run_form(client, app)
    report = client.get(f"/runs/{token}/download/report.html")
    assert report.status_code == 200 and 'id="headline-society"' in report.text
    assert "attachment" in report.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/runs/{token}/download/results.xlsx").content))
    assert {"Summary", "Cost sharing"} <= set(book.sheetnames)
    assert client.get(f"/runs/{token}/download/../../etc/passwd").status_code == 404
    assert client.get("/runs/nope/download/report.html").status_code == 404


def test_a_full_run_is_a_job_with_progress(tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text('name = "Leeds small"\narea = "E08000035"\nhorizon = 5\nprice_year = "2023/24"\n'
                        'draws = 3000\n[[interventions]]\nid = "debt_advice"\n', encoding="utf-8")
    app = create_app(scenario)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post("/run", data=form_fields(app, mode="full"), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/jobs/")
    job = app.state.workspace.store.job(response.headers["location"].rsplit("/", 1)[1])
    page = client.get(response.headers["location"], follow_redirects=False)
    if page.status_code == 200:
        assert "<progress" in page.text and 'http-equiv="refresh"' in page.text
    for _ in range(600):
        if job.state != "running":
            break
        time.sleep(0.1)
    assert job.state == "done" and job.done == 3000
    page = client.get(response.headers["location"])
    assert "3,000 draws" in page.text and 'id="headline-society"' in page.text


def test_something_unexpected_is_a_plain_page_without_a_traceback(app, client, monkeypatch):
    def broken(results):
        raise RuntimeError("secret internals /home/x/y.py")

    monkeypatch.setattr("roi_engine.workspace.views.who_pays_table", broken)
    response = client.post("/run", data=form_fields(app), follow_redirects=True)
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_serve_warns_off_loopback_and_prints_the_url(monkeypatch):
    served = {}
    monkeypatch.setattr("roi_engine.workspace.server.serve", lambda app, host, port: served.update(
        host=host, port=port))
    result = CliRunner().invoke(main, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output and "warning" not in result.output
    assert served == {"host": "127.0.0.1", "port": 8123}
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8124"])
    assert result.exit_code == 0 and "warning: listening on 0.0.0.0" in result.output
    result = CliRunner().invoke(main, ["serve", "no-such-scenario"])
    assert result.exit_code == 2 and "file not found" in result.output


def test_only_the_loopback_host_names_are_answered_when_asked():
    app = create_app("default", allowed_hosts=["127.0.0.1", "localhost"])
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://evil.example:8765").get("/").status_code == 400


def test_serve_a_parameter_workbook_runs_on_its_parameters(tmp_path):
    book = tmp_path / "leeds.xlsx"
    result = CliRunner().invoke(main, ["params", "export", "--out", str(book), "--scenario", "default"])
    assert result.exit_code == 0, result.output
    app = create_app(book)
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/").text
    assert 'name="use_workbook" value="1" checked' in page and "leeds.xlsx" in page
    workbook_token = re.search(r'name="workbook" value="([\w-]+)"', page).group(1)
    token, page = run_form(client, app, use_workbook="1", workbook=workbook_token)
    run = app.state.workspace.store.run(token)
    assert run.workbook is not None and run.workbook_name == "leeds.xlsx"
    assert "parameters from the workbook" in page.text
