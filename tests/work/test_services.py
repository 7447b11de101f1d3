"""Work services: relationship, the review reason rule, plan → referral → follow-up → closure,
refusals on record, suspension, scopes of the candidate list, encrypted notes, sign-in throttle."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from support.hubs import nodes_of
from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.link.models import PersonLink
from tsunagu.privacy import AuditEntry, rotate
from tsunagu.vault.topology import close_nodes
from tsunagu.work import plans, reviews
from tsunagu.work import users as accounts
from tsunagu.work.access import relationship
from tsunagu.work.candidates import CandidateFilter, dashboard, list_candidates
from tsunagu.work.child import open_child
from tsunagu.work.errors import Invalid, Refused, Suspended
from tsunagu.work.notes import reencrypt_notes
from tsunagu.work.resources import import_resources, list_resources
from tsunagu.work.sources import rules_in_force, source_status
from tsunagu.work.suspensions import suspend
from tsunagu.work.unit import unit_of_work
from work.builders import PASSWORD, Home


def unit(home: Home) -> AbstractContextManager[Session]:
    """As the web app does: commit on success and on a refusal (its audit entry must stay)."""
    return unit_of_work(home.factory)


def entries(home: Home, **where: str) -> list[AuditEntry]:
    with home.factory() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, column) == value)
        return list(session.scalars(stmt))


def test_relationship_is_the_strongest_that_applies(home: Home) -> None:
    with home.factory() as session:
        rel = {(u, p): relationship(session, home.subject(u), p)
               for u in ("ssw1", "cw1", "teacher1", "teacher2", "admin1") for p in ("P0001", "P0003")}
    assert rel[("teacher1", "P0001")] == "assigned_case"  # assigned beats same school
    assert rel[("ssw1", "P0001")] == "same_school"
    assert rel[("ssw1", "P0003")] == "none"  # another school, and an SSW is not centre-wide
    assert rel[("cw1", "P0003")] == "municipality"
    assert rel[("teacher2", "P0001")] == "none"
    assert rel[("teacher2", "P0003")] == "same_school"
    assert rel[("admin1", "P0001")] == "none"


def test_a_review_differing_from_the_tier_needs_a_reason(home: Home) -> None:
    ssw = home.subject("ssw1")
    with unit(home) as session:
        agreed = reviews.record_review(session, ssw, "assessment", "P0001", decision="support",
                                       rationale="欠席が増え、給食費も滞納。家庭訪問が必要。",
                                       observations=[("attendance", "serious"), ("mood", "some")], cipher=home.cipher)
    assert not agreed.overrides and agreed.screening_tier == "重点支援"
    with pytest.raises(Invalid, match="理由"), unit(home) as session:
        reviews.record_review(session, ssw, "assessment", "P0001", decision="watch", rationale="様子を見る",
                              cipher=home.cipher)
    with unit(home) as session:
        override = reviews.record_review(session, ssw, "assessment", "P0001", decision="watch", rationale="様子を見る",
                                         override_reason="担任が毎日声をかけており、母親とも連絡が取れている",
                                         cipher=home.cipher)
    assert override.overrides and override.override_reason.startswith("担任が")
    with pytest.raises(Invalid), unit(home) as session:
        reviews.record_review(session, ssw, "assessment", "P0002", decision="maybe", rationale="x", cipher=home.cipher)
    with pytest.raises(Invalid, match="観点"), unit(home) as session:
        reviews.record_review(session, ssw, "assessment", "P0002", decision="support", rationale="x",
                              observations=[("shoes", "some")], cipher=home.cipher)


def test_notes_are_encrypted_at_rest(home: Home) -> None:
    secret = "母親から夜間ひとりで過ごしていると聞いた"
    with unit(home) as session:
        made = reviews.record_review(session, home.subject("cw1"), "assessment", "P0003", decision="support",
                                     rationale=secret, override_reason="見守りより踏み込んだ支援が必要と判断した",
                                     cipher=home.cipher)
    with home.factory() as session:
        raw = session.execute(text("select rationale_enc, override_reason_enc from reviews where id = :i"),
                              {"i": made.id}).one()
    assert secret.encode() not in raw[0] and raw[0].startswith(b"tsn1")
    assert "見守り".encode() not in raw[1]
    assert home.cipher.decrypt(raw[0]) == secret
    # Rotation re-encrypts every note under the new key, and they still read back.
    with unit(home) as session:
        report = rotate(home.settings.home, lambda old, new: reencrypt_notes(session, old, new))
    assert report.reencrypted == 3  # the review's two notes and the case history's reason (the case opened)
    with home.factory() as session:
        blob = session.execute(text("select rationale_enc from reviews where id = :i"), {"i": made.id}).scalar_one()
    assert blob != raw[0]
    from tsunagu.privacy import load_note_cipher

    assert load_note_cipher(home.settings.home).decrypt(blob) == secret


def test_plan_referral_follow_up_and_closure(home: Home) -> None:
    cw = home.subject("cw1")
    with unit(home) as session:
        plan = plans.create_plan(session, cw, "support_coordination", "P0002", goals="学習の遅れを取り戻し、居場所を作る",
                                 responsible_body="こども家庭センター", next_review_on=date(2027, 1, 31),
                                 cipher=home.cipher)
        referral = plans.add_referral(session, cw, "support_coordination", plan.id, resource_id=home.resources[1],
                                      note="母親の同意を得て学習支援教室に紹介", cipher=home.cipher)
        follow = plans.add_follow_up(session, cw, "support_coordination", plan.id, due_on=date(2026, 12, 15),
                                     owner="ssw1", note="初回参加の確認", referral_id=referral.id, cipher=home.cipher)
    assert referral.status == "proposed" and follow.owner == "ssw1"
    with home.factory() as session:
        assert [f.id for f in plans.open_follow_ups(session, "ssw1")] == [follow.id]
    with pytest.raises(Invalid, match="つなぎの結果"), unit(home) as session:
        plans.close_plan(session, cw, "support_coordination", plan.id, note="終結", cipher=home.cipher)
    with pytest.raises(Invalid, match="結果を選んで"), unit(home) as session:
        plans.update_referral(session, cw, "support_coordination", referral.id, status="closed", cipher=home.cipher)
    with unit(home) as session:
        plans.update_referral(session, cw, "support_coordination", referral.id, status="connected", cipher=home.cipher)
        done = plans.update_referral(session, cw, "support_coordination", referral.id, status="closed", outcome="using",
                                     note="週2回参加している", cipher=home.cipher)
    assert done.outcome_label.startswith("支援につながった") and "週2回" in (done.note or "")
    with pytest.raises(Invalid, match="フォローアップ"), unit(home) as session:
        plans.close_plan(session, cw, "support_coordination", plan.id, note="終結", cipher=home.cipher)
    with unit(home) as session:
        plans.complete_follow_up(session, cw, "support_coordination", follow.id, note="参加を確認", cipher=home.cipher)
        closed = plans.close_plan(session, cw, "support_coordination", plan.id, note="支援につながり目標を達成",
                                  cipher=home.cipher)
    assert closed.status == "closed" and closed.closure_note == "支援につながり目標を達成"
    with home.factory() as session:
        assert plans.open_follow_ups(session, "ssw1") == []
        [view] = plans.plans_of(session, "P0002", home.cipher, notes=True)
    assert view.referrals[0].resource_name == "学習支援教室 つなぐ塾" and view.follow_ups[0].done
    # every write was decided and recorded against the child, in the same transactions
    actions = [e.action for e in entries(home, person_id="P0002", actor="cw1")]
    assert actions.count("plan.write") == 4 and actions.count("referral.write") == 3
    with pytest.raises(Invalid, match="終結"), unit(home) as session:
        plans.add_referral(session, cw, "support_coordination", plan.id, resource_id=home.resources[0],
                           cipher=home.cipher)


def test_refusals_are_refused_and_on_record(home: Home) -> None:
    with pytest.raises(Refused, match="関係") as refused, unit(home) as session:
        open_child(session, home.subject("teacher2"), "assessment", "P0001", nodes={}, manifests=manifests_for_home(
            home.settings.home), cipher=home.cipher)
    assert refused.value.decision is not None and refused.value.decision.rule == "deny.relationship"
    [entry] = entries(home, actor="teacher2", person_id="P0001")
    assert (entry.action, entry.outcome, entry.purpose) == ("child.view", "denied", "assessment")
    with pytest.raises(Refused), unit(home) as session:  # teachers observe; they do not decide
        reviews.record_review(session, home.subject("teacher1"), "assessment", "P0001", decision="support",
                              rationale="x", cipher=home.cipher)
    with pytest.raises(Refused), unit(home) as session:
        list_candidates(session, home.subject("admin1"), "screening", CandidateFilter())
    with pytest.raises(Refused), unit(home) as session:  # the SSW's plan for a child of another school
        plans.create_plan(session, home.subject("ssw1"), "assessment", "P0003", goals="x", responsible_body="x",
                          next_review_on=None, cipher=home.cipher)
    denied = {(e.actor, e.action) for e in entries(home, outcome="denied")}
    assert {("teacher1", "review.write"), ("admin1", "candidates.list"), ("ssw1", "plan.write")} <= denied
    with unit(home) as session:  # a teacher's observation of their own pupil is allowed
        obs = reviews.record_observation(session, home.subject("teacher1"), "assessment", "P0001",
                                         observations=[("appearance", "some")], note="上履きがない日が続く",
                                         cipher=home.cipher)
    assert obs.kind == "observation" and obs.decision is None


def test_candidate_lists_follow_scope_and_sensitivity(home: Home) -> None:
    pages = {}
    for user in ("cw1", "ssw1", "teacher1"):
        with unit(home) as session:
            pages[user] = list_candidates(session, home.subject(user), "screening", CandidateFilter())
    assert [r.person_id for r in pages["cw1"].rows] == ["P0001", "P0004", "P0002", "P0003"]
    assert {r.person_id for r in pages["ssw1"].rows} == {"P0001", "P0002", "P0004"}
    assert [r.person_id for r in pages["teacher1"].rows] == ["P0001"]  # their class only
    teacher_row, = pages["teacher1"].rows
    # the abuse consultation (sensitivity 3) and its domain are not shown to a teacher
    assert teacher_row.hidden_reasons == 1 and "虐待リスク" not in teacher_row.domain_labels
    assert {r.item_id for r in teacher_row.reasons} == {"absence_days", "lunch_fee_arrears_months"}
    ssw_row = next(r for r in pages["ssw1"].rows if r.person_id == "P0001")
    assert ssw_row.hidden_reasons == 0 and "虐待リスク" in ssw_row.domain_labels
    # one entry per child shown, so each family's history names the list view
    listed = entries(home, actor="ssw1", action="candidates.list")
    assert sorted(e.person_id for e in listed if e.person_id) == ["P0001", "P0002", "P0004"]
    with unit(home) as session:
        worse = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter(worsened_only=True))
        first = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter(first_only=True))
        school = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter(school="S002"))
        domain = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter(domain="poverty"))
        paged = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter(per_page=3, page=2))
        board = dashboard(session, home.subject("cw1"))
    assert [r.person_id for r in worse.rows] == ["P0001"] and [r.person_id for r in first.rows] == ["P0002"]
    assert [r.person_id for r in school.rows] == ["P0003"]
    assert {r.person_id for r in domain.rows} == {"P0001", "P0002"}
    assert (paged.total, paged.pages, len(paged.rows)) == (4, 2, 1)
    assert board.by_tier == {"重点支援": 2, "予防的支援": 1, "見守り": 1} and board.no_mark == 3 and board.worsened == 1


def test_a_suspended_child_disappears_except_for_the_privacy_officer(home: Home) -> None:
    with unit(home) as session:
        suspend(session, home.subject("po1"), "P0004", "利用停止請求 第12号")
    with unit(home) as session:
        page = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter())
    assert "P0004" not in {r.person_id for r in page.rows}
    manifests = manifests_for_home(home.settings.home)
    with pytest.raises(Suspended), unit(home) as session:
        open_child(session, home.subject("cw1"), "assessment", "P0004", nodes={}, manifests=manifests,
                   cipher=home.cipher)
    [denied] = entries(home, actor="cw1", person_id="P0004")
    assert denied.outcome == "denied" and denied.rule == "work.use_suspended"
    with unit(home) as session:
        view = open_child(session, home.subject("po1"), "disclosure_handling", "P0004", nodes={}, manifests=manifests,
                          cipher=home.cipher)
    assert view.person_id == "P0004"
    with pytest.raises(Refused), unit(home) as session:  # only the privacy officer handles requests
        suspend(session, home.subject("cw1"), "P0003", "x")


def test_child_page_asks_the_nodes_for_allowed_items_only(home: Home) -> None:
    nodes = nodes_of(home.settings)
    manifests = manifests_for_home(home.settings.home)
    try:
        with unit(home) as session:
            full = open_child(session, home.subject("cw1"), "assessment", "P0001", nodes=nodes, manifests=manifests,
                              cipher=home.cipher)
        with unit(home) as session:
            teacher = open_child(session, home.subject("teacher1"), "assessment", "P0001", nodes=nodes,
                                 manifests=manifests, cipher=home.cipher)
    finally:
        close_nodes(nodes)
    items = {e.item_id for e in full.timeline}
    assert {"absence_days", "ssw_involvement", "relationship_to_head"} <= items
    assert any(row.values.get("氏名") == "髙橋　太郎" for row in full.identity)
    assert {link.method for link in full.links} == {"spine", "probabilistic", "aza_number"}
    assert [p.tier for p in full.trend] == ["見守り", "重点支援"]
    # a teacher: school-held items up to sensitivity 2 — no SSW involvement (3), no register items
    teacher_items = {e.item_id for e in teacher.timeline}
    assert "absence_days" in teacher_items and "ssw_involvement" not in teacher_items
    assert "relationship_to_head" not in teacher_items
    assert teacher.hidden_reasons == 1 and not teacher.notes_visible
    reads = entries(home, actor="teacher1", action="child.items.read")
    assert len(reads) == 1 and "ssw_involvement" not in reads[0].items


def test_child_page_shows_a_record_once_when_two_sources_share_its_local_id(home: Home) -> None:
    # The register's moves (住民異動) use the same 宛名番号 as the register itself; the node answers
    # a record by local id across the department's sources, so one question per local id.
    nodes = nodes_of(home.settings)
    manifests = manifests_for_home(home.settings.home)
    try:
        with unit(home) as session:
            before = open_child(session, home.subject("cw1"), "assessment", "P0001", nodes=nodes,
                                manifests=manifests, cipher=home.cipher)
            link = session.scalars(select(PersonLink).where(PersonLink.person_id == "P0001",
                                                            PersonLink.source == "juki_jumin")).one()
            session.add(PersonLink(person_id="P0001", department="resident_registry", source="juki_idou",
                                   local_id=link.local_id, method="aza_number", match_probability=None,
                                   run_id="link-1"))
        with unit(home) as session:
            after = open_child(session, home.subject("cw1"), "assessment", "P0001", nodes=nodes,
                               manifests=manifests, cipher=home.cipher)
    finally:
        close_nodes(nodes)
    assert len(after.links) == len(before.links) + 1
    assert after.timeline == before.timeline and len(set(after.timeline)) == len(after.timeline)


def test_sign_in_throttle_locks_per_user_and_address(home: Home) -> None:
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def attempt(user: str, password: str, ip: str, at: datetime) -> accounts.Account | Exception:
        with unit(home) as session:  # committed whatever happens: failures count toward the lock
            try:
                return accounts.authenticate(session, user, password, ip, at)
            except accounts.LoginFailed as exc:
                return exc

    for i in range(5):
        assert isinstance(attempt("ssw1", "wrong-password", "10.0.0.1", now + timedelta(seconds=i)),
                          accounts.LoginFailed)
    # locked even with the right password; the address is not locked for other users (one attacked
    # account behind a shared proxy address must not lock out every colleague: issue 18)
    assert isinstance(attempt("ssw1", PASSWORD, "10.0.0.2", now + timedelta(minutes=1)), accounts.LoginLocked)
    assert isinstance(attempt("cw1", PASSWORD, "10.0.0.1", now + timedelta(minutes=1)), accounts.Account)
    account = attempt("ssw1", PASSWORD, "10.0.0.2", now + timedelta(minutes=6))
    assert isinstance(account, accounts.Account) and account.role == "school_social_worker"
    with unit(home) as session:
        accounts.disable_user(session, home.subject("admin1"), "teacher2")
    assert isinstance(attempt("teacher2", PASSWORD, "10.0.0.3", now), accounts.LoginFailed)
    with pytest.raises(Invalid, match="既に"), unit(home) as session:
        accounts.create_user(session, home.subject("admin1"), "ssw1", role="teacher", display_name="x",
                             organisation="S001", password=PASSWORD)
    with pytest.raises(Refused), unit(home) as session:
        accounts.list_users(session, home.subject("cw1"))


def test_parallel_sign_in_attempts_get_no_more_guesses_than_serial_ones(home: Home) -> None:
    # As the web app signs in: the hash read, argon2 outside any transaction, then the attempt recorded.
    checks = []
    for i in range(8):  # eight guesses in flight at once, all read before any is recorded
        with home.factory() as session:
            stored = accounts.read_credentials(session, "ssw1", "10.0.0.9")
        checks.append(accounts.check_password_hash("ssw1", stored, PASSWORD if i == 7 else f"wrong-guess-{i}"))
    outcomes = []
    for check in checks:
        with unit(home) as session:
            try:
                outcomes.append(type(accounts.record_sign_in(session, check, "10.0.0.9")).__name__)
            except accounts.LoginFailed as exc:
                outcomes.append(type(exc).__name__)
    # the sixth and later find the lock the first five made: even the right password is refused
    assert outcomes == ["LoginFailed"] * 5 + ["LoginLocked"] * 3
    with home.factory() as session:
        recorded = session.execute(text("SELECT count(*) FROM login_attempts WHERE user_id = 'ssw1'")).scalar()
    assert recorded == 5


def test_resources_import_and_admin_views(home: Home, tmp_path: Path) -> None:
    file = tmp_path / "resources.yaml"
    file.write_text("resources:\n  - {name: こども食堂 ひだまり, category: 居場所・こども食堂, contact: 変更後}\n"
                    "  - {name: 子育て相談 ほっと, category: 相談支援, public: false}\n", encoding="utf-8")
    with unit(home) as session:
        added, updated = import_resources(session, home.subject("admin1"), "administration", file)
        listed = list_resources(session)
        public = list_resources(session, public_only=True)
    assert (added, updated) == (1, 1) and len(listed) == 3 and len(public) == 2
    with pytest.raises(Refused), unit(home) as session:
        import_resources(session, home.subject("teacher1"), "support_coordination", file)
    nodes = nodes_of(home.settings)
    try:
        with unit(home) as session:
            sources = source_status(session, home.subject("steward1"), nodes, manifests_for_home(home.settings.home),
                                    today=date(2026, 11, 10))
            rules = rules_in_force(session, home.subject("admin1"), home.settings, as_of=date(2026, 10, 31))
    finally:
        close_nodes(nodes)
    juki = next(s for s in sources if s.source == "juki_jumin")
    assert juki.last_export == date(2026, 10, 31) and juki.rows_loaded == 4 and not juki.stale
    assert next(s for s in sources if s.source == "kokoro_tenki").missing_in_run
    assert rules.available is (home.settings.rules_path / "baseline").is_dir()  # the rules screening uses
