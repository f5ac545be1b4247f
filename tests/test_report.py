"""Tests for the HTML report (roi_engine.outputs.report), ending in a real headless browser.

The browser tests open ``report.html`` in Debian's chromium (``/usr/bin/chromium``, or the path in
``ROI_ENGINE_CHROMIUM``): ``--dump-dom`` shows whether every chart image decoded (an inline script writes
``data-loaded`` on ``<body>`` and ``data-natural-width`` on each chart at load), and ``--screenshot`` takes a
1280-pixel-wide picture of the page; ``--print-to-pdf`` prints it (A4, page count, no chart drawn on two
pages, no heading left at the foot of a page: read with pypdf), and a probe script measures it in a
400-pixel-wide frame (nothing falls off the side). Chromium is installed by ``make browser`` (``make test``
depends on it); if it is missing these tests FAIL, naming that target: they are never skipped.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import TOY_SCENARIO

from roi_engine.analyses.sharing import cost_sharing
from roi_engine.atomic import file_mode
from roi_engine.inputs.scenario import load_scenario
from roi_engine.outputs.deprivation_charts import DEPRIVATION_CHART_FILES, DEPRIVATION_CHART_IDS
from roi_engine.outputs.formatting import ratio
from roi_engine.outputs.report import (
    CHART_FILES,
    CHART_IDS,
    REPORT_FILE,
    chance,
    headline_sentences,
    money_short,
    write_report,
    year_text,
)
from roi_engine.results import run
from roi_engine.results.cube import PORTFOLIO

DRAWS = 400
CHROMIUM = os.environ.get("ROI_ENGINE_CHROMIUM", "/usr/bin/chromium")
BROWSER_TIMEOUT = 120  # seconds
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

# The toy area (Birmingham) is covered by the IMD table, so the page has the deprivation charts too,
# in this order: the three report charts, then who gains by deprivation and the equity plane.
REPORT_CHART_IDS = [*CHART_IDS.values(), DEPRIVATION_CHART_IDS["deprivation_share"],
                    DEPRIVATION_CHART_IDS["equity_plane"]]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy():
    scenario = load_scenario(TOY_SCENARIO).with_settings(draws=DRAWS)
    results = run(scenario)
    sharing = cost_sharing(results, "benefit_proportional")
    return scenario, results, sharing


@pytest.fixture(scope="module")
def report(toy, tmp_path_factory):
    scenario, results, sharing = toy
    out = tmp_path_factory.mktemp("report") / "out"
    html_path, pngs = write_report(out, results, sharing)
    return out, html_path, pngs, html_path.read_text(encoding="utf-8")


class Page(HTMLParser):
    """Collects what the tests look at, and checks that every non-void tag is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self.body: dict = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "img":
            self.images.append(attrs)
        if tag == "body":
            self.body = attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def text_of(page: Page) -> str:
    return re.sub(r"\s+", " ", " ".join(page.text))


# --- files ----------------------------------------------------------------------------------------


def test_writes_one_html_file_and_a_png_per_chart(report):
    out, html_path, pngs, _ = report
    assert html_path == out / REPORT_FILE
    assert [p.name for p in pngs] == [*CHART_FILES.values(), *DEPRIVATION_CHART_FILES.values()]
    for png in pngs:
        assert png.parent == out / "charts"
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert not leftovers, leftovers
    # readable like any ordinary new file (not mkstemp's 0600): the report is meant to be shared
    for path in (html_path, *pngs):
        assert stat.S_IMODE(path.stat().st_mode) == file_mode()


def test_a_failed_rewrite_keeps_the_old_page(toy, tmp_path, monkeypatch):
    import roi_engine.outputs.report as report_module

    _, results, sharing = toy
    html_path, _ = write_report(tmp_path, results, sharing)
    before = html_path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(report_module, "render_html", broken)
    with pytest.raises(RuntimeError, match="rendering failed"):
        write_report(tmp_path, results, sharing)
    assert html_path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.suffix == ".tmp"]


def test_page_is_self_contained_with_the_charts_embedded(report):
    _, _, pngs, text = report
    page = parse(text)
    assert not page.errors and not page.stack, (page.errors, page.stack)
    # no external stylesheet, script, font or image: nothing to fetch
    assert not [a for t, a in page.tags if t == "link"]
    assert all("src" not in a for t, a in page.tags if t == "script")
    assert "url(" not in text and "@import" not in text and "@font-face" not in text
    assert all(a["src"].startswith("data:image/png;base64,") for a in page.images)
    charts = {a["id"]: a for a in page.images if "chart" in a.get("class", "").split()}
    assert list(charts) == REPORT_CHART_IDS
    for png, chart in zip(pngs, charts.values(), strict=True):
        assert base64.b64decode(chart["src"].split(",", 1)[1]) == png.read_bytes()
        assert len(chart["alt"]) > 80  # a real description, with the numbers in it
    assert page.body.get("data-charts") == str(len(REPORT_CHART_IDS))


def test_headlines_say_what_every_pound_returns_and_how_sure_that_is(report, toy):
    _, results, _ = toy
    _, _, _, text = report
    words = text_of(parse(text))
    row = results.headline().loc[PORTFOLIO]
    society = (f"Every £1 invested returns {ratio(row['benefit_per_pound_base'])} to society over 6 years "
               f"(base case; 90% interval over draws {ratio(row['benefit_per_pound_p05'])} to "
               f"{ratio(row['benefit_per_pound_p95'])}); the chance it returns more than £1 is "
               f"{chance(row['p_benefit_per_pound_gt_1'])}.")
    assert society in words
    assert re.search(r"Every £1 invested returns £\d+\.\d\d to society over 6 years \(base case; 90% "
                     r"interval over draws £\d+\.\d\d to £\d+\.\d\d\); the chance it returns more than "
                     r"£1 is \d+%\.", words)
    purse = results.summary.value("benefit_per_pound_cash", "base_case", PORTFOLIO, "public")
    assert f"every £1 of public money returns {ratio(purse)}" in words
    sentences = headline_sentences(results)
    assert sentences[0] == society
    assert "cash returned to public budgets" in sentences[2] and sentences[2] in words
    # price year, currency and discounting are on the page
    for fragment in ("2023/24 prices", "GBP", "3.5%", "Green Book", "societal", "400 Monte Carlo draws",
                     "Birmingham (E08000025)", "year 0 = first year of delivery"):
        assert fragment in words, fragment


def test_public_purse_return_by_hand(toy):
    _, results, _ = toy
    sectors = list(results.sectors)
    public = [sectors.index(s) for s in ("nhs", "social_care", "local_authority", "education",
                                         "criminal_justice", "central_government")]
    pv = results.pv.sum(axis=1)  # portfolio: (n, S, K), kinds cost, fiscal, economic, social
    per_pound = pv[:, public, 1:3].sum(axis=(1, 2)) / pv[:, public, 0].sum(axis=1)
    s = results.summary
    assert np.isclose(s.value("benefit_per_pound_cash", "mean", PORTFOLIO, "public"), per_pound.mean())
    assert np.isclose(s.value("p_benefit_per_pound_cash_gt_1", "", PORTFOLIO, "public"),
                      np.mean(per_pound > 1))
    base = results.cube["pv_base"].sel(entity=PORTFOLIO).values
    assert np.isclose(s.value("benefit_per_pound_cash", "base_case", PORTFOLIO, "public"),
                      base[public, 1:3].sum() / base[public, 0].sum())


def test_cards_cost_sharing_table_how_to_read_and_attribution(report, toy):
    _, results, sharing = toy
    _, _, _, text = report
    page = parse(text)
    words = text_of(page)
    cards = [a for t, a in page.tags if t == "article" and "intervention-card" in a.get("class", "")]
    assert [c["data-entity"] for c in cards] == list(results.entities[:-1])
    for label in ("Cost", "Benefit per £1", "Chance of more than £1", "Payback", "Who pays", "Main gainer"):
        assert label in words
    assert "Toy programme for tests" in words
    assert "Local authority (other) (" in words  # who pays the toy programme
    # the cost-sharing tables: real column and row headers, one row per sector that pays or gains
    assert 'id="table-sharing-rule"' in text and 'id="table-sharing-modelled"' in text
    assert text.count('<th scope="col">') >= 15
    rule_table = text.split('id="table-sharing-rule"')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]*)</th>', rule_table)
    assert rows == ["NHS", "Local authority (other)", "Employers", "Individuals and families", "Total"]
    assert "benefit proportional" in words
    assert "How to read this" in words
    for fragment in ("Office for National Statistics", "Open Government Licence v3.0", "HM Treasury",
                     "9 parameters", "9 of them are labelled assumptions"):
        assert fragment in words, fragment
    assert sharing.rule.rule == "benefit_proportional"


def test_plain_english_helpers():
    assert money_short(1_816_429) == "£1.82m"
    assert money_short(14_600_000) == "£14.6m"
    assert money_short(-640_000) == "-£640k"
    assert money_short(85) == "£85.00"
    assert money_short(float("nan")) == "n/a"
    assert chance(1.0) == "over 99%" and chance(0.0) == "under 1%" and chance(0.953) == "95%"
    assert year_text(0.0, 6) == "year 0 (the 1st year)"
    assert year_text(2.0, 6) == "year 2 (the 3rd year)"
    assert year_text(float("inf"), 6) == "not within 6 years"
    assert year_text(float("nan"), 6) == "n/a (pays nothing)"


# --- the browser -------------------------------------------------------------------------------------


def chromium() -> str:
    """The chromium executable, or a test FAILURE saying how to install it (never a skip)."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if not path:
        pytest.fail(f"chromium not found at {CHROMIUM}: run `make browser` (it installs Debian's chromium "
                    "with apt-get), or set ROI_ENGINE_CHROMIUM to a Chromium/Chrome executable",
                    pytrace=False)
    return path


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars", *args,
               page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT,
                            env={**os.environ, "HOME": str(profile)})
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    return result


def test_missing_chromium_fails_naming_make_browser(monkeypatch, tmp_path):
    monkeypatch.setattr(f"{__name__}.CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pytest.fail.Exception, match="make browser"):
        chromium()


def test_every_chart_loads_in_a_headless_browser(report, tmp_path):
    _, html_path, _, _ = report
    result = browse(html_path, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom")
    dom = parse(result.stdout)
    assert dom.body.get("data-loaded") == str(len(REPORT_CHART_IDS)), dom.body
    charts = {a["id"]: a for a in dom.images if "chart" in a.get("class", "").split()}
    assert list(charts) == REPORT_CHART_IDS
    for chart_id, attrs in charts.items():
        assert int(attrs.get("data-natural-width", "0")) > 500, (chart_id, attrs.get("data-natural-width"))


def test_screenshot_at_1280_pixels_is_a_real_picture(report, tmp_path):
    from matplotlib import image

    _, html_path, _, _ = report
    shot = tmp_path / "report.png"
    browse(html_path, tmp_path / "profile", "--window-size=1280,2000", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 50_000
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    rgb = pixels[..., :3].reshape(-1, 3)
    assert rgb.std(axis=0).max() > 0.05  # not a single colour
    colours = np.unique(np.round(rgb[::7] * 255).astype(np.uint8), axis=0)
    assert len(colours) > 50  # text, the dark masthead, the charts' colours
    # the masthead is dark and the page below it is mostly white
    assert pixels[20, 640, :3].mean() < 0.2
    assert np.mean(pixels[400:, :, :3]) > 0.7
    if os.environ.get("ROI_ENGINE_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ROI_ENGINE_KEEP_SCREENSHOT"])


# --- print and phone width ------------------------------------------------------------------------

A4_POINTS = (595.3, 841.9)
MAX_PRINTED_PAGES = 10  # toy report with tornado, deprivation and NHS cost-per-QALY sections: 9 measured
NARROW = 400  # pixels: a phone held upright


@pytest.fixture(scope="module")
def report_with_sensitivity(toy, tmp_path_factory):
    """The toy report with a tornado section and chart, as `roi-engine sensitivity` adds them."""
    from roi_engine.outputs.sensitivity_report import run_sensitivity
    from roi_engine.outputs.sensitivity_sections import collect_sections

    scenario, results, sharing = toy
    out = tmp_path_factory.mktemp("printed") / "out"
    (out / "charts").mkdir(parents=True)
    _, table = run_sensitivity(scenario, "tornado", chart_dir=out / "charts")
    table.to_csv(out / "sensitivity_tornado.csv", index=False)
    html_path, _ = write_report(out, results, sharing, sensitivity=collect_sections(out))
    return html_path


class Headings(HTMLParser):
    """The text of every h2 and h3."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.open = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self.open = True
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self.open = False

    def handle_data(self, data):
        if self.open:
            self.headings[-1] += data


def printed_pages(pdf: Path):
    """Per page: its size, its text fragments as (height from the bottom, text), and a fingerprint of
    each image drawn on it."""
    import hashlib

    pypdf = pytest.importorskip("pypdf", reason="pypdf (a test extra: pip install -e '.[test]') reads "
                                "the printed PDF")
    pages = []
    for page in pypdf.PdfReader(pdf).pages:
        fragments = []

        def visit(text, cm, tm, font, size, fragments=fragments):
            if text.strip():
                fragments.append((tm[4] * cm[1] + tm[5] * cm[3] + cm[5], text.strip()))

        page.extract_text(visitor_text=visit)
        images = [hashlib.sha256(image.data).hexdigest() for image in page.images]
        pages.append((tuple(float(x) for x in page.mediabox[2:]), fragments, images))
    return pages


def test_prints_on_a4_without_cutting_a_chart_or_stranding_a_heading(report_with_sensitivity, tmp_path):
    html_path = report_with_sensitivity
    pdf = tmp_path / "report.pdf"
    browse(html_path, tmp_path / "profile", "--no-pdf-header-footer", "--virtual-time-budget=5000",
           f"--print-to-pdf={pdf}")
    pages = printed_pages(pdf)
    print(f"\nThe toy report (with a tornado section) prints on {len(pages)} A4 pages")
    assert 2 <= len(pages) <= MAX_PRINTED_PAGES, len(pages)
    for size, _, _ in pages:
        assert size == pytest.approx(A4_POINTS, abs=1.5)
    # every chart is drawn whole on one page: an image split by a page break is drawn on both pages
    charts = 1 + len(REPORT_CHART_IDS)  # the run's charts (deprivation included) and the tornado
    seen = [image for _, _, images in pages for image in images]
    assert len(set(seen)) == charts, (len(set(seen)), charts)
    assert len(seen) == charts, "a chart image is drawn on more than one page (cut by a page break)"
    # no heading is the last thing on its page
    parser = Headings()
    parser.feed(html_path.read_text(encoding="utf-8"))
    headings = [" ".join(h.split()) for h in parser.headings]
    assert "Which assumptions matter" in headings and len(headings) > 10
    for number, (_, fragments, _) in enumerate(pages[:-1], start=1):
        lowest = min(fragments)[1]
        stranded = [h for h in headings if h == lowest or (len(lowest) > 3 and h.endswith(lowest))]
        assert not stranded, f"page {number} ends with the heading {stranded[0]!r}"


PROBE = """<script>
window.addEventListener("load", function () {
  var width = document.documentElement.clientWidth, out = [], all = document.querySelectorAll("body *");
  for (var i = 0; i < all.length; i++) {
    var box = all[i].getBoundingClientRect(), up = all[i].parentElement, scrolls = false;
    for (; up; up = up.parentElement) {  // inside a box that scrolls sideways on purpose
      var overflow = getComputedStyle(up).overflowX;
      if (overflow === "auto" || overflow === "scroll") { scrolls = true; break; }
    }
    if (!scrolls && box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) {
      out.push(all[i].tagName + "#" + all[i].id + "." + all[i].className + " " + Math.round(box.left)
               + ".." + Math.round(box.right));
    }
  }
  var tiles = document.querySelectorAll(".keyfigure, .card");
  for (var j = 0; j < tiles.length; j++) {
    if (tiles[j].scrollWidth > tiles[j].clientWidth + 1) { out.push("content wider than " + tiles[j].id); }
  }
  window.parent.postMessage({scrollWidth: document.documentElement.scrollWidth, width: width,
                      tiles: tiles.length, overflowing: out}, "*");
});
</script>"""


def test_at_400_pixels_wide_nothing_falls_off_the_screen(report_with_sensitivity, tmp_path):
    """The page in a 400-pixel-wide frame (headless Chromium's window is at least 500 wide): no element
    reaches past the frame's edge outside a sideways-scrolling table, and no tile's content is wider than
    the tile. A probe script posts what it measured to the framing page, which --dump-dom prints."""
    import json

    html_path = report_with_sensitivity
    probe = html_path.parent / "probe.html"
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    frame = html_path.parent / "narrow.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe src="probe.html" '
        f'style="width:{NARROW}px;height:3000px;border:0"></iframe><script>window.addEventListener('
        '"message", function (e) { var p = document.createElement("pre"); p.id = "measured"; '
        "p.textContent = JSON.stringify(e.data); document.body.appendChild(p); });</script></body></html>",
        encoding="utf-8")
    result = browse(frame, tmp_path / "profile", "--window-size=1000,3000", "--virtual-time-budget=5000",
                    "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stdout[-1000:]
    measured = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                          .replace("&quot;", '"'))
    assert measured["width"] == NARROW
    assert measured["tiles"] >= 5  # four headline tiles and a programme card at least
    assert measured["scrollWidth"] <= NARROW, measured
    assert measured["overflowing"] == [], measured["overflowing"]
