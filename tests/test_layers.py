"""Imports go one way: each package imports only packages of lower layers (an AST check, no imports run).

Data flows ingest → vault → node → link / screen → work → web; in imports, a package stands on the
ones it uses: the vault is written by ingest and read by the nodes (node.py is in the vault package),
linkage reads the nodes (and ingest's normalisers for its keys), screening reads linkage, the work
services read screening, the hand-over uses the work services, push-type support (outreach) reads
screening, linkage, the nodes and the work services' audit, the hub assembles a municipality for
the web app and the commands, and statistics read the link, screening and work results through a hub.
A package may always import its own modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tsunagu"

# Lowest first. A package may import the packages of the layers before its own, never after it,
# nor another package of its own layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("yamlstrict", "municipality", "csvout"),
    ("config", "catalog", "store", "synth"),
    ("privacy",),
    ("vault",),
    ("ingest",),
    ("link",),
    ("screen",),
    ("work",),
    ("handover", "outreach"),  # beside each other, above work (they use its services), below the hub and web
    ("hub",),
    ("stats",),
    ("prefecture",),  # across municipalities: opens each one's hub, uses the statistics' disclosure control
    ("web", "home", "demo_accounts"),
    ("demo", "bench"),
    ("commands",),
    ("cli",),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("tsunagu.")}


def _edges() -> dict[str, set[tuple[str, str]]]:
    edges: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == SRC:
            continue
        package = _package(path)
        for target in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if target != package:
                edges.setdefault(package, set()).add((target, str(path.relative_to(SRC))))
    return edges


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in SRC.rglob("*.py") if not (p.name == "__init__.py" and p.parent == SRC)}
    assert packages - set(RANK) == set(), "add the new package to LAYERS"


def test_no_package_imports_upward_or_sideways() -> None:
    wrong = sorted(
        f"{where}: {package} (layer {RANK[package]}) imports {target} (layer {RANK[target]})"
        for package, targets in _edges().items() for target, where in targets
        if target in RANK and RANK[target] >= RANK[package]
    )
    assert wrong == []


def test_the_check_sees_an_upward_import() -> None:
    tree = ast.parse("from tsunagu.web.app import create_app\nimport tsunagu.ingest.load\n")
    assert _imported(tree) == {"web", "ingest"}
