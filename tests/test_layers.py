"""The house: every module imports only modules on its own floor or below, and no import circles.

Imports are read with ``ast`` from the source (module level and inside functions alike), so the
test holds without importing anything. ``from softhard.x import y`` counts as an import of the
module ``softhard.x.y`` when that is a module, else of ``softhard.x``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from softhard.config import Source
from softhard.data.sources import SOURCES
from softhard.models.table import MODELS, Arch

SRC = Path(__file__).resolve().parents[1] / "src"

# floors, lowest first; a module sits on the floor of the longest prefix that names it
FLOORS: list[tuple[str, ...]] = [
    (
        "softhard._about",
        "softhard._version",
        "softhard.errors",
        "softhard.device",
        "softhard.progress",
    ),
    (
        "softhard.config_paths",
        "softhard.config_base",
        "softhard.data_config",
        "softhard.teacher_config",
        "softhard.overrides",
        "softhard.validation",
        "softhard.yaml_files",
        "softhard.student",
        "softhard.student_grid",
        "softhard.theory",
        "softhard.replication",
    ),
    ("softhard.config", "softhard.losses"),
    (
        "softhard.data",
        "softhard.models",
        "softhard.targets",
        "softhard.horizon",
        "softhard.inequality",
    ),
    ("softhard.train", "softhard.engine", "softhard.tuning"),
    ("softhard.teachers", "softhard.ntk", "softhard.resources"),
    ("softhard.sweep",),
    ("softhard.report",),
    ("softhard.studies",),  # every study package; each depends only on shared parts below
    ("softhard.studies.table",),  # the one table of studies
    ("softhard.studies.reproduce", "softhard.kinds"),  # read the table
    ("softhard.cli",),
    ("softhard",),  # the public API re-exports from everywhere
]


def modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "softhard").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The softhard modules ``path`` imports (see the module docstring)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("softhard"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def floor(module: str) -> int:
    best, level = -1, -1
    for i, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level >= 0, f"{module} is on no floor: add it to FLOORS"
    return level


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} (floor {floor(a)}) imports {b} (floor {floor(b)})"
        for a, targets in edges.items()
        for b in targets
        if floor(b) > floor(a)
    )


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_on_a_floor() -> None:
    for name in modules():
        floor(name)


def test_no_module_imports_a_higher_floor() -> None:
    assert upward(graph()) == []


def test_no_import_circles() -> None:
    assert circles(graph()) == []


@pytest.mark.parametrize("layer", ["softhard.sweep", "softhard.report"])
def test_generic_layers_know_no_study(layer: str) -> None:
    edges = graph()
    bad = sorted(
        f"{a} -> {b}"
        for a, targets in edges.items()
        if a.startswith(layer)
        for b in targets
        if b.startswith("softhard.studies") or (layer == "softhard.sweep" and "report" in b)
    )
    assert bad == []


def test_the_checker_sees_an_upward_import_and_a_circle() -> None:
    edges = {"softhard.sweep.x": {"softhard.studies.y"}, "softhard.studies.y": {"softhard.sweep.x"}}
    assert upward(edges) == ["softhard.sweep.x (floor 6) imports softhard.studies.y (floor 8)"]
    assert circles(edges) == [["softhard.studies.y", "softhard.sweep.x"]]


def test_registries_cover_their_literals() -> None:
    """SOURCES and MODELS are keyed by the Literals configs validate against, entry for entry."""
    assert set(SOURCES) == set(get_args(Source))
    assert set(MODELS) == set(get_args(Arch))


if __name__ == "__main__":  # the house, as a list of violations: python tests/test_layers.py
    g = graph()
    print("\n".join(upward(g)) or "no upward imports")
    print("\n".join(" <-> ".join(c) for c in circles(g)) or "no circles")
