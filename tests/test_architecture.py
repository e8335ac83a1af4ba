"""The layer rules of DESIGN.md and the import graph, checked on every import statement.

Imports are read from the source (top level, inside functions and under ``if TYPE_CHECKING``), so
a lazy import cannot hide a layer violation or a circle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "engine", "widgets")
QT = {"PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "pyqtgraph", "qtpy", "superqt"}
FORBIDDEN = {
    "engine": QT | {"muonscope.widgets", "muonscope.app"},
    "widgets": {"torch", "muonscope.engine", "muonscope.app"},
}


def _source_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the installed package ``muonscope``, by dotted name."""
    modules = {"muonscope": root / "__init__.py", "muonscope.__main__": root / "__main__.py"}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(("muonscope", *parts)).removesuffix(".__init__")
            modules[name] = path
    return modules


def _imports(path: Path):
    """(line, dotted name, level) of every import statement in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name, node.level
            yield node.lineno, base, node.level
        elif _imports_by_name(node):  # importlib.import_module("muonscope.…"): an import all the same
            yield node.lineno, node.args[0].value, 0


def _imports_by_name(node: ast.AST) -> bool:
    """A call ``import_module("a.b")`` or ``importlib.import_module("a.b")`` with a literal name."""
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
        return False
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name == "import_module" and isinstance(node.args[0].value, str)


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The muonscope module an imported name lives in (its longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _line, imported, _level in _imports(path):
            target = _target(imported, modules)
            if target is not None and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_does_not_import_what_it_must_not(package):
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name, _level in _imports(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[package])
    ]
    assert not violations, "\n".join(violations)


def test_code_imports_the_package_by_its_installed_name():
    """``from engine…`` would import a second copy (or another distribution's ``engine``)."""
    files = [
        *_source_modules().values(),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
    ]
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {name or '.'}" + (" (relative)" if level else "")
        for path in files
        for line, name, level in _imports(path)
        if level or name.split(".")[0] in PACKAGES
    ]
    assert not violations, "\n".join(violations)


def test_no_import_circles():
    cycles = _cycles(_graph(_source_modules()))
    assert not cycles, "import circles:\n" + "\n".join(" ↔ ".join(cycle) for cycle in cycles)


def test_the_circle_check_finds_a_circle(tmp_path):
    """A two-module circle hidden in a function and under TYPE_CHECKING is reported."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "engine" / "a.py").write_text("def f():\n    from muonscope.engine.b import g\n")
    (tmp_path / "engine" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from muonscope.engine import a\n"
    )
    assert _cycles(_graph(_source_modules(tmp_path))) == [["muonscope.engine.a", "muonscope.engine.b"]]


def test_the_checker_sees_function_level_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from PySide6 import QtCore\n")
    assert (2, "PySide6.QtCore", 0) in list(_imports(probe))


def test_the_checker_sees_imports_by_name(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib\n\ndef f():\n    return importlib.import_module('torch.nn')\n")
    assert (4, "torch.nn", 0) in list(_imports(probe))
