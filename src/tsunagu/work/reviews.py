"""二次アセスメント: the professional's decision on a candidate, and observations by teachers.

The screening tier is a suggestion; the professional decides. When the decision differs from
what the tier suggests (support ↔ 重点支援/予防的支援, watch ↔ 見守り, no_action ↔ 対象外), a
reason is required and kept: overrides are data too (how often the rules and people disagree).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.work.access import guard, latest_result
from tsunagu.work.cases import status as case_status
from tsunagu.work.errors import Invalid
from tsunagu.work.models import Review
from tsunagu.work.notes import seal, unseal

DECISIONS = {"support": "支援する", "watch": "見守る", "no_action": "対応不要"}
TIER_DECISION = {"重点支援": "support", "予防的支援": "support", "見守り": "watch", "対象外": "no_action"}
# Structured subjective evaluations: fixed aspects and levels, so they can be counted and
# compared across reviewers; free text goes in the (encrypted) rationale.
ASPECTS = {
    "attendance": "登校・出欠の様子",
    "appearance": "身なり・衛生",
    "nutrition": "食事・体調",
    "relationships": "友人・先生との関係",
    "learning": "学習の様子",
    "mood": "表情・言動",
    "home": "家庭の様子（保護者との連絡を含む）",
}
LEVELS = {"none": "心配なし", "some": "やや心配", "serious": "心配", "unknown": "わからない"}
MIN_REASON_CHARS = 10


@dataclass(frozen=True)
class Observation:
    aspect: str
    level: str

    @property
    def aspect_label(self) -> str:
        return ASPECTS.get(self.aspect, self.aspect)

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, self.level)


@dataclass(frozen=True)
class ReviewView:
    id: int
    person_id: str
    kind: str
    run_id: str | None
    screening_tier: str | None
    decision: str | None
    decision_label: str
    observations: tuple[Observation, ...]
    rationale: str | None  # None: the reader may not see free text (see ``may_read_notes``)
    override_reason: str | None
    author: str
    author_role: str
    created_at: datetime

    @property
    def overrides(self) -> bool:
        return self.decision is not None and self.screening_tier is not None and \
            TIER_DECISION.get(self.screening_tier) != self.decision


def _observations(items: Sequence[Observation | tuple[str, str]]) -> tuple[Observation, ...]:
    result = []
    for item in items:
        obs = item if isinstance(item, Observation) else Observation(*item)
        if obs.aspect not in ASPECTS:
            raise Invalid(f"観察の観点 {obs.aspect!r} はありません。")
        if obs.level not in LEVELS:
            raise Invalid(f"観察の段階 {obs.level!r} はありません（{'・'.join(LEVELS.values())}）。")
        result.append(obs)
    return tuple(result)


def needs_reason(tier: str | None, decision: str) -> bool:
    return tier is not None and TIER_DECISION.get(tier) != decision


def record_review(
    session: Session, subject: Subject, purpose: str, person_id: str, *, decision: str, rationale: str,
    observations: Sequence[Observation | tuple[str, str]] = (), override_reason: str = "", run_id: str | None = None,
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> ReviewView:
    """Record a second-stage review (policy action ``review.write``)."""
    guard(session, subject, "review.write", purpose, person_id, sensitivity=3, key=key)
    if decision not in DECISIONS:
        raise Invalid(f"判断は {'・'.join(DECISIONS.values())} のいずれかです。", field="decision")
    if not rationale.strip():
        raise Invalid("判断の根拠を入力してください。", field="rationale")
    result = _result(session, person_id, run_id)
    tier = result.tier if result is not None else None
    if needs_reason(tier, decision) and len(override_reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(
            f"スクリーニングの区分（{tier}）と異なる判断（{DECISIONS[decision]}）には、"
            f"理由を{MIN_REASON_CHARS}文字以上で書いてください。", field="override_reason"
        )
    row = Review(
        person_id=person_id, run_id=result.run_id if result is not None else None, kind="review",
        screening_tier=tier, decision=decision,
        observations_json=json.dumps([{"aspect": o.aspect, "level": o.level} for o in _observations(observations)],
                                     ensure_ascii=False),
        rationale_enc=seal(cipher, rationale),
        override_reason_enc=seal(cipher, override_reason) if needs_reason(tier, decision) else None,
        author=subject.user_id, author_role=subject.role, organisation=subject.organisation,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    case_status.on_review(session, subject, person_id, cipher)
    return _view(row, cipher, True)


def record_observation(
    session: Session, subject: Subject, purpose: str, person_id: str, *,
    observations: Sequence[Observation | tuple[str, str]], note: str = "", cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> ReviewView:
    """A teacher's (or any allowed role's) observation: evaluations without a decision (``observation.write``)."""
    guard(session, subject, "observation.write", purpose, person_id, sensitivity=2, key=key)
    checked = _observations(observations)
    if not checked and not note.strip():
        raise Invalid("観察の内容を入力してください。")
    result = latest_result(session, person_id)
    row = Review(
        person_id=person_id, run_id=result.run_id if result is not None else None, kind="observation",
        screening_tier=None, decision=None,
        observations_json=json.dumps([{"aspect": o.aspect, "level": o.level} for o in checked], ensure_ascii=False),
        rationale_enc=seal(cipher, note), author=subject.user_id, author_role=subject.role,
        organisation=subject.organisation, created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _view(row, cipher, True)


def _result(session: Session, person_id: str, run_id: str | None) -> ScreeningResult | None:
    if run_id is None:
        return latest_result(session, person_id)
    found = session.scalars(select(ScreeningResult).where(
        ScreeningResult.person_id == person_id, ScreeningResult.run_id == run_id)).first()
    if found is None:
        raise Invalid(f"スクリーニング実行 {run_id} にこの子どもの結果はありません。")
    return found


def _view(row: Review, cipher: NoteCipher, notes: bool) -> ReviewView:
    observations = tuple(Observation(o["aspect"], o["level"]) for o in json.loads(row.observations_json))
    return ReviewView(
        row.id, row.person_id, row.kind, row.run_id, row.screening_tier, row.decision,
        DECISIONS.get(row.decision or "", "観察記録"), observations,
        unseal(cipher, row.rationale_enc) if notes else None,
        unseal(cipher, row.override_reason_enc) if notes else None,
        row.author, row.author_role, row.created_at,
    )


def reviews_of(session: Session, person_id: str, cipher: NoteCipher, *, notes: bool) -> list[ReviewView]:
    """The child's reviews and observations, newest first. Callers have already guarded the read."""
    rows = session.scalars(select(Review).where(Review.person_id == person_id).order_by(Review.created_at.desc()))
    return [_view(r, cipher, notes) for r in rows]
