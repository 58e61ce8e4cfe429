"""The package's shape: no import cycle among ``ccp_gitops`` modules, and one base class for its errors."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from ccp_gitops.model.errors import CcpError

PACKAGE = Path(__file__).resolve().parents[1] / "ccp_gitops"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.Import | ast.ImportFrom, name: str, is_package: bool) -> list[str]:
    """The modules an import statement can load (a package's ``from . import x`` may name a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = name.split(".") if is_package else name.split(".")[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """Every import of every module, at the top, inside functions and for typing alike."""
    # _precompiled/ holds the catalogue's templates compiled by the build: Jinja2 code, not package modules
    files = {module_name(p): p for p in PACKAGE.rglob("*.py") if "_precompiled" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in imported(node, name, path.name == "__init__.py") if t in files and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 50
    assert "ccp_gitops.model.problems" in graph["ccp_gitops.compile.pipeline"]
    # a lazy import inside a function counts too
    assert "ccp_gitops.repo.write" in graph["ccp_gitops.cli.compile"]


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_every_error_has_the_one_base() -> None:
    """The CLI catches CcpError once: an exception class outside it would escape as a traceback."""
    outside = []
    for name in sorted(set(import_graph()) - {"ccp_gitops.__main__"}):  # __main__ runs the CLI
        for cls_name, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            private = cls_name.startswith("_")  # control flow inside one module (e.g. load's _Abort)
            if cls.__module__ == name and issubclass(cls, BaseException) and not private and not issubclass(cls, CcpError):
                outside.append(f"{name}.{cls_name}")
    assert outside == []
