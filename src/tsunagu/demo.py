"""The demo municipality: every stage of the pipeline on synthetic data, in one home.

Each stage is skipped when the home already holds its result, so running the demo again reuses
the home instead of rebuilding it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.catalog.schools import FILE_NAME as SCHOOLS_FILE
from tsunagu.catalog.schools import install_school_master
from tsunagu.config import Settings, load_settings
from tsunagu.home import init_home
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.link.models import LinkRun
from tsunagu.link.run import run_linkage
from tsunagu.municipality import Municipality
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.screen.runs.models import ScreeningRun
from tsunagu.screen.runs.run import run_screening
from tsunagu.store.db import migrate
from tsunagu.work.access import suspended_persons
from tsunagu.work.cases.models import Case
from tsunagu.work.models import User

DEMO_NAME = "つなぐ市（合成データ）"
DEMO_CODE = "272205"  # a valid code for the synthetic municipality's home; the data is fictional
SYNTH_DIR = "synthetic"

Stage = Callable[[str], None]


@dataclass
class DemoSummary:
    home: str
    children: int = 0
    stages: dict[str, str] = field(default_factory=dict)
    ingest: dict[str, int] = field(default_factory=dict)
    linkage: dict[str, Any] = field(default_factory=dict)
    screening: dict[str, Any] = field(default_factory=dict)


def _synth(home: Path, children: int, seed: int, profile: str) -> tuple[Path, bool]:
    from tsunagu.synth import generate

    out = home / SYNTH_DIR
    manifest = out / "truth" / "manifest.json"
    if manifest.is_file():
        made = json.loads(manifest.read_text("utf-8"))
        if made.get("children") == children and made.get("seed") == seed:
            return out, False
    generate(children, seed, profile, out)
    return out, True


def build_demo(home: Path, children: int, seed: int, profile: str = "default",
               on_stage: Stage | None = None) -> DemoSummary:
    """Create (or reuse) a demo home and run synth → ingest → link → screen in it."""
    say = on_stage or (lambda _text: None)
    summary = DemoSummary(home=str(home), children=children)
    say("init")
    init_home(home, Municipality(DEMO_CODE, DEMO_NAME))
    settings = load_settings(home)
    migrate(settings.hub_url)
    say("synth")
    out, fresh = _synth(home, children, seed, profile)
    summary.stages["synth"] = "generated" if fresh else "reused"
    if (out / SCHOOLS_FILE).is_file():  # the synthetic board of education's list of school names
        install_school_master(out / SCHOOLS_FILE, home)
    say("ingest")
    ingestor = Ingestor(manifests_for_home(home), settings.vault_dir, settings.hub_url)
    try:
        report = ingestor.ingest([out / "exports"])
    finally:
        ingestor.close()
    summary.ingest = {key: sum(getattr(s, key) for s in report.sources()) for key in ("rows_in", "loaded", "quarantined")}
    summary.stages["ingest"] = "reused" if all(s.already_loaded for s in report.sources()) else "loaded"
    _link_and_screen(settings, summary, fresh, say)
    _urgency(settings, out, summary, say)
    _resource_directory(settings, summary, say)
    return summary


def _resource_directory(settings: Settings, summary: DemoSummary, say: Stage) -> None:
    """The 社会資源 directory, from the home's resources.yaml or the packaged list of typical local
    resources, so a referral can be made at once (entries already there, edited or not, stay)."""
    from tsunagu.privacy import Subject
    from tsunagu.work.resources import seed_directory

    say("resources")
    with Hub(settings) as hub, hub.sessions.begin() as session:
        added = seed_directory(session, Subject("tsunagu-demo", "administrator", "it"), "administration",
                               settings.home, key=hub.signing_key)
    summary.stages["resources"] = f"{added} added" if added else "reused"


def _urgency(settings: Settings, out: Path, summary: DemoSummary, say: Stage) -> None:
    """The child guidance centre's past cases and a version of the estimate, validated (issue 20)."""
    from tsunagu.work.urgency.history import load_history
    from tsunagu.work.urgency.models import PastCase
    from tsunagu.work.urgency.versions import in_force, train_version

    say("urgency")
    files = sorted((out / "cgc_history").glob("jisou_history_*.csv"))
    with Hub(settings) as hub, hub.sessions.begin() as session:  # migrated by build_demo
        if in_force(session) is not None or not files:
            summary.stages["urgency"] = "reused" if files else "skipped"
            return
        if not session.scalar(select(func.count()).select_from(PastCase)):
            load_history(session, files[-1])
        result = train_version(session, "demo")
        summary.stages["urgency"] = "in force" if result.in_force else "not in force: " + "; ".join(result.failures)


def _link_and_screen(settings: Settings, summary: DemoSummary, fresh: bool, say: Stage) -> None:
    with Hub.open(settings) as hub:
        sessions, nodes, manifests = hub.sessions, hub.nodes(), hub.manifests
        say("link")
        with sessions.begin() as session:
            done = session.scalar(select(func.count()).select_from(LinkRun)) or 0
            if done and not fresh:
                summary.stages["link"] = "reused"
                summary.linkage = json.loads(session.scalars(
                    select(LinkRun.stats_json).order_by(LinkRun.started_at.desc())).first() or "{}")
            else:
                summary.linkage = vars(run_linkage(session, nodes, manifests, search_secret=hub.search_secret))
                summary.stages["link"] = "linked"
        say("screen")
        as_of = _export_date(settings.home) or date.today()
        with sessions.begin() as session:
            previous = session.scalars(select(ScreeningRun.counts_json).where(ScreeningRun.as_of == as_of)).first()
            if previous is not None and not fresh:
                summary.stages["screen"] = "reused"
                summary.screening = {"as_of": as_of.isoformat(), **json.loads(previous)}
            else:
                rule_set = hub.rule_set()
                summary.screening = vars(run_screening(session, nodes, manifests, hub.catalog, rule_set, as_of,
                                                       excluded=suspended_persons(session)))
                summary.stages["screen"] = "screened"


def _export_date(home: Path) -> date | None:
    manifest = home / SYNTH_DIR / "truth" / "manifest.json"
    if not manifest.is_file():
        return None
    text = json.loads(manifest.read_text("utf-8")).get("export_date")
    return date.fromisoformat(text) if text else None


def seed_demo_cases(session: Session, cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
                    today: date | None = None) -> int:
    """Give some demo children owners, contacts, a case meeting and 要対協 registrations (first run only).

    Runs after the demo accounts and the demo's reviews and plans (which already moved those children
    to 確認中 / 支援中): owners for the centre, the nurse, the SSW and the 児相 accounts, a few contacts,
    one 個別ケース検討会議, one case moved to 見守り, and three ledger entries — one overdue, one due
    before the next 実務者会議, one later. Returns the number of cases touched.
    """
    from tsunagu.work.cases import ledger, records, status
    from tsunagu.work.cases.models import CaseContact

    if session.scalar(select(func.count()).select_from(CaseContact)) or not session.get(User, "centre"):
        return 0
    day = today or datetime.now(UTC).date()
    centre = Subject("centre", "centre_caseworker", "family_centre")
    supporting = list(session.scalars(select(Case.person_id).where(Case.status == status.SUPPORTING)
                                      .order_by(Case.person_id).limit(6)))
    owners = ["centre", "centre", "nurse", "ssw", "cgc", "centre"]
    purpose = "support_coordination"
    for person_id, owner in zip(supporting, owners, strict=False):
        if session.get(User, owner) is None:
            continue
        status.assign_owner(session, centre, purpose, person_id, owner=owner, cipher=cipher, key=key)
        for back, kind, who, text in DEMO_CONTACTS:
            records.record_contact(session, centre, purpose, person_id, contact_on=day - timedelta(days=back),
                                   kind=kind, staff="centre", counterpart=who, summary=text, cipher=cipher, key=key)
    if supporting:
        records.record_meeting(
            session, centre, purpose, supporting[0], held_on=day - timedelta(days=14),
            attendees=[records.Attendee(*row) for row in DEMO_MEETING], decisions=DEMO_DECISIONS,
            next_review_on=day + timedelta(days=45), cipher=cipher, key=key)
    for person_id, (back, category) in zip(supporting[:3], DEMO_LEDGER, strict=False):
        registered = day - timedelta(days=back)
        ledger.register(session, centre, purpose, person_id, category=category, lead_agency="こども家庭センター",
                        registered_on=registered, next_review_on=None, cipher=cipher, key=key)
    if len(supporting) > 5:
        status.change_status(session, centre, purpose, supporting[5], status=status.WATCHING,
                             reason="学習支援の利用が定着し、登校も安定。学校での見守りに移行", cipher=cipher, key=key)
    return len(supporting)


# Days ago, kind, with whom, summary: the usual first weeks of a case (fictional text).
DEMO_CONTACTS = (
    (21, "agency", "学校（担任・教頭）", "欠席が続いている。学校での様子と家庭への連絡の状況を確認した。"),
    (14, "phone", "母", "家庭訪問の日程を調整。母は仕事の都合で平日夕方を希望。"),
    (7, "home_visit", "母・本人", "自宅で面談。本人は元気な様子。学習支援の利用について説明し、母は前向き。"),
)
DEMO_MEETING = (
    ("こども家庭センター", "担当ケースワーカー・保健師", "全体の調整、家庭訪問（月1回）"),
    ("小学校", "担任・教頭", "登校状況を毎週センターへ連絡"),
    ("学習支援教室", "コーディネーター", "週2回の学習支援、様子の共有"),
)
DEMO_DECISIONS = "学習支援の利用を始める。欠席が3日続いたら学校からセンターに連絡する。次回は利用状況を確認する。"
DEMO_LEDGER = ((120, "要支援児童"), (75, "要支援児童"), (20, "要保護児童"))
