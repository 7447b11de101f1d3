"""Result files: ``benchmarks/results/bench-<profile>-<N>.json``, one per profile and size
(``bench-<profile>-<N>-postgresql.json`` for a run on the PostgreSQL hub)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PREFIX = "bench-"


def result_name(profile: str, children: int, hub: str = "sqlite") -> str:
    # The embedded store keeps the plain name: results from before the hub was recorded are SQLite's.
    return f"{PREFIX}{profile}-{children}{'' if hub == 'sqlite' else f'-{hub}'}.json"


def write_result(result: dict[str, Any], folder: Path) -> Path:
    """Write one run's result (replacing the previous run of the same profile and size)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / result_name(str(result["profile"]), int(result["children"]), str(result.get("hub", "sqlite")))
    # Through a temporary file: a half-written result would break the table of every later run.
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_results(folder: Path) -> list[dict[str, Any]]:
    """Every bench result in the folder, smallest municipality first (then profile, then the embedded store before a database server)."""
    found = []
    for path in folder.glob(f"{PREFIX}*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "children" in data and "stages" in data:
            found.append(data)
    return sorted(found, key=lambda r: (int(r["children"]), str(r.get("profile", "")),
                                        r.get("hub", "sqlite") != "sqlite", str(r.get("hub", ""))))
