"""Opening the hub and nodes for a statistics report (one small function, for the command)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tsunagu.config import Settings
from tsunagu.hub import hub_with_nodes
from tsunagu.privacy import Subject
from tsunagu.stats.budget import PROGRAMMES_FILE, ProgrammeFile, load_programmes
from tsunagu.stats.report import Report, build_report
from tsunagu.work.errors import Refused
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


def open_report(settings: Settings, subject: Subject, *, k: int | None = None, programmes_path: Path | None = None,
                key: Ed25519PrivateKey | None = None) -> Report:
    programmes, problem = programmes_for(settings, programmes_path)
    with hub_with_nodes(settings) as (sessions, nodes):
        session = sessions()
        try:
            report = build_report(session, nodes, subject, k=k or settings.statistics_k, programmes=programmes,
                                  programmes_error=problem, key=key)
            session.commit()
            return report
        except Refused:
            session.commit()  # the refusal stays on record
            raise
        finally:
            session.close()
