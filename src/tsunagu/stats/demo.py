"""The demo town's budget and recorded work, so the statistics pages have something to show.

On the first demo run only (no review recorded yet) the demo's centre caseworker records second-
stage reviews for a sample of listed children, a plan and a referral for those it decides to
support, and the referrals' progress — all through the work services, so each step is
authorised and audited like a person's. The sample and every choice come from a hash of the
person id (a stand-in for "the order cases reached the desk"), never from the synthetic truth.
The finance section's file is the packaged example, dated to the current fiscal year.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.policy import JST
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.stats.budget import PROGRAMMES_FILE, ProgrammeFile, load_programmes
from tsunagu.stats.evaluation import fiscal_year_of
from tsunagu.stats.figures import LISTED
from tsunagu.work import plans
from tsunagu.work.models import Review, SupportResource
from tsunagu.work.resources import ResourceEntry, add_resource
from tsunagu.work.reviews import record_review

WORKER = Subject("centre", "centre_caseworker", "family_centre")
ADMIN = Subject("tsunagu-demo", "administrator", "it")
# Children the demo's caseworkers have reviewed so far: two in five listed, within these bounds.
SAMPLE_SHARE, SAMPLE_MIN, SAMPLE_MAX = 0.4, 300, 1_500
CATEGORY = {"kodomo_shokudo": "居場所・こども食堂", "gakushu_shien": "学習支援", "futoko_shien": "不登校支援",
            "kaji_ikuji": "家事・育児支援", "kodomo_sodan": "相談支援"}
LOWER = {"重点支援": "watch", "予防的支援": "watch", "見守り": "no_action"}
EXPECTED = {"重点支援": "support", "予防的支援": "support", "見守り": "watch"}
UP_REASON = "面談で生活の困りごとが具体的に分かり、見守りでは足りないと判断した"
OVERRIDE_REASON = "家庭訪問と学校への聞き取りで、現時点では区分ほどの支援は要らないと判断した"
RESOLVED = {0: ("closed", "declined"), 1: ("closed", "no_contact"), 2: ("referred", None), 3: ("proposed", None)}


def demo_programmes_text(today: date) -> str:
    text = (files("tsunagu.stats") / "data" / "programmes.demo.yaml").read_text("utf-8")
    year = fiscal_year_of(datetime(today.year, today.month, today.day, 12, tzinfo=JST))
    return re.sub(r"^fiscal_year: \d+$", f"fiscal_year: {year}", text, count=1, flags=re.M)


def ensure_programmes(home: Path, today: date) -> ProgrammeFile:
    path = home / PROGRAMMES_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(demo_programmes_text(today), encoding="utf-8")
    return load_programmes(path)


def _rank(person_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"demo-work:{person_id}".encode()).digest()[:8], "big")


def _resources(session: Session, plan: ProgrammeFile, key: Ed25519PrivateKey | None) -> dict[str, int]:
    """Programme id -> the id of its (first) support resource, created when the directory lacks it."""
    found = {name: rid for rid, name in session.execute(select(SupportResource.id, SupportResource.name))}
    out = {}
    for programme in plan.programmes:
        name = programme.resources[0]
        if name not in found:
            entry = ResourceEntry(name=name, category=CATEGORY.get(programme.id, "その他"), eligibility="市内の子どもと家庭",
                                  contact="市役所 こども家庭課", area="市内全域")
            found[name] = add_resource(session, ADMIN, "administration", entry, key=key).id
        out[programme.id] = found[name]
    return out


def seed_demo_work(session: Session, home: Path, cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
                   today: date | None = None) -> int:
    """Record the demo's reviews, plans and referrals once; returns the number of reviews recorded."""
    plan = ensure_programmes(home, today or datetime.now(UTC).date())
    if (session.scalar(select(func.count()).select_from(Review)) or 0) > 0:
        return 0
    run_id = session.scalars(select(ScreeningRun.run_id).order_by(ScreeningRun.as_of.desc(),
                                                                  ScreeningRun.started_at.desc())).first()
    if run_id is None:
        return 0
    resources = _resources(session, plan, key)
    rows = session.execute(select(ScreeningResult.person_id, ScreeningResult.tier, ScreeningResult.domains).where(
        ScreeningResult.run_id == run_id, ScreeningResult.tier.in_(LISTED))).all()
    size = min(len(rows), max(SAMPLE_MIN, min(SAMPLE_MAX, round(len(rows) * SAMPLE_SHARE))))
    chosen = sorted(rows, key=lambda r: _rank(r[0]))[:size]
    for person_id, tier, domains_json in chosen:
        _one_child(session, person_id, tier, domains_json, run_id, plan, resources, cipher, key)
    return len(chosen)


def _one_child(session: Session, person_id: str, tier: str, domains_json: str, run_id: str, plan: ProgrammeFile,
               resources: dict[str, int], cipher: NoteCipher, key: Ed25519PrivateKey | None) -> None:
    rank = _rank(person_id)
    expected = EXPECTED[tier]
    if rank % 8 == 0:
        decision = LOWER[tier]
    elif tier == "見守り" and rank % 5 == 1:
        decision = "support"  # the professional sees more than the screening did
    else:
        decision = expected
    reason = "" if decision == expected else (UP_REASON if decision == "support" else OVERRIDE_REASON)
    review = record_review(session, WORKER, "assessment", person_id, decision=decision, rationale="デモ用の記録",
                           observations=[("attendance", "some")], override_reason=reason, run_id=run_id,
                           cipher=cipher, key=key)
    if decision != "support":
        return
    domains = set(json.loads(domains_json or "[]"))
    fitting = [p for p in plan.programmes if domains & set(p.domains)] or [plan.programmes[-1]]
    programme = fitting[rank % len(fitting)]
    created = plans.create_plan(session, WORKER, "support_coordination", person_id, goals="デモ用の支援方針",
                                responsible_body="こども家庭センター", next_review_on=date.today() + timedelta(days=90),
                                review_id=review.id, cipher=cipher, key=key)
    referral = plans.add_referral(session, WORKER, "support_coordination", created.id,
                                  resource_id=resources[programme.id], cipher=cipher, key=key)
    status, outcome = RESOLVED.get(rank % 10, ("connected", None))
    if status != "proposed":
        plans.update_referral(session, WORKER, "support_coordination", referral.id, status=status, outcome=outcome,
                              cipher=cipher, key=key)
