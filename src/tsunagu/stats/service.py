"""A statistics report read through a municipality's ``Hub`` (for the command), and the programmes file."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.privacy import Subject
from tsunagu.stats.budget import PROGRAMMES_FILE, ProgrammeFile, load_programmes
from tsunagu.stats.report import Report, build_report
from tsunagu.yamlstrict import ConfigError


def programmes_for(settings: Settings, path: Path | None = None) -> tuple[ProgrammeFile | None, str | None]:
    """The finance section's programmes: ``path``, else the home's file; (None, None) when there is none.

    A named file that is missing or invalid raises (the command must not print a report without
    the budget it was asked for); the home's own file, when invalid, is reported beside the report.
    """
    if path is not None:
        if not path.is_file():
            raise ConfigError(path, None, "事業・予算ファイルがありません")
        return load_programmes(path), None
    default = settings.home / PROGRAMMES_FILE
    if not default.is_file():
        return None, None
    try:
        return load_programmes(default), None
    except ConfigError as exc:
        return None, str(exc)


def open_report(hub: Hub, subject: Subject, *, k: int | None = None, programmes_path: Path | None = None,
                key: Ed25519PrivateKey | None = None) -> Report:
    """The report in one unit of work on ``hub`` (a refusal is committed: it stays on record)."""
    programmes, problem = programmes_for(hub.settings, programmes_path)
    with hub.unit() as session:
        return build_report(session, hub.nodes(), subject, k=k or hub.settings.statistics_k, programmes=programmes,
                            programmes_error=problem, key=key)
