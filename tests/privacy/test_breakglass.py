"""Break-glass: refused without a proper reason, scoped to one person, expiring, loudly recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import (
    AuditEntry,
    BreakGlassGrant,
    BreakGlassRefused,
    PrivacyNotification,
    Subject,
    access_history,
    authorise,
    break_glass,
    decide_with_grants,
    verify,
)
from tsunagu.store.db import session_factory

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 12:00 in Japan
REASON = "夜間に警察から本児の安全確認の依頼があり、担当者不在のため記録を確認する"
SSW = Subject("ssw-2", "school_social_worker", "school-002")




def _read(session: Session, subject: Subject, person: str, at: datetime, *, purpose: str = "assessment",
          action: str = "child.items.read", sensitivity: int = 3) -> bool:
    # The SSW's relationship to a child of another school is "municipality": not enough.
    return decide_with_grants(session, subject, action, purpose, person_id=person, relationship="municipality",
                              sensitivity=sensitivity, now=at).allowed


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_break_glass_unlocks_one_person_for_one_user_for_a_short_time(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        assert not _read(session, SSW, "P-77", T0)
        with pytest.raises(BreakGlassRefused, match="20文字以上"):
            break_glass(session, SSW, "child.items.read", "assessment", "P-77", "急ぎです", relationship="municipality",
                        sensitivity=3, now=T0)
        assert _count(session, BreakGlassGrant) == 0 and _count(session, AuditEntry) == 0
        grant = break_glass(session, SSW, "child.items.read", "assessment", "P-77", REASON, relationship="municipality",
                            sensitivity=3, now=T0)
    assert grant.expires_at == T0 + timedelta(minutes=30)

    with factory() as session:
        during = T0 + timedelta(minutes=10)
        decision = decide_with_grants(session, SSW, "child.items.read", "assessment", person_id="P-77",
                                      relationship="municipality", sensitivity=3, now=during)
        assert decision.allowed and decision.break_glass
        assert decision.rule == f"break_glass.{grant.id}" and "緊急閲覧" in decision.reason and REASON in decision.reason
        assert _read(session, SSW, "P-77", during, action="child.view")  # reads of the record, not one screen
        assert not _read(session, SSW, "P-78", during)  # that person only
        assert not _read(session, Subject("ssw-3", "school_social_worker", "school-002"), "P-77", during)  # that user only
        assert not _read(session, SSW, "P-77", during, purpose="screening")  # that purpose only
        assert not decide_with_grants(session, SSW, "review.write", "assessment", person_id="P-77",
                                      relationship="municipality", now=during).allowed  # reads only
        assert not _read(session, SSW, "P-77", T0 + timedelta(minutes=30))  # expired
        assert not _read(session, SSW, "P-77", T0 - timedelta(minutes=1))  # not before it was opened

        notes = list(session.scalars(select(PrivacyNotification)))
        assert [(n.kind, n.subject, n.person_id, n.read_at) for n in notes] == [("break_glass", "ssw-2", "P-77", None)]
        assert REASON in notes[0].text and "スクールソーシャルワーカー" in notes[0].text
        entries = list(session.scalars(select(AuditEntry)))
        assert [(e.action, e.person_id, e.outcome, e.actor) for e in entries] == [
            ("break_glass.open", "P-77", "allowed", "ssw-2")
        ]
        assert REASON in entries[0].reason
        assert verify(session).ok


def test_a_break_glass_read_is_on_the_familys_record(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as session:
        break_glass(session, SSW, "child.view", "assessment", "P-9", REASON, relationship="municipality", now=T0)
        decision = authorise(session, SSW, "child.view", "assessment", person_id="P-9", relationship="municipality",
                             now=T0 + timedelta(minutes=1))
        assert decision.allowed
    with factory() as session:
        history = access_history(session, "P-9")
    assert [(r.action_label, r.break_glass) for r in history] == [
        ("緊急閲覧（ブレークグラス）の開始", True),
        ("子どもの概要の閲覧", True),
    ]


@pytest.mark.parametrize(
    ("subject", "action", "purpose", "relationship", "sensitivity", "why"),
    [
        (Subject("t", "teacher", "school-1"), "child.view", "assessment", "none", 1, "緊急閲覧を使えない役割"),
        (Subject("a", "administrator", "it"), "child.view", "assessment", "none", 1, "緊急閲覧を使えない役割"),
        (Subject("p", "privacy_officer", "office"), "child.view", "disclosure_handling", "none", 1, "緊急閲覧を使えない役割"),
        (SSW, "review.write", "assessment", "municipality", 1, "緊急閲覧の対象ではありません"),
        (SSW, "child.view", "statistics", "municipality", 1, "deny.purpose"),
        (Subject("g", "child_guidance_caseworker", "cgc"), "child.view", "screening", "none", 1, "deny.purpose"),
        (SSW, "child.view", "assessment", "same_school", 1, "通常の権限で扱える"),
    ],
    ids=["teacher", "administrator", "privacy-officer", "write-action", "purpose", "cgc-screening", "already-allowed"],
)
def test_break_glass_never_lends_what_the_policy_withholds(
    engine: Engine, subject: Subject, action: str, purpose: str, relationship: str, sensitivity: int, why: str
) -> None:
    with session_factory(engine).begin() as session:
        with pytest.raises(BreakGlassRefused, match=why):
            break_glass(session, subject, action, purpose, "P-1", REASON, relationship=relationship,
                        sensitivity=sensitivity, now=T0)
        assert _count(session, BreakGlassGrant) == 0 and _count(session, PrivacyNotification) == 0


def test_the_child_guidance_centre_can_break_glass_for_an_urgent_report(engine: Engine) -> None:
    cgc = Subject("g-1", "child_guidance_caseworker", "cgc-north")
    with session_factory(engine).begin() as session:
        grant = break_glass(session, cgc, "child.items.read", "assessment", "P-5", REASON, minutes=60, sensitivity=3,
                            now=T0)
        assert decide_with_grants(session, cgc, "child.items.read", "assessment", person_id="P-5", sensitivity=3,
                                  now=T0 + timedelta(minutes=59)).allowed
    assert grant.expires_at - grant.created_at == timedelta(minutes=60)


@pytest.mark.parametrize("minutes", [0, 121])
def test_break_glass_time_is_bounded(engine: Engine, minutes: int) -> None:
    with session_factory(engine).begin() as session, pytest.raises(BreakGlassRefused, match="1〜120分"):
        break_glass(session, SSW, "child.view", "assessment", "P-1", REASON, minutes, relationship="municipality", now=T0)
