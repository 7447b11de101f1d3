"""管理: the freshness of each data source and the rule set in force — system facts, no child's data.

Freshness comes from the vaults' load records (export date and load time per source), read
through the in-process node's vault; a department served over HTTP is reported as remote (its
own host shows its loads). The latest screening run adds which export dates it actually used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.catalog import catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.config import Settings
from tsunagu.privacy import Subject
from tsunagu.vault import schema
from tsunagu.vault.node import LocalNode, Node
from tsunagu.work.access import authorise_any
from tsunagu.work.candidates import latest_run

REFRESH_LABELS = {"daily": "毎日", "weekly": "毎週", "monthly": "毎月", "quarterly": "四半期", "yearly": "毎年"}


@dataclass(frozen=True)
class SourceStatus:
    source: str
    label: str
    department: str
    department_label: str
    refresh_label: str
    stale_after_days: int
    transport: str  # local / http / none
    last_export: date | None
    last_loaded_at: datetime | None
    files: int
    rows_loaded: int
    rows_quarantined: int
    age_days: int | None
    stale: bool
    used_in_run: tuple[str, ...]
    missing_in_run: bool


def _loads(node: LocalNode) -> dict[str, dict[str, Any]]:
    lo = schema.loads
    query = select(lo.c.source, func.max(lo.c.export_date), func.max(lo.c.loaded_at), func.count(),
                   func.sum(lo.c.loaded), func.sum(lo.c.quarantined)).group_by(lo.c.source)
    with node.vault.reading() as conn:
        return {str(r[0]): {"export": r[1], "loaded_at": r[2], "files": int(r[3]), "loaded": int(r[4] or 0),
                            "quarantined": int(r[5] or 0)} for r in conn.execute(query)}


def source_status(
    session: Session, subject: Subject, nodes: Mapping[str, Node], manifests: ManifestSet, *,
    today: date | None = None, key: Ed25519PrivateKey | None = None,
) -> list[SourceStatus]:
    authorise_any(session, subject, ("sources.load", "rules.manage"), "administration", key=key)
    catalog = catalog_of(session)
    run = latest_run(session)
    day = today or datetime.now(UTC).date()
    loads: dict[str, dict[str, Any]] = {}
    for each in nodes.values():
        if isinstance(each, LocalNode):
            loads.update(_loads(each))
    result = []
    for manifest in sorted(manifests.manifests.values(), key=lambda m: (m.department, m.source)):
        node = nodes.get(manifest.department)
        transport = "none" if node is None else "local" if isinstance(node, LocalNode) else "http"
        info = loads.get(manifest.source, {})
        export = info.get("export")
        loaded_at = info.get("loaded_at")
        if isinstance(loaded_at, datetime) and loaded_at.tzinfo is None:
            loaded_at = loaded_at.replace(tzinfo=UTC)
        age = (day - export).days if isinstance(export, date) else None
        department = catalog.departments.get(manifest.department)
        result.append(SourceStatus(
            manifest.source, manifest.label, manifest.department, department.name if department else manifest.department,
            REFRESH_LABELS.get(manifest.refresh, manifest.refresh), manifest.stale_after_days, transport,
            export if isinstance(export, date) else None, loaded_at, int(info.get("files", 0)),
            int(info.get("loaded", 0)), int(info.get("quarantined", 0)), age,
            age is None or age > manifest.stale_after_days,
            tuple(run.snapshots.get(manifest.source, ())) if run else (),
            bool(run and manifest.source in run.missing_sources),
        ))
    return result


@dataclass(frozen=True)
class RulesView:
    available: bool
    message: str
    as_of: date
    resolved: dict[str, Any] | None


def rules_in_force(
    session: Session, subject: Subject, settings: Settings, *, as_of: date | None = None,
    key: Ed25519PrivateKey | None = None,
) -> RulesView:
    """The resolved rule set; a missing or broken rules folder is reported, never an error page."""
    authorise_any(session, subject, ("rules.manage", "sources.load"), "administration", key=key)
    day = as_of or datetime.now(UTC).date()
    folder = settings.rules_path  # the rule set screening uses (the admin page read a cwd-relative folder before)
    try:
        from tsunagu.screen import load_rule_set

        resolved = load_rule_set(folder, settings.municipality_code).resolved(day)
    except Exception as exc:  # absent or invalid rules must not take the admin page down
        return RulesView(False, f"判定ルールを読み込めません（{folder}）: {exc}", day, None)
    # Round-trip through JSON so dates and tuples are plain values for the template.
    return RulesView(True, "", day, json.loads(json.dumps(resolved, ensure_ascii=False, default=str)))
