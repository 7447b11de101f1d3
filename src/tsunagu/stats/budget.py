"""予算の見える化: the finance section's programmes, the children they reached, cost per child.

The programmes file (``<home>/budget/programmes.yaml``, or ``--programmes``) is written by
people and loaded strictly (errors name the file and line). A programme reaches a child through
a referral (つなぎ) to one of its support resources made within the fiscal year; the child
*took up* the programme when that referral reached 利用開始 or ended with 支援につながった.
The counts per programme are sums of the published referral table (``evaluation.referral_specs``,
children per resource), so the budget and the evaluation cannot disagree, and a programme's
count is shown only when every cell it sums is published (a sum over a suppressed cell, or a cost
per child over it, would give the cell away). A programme with several resources counts a child
referred to two of them twice (延べ人数).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tsunagu.screen.model import DOMAINS
from tsunagu.stats.evaluation import fiscal_year_of
from tsunagu.stats.figures import LISTED
from tsunagu.stats.source import StatsData
from tsunagu.stats.tables import Cell, Spec, StatTable
from tsunagu.work.plans import OUTCOMES, REFERRAL_STATUSES
from tsunagu.yamlstrict import load_model

PROGRAMMES_FILE = Path("budget") / "programmes.yaml"
# The referral table's columns that count as taking a programme up.
TOOK_UP = (REFERRAL_STATUSES["connected"], f"終了：{OUTCOMES['using']}")
REACH = ("事業の紹介・利用あり", "どの事業も届いていない")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    name: Name
    yearly_cost: int = Field(ge=0, description="年間事業費（円）")
    resources: list[Name] = Field(min_length=1, description="つなぎ先の社会資源の名称（社会資源名簿と同じ名称）")
    domains: list[str] = Field(default_factory=list, description="対象とする領域")
    basis: str = ""

    @field_validator("domains")
    @classmethod
    def _known_domains(cls, value: list[str]) -> list[str]:
        unknown = [d for d in value if d not in DOMAINS]
        if unknown:
            raise ValueError(f"未知の領域です: {', '.join(unknown)}（使える領域: {', '.join(DOMAINS)}）")
        return value


class ProgrammeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fiscal_year: int = Field(ge=2000, le=2100, description="年度（4月1日から翌年3月31日）")
    programmes: list[Programme] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ProgrammeFile:
        ids = Counter(p.id for p in self.programmes)
        twice = [i for i, n in ids.items() if n > 1]
        if twice:
            raise ValueError(f"事業IDが重複しています: {', '.join(twice)}")
        return self


def load_programmes(path: Path) -> ProgrammeFile:
    """Strict: a mistake raises ``yamlstrict.ConfigError`` naming the file and line."""
    return load_model(path, ProgrammeFile)


def budget_specs(data: StatsData, plan: ProgrammeFile) -> list[Spec]:
    """The unmet need per domain (the counts per programme come from ``referral_specs``)."""
    specs: list[Spec] = []
    run = data.latest
    if run is None:
        return specs
    in_year = [r for r in data.referrals if fiscal_year_of(r.at) == plan.fiscal_year]
    listed = [c for c in data.results.get(run.run_id, []) if c.tier in LISTED]
    reached_in: dict[str, set[str]] = defaultdict(set)  # domain -> children a programme for it reached
    for programme in plan.programmes:
        names = set(programme.resources)
        children = {r.person_id for r in in_year if r.resource in names}
        for domain in programme.domains:
            reached_in[domain] |= children
    domains = [d for d in DOMAINS if any(d in c.domains for c in listed)]
    need = Counter((d, REACH[0] if c.person_id in reached_in[d] else REACH[1]) for c in listed for d in c.domains)
    specs.append(Spec("unmet_need", "満たされていない支援ニーズ（領域別の支援候補のうち、その領域の事業が届いていない子ども）", "領域",
                      "事業の到達", [DOMAINS[d] for d in domains], list(REACH), [[need[(d, r)] for r in REACH] for d in domains],
                      f"listed@{run.run_id}", "domain", "reach", layout="lines"))
    return specs


@dataclass(frozen=True)
class ProgrammeLine:
    name: str
    yearly_cost: int
    domains: str
    referred: int | None
    took_up: int | None
    cost_per_child: int | None  # 円, rounded
    cost_per_referred: int | None


def _sum(cells: list[Cell]) -> int | None:
    return None if any(c.value is None for c in cells) else sum(c.value or 0 for c in cells)


def programme_lines(plan: ProgrammeFile, referrals: StatTable | None) -> list[ProgrammeLine]:
    """The budget's lines, from the published (suppressed) referral table of the fiscal year only."""
    lines = []
    for programme in plan.programmes:
        took_up: int | None = 0
        referred: int | None = 0
        if referrals is not None:
            took = [referrals.cols.index(c) for c in TOOK_UP]
            rows = [i for i, name in enumerate(referrals.rows) if name in programme.resources]
            took_up = _sum([referrals.cells[i][j] for i in rows for j in took])
            referred = _sum([referrals.row_totals[i] for i in rows])
        lines.append(ProgrammeLine(
            programme.name, programme.yearly_cost, "・".join(DOMAINS[d] for d in programme.domains), referred, took_up,
            round(programme.yearly_cost / took_up) if took_up else None,
            round(programme.yearly_cost / referred) if referred else None,
        ))
    return lines
