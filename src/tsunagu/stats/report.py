"""The statistics report: one authorised aggregate read, every table suppressed together.

``build_report`` is what the command, the page, the downloads and the PDF all call, so they
publish the same numbers. The read is one ``statistics.read`` entry in the audit chain (an
aggregate: no child named), and the departments' nodes log their own answers for the
statistics purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib.resources import files
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, authorise
from tsunagu.privacy.policy import JST
from tsunagu.stats.budget import ProgrammeFile, ProgrammeLine, budget_specs, programme_lines
from tsunagu.stats.errors import StatisticsInputError
from tsunagu.stats.evaluation import evaluation, fiscal_year_of, referral_specs
from tsunagu.stats.figures import aggregates, indicators, run_label
from tsunagu.stats.source import StatsData, gather
from tsunagu.stats.suppress import DEFAULT_K
from tsunagu.stats.tables import ShareTable, StatTable, listed_shares, publish_all
from tsunagu.vault.node import Node
from tsunagu.work.errors import Refused
from tsunagu.yamlstrict import load_model

ACTION, PURPOSE = "statistics.read", "statistics"
SECTIONS = {"aggregates": "子どもの状況", "indicators": "指標の分布", "budget": "予算と事業", "evaluation": "支援業務の評価"}


class StatisticsBasis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: str
    law: str = Field(min_length=1)
    article: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    item: str = ""
    reason: str = Field(min_length=10)

    def __str__(self) -> str:
        item = f"第{self.item}号" if self.item else ""
        return f"{self.law} 第{self.article}条第{self.clause}項{item}"


def statistics_basis() -> StatisticsBasis:
    path = Path(str(files("tsunagu.stats") / "data" / "basis.yaml"))
    return load_model(path, StatisticsBasis)


@dataclass
class Report:
    k: int
    runs: list[str]
    as_of: date | None
    basis: str
    basis_reason: str
    sections: dict[str, list[StatTable]] = field(default_factory=dict)
    programmes: list[ProgrammeLine] = field(default_factory=list)
    fiscal_year: int | None = None
    programmes_error: str | None = None
    unanswered: list[str] = field(default_factory=list)
    shares: list[ShareTable] = field(default_factory=list)

    def tables(self) -> list[StatTable]:
        return [t for tables in self.sections.values() for t in tables]

    def table(self, table_id: str) -> StatTable | None:
        return next((t for t in self.tables() if t.id == table_id), None)

    def public(self) -> dict[str, Any]:
        """What ``tsunagu stats --json`` prints and the page's JSON serves: suppressed tables only."""
        return {
            "k": self.k, "as_of": self.as_of.isoformat() if self.as_of else None, "runs": self.runs,
            "legal_basis": self.basis, "legal_reason": self.basis_reason,
            "suppressed_mark": "秘匿", "unanswered_departments": self.unanswered,
            "sections": {name: [t.public() for t in tables] for name, tables in self.sections.items()},
            "shares": [t.public() for t in self.shares],
            "budget": {
                "fiscal_year": self.fiscal_year, "error": self.programmes_error,
                "programmes": [vars(line) for line in self.programmes],
            },
        }


def _fiscal_year(data: StatsData) -> int:
    """Without a programmes file the referral table covers the fiscal year of the latest run."""
    moment = datetime.combine(data.latest.as_of, time(12), tzinfo=JST) if data.latest else datetime.now(JST)
    return fiscal_year_of(moment)


def build_report(session: Session, nodes: Mapping[str, Node], subject: Subject, *, k: int = DEFAULT_K,
                 programmes: ProgrammeFile | None = None, programmes_error: str | None = None,
                 key: Ed25519PrivateKey | None = None) -> Report:
    """Authorise and record one aggregate read, gather, and publish every table under ``k``."""
    if k < 2:
        raise StatisticsInputError("k は2以上にしてください（1では少数のセルを秘匿しません）")
    decision = authorise(session, subject, ACTION, PURPOSE, key=key)
    if not decision.allowed:
        raise Refused("この役割には統計を閲覧する権限がありません。", decision)
    data = gather(session, nodes, subject.role)
    basis = statistics_basis()
    year = programmes.fiscal_year if programmes is not None else _fiscal_year(data)
    groups = {"aggregates": aggregates(data), "indicators": indicators(data),
              "budget": budget_specs(data, programmes) if programmes is not None else [],
              "evaluation": evaluation(data) + referral_specs(data, year)}
    order = [spec for specs in groups.values() for spec in specs]
    published = dict(zip([s.id for s in order], publish_all(order, k), strict=True))
    report = Report(k, [run_label(r) for r in data.runs], data.latest.as_of if data.latest else None, str(basis),
                    basis.reason, programmes_error=programmes_error, unanswered=sorted(set(data.refused)))
    for name in SECTIONS:
        report.sections[name] = [published[s.id] for s in groups[name]]
    if "listed_by_run_school" in published and "screened_by_run_school" in published:
        report.shares.append(listed_shares(published["listed_by_run_school"], published["screened_by_run_school"]))
    if programmes is not None:
        report.fiscal_year = programmes.fiscal_year
        report.programmes = programme_lines(programmes, published.get("referral_results"))
    return report
