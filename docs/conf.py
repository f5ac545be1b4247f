"""Sphinx configuration for the roi-engine documentation (``make docs``)."""

from __future__ import annotations

import re
from importlib import metadata

project = "roi-engine"
author = "roi-engine contributors"
release = metadata.version("roi-engine")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"          # numpydoc sections carry the types
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
numpydoc_show_class_members = False  # members are documented by autodoc, not listed twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"roi-engine {release}"
html_theme_options = {"description": "Return on investment of mental-health prevention",
                      "fixed_sidebar": True}

# Module docstrings cite their references once ([1], [2] ...) and functions refer back to them; numpydoc
# makes citations local to one docstring, so such back-references are shown as plain "[1]" rather than
# broken links, and a citation nobody links to is not a warning.
suppress_warnings = ["ref.citation"]

_BACK_REFERENCE = re.compile(r"\[(\d+)\]_")
_CITATION = re.compile(r"^\s*\.\. \[(\d+)\]")
_LIST_ITEM = re.compile(r"^(\s*)[-*] ")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _tidy_docstring(app, what, name, obj, options, lines) -> None:
    """Plain-text back-references to citations defined elsewhere; a blank line before a list that
    follows its introducing sentence directly (valid Markdown-ish text, but not reStructuredText)."""
    defined = {m.group(1) for line in lines if (m := _CITATION.match(line))}
    tidy: list[str] = []
    for line in lines:
        line = _BACK_REFERENCE.sub(lambda m: m.group(0) if m.group(1) in defined else f"[{m.group(1)}]",
                                   line)
        if (_LIST_ITEM.match(line) and tidy and tidy[-1].strip() and not _LIST_ITEM.match(tidy[-1])
                and _indent(tidy[-1]) == _indent(line)):
            tidy.append("")
        tidy.append(line)
    lines[:] = tidy


def setup(app):
    app.connect("autodoc-process-docstring", _tidy_docstring, priority=400)  # before numpydoc (500)
