"""Every parameter names where a reader can find its number: a DOI or URL, or says it is an assumption.

Press copies and document-sharing sites (pressreader, scribd, 1library, businessdocbox, yumpu, ...) are
allowed only where the primary publication was unreachable, and then each such link is marked
``[press copy]`` or ``[document-sharing copy]`` so that a reader knows it is not the publisher's text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roi_engine.inputs.parameters import ParameterRegistry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ParameterRegistry.from_dir(ROOT / "parameters")

LINK = re.compile(r"https?://|doi\.org/|\b10\.\d{4,}/", re.IGNORECASE)
COPY_SITES = ("pressreader", "scribd", "1library", "businessdocbox", "yumpu", "vdocuments", "fdocuments",
              "docplayer", "readkong", "distantreader")
COPY_LINK = re.compile(r"(\[(?:press|document-sharing) copy\] )?(https?://(?:www\.)?(?:"
                       + "|".join(COPY_SITES) + r")\.[^\s;,)]*)", re.IGNORECASE)


def test_every_sourced_parameter_gives_a_doi_or_url():
    missing = [f"{p.name} ({p.location})" for p in REGISTRY.values()
               if not p.is_assumption and not LINK.search(p.source)]
    assert not missing, "sources without a DOI or URL: " + "; ".join(missing)


def test_press_and_document_sharing_copies_are_marked():
    unmarked = [f"{p.name}: {m.group(2)}" for p in REGISTRY.values()
                for m in COPY_LINK.finditer(p.source) if m.group(1) is None]
    assert not unmarked, "unmarked press or document-sharing copies: " + "; ".join(unmarked)


@pytest.mark.parametrize("source, ok", [
    ("Smith 2020, https://doi.org/10.1000/xyz", True),
    ("Smith 2020, Table 2", False),
    ("Assumption: a planning placeholder", True),
])
def test_the_link_rule_itself(source, ok):
    assert (source.lower().startswith("assumption") or bool(LINK.search(source))) is ok


def test_the_copy_rule_itself():
    assert COPY_LINK.search("x (https://www.scribd.com/document/1)").group(1) is None
    assert COPY_LINK.search("x ([document-sharing copy] https://www.scribd.com/document/1)").group(1)


def test_every_parameter_has_an_evidence_grade_consistent_with_its_source():
    ungraded = [p.name for p in REGISTRY.values() if not p.grade]
    assert not ungraded, "parameters without an evidence grade: " + ", ".join(ungraded)
    mislabelled = [p.name for p in REGISTRY.values()
                   if p.is_assumption and p.grade not in ("assumption", "decision")]
    assert not mislabelled, "sources saying 'Assumption' graded as evidence: " + ", ".join(mislabelled)
