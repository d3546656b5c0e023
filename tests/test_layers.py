"""The package layers are one-way: a module imports only from its own layer's packages or lower ones.

The imports are read with :mod:`ast` (no module is executed), including imports inside functions
(lazy imports are still dependencies). ``LAYERS`` below is the one definition of the order.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Bottom to top. A package may import packages of its own layer (without a cycle) and of lower
#: layers; packages on one line are siblings.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("model.runtime", "model.geometry"),
    ("model.body",),
    ("model.render",),
    ("model.data",),
    ("model.nets", "model.losses"),
    ("model.inference", "model.train"),
    ("model.eval",),
    ("model.cli", "model.evaluate"),
    ("service",),
)
#: Lower-layer packages a package must not import all the same.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # serving sits on the networks and the body model: no training data or synthetic rendering
    "model.inference": ("model.data", "model.losses"),
    # the service uses the inference API (and the renderer); never training, evaluation or data
    "service": ("model.train", "model.eval", "model.data", "model.cli", "model.losses"),
}
#: Siblings that must not import each other (either direction).
APART: tuple[tuple[str, str], ...] = (("model.inference", "model.train"),)

RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def package_of(module: str) -> str | None:
    """The layer package a dotted module name belongs to (longest match), or ``None``."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in RANK:
            return name
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the modules ``path`` imports, with their line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path)
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".") if is_pkg else me.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((mod, node.lineno))
            # ``from model import data`` imports the sub-package
            out += [(f"{mod}.{a.name}", node.lineno) for a in node.names if package_of(f"{mod}.{a.name}") not in (None, package_of(mod))]
    return out


def source_files() -> list[Path]:
    files = [p for top in ("model", "service") for p in (ROOT / top).rglob("*.py")]
    return sorted(p for p in files if ".venv" not in p.parts)


def edges() -> dict[tuple[str, str], list[str]]:
    """``(importer package, imported package) -> ["file:line", ...]`` across packages."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in source_files():
        src = package_of(module_name(path))
        if src is None:
            continue
        for mod, line in imports_of(path):
            dst = package_of(mod)
            if dst is not None and dst != src:
                found[(src, dst)].append(f"{path.relative_to(ROOT)}:{line}")
    return found


def test_every_module_belongs_to_a_layer() -> None:
    loose = [str(p.relative_to(ROOT)) for p in source_files() if package_of(module_name(p)) is None and p.name != "__init__.py"]
    assert not loose, f"modules outside LAYERS: {loose}"


def test_imports_go_down_only() -> None:
    bad = []
    for (src, dst), where in sorted(edges().items()):
        if RANK[dst] > RANK[src]:
            bad.append(f"{src} (layer {RANK[src]}) imports higher {dst} (layer {RANK[dst]}): {where}")
        elif dst in FORBIDDEN.get(src, ()) or any(dst.startswith(f + ".") for f in FORBIDDEN.get(src, ())):
            bad.append(f"{src} must not import {dst}: {where}")
        elif (src, dst) in APART or (dst, src) in APART:
            bad.append(f"{src} and {dst} are kept apart: {where}")
    assert not bad, "\n".join(bad)


def test_no_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in edges():
        graph[src].add(dst)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail(f"import cycle between packages: {' -> '.join(cycle)}")


def test_layer_checker_sees_a_violation(tmp_path: Path) -> None:
    """The walker resolves relative and lazy imports (guards against a checker that sees nothing)."""
    pkg = tmp_path / "model" / "nets"
    pkg.mkdir(parents=True)
    f = pkg / "x.py"
    f.write_text("def f():\n    from ..train import trainer\n    import model.eval.metrics\n")
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        mods = {m for m, _ in imports_of(f)}
    finally:
        ROOT = old
    assert {package_of(m) for m in mods} >= {"model.train", "model.eval"}


def test_importing_inference_loads_no_training_or_data_code() -> None:
    code = (
        "import sys, model.inference\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('model.train', 'model.data', 'model.eval', 'model.losses')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import model.inference loaded {out.stdout.strip()}"
