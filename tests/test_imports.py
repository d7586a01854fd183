"""The package's import graph: no cycles (type-only imports included), and the contracts
package imports nothing of popsim."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "popsim"


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, known: set[str]) -> str | None:
    """The popsim module an imported name lives in (``popsim.a.b`` may be a module or a
    name defined in ``popsim.a``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, every import statement counted,
    wherever it stands (module level, inside a function, under ``if TYPE_CHECKING``)."""
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                targets = [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                found = _resolve(target, known)
                if found is not None and found != name:
                    edges.add(found)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_type_only_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"
    )
    (pkg / "b.py").write_text("def f():\n    from pkg.sub import c\n")
    (pkg / "sub" / "c.py").write_text("from ..a import thing\nimport pkg.sub\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.sub"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_popsim_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_contracts_package_imports_nothing_of_popsim():
    graph = import_graph()
    for name, edges in graph.items():
        if name == "popsim.core" or name.startswith("popsim.core."):
            outside = {e for e in edges if not (e == "popsim.core" or e.startswith("popsim.core."))}
            assert not outside, f"{name} imports {sorted(outside)}"


def private_imports(package: Path = PACKAGE) -> list[str]:
    """``importer -> module.name`` for every underscore name one popsim package imports
    from another package of popsim (a sibling's private name): what a package keeps to
    itself must stay there."""
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    root = package.name
    found: list[str] = []
    for name, path in files.items():
        own = name.split(".")[:2]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if not node.module.startswith(root + "."):
                continue
            theirs = node.module.split(".")[:2]
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and theirs != own:
                    found.append(f"{name} -> {node.module}.{alias.name}")
    return found


def test_the_private_name_finder_finds_a_planted_one(tmp_path):
    pkg = tmp_path / "pkg"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("_hidden = 1\npublic = 2\n")
    (pkg / "a" / "y.py").write_text("from pkg.a.x import _hidden\n")  # same package: allowed
    (pkg / "b" / "z.py").write_text("from pkg.a.x import _hidden, public\n")
    assert private_imports(pkg) == ["pkg.b.z -> pkg.a.x._hidden"]


def test_no_package_imports_a_sibling_packages_private_names():
    found = private_imports()
    assert not found, "private names imported across packages:\n" + "\n".join(found)
