"""予算の見える化: the finance section's programmes, the children they reached, cost per child.

The programmes file (``<home>/budget/programmes.yaml``, or ``--programmes``) is written by
people and loaded strictly (errors name the file and line). A programme reaches a child through
a referral (つなぎ) to one of its support resources, made within the fiscal year; the child
*took up* the programme when a referral reached 利用開始 or ended with 支援につながった.
Cost per child reached is the yearly cost over the children who took it up, shown only when that
count is published (a ratio over a suppressed count would give the count away).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tsunagu.screen.model import DOMAINS
from tsunagu.stats.figures import LISTED
from tsunagu.stats.source import ReferralFact, StatsData
from tsunagu.stats.tables import Spec, StatTable
from tsunagu.yamlstrict import load_model

PROGRAMMES_FILE = Path("budget") / "programmes.yaml"
STATES = ("利用につながった", "紹介・提案中", "利用に至らず終了")
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


def fiscal_year_of(moment: datetime) -> int:
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return day.year if day.month >= 4 else day.year - 1


def _state(refs: list[ReferralFact]) -> str:
    if any(r.status == "connected" or (r.status == "closed" and r.outcome == "using") for r in refs):
        return STATES[0]
    if any(r.status != "closed" for r in refs):
        return STATES[1]
    return STATES[2]


def budget_specs(data: StatsData, plan: ProgrammeFile) -> list[Spec]:
    in_year = [r for r in data.referrals if fiscal_year_of(r.at) == plan.fiscal_year]
    by_programme: dict[str, dict[str, list[ReferralFact]]] = {}
    for programme in plan.programmes:
        names = set(programme.resources)
        children: dict[str, list[ReferralFact]] = defaultdict(list)
        for ref in in_year:
            if ref.resource in names:
                children[ref.person_id].append(ref)
        by_programme[programme.id] = children
    counts = [[sum(1 for refs in by_programme[p.id].values() if _state(refs) == s) for s in STATES]
              for p in plan.programmes]
    pop = f"programmes@{plan.fiscal_year}"
    specs = [Spec("budget_reach", f"{plan.fiscal_year}年度 事業が届いた子ども（事業別）", "事業", "状況",
                  [p.name for p in plan.programmes], list(STATES), counts, pop, "programme", "state", layout="lines")]
    run = data.latest
    if run is None:
        return specs
    listed = [c for c in data.results.get(run.run_id, []) if c.tier in LISTED]
    reached_in: dict[str, set[str]] = defaultdict(set)  # domain -> children reached by a programme for it
    for programme in plan.programmes:
        for domain in programme.domains:
            reached_in[domain] |= set(by_programme[programme.id])
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


def programme_lines(plan: ProgrammeFile, reach: StatTable) -> list[ProgrammeLine]:
    """The budget table's lines, from the published (suppressed) reach table only."""
    lines = []
    for programme, cells, total in zip(plan.programmes, reach.cells, reach.row_totals, strict=True):
        took_up = cells[0].value
        lines.append(ProgrammeLine(
            programme.name, programme.yearly_cost, "・".join(DOMAINS[d] for d in programme.domains), total.value, took_up,
            round(programme.yearly_cost / took_up) if took_up else None,
            round(programme.yearly_cost / total.value) if total.value else None,
        ))
    return lines


def fiscal_year_range(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)
