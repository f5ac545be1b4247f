"""The documentation site builds with Sphinx, warnings treated as errors, and has every page it
promises; and the test suite's end-of-run list of skipped tests (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "index", "getting_started",
    "howto/my_area", "howto/my_programmes", "howto/my_numbers_in_excel", "howto/who_should_pay",
    "howto/which_assumptions_matter", "howto/taking_it_to_the_board",
    "method", "evidence", "deprivation", "evidence_parts/deprivation", "local", "optimise", "national",
    "validation", "file_formats", "markov", "audit", "workspace",
    "api/index", "api/inputs", "api/model", "api/results", "api/analyses",
]

pytest_plugins = ("pytester",)


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'")
    out = tmp_path / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-E", "-b", "html",
                           str(ROOT / "docs"), str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for page in PAGES:
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api" / "inputs.html").read_text(encoding="utf-8")
    assert "find_library" in api and "recentre" in api  # autodoc ran
    evidence = (out / "evidence.html").read_text(encoding="utf-8")
    assert "Whole-school anti-bullying programme (KiVa)" in evidence
    assert "Parenting programme for children with conduct disorder" in evidence


def test_every_docs_page_is_in_the_list():
    sources = {str(p.relative_to(ROOT / "docs").with_suffix("")) for p in (ROOT / "docs").rglob("*")
               if p.suffix in (".md", ".rst") and "_build" not in p.parts}
    assert sources == set(PAGES)


def test_skipped_tests_are_listed_once_by_reason(pytester):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
                          .replace('TOY_DIR = Path(__file__).resolve().parent / "data" / "toy"',
                                   f'TOY_DIR = Path({str(ROOT / "tests" / "data" / "toy")!r})'))
    pytester.makepyfile(test_needs="""
        import pytest
        from conftest import PLATFORM_TOOLS, platform_tool
        PLATFORM_TOOLS["nothing"] = ("/no/such/program", "no-such-package", "this test")
        def test_one():
            platform_tool("nothing")
        def test_two():
            platform_tool("nothing")
        def test_runs():
            pass
    """)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    text = result.stdout.str()
    reason = ("2 skipped: nothing not found (/no/such/program), needed for this test: `make platform` "
              "installs Debian's no-such-package (needs root or sudo)")
    assert text.count(reason) == 1
    assert "test_needs.py::test_one" in text and "test_needs.py::test_two" in text
