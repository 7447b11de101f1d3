"""The child's health records for the guardian: check-ups and vaccinations, and what is due next.

Read from the maternal and child health node under ``guardian_self_view`` (the manifests release
the child's own check-ups and the count of routine vaccinations not given — never the mother's
EPDS score or pregnancy week, which are hers), decided and recorded through ``authorise`` like a
staff read. The schedule is the national one as dated data (``schedule.yaml``), never code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import catalog_of, default_catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.errors import Refused
from tsunagu.work.family.household import PURPOSE, Child
from tsunagu.yamlstrict import load_model

HOLDER = "maternal_child_health"
MONTH_DAYS = 30.4375  # an average month: windows are shown as dates, to the day is enough


class ScheduleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    kind: Literal["checkup", "visit", "vaccination"]
    label: str = Field(min_length=1)
    easy: str = Field(min_length=1)  # the same in やさしい日本語
    start: Annotated[float, Field(ge=0, alias="from")]
    end: Annotated[float, Field(gt=0, alias="until")]
    standard_from: float | None = None
    standard_until: float | None = None
    item: str | None = None
    done: tuple[str, ...] = ()
    sex: str | None = None
    reference: str = Field(min_length=1)
    valid_from: date
    valid_until: date | None = None

    @model_validator(mode="after")
    def _window(self) -> ScheduleEntry:
        if self.end <= self.start:
            raise ValueError(f"{self.id}: until must be after from")
        if self.item is not None and self.item not in default_catalog().items:
            raise ValueError(f"{self.id}: {self.item} is not a catalogue item")
        return self


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    references: dict[str, str]
    entries: tuple[ScheduleEntry, ...]

    def in_force(self, day: date) -> list[ScheduleEntry]:
        return [e for e in self.entries if e.valid_from <= day and (e.valid_until is None or day < e.valid_until)]


@lru_cache(maxsize=1)
def default_schedule() -> Schedule:
    return load_model(Path(str(resources.files("tsunagu.work.family") / "schedule.yaml")), Schedule)


def _months(birth: date, months: float) -> date:
    return birth + timedelta(days=round(months * MONTH_DAYS))


@dataclass(frozen=True)
class Record:
    label: str
    value: str
    observed_on: date | None
    department: str
    source: str
    local_id: str
    item: str


@dataclass(frozen=True)
class Due:
    label: str
    easy: str
    kind: str
    starts: date
    ends: date
    standard: tuple[date, date] | None
    status: str  # done / now / open / soon / early / later / missed / past
    status_label: str
    reference: str

    @property
    def last_day(self) -> date:
        return self.ends - timedelta(days=1)


@dataclass
class HealthView:
    child: Child
    records: list[Record] = field(default_factory=list)
    schedule: list[Due] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)

    @property
    def next_due(self) -> list[Due]:
        """What to do next: windows open now, then the next that opens (at most three)."""
        return [d for d in self.schedule if d.status in ("now", "soon", "missed")][:3]


STATUS_LABELS = {"done": "済み", "now": "いまの時期です", "open": "受けられます（めやすの時期は過ぎました）",
                 "soon": "もうすぐです", "early": "受けられます（めやすの時期はこれから）", "later": "これから",
                 "missed": "受けていない記録があります", "past": "時期が過ぎました"}


def _status(entry: ScheduleEntry, starts: date, ends: date, standard: tuple[date, date] | None, today: date,
            values: dict[str, str]) -> str:
    value = values.get(entry.item or "")
    if value is not None and value in entry.done:
        return "done"
    if value is not None and today >= ends:
        return "missed"
    if today >= ends:
        return "past"
    # With a standard period (定期接種実施要領), "now" is that period: before it the dose is still to
    # come; after it the dose may well have been given (tsunagu has no per-dose record), so it is
    # shown as still possible, not put first.
    first, last = standard if standard is not None else (starts, ends)
    if first <= today < last:
        return "now"
    if today >= last:
        return "open"
    if first - today <= timedelta(days=60):
        return "soon"
    return "early" if today >= starts else "later"


def schedule_for(child: Child, today: date, values: dict[str, str]) -> list[Due]:
    if child.birth_date is None:
        return []
    out = []
    for entry in default_schedule().in_force(today):
        if entry.sex is not None and entry.sex != child.sex:
            continue
        starts, ends = _months(child.birth_date, entry.start), _months(child.birth_date, entry.end)
        standard = None
        if entry.standard_from is not None and entry.standard_until is not None:
            standard = (_months(child.birth_date, entry.standard_from), _months(child.birth_date, entry.standard_until))
        status = _status(entry, starts, ends, standard, today, values)
        out.append(Due(entry.label, entry.easy, entry.kind, starts, ends, standard, status, STATUS_LABELS[status],
                       entry.reference))
    return out


def _value(row: Mapping[str, object], unit: str | None) -> str:
    if row.get("value_num") is not None:
        num = float(str(row["value_num"]))
        return (str(int(num)) if num.is_integer() else f"{num:g}") + (unit or "")
    return str(row.get("value_text") or "")


def health_records(
    session: Session, subject: Subject, child: Child, *, relationship: str,
    nodes: Mapping[str, Node], manifests: ManifestSet, today: date, key: Ed25519PrivateKey | None = None,
) -> HealthView:
    """The child's check-ups and vaccinations; Refused (recorded) when the child is not the guardian's."""
    catalog = catalog_of(session)
    released = sorted({i for m in manifests.of_department(HOLDER) for i in m.released_items(PURPOSE)})
    decision = authorise(session, subject, "child.items.read", PURPOSE, person_id=child.person_id, items=released,
                         relationship=relationship,
                         sensitivity=max((catalog.items[i].sensitivity for i in released), default=1),
                         holder=HOLDER, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    view = HealthView(child, references=default_schedule().references)
    links = session.scalars(select(PersonLink).where(PersonLink.person_id == child.person_id,
                                                     PersonLink.department == HOLDER)).all()
    node = nodes.get(HOLDER)
    values: dict[str, str] = {}
    if links and node is None:
        view.unavailable.append("母子保健の記録に接続できません。時間をおいてもう一度開いてください。")
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE, items=tuple(released))
    for link in {link.local_id: link for link in links}.values() if released else ():
        if node is None:
            break
        try:
            answer = node.record(request, link.source, link.local_id)
        except NodeRefusedError as exc:
            view.unavailable.append(f"母子保健の記録を読めませんでした（{exc.reason}）。")
            continue
        except Exception as exc:  # a department that is down leaves a gap, said so, not a failed page
            view.unavailable.append(f"母子保健の記録から応答がありません（{type(exc).__name__}）。")
            continue
        for row in answer.data.iter_rows(named=True):
            item = catalog.items.get(str(row["item_id"]))
            text = _value(row, item.unit if item else None)
            view.records.append(Record(item.label if item else str(row["item_id"]), text, row.get("observed_on"),
                                       HOLDER, str(row["source"]), str(row["local_id"]), str(row["item_id"])))
            values[str(row["item_id"])] = text
    view.records.sort(key=lambda r: (r.observed_on or date.min, r.label), reverse=True)
    view.schedule = schedule_for(child, today, values)
    return view
