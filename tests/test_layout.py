"""The package's shape: one folder per concern, dependencies one way, no cycles (walks the imports)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "qa_pipeline"


def _graph_tool():
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles():
    tool = _graph_tool()
    edges, _nested = tool.collect(REPO)
    assert tool.strongly_connected(edges) == []


def test_at_most_twelve_modules_at_the_top_level():
    top = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 12, top


def test_every_folder_says_what_lives_there_and_what_it_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "May import" in doc or "Entry points" in (doc or ""), init


def test_lower_folders_never_import_higher_ones():
    """audio <- asr <- text <- policy <- rules <- live; none of them reaches a driver or entry point."""
    tool = _graph_tool()
    edges, _nested = tool.collect(REPO)
    order = ["audio", "asr", "text", "policy", "rules", "live"]
    drivers = {"batch", "server", "cli", "report", "eval", "store"}
    for module, targets in edges.items():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] not in order:
            continue
        for target in targets:
            folder = target.split(".")[1] if target.count(".") >= 2 else None
            assert folder not in drivers, f"{module} imports {target}"
            if folder in order:
                assert order.index(folder) <= order.index(parts[1]), f"{module} imports {target}"
