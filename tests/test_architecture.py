"""The layer rules of DESIGN.md, checked on every import statement (top level or inside functions)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "pyqtgraph", "qtpy", "superqt"}
FORBIDDEN = {
    "engine": QT | {"widgets", "app"},
    "widgets": {"torch", "engine", "app"},
}


def _imported_roots(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_does_not_import_what_it_must_not(package):
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {root}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, root in _imported_roots(path)
        if root in FORBIDDEN[package]
    ]
    assert not violations, "\n".join(violations)


def test_the_checker_sees_function_level_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from PySide6 import QtCore\n")
    assert list(_imported_roots(probe)) == [(2, "PySide6")]


def test_packages_exist():
    for package in ("engine", "widgets", "app"):
        assert (ROOT / package / "__init__.py").is_file()
