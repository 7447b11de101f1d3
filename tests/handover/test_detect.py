"""Detection: only recent moves of supported children, once each."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from handover.conftest import B_CODE, TODAY, Side, trust
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.handover import detect
from tsunagu.handover.models import HandoverTask


def test_detection_is_idempotent_and_bounded_in_time(pair: tuple[Side, Side]) -> None:
    a, _b = pair
    with a.home.factory.begin() as session:
        first = detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    with a.home.factory.begin() as session:
        again = detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    assert (len(first.opened), len(again.opened), again.skipped_existing) == (2, 0, 2)
    # Sixty days on, the same moves are outside the window: nothing is opened or even looked at.
    with a.home.factory.begin() as session:
        late = detect.detect(session, a.nodes, packaged_manifests(), today=date(2027, 2, 1))
    assert (late.moves, late.opened) == (0, [])
    # Before the moves happened there is nothing to find.
    with a.home.factory.begin() as session:
        early = detect.detect(session, a.nodes, packaged_manifests(), today=date(2026, 11, 29))
    assert early.moves == 0


def test_a_move_matters_only_for_a_child_in_support(pair: tuple[Side, Side]) -> None:
    a, _b = pair
    with a.home.factory() as session:
        # P0003 (見守り, known elsewhere, no plan, no referral, no registration) would not be handed over.
        assert detect.reasons_for(session, "P0003", TODAY, {}) == []
        assert detect.reasons_for(session, "P0003", TODAY, {"yotaikyo_registration": "終結"}) == []
        assert detect.reasons_for(session, "P0003", TODAY, {"yotaikyo_registration": "要支援児童"}) == ["yotaikyo"]
        assert detect.reasons_for(session, "P0003", TODAY, {"centre_case_open": True}) == ["open_case"]
        # P0001's 重点支援 (run of 2026-10-31) counts within 180 days of the move, not after.
        assert detect.reasons_for(session, "P0001", TODAY, {}) == ["priority_tier"]
        assert detect.reasons_for(session, "P0001", date(2027, 6, 1), {}) == []
    assert detect.suggested_kind(["yotaikyo"]) == "information_provision"
    assert detect.suggested_kind(["open_case", "yotaikyo"]) == "case_transfer"


def test_the_registers_destination_suggests_the_receiving_municipality(pair: tuple[Side, Side]) -> None:
    a, b = pair
    trust(a, b.identity, None)
    with a.home.factory.begin() as session:
        detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    with a.home.factory() as session:
        tasks = {t.person_id: t for t in session.scalars(select(HandoverTask))}
        # 「みらい市本町4丁目5番6号」 names the registered みらい市; the address itself is not kept.
        assert tasks["P0002"].suggested_peer == B_CODE
        assert detect.suggested_peer(session, "かなた市緑町1番地") is None  # not a trusted municipality
        assert detect.suggested_peer(session, None) is None
