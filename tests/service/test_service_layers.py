"""One-way layers: model <- service.runtime <- service.http <- service.tools (read from the imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Package (folder) -> the packages its modules must never import.
FORBIDDEN = {
    "model": ("service", "benchmarks"),
    "service/runtime": ("service.http", "service.tools", "benchmarks"),
    "service/http": ("service.tools", "benchmarks"),
    "service/tools": ("benchmarks",),
    "service/settings.py": ("service.http", "service.runtime", "service.tools"),
}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth: lazy imports inside functions count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    root = REPO / package
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    assert files, package
    bad = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path))
        if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[package])
    ]
    assert not bad, "\n".join(bad)
