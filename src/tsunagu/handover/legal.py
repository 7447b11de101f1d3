"""The two hand-over acts — ケース移管 and 情報提供 — as data: contents, legal grounds, periods.

Loaded from ``legal.yaml`` through ``tsunagu.yamlstrict`` so the register the municipality
publishes and the package a caseworker sends cite the same grounds.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from tsunagu.yamlstrict import load_model

KINDS = ("case_transfer", "information_provision")
SECTIONS = ("summary", "assessments", "plans", "referrals", "follow_ups", "case_history", "contacts", "meetings",
            "ledger", "health_checkups", "vaccinations")
SECTION_LABELS = {
    "summary": "ケースの概要", "assessments": "アセスメント", "plans": "支援方針", "referrals": "つなぎ（支援への接続）",
    "follow_ups": "経過記録（フォローアップ）", "case_history": "ケースの状況と経過", "contacts": "連絡記録",
    "meetings": "個別ケース検討会議", "ledger": "進行管理台帳（要保護児童対策地域協議会）",
    "health_checkups": "乳幼児健康診査", "vaccinations": "予防接種",
}


class PackageKind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    when: str = Field(min_length=10)
    provision_basis: str = Field(min_length=10)
    laws: tuple[str, ...] = Field(min_length=1)
    sections: tuple[Literal["summary", "assessments", "plans", "referrals", "follow_ups", "case_history", "contacts",
                            "meetings", "ledger", "health_checkups", "vaccinations"], ...] = Field(min_length=1)
    summary_items: tuple[str, ...]
    free_text: bool
    send_within_days: Annotated[int, Field(ge=1, le=90)]
    receipt_within_days: Annotated[int, Field(ge=1, le=90)]
    closes_on: Literal["received", "accepted"]

    @model_validator(mode="after")
    def _summary_first(self) -> PackageKind:
        if self.sections[0] != "summary":
            raise ValueError("sections must start with summary (a package always says what it is about)")
        return self


class PackageKinds(RootModel[dict[str, PackageKind]]):
    @model_validator(mode="after")
    def _every_kind(self) -> PackageKinds:
        if set(self.root) != set(KINDS):
            raise ValueError(f"kinds must be exactly {', '.join(KINDS)} (got {', '.join(sorted(self.root))})")
        return self

    def of(self, kind: str) -> PackageKind:
        return self.root[kind]


def packaged_path() -> Path:
    return Path(str(resources.files("tsunagu.handover") / "legal.yaml"))


@lru_cache(maxsize=1)
def package_kinds() -> PackageKinds:
    return load_model(packaged_path(), PackageKinds)


def kind_label(kind: str) -> str:
    return package_kinds().of(kind).label


def send_due(moved_on: date, kind: str) -> date:
    """The day a package should have left: the move's day is not counted (民法第140条)."""
    return moved_on + timedelta(days=package_kinds().of(kind).send_within_days)


def receipt_due(sent_on: date, kind: str) -> date:
    return sent_on + timedelta(days=package_kinds().of(kind).receipt_within_days)
