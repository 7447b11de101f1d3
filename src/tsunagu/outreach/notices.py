"""Notice waves: one letter per household from the latest run, opt-outs honoured, languages chosen.

A wave belongs to one department and presents only that department's programmes, so a letter never
names another department; the template's tone says what a family may use, not how it was found.
The letter's language is the one the family asked for (recorded with ``record_language``); failing
that, やさしい日本語 for households whose addressee the register records as a foreign resident;
otherwise Japanese. Letters go into PDF batches per language (BATCH letters a file) with a
progress callback, and the mailing list is written beside them (UTF-8 with BOM, formula-safe).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tsunagu.csvout import write_rows
from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.outreach.access import PURPOSE, decide_department
from tsunagu.outreach.errors import NoOutreachRunError, UnknownLanguageError, UnknownProgrammeError
from tsunagu.outreach.evaluate import ELIGIBLE
from tsunagu.outreach.fonts import FontMissingError
from tsunagu.outreach.identity import REGISTRY, SPINE, Identity, guardians, identities
from tsunagu.outreach.lists import department_programmes, listed_rows, opted_out
from tsunagu.outreach.models import OutreachLanguage, OutreachNotice, OutreachOptOut, OutreachResult, OutreachWave
from tsunagu.outreach.pdf import LANGUAGE_LABELS, LANGUAGES, Letter, render_batch
from tsunagu.outreach.programmes import ProgrammeDef, ProgrammeSet
from tsunagu.outreach.truth import latest_run
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.access import record_listed
from tsunagu.work.errors import Invalid, NotFound

__all__ = ["FontMissingError", "WaveReport", "mailing_csv", "make_wave", "record_language", "record_opt_out"]

BATCH = 200
MAILING_HEADER = ["通知番号", "郵便番号", "住所", "宛名", "言語", "案内する制度の数", "ファイル", "ページ"]
Progress = Callable[[int, int], None]


@dataclass
class WaveReport:
    wave_id: str
    letters: int
    skipped_opt_out: int
    skipped_no_address: int
    languages: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    folder: str = ""


def _noticeable(row: OutreachResult, prog: ProgrammeDef) -> bool:
    """A letter presents a programme the family is eligible for and does not receive; a general
    案内 (notify_without_receipt) also goes where no department records receipt."""
    if row.status != ELIGIBLE:
        return False
    return row.receiving is False or (row.receiving is None and prog.notify_without_receipt)


def _foreign_addressees(nodes: Mapping[str, Node], subject: Subject, session: Session, persons: set[str],
                        as_of: date) -> set[str]:
    node = nodes.get(REGISTRY)
    if node is None or not persons:
        return set()
    try:
        answer = node.items(NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE,
                                        items=("foreign_national",)), as_of)
    except NodeRefusedError:
        return set()
    foreign = {str(r["local_id"]) for r in answer.data.iter_rows(named=True)
               if r["source"] == SPINE and r.get("value_bool")}
    links = session.execute(select(PersonLink.local_id, PersonLink.person_id)
                            .where(PersonLink.source == SPINE, PersonLink.person_id.in_(sorted(persons)))).all()
    return {person for local, person in links if local in foreign}


def _languages(session: Session, households: Mapping[str, str], foreign: set[str]) -> dict[str, str]:
    asked = dict(session.execute(select(OutreachLanguage.household_id, OutreachLanguage.language)).all())
    return {h: asked.get(h) or ("easy_ja" if person in foreign else "ja") for h, person in households.items()}


def make_wave(session: Session, subject: Subject, programmes: ProgrammeSet, nodes: Mapping[str, Node], out: Path, *,
              sent_on: date, programmes_wanted: list[str] | None = None, limit: int | None = None,
              progress: Progress | None = None, key: Ed25519PrivateKey | None = None) -> WaveReport:
    department = subject.organisation
    decision = decide_department(session, subject, "outreach.notices", department, key=key)
    chosen = department_programmes(programmes, department)
    if programmes_wanted:
        unknown = set(programmes_wanted) - {p.id for p in chosen}
        if unknown:
            raise UnknownProgrammeError(f"この部署が実施する制度にないもの: {', '.join(sorted(unknown))}")
        chosen = [p for p in chosen if p.id in programmes_wanted]
    run = latest_run(session)
    if run is None:
        raise NoOutreachRunError("対象要件の判定結果がありません（先に tsunagu outreach run を実行してください）")
    by_id = {p.id: p for p in chosen}
    per_household: dict[str, dict[str, list[str]]] = {}
    for row in listed_rows(session, run.run_id, chosen):
        if row.household_id and _noticeable(row, by_id[row.programme]):
            per_household.setdefault(row.household_id, {}).setdefault(row.programme, []).append(row.person_id)
    stops = opted_out(session)
    skipped_opt_out = 0
    for household in list(per_household):
        stop = stops.get(household, set())
        if None in stop:
            del per_household[household]
            skipped_opt_out += 1
            continue
        for programme in stop:
            per_household[household].pop(str(programme), None)
        if not per_household[household]:
            del per_household[household]
            skipped_opt_out += 1
    order = sorted(per_household, key=lambda h: (-len(per_household[h]), h))
    if limit is not None:
        order = order[:limit]
    children = {p for h in order for ps in per_household[h].values() for p in ps}
    who = identities(session, nodes, subject, children, households=order)
    addressed = [h for h in order if f"guardian:{h}" in who and who[f"guardian:{h}"].address]
    skipped_address = len(order) - len(addressed)
    addressee = {h: p for h, p in guardians(session, addressed).items()}
    languages = _languages(session, addressee, _foreign_addressees(nodes, subject, session, set(addressee.values()),
                                                                    run.as_of))
    # Printed on every letter: a date and a random part, nothing a reader would take for a code.
    wave_id = f"{sent_on.strftime('%Y%m%d')}-{uuid.uuid4().hex[:6].upper()}"
    folder = out / wave_id
    letters = _letters(addressed, per_household, by_id, who, languages, department, sent_on, wave_id)
    files, notices = _render(folder, letters, per_household, progress)
    session.add(OutreachWave(
        wave_id=wave_id, run_id=run.run_id, department=department, programmes_json=json.dumps([p.id for p in chosen]),
        sent_on=sent_on, created_at=datetime.now(UTC), created_by=subject.user_id, letters=len(notices),
        skipped_opt_out=skipped_opt_out, skipped_no_address=skipped_address,
        languages_json=json.dumps(_count(languages, addressed), ensure_ascii=False), folder=str(folder)))
    session.flush()
    if notices:
        session.execute(insert(OutreachNotice), [{"wave_id": wave_id, **n} for n in notices])
    record_listed(session, subject, decision, "outreach.notices", PURPOSE, sorted(children & _people(notices)), key=key)
    _write_mailing(folder / "mailing.csv", notices, who)
    return WaveReport(wave_id, len(notices), skipped_opt_out, skipped_address, _count(languages, addressed),
                      [str(f) for f in files], str(folder))


def _count(languages: Mapping[str, str], households: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in households:
        label = LANGUAGE_LABELS[languages[h]]
        out[label] = out.get(label, 0) + 1
    return out


def _people(notices: list[dict[str, str]]) -> set[str]:
    return {p for n in notices for ps in json.loads(n["person_ids"]).values() for p in ps}


def _letters(households: list[str], per_household: Mapping[str, dict[str, list[str]]], by_id: Mapping[str, ProgrammeDef],
             who: Mapping[str, Identity], languages: Mapping[str, str], department: str, sent_on: date,
             wave_id: str) -> list[tuple[str, Letter]]:
    out = []
    for i, household in enumerate(households, start=1):
        guardian = who[f"guardian:{household}"]
        people = sorted({p for ps in per_household[household].values() for p in ps})
        names = [who[p].name for p in people if p in who and who[p].name]
        programme_ids = [p for p in by_id if p in per_household[household]]
        out.append((household, Letter(f"{wave_id}-{i:05d}", guardian.name, guardian.postal_code, guardian.address,
                                      names, [(p, by_id[p].label) for p in programme_ids], department, sent_on,
                                      languages[household])))
    return out


def _render(folder: Path, letters: list[tuple[str, Letter]], per_household: Mapping[str, dict[str, list[str]]],
            progress: Progress | None) -> tuple[list[Path], list[dict[str, str]]]:
    total, done = len(letters), 0
    files: list[Path] = []
    notices: list[dict[str, str]] = []
    for language in LANGUAGES:
        mine = [x for x in letters if x[1].language == language]
        for start in range(0, len(mine), BATCH):
            batch = mine[start:start + BATCH]
            path = folder / f"letters_{language}_{start // BATCH + 1:03d}.pdf"

            def tick() -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress(done, total)

            pages = render_batch(path, [letter for _, letter in batch], tick)
            files.append(path)
            for (household, letter), page in zip(batch, pages, strict=True):
                notices.append({"notice_no": letter.notice_no, "household_id": household,
                                "person_ids": json.dumps({p: per_household[household][p] for p, _ in letter.programmes}),
                                "programmes": json.dumps([p for p, _ in letter.programmes]),
                                "language": language, "file": f"{path.name}#{page}"})
    return files, notices


def _mailing_rows(notices: list[dict[str, str]], who: Mapping[str, Identity]) -> list[list[object]]:
    rows: list[list[object]] = []
    for n in sorted(notices, key=lambda n: n["notice_no"]):
        guardian = who.get(f"guardian:{n['household_id']}")
        file, _, page = n["file"].partition("#")
        rows.append([n["notice_no"], guardian.postal_code if guardian else "", guardian.address if guardian else "",
                     f"{guardian.name} 様" if guardian else "", LANGUAGE_LABELS[n["language"]],
                     len(json.loads(n["programmes"])), file, page])
    return rows


def _write_mailing(path: Path, notices: list[dict[str, str]], who: Mapping[str, Identity]) -> int:
    handle = io.StringIO()
    count = write_rows(handle, MAILING_HEADER, _mailing_rows(notices, who))
    path.parent.mkdir(parents=True, exist_ok=True)
    # BOM: spreadsheet software on Japanese Windows reads UTF-8 CSV correctly only with it.
    path.write_text("\ufeff" + handle.getvalue(), encoding="utf-8", newline="")
    return count


def mailing_csv(session: Session, subject: Subject, nodes: Mapping[str, Node], wave_id: str, out: Path, *,
                key: Ed25519PrivateKey | None = None) -> int:
    """The wave's mailing list again (e.g. for the printing contractor), with the addresses as they are now."""
    decision = decide_department(session, subject, "outreach.notices", subject.organisation, key=key)
    wave = session.get(OutreachWave, wave_id)
    if wave is None or wave.department != subject.organisation:
        raise NotFound(f"この部署の発送回に {wave_id} はありません")
    notices = [{"notice_no": n.notice_no, "household_id": n.household_id, "person_ids": n.person_ids,
                "programmes": n.programmes, "language": n.language, "file": n.file}
               for n in session.scalars(select(OutreachNotice).where(OutreachNotice.wave_id == wave_id))]
    who = identities(session, nodes, subject, set(), households=[n["household_id"] for n in notices])
    record_listed(session, subject, decision, "outreach.notices", PURPOSE, sorted(_people(notices)), key=key)
    return _write_mailing(out, notices, who)


def household_of(session: Session, person_id: str) -> str:
    household = session.scalar(select(HouseholdMember.household_id).where(
        HouseholdMember.person_id == person_id, HouseholdMember.valid_to.is_(None)).limit(1))
    if household is None:
        raise NotFound("この方の世帯が見つかりません（住民記録との名寄せを確認してください）")
    return household


def record_opt_out(session: Session, subject: Subject, person_id: str, reason: str, programme: str | None = None, *,
                   key: Ed25519PrivateKey | None = None) -> str:
    """The family asked for no more notices (from this department's programme, or all): the whole household."""
    if not reason.strip():
        raise Invalid("申出の内容を入力してください", field="reason")
    decide_department(session, subject, "outreach.optout", subject.organisation, person_id=person_id, key=key)
    household = household_of(session, person_id)
    session.add(OutreachOptOut(household_id=household, person_id=person_id, programme=programme, reason=reason.strip(),
                               recorded_by=subject.user_id, recorded_at=datetime.now(UTC), withdrawn_at=None))
    return household


def record_language(session: Session, subject: Subject, person_id: str, language: str, *,
                    key: Ed25519PrivateKey | None = None) -> None:
    if language not in LANGUAGES:
        raise UnknownLanguageError(f"案内の言語は {' / '.join(LANGUAGES)} のいずれかです（指定: {language}）",
                                   field="language")
    decide_department(session, subject, "outreach.optout", subject.organisation, person_id=person_id, key=key)
    household = household_of(session, person_id)
    row = session.get(OutreachLanguage, household)
    if row is None:
        session.add(OutreachLanguage(household_id=household, language=language, recorded_by=subject.user_id,
                                     recorded_at=datetime.now(UTC)))
    else:
        row.language, row.recorded_by, row.recorded_at = language, subject.user_id, datetime.now(UTC)
