"""Measure the import graph of the qa_pipeline package (run from the repository root).

Prints: module count at the top level, import edges between our own modules, the longest import
chain (levels), import cycles (strongly connected components), cross-folder edges, and imports of
our own modules made inside functions.  `python tools/import_graph.py [--edges]`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "qa_pipeline"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(node: ast.ImportFrom, current: str, is_package: bool) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = current.split(".") if is_package else current.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [base, *names]


def collect(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    files = {module_name(p, root): p for p in (root / PACKAGE).rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in files}
    nested: list[tuple[str, str]] = []
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = resolve(node, name, is_package)
            own = [t for t in targets if t in files and t != name]
            if not own:
                continue
            # the most specific module named by this import statement
            edges[name].update(own if isinstance(node, ast.Import) else [max(own, key=len)])
            if _inside_function(tree, node):
                nested.append((name, max(own, key=len)))
    return edges, nested


def _inside_function(tree: ast.AST, target: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(child is target for child in ast.walk(node)):
                return True
    return False


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def levels(edges: dict[str, set[str]], cycles: list[list[str]]) -> int:
    in_cycle = {m for c in cycles for m in c}
    depth: dict[str, int] = {}

    def d(v: str, seen: frozenset[str]) -> int:
        if v in depth:
            return depth[v]
        nxt = [w for w in edges[v] if w not in seen and not (v in in_cycle and w in in_cycle)]
        value = 1 + max((d(w, seen | {w}) for w in nxt), default=0)
        depth[v] = value
        return value

    return max(d(v, frozenset({v})) for v in edges)


def folder(name: str) -> str:
    """The folder of a module; a top-level module is a room of its own (``types.py``)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 else f"{parts[-1]}.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", action="store_true", help="print every cross-folder edge")
    args = parser.parse_args()
    root = Path.cwd()
    edges, nested = collect(root)
    cycles = strongly_connected(edges)
    top = [m for m in edges if m.count(".") == 1 and not (root / Path(*m.split("."))).is_dir()]
    cross = sorted((a, b) for a, ws in edges.items() for b in ws if folder(a) != folder(b))
    print(f"modules: {len(edges)} ({len(top)} at the top level)")
    print(f"edges: {sum(len(w) for w in edges.values())}; cross-folder: {len(cross)}")
    print(f"levels (longest import chain): {levels(edges, cycles)}")
    print(f"cycles: {len(cycles)}" + "".join(f"\n  {' <-> '.join(c)}" for c in cycles))
    folders: dict[str, set[str]] = {}
    for a, b in cross:
        folders.setdefault(folder(a), set()).add(folder(b))
        folders.setdefault(folder(b), set())
    folder_cycles = strongly_connected(folders)
    print(f"folders: {len(folders)}; folder-level edges: {sum(len(v) for v in folders.values())}; "
          f"folder levels: {levels(folders, folder_cycles)}; folder cycles: {len(folder_cycles)}"
          + "".join(f"\n  {' <-> '.join(c)}" for c in folder_cycles))
    print(f"function-level imports of our own modules: {len(nested)}")
    if args.edges:
        for a, b in cross:
            print(f"  {a} -> {b}")


if __name__ == "__main__":
    main()
