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
    ("config", "catalog", "store"),
    ("synth",),  # the generator takes its sources from the catalogue
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


# -- one way to open each store (issue 16) -------------------------------------------------------------
# Engines and session factories are built in the ``store`` package only (``store/dialects.py`` gives
# each back-end's settings, ``store/db.HubStore`` the hub's engine with its two session factories); the
# hub store is opened by ``tsunagu.hub.Hub`` alone and a department's vault by ``vault.store.Vault`` alone.
BUILDERS = {"create_engine", "create_hub_engine", "create_vault_engine", "sessionmaker",
            "session_factory", "read_session_factory", "HubStore.open"}
OPENED_BY = {"HubStore.open": {"hub.py"}, "create_vault_engine": {"vault/store.py"}}


def _called(tree: ast.AST) -> set[str]:
    """Builders this module calls: a bare name only when the module imports it (a parameter that
    happens to be called ``session_factory`` builds nothing), ``x.name`` and ``X.name`` always."""
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in imported:
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
                if isinstance(func.value, ast.Name):
                    names.add(f"{func.value.id}.{func.attr}")
    return names


def test_engines_and_sessions_are_built_in_one_place() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        if where.startswith("store/"):
            continue
        for name in _called(ast.parse(path.read_text(encoding="utf-8"))) & BUILDERS:
            if where not in OPENED_BY.get(name, set()):
                wrong.append(f"{where} calls {name}")
    assert sorted(wrong) == []


def test_the_one_place_check_sees_a_call() -> None:
    # The check above must be able to fail: a call in a module outside the store package is seen.
    tree = ast.parse("from sqlalchemy import create_engine\nengine = create_engine('sqlite://')\n"
                     "def f(session_factory):\n    return session_factory()\n")
    assert _called(tree) & BUILDERS == {"create_engine"}
