"""A local stand-in for the OSV query API, answering from a vulnerability database file.

LGWAN machines reach no vulnerability service, so ``scripts/audit-deps`` runs pip-audit against
this server (``--osv-url``) and the file ``scripts/vulndb/osv-pypi.json``, which the project
updates from OSV's PyPI data dump where the internet is reachable (``scripts/update-vulndb``).

    python scripts/osv_local.py DB.json PORTFILE     # serves on 127.0.0.1, a free port written to PORTFILE

Only what pip-audit asks is answered: POST /v1/query {"package": {"name", "ecosystem"}, "version"}
→ {"vulns": [OSV records affecting that version]}.
"""

from __future__ import annotations

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """OSV ECOSYSTEM ranges: introduced / fixed / last_affected events, in order."""
    affected = False
    for event in events:
        try:
            if "introduced" in event:
                start = event["introduced"]
                if start == "0" or version >= Version(start):
                    affected = True
            elif ("fixed" in event and version >= Version(event["fixed"])) or (
                    "last_affected" in event and version > Version(event["last_affected"])):
                affected = False
        except InvalidVersion:
            continue
    return affected


def affects(record: dict[str, Any], name: str, version_text: str) -> bool:
    try:
        version = Version(version_text)
    except InvalidVersion:
        return False
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or normalise(package.get("name", "")) != name:
            continue
        if version_text in affected.get("versions", []):
            return True
        if any(r.get("type") == "ECOSYSTEM" and _in_range(version, r.get("events", []))
               for r in affected.get("ranges", [])):
            return True
    return False


def load(path: Path) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(path.read_text("utf-8"))
    by_package: dict[str, list[dict[str, Any]]] = {}
    for record in data["vulns"]:
        for affected in record.get("affected", []):
            name = normalise(affected.get("package", {}).get("name", ""))
            if record not in by_package.setdefault(name, []):
                by_package[name].append(record)
    return by_package


def serve(db: Path, port_file: Path) -> None:
    by_package = load(db)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            try:
                query = json.loads(self.rfile.read(length))
                name = normalise(query["package"]["name"])
                version = str(query["version"])
            except (ValueError, KeyError, TypeError):
                self.send_error(400)
                return
            vulns = [r for r in by_package.get(name, []) if affects(r, name, version)]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]))
