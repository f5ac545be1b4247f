"""The workspace in a real browser: Debian's Chromium driven by Playwright for Python.

The server runs in a thread on a free loopback port (uvicorn); the browser is ``/usr/bin/chromium``
(``make platform`` installs it; Playwright's own browser download is never used). The test picks an
area by typing part of its name, changes a reach, runs, and checks that the headline and the sharing
table change and agree to the pound with ``roi-engine run`` on the scenario the page downloads; uploads
a workbook with a typo and sees its cell; downloads the results workbook and opens it with openpyxl;
and saves screenshots of the main states in ``docs/images/workspace_*.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

pytest.importorskip("starlette", reason="the workspace needs the 'web' extra")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")

from roi_engine.outputs.formatting import money  # noqa: E402
from roi_engine.workspace.app import create_app  # noqa: E402
from roi_engine.workspace.server import free_port  # noqa: E402

CHROMIUM = os.environ.get("ROI_ENGINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def server():
    """The workspace for the shipped default scenario, served by uvicorn on a free port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app("default"), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(300):
        if srv.started:
            break
        time.sleep(0.1)
    assert srv.started, "the workspace server did not start"
    yield f"http://127.0.0.1:{port}", config.app
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: run `make platform` (it installs Debian's chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    yield page
    context.close()


def table_rows(page, table_id: str) -> dict[str, list[str]]:
    rows = page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))")
    return {r[0]: r for r in rows}


def quick_run(page) -> float:
    """Press 'Quick run' and wait for the results and their charts; returns the seconds the browser
    waited (and keeps the time to the headline in ``TIMINGS['headline']``)."""
    start = time.perf_counter()
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("#run-quick")
    page.wait_for_selector("#headline-society")
    TIMINGS["headline"] = time.perf_counter() - start
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    return time.perf_counter() - start


def download(page, selector: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_pick_an_area_change_a_reach_run_and_agree_with_the_cli(server, page, tmp_path):
    url, _app = server
    page.goto(url + "/")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "workspace_form.png"))

    # type part of a name: the list offers the matching areas; pick Manchester from it
    page.fill("#area", "")
    page.type("#area", "manch")
    offered = page.eval_on_selector_all(
        "#area-list option", "(os, typed) => os.map(o => o.value)"
        ".filter(v => v.toLowerCase().includes('manch'))")
    assert "Manchester (E08000003)" in offered and "Birmingham (E08000025)" not in offered
    page.fill("#area", "Manchester (E08000003)")
    TIMINGS["first"] = quick_run(page)
    first_headline = page.text_content("#headline-society")
    first_sharing = table_rows(page, "table-sharing-rule")
    assert "Manchester" in page.text_content("#h-results")

    page.fill("#reach_kiva_anti_bullying", "0.25")
    TIMINGS["browser"] = quick_run(page)
    headline_seconds = TIMINGS["headline"]
    TIMINGS["server"] = float(page.text_content("#server-seconds"))
    print(f"\nworkspace quick run, 2,000 draws: server {TIMINGS['server']:.2f} s; browser: click to "
          f"headline {headline_seconds:.2f} s, to every chart loaded {TIMINGS['browser']:.2f} s; "
          f"first run {TIMINGS['first']:.2f} s")
    headline = page.text_content("#headline-society")
    sharing = table_rows(page, "table-sharing-rule")
    assert page.input_value("#reach_kiva_anti_bullying") == "0.25"
    assert headline != first_headline
    assert sharing["Total"][2] != first_sharing["Total"][2]
    page.screenshot(path=str(IMAGES / "workspace_results.png"))
    page.locator("#table-sharing-rule").screenshot(path=str(IMAGES / "workspace_sharing.png"))
    page.locator("#h-who-pays").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('h-who-pays').scrollIntoView()")
    page.screenshot(path=str(IMAGES / "workspace_who_pays.png"))

    # the same inputs, draws and seed through the command line
    toml = download(page, "#download-scenario", tmp_path)
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "roi_engine.cli", "run", str(toml), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "2,000 (LHS, seed 20261123)" in done.stdout
    report = (out / "report.html").read_text(encoding="utf-8")
    assert f'<p class="headline" id="headline-society">{headline}</p>' in report.replace("&#39;", "'")
    table = pd.read_csv(out / "cost_sharing.csv", index_col=0)
    labels = {"NHS": "nhs", "Total": "total"}
    for label, sector in labels.items():
        assert sharing[label][2] == money(table.loc[sector, "contribution_mean"])  # pays, to the pound
        assert sharing[label][5] == money(table.loc[sector, "net_rule_mean"])
    for sector, row in table.iterrows():
        if sector != "total" and abs(row["contribution_mean"]) > 0.5:
            assert money(row["contribution_mean"]) in done.stdout
            assert any(r[2] == money(row["contribution_mean"]) for r in sharing.values()), sector

    # the results workbook of what is on screen
    book = openpyxl.load_workbook(download(page, "#download-results", tmp_path))
    assert {"Summary", "Cost sharing"} <= set(book.sheetnames)
    assert any("Manchester" in str(c.value) for row in book["Summary"].iter_rows(max_row=8) for c in row)


def test_upload_a_workbook_with_a_typo_and_see_its_cell(server, page, tmp_path):
    url, _app = server
    page.goto(url + "/")
    quick_run(page)
    book_path = download(page, "#download-parameters", tmp_path)
    book = openpyxl.load_workbook(book_path)
    book["debt_advice"]["B2"].value = "0.o5"
    typo = tmp_path / "debt advice edited.xlsx"
    book.save(typo)
    page.set_input_files("#workbook", str(typo))
    with page.expect_navigation():
        page.click("#upload-button")
    row = page.locator("#error-table tbody tr").first
    assert row.locator(".error-where").text_content() == "debt advice edited.xlsx: debt_advice!B2"
    assert "'0.o5' is not a number" in row.locator(".error-message").text_content()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(IMAGES / "workspace_upload_error.png"))


def test_a_full_run_shows_progress_and_variants_compare(server, page):
    url, app = server
    page.goto(url + "/")
    page.fill("#reach_debt_advice", "0.1")
    with page.expect_navigation():
        page.click("#run-full")
    if page.locator("#job-progress").count():
        page.screenshot(path=str(IMAGES / "workspace_progress.png"))
    page.wait_for_selector("#headline-society", timeout=300_000)
    assert "10,000 draws" in page.text_content("#timing")
    page.fill("#variant-name", "debt advice 10%")
    with page.expect_navigation():
        page.click("#save-variant")
    page.fill("#reach_debt_advice", "0.05")
    quick_run(page)
    page.fill("#variant-name", "as planned")
    with page.expect_navigation():
        page.click("#save-variant")
    page.select_option("#compare-a", "debt advice 10%")
    page.select_option("#compare-b", "as planned")
    with page.expect_navigation():
        page.click("#compare-button")
    rows = table_rows(page, "table-compare")
    assert rows["Draws"][1:3] == ["10,000", "2,000"]
    assert rows["Cost (PV, base case)"][1] != rows["Cost (PV, base case)"][2]
    page.screenshot(path=str(IMAGES / "workspace_compare.png"), full_page=True)

