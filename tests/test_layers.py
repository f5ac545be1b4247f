"""The package layout mirrors the flow: inputs -> model -> results -> analyses -> outputs -> cli.

The workspace (``roi_engine.workspace.*``, ``roi-engine serve``) sits in the top layer with the CLI.

A module may import from its own layer or a lower one, never a higher one, and the import graph has
no cycles. Base modules (errors, atomic) sit below everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import roi_engine

PACKAGE = Path(roi_engine.__file__).parent
LAYERS = ("base", "inputs", "model", "results", "analyses", "outputs", "cli")
BASE = {"roi_engine", "roi_engine.errors", "roi_engine.atomic", "roi_engine.text"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    if module in ("roi_engine.cli", "roi_engine.__main__") or module.startswith("roi_engine.workspace"):
        return "cli"
    part = module.split(".")[1]
    if part not in LAYERS:
        raise AssertionError(f"{module} is not in a layer package ({', '.join(LAYERS[1:-1])})")
    return part


def imports_of(path: Path) -> set[str]:
    """Every roi_engine module ``path`` imports, anywhere in the file (lazy imports included)."""
    found = set()
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("roi_engine")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("roi_engine"):
                found.add(target)
                for alias in node.names:  # "from roi_engine.analyses import sharing"
                    candidate = f"{target}.{alias.name}"
                    if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists():
                        found.add(candidate)
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_sits_in_a_layer():
    for module in import_graph():
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    upward = []
    for module, targets in import_graph().items():
        rank = LAYERS.index(layer_of(module))
        for target in sorted(targets):
            if target == "roi_engine.workspace":
                target_layer = "cli"
            elif (target.startswith("roi_engine.") and target.count(".") == 1
                  and target.split(".")[1] in LAYERS):
                target_layer = target.split(".")[1]  # a layer package itself
            else:
                target_layer = layer_of(target)
            if LAYERS.index(target_layer) > rank:
                upward.append(f"{module} ({layer_of(module)}) imports {target} ({target_layer})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_import_graph_has_no_cycles():
    full = import_graph()
    graph = {m: {t for t in ts if t in full} for m, ts in full.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt.startswith(node + "."):
                continue  # a package importing its own submodules
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)



def test_the_workspace_is_in_the_top_layer_and_nothing_below_imports_it():
    graph = import_graph()
    assert layer_of("roi_engine.workspace.app") == "cli"
    assert any(m.startswith("roi_engine.workspace") for m in graph)
    below = [f"{m} imports {t}" for m, ts in graph.items() for t in ts
             if t.startswith("roi_engine.workspace") and layer_of(m) != "cli"]
    assert not below, below
