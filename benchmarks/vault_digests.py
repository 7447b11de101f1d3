"""Digests of what ingest stored in each vault of a home, comparable between two homes.

One sha256 per vault and table over every row in id order: records, observations, quarantine, and
the loads without their ``loaded_at`` (the only column that differs between two ingests of the
same exports). Two ingests of the same exports by two code versions stored the same rows when
every digest agrees. Used to hold an ingest change to "same vaults" (docs/performance.md).

    .venv/bin/python benchmarks/vault_digests.py HOME [HOME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from pathlib import Path

TABLES = {
    "records": "record_id",
    "observations": "obs_id",
    "quarantine": "quarantine_id",
    "loads": "load_id",
}
LEFT_OUT = {"loads": {"loaded_at"}}


def _table_digest(con: sqlite3.Connection, table: str, order: str) -> tuple[int, str]:
    columns = [row[1] for row in con.execute(f"PRAGMA table_info({table})") if row[1] not in LEFT_OUT.get(table, set())]
    digest = hashlib.sha256()
    rows = 0
    # bandit B608: table and column names from this file and the table's own schema
    for row in con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):  # nosec B608
        digest.update(json.dumps(row, ensure_ascii=False, default=str).encode())
        rows += 1
    return rows, digest.hexdigest()[:16]


def digests(home: Path) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for path in sorted((home / "vaults").glob("*.sqlite3")):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result[path.stem] = {table: "{} rows {}".format(*_table_digest(con, table, order))
                                 for table, order in TABLES.items()}
        finally:
            con.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("homes", nargs="+", type=Path)
    homes = parser.parse_args().homes
    found = [digests(home) for home in homes]
    print(json.dumps(dict(zip(map(str, homes), found, strict=True)), indent=2, ensure_ascii=False))
    if any(other != found[0] for other in found[1:]):
        sys.exit("the homes' vaults differ")


if __name__ == "__main__":
    main()
