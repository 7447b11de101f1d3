"""こどもの検索: find a child by name, reading, birth date, 宛名番号, school, grade and class (組).

A search is a child list (``children.search``): it runs under a purpose the user states, within
the user's scope (``list_scope``, as the candidate list), and never shows a suspended child. The
terms typed are matched against the hashed search keys a linkage run writes
(``link.searchkeys``): each word of the query becomes the match keys it could stand for — a name
(variant kanji and width folded), a reading (hiragana and katakana alike), a birth date in any
of the forms a clerk writes (2014-05-03, 2014/5/3, 平成26年5月3日, H26.5.3), a 宛名番号 — and a
child is found when every word matches one of its keys. A class is typed as a teacher writes it
(3年2組, 2組, 中1年3組, ひまわり学級) and looked up at the school chosen — or, for a user whose work
is at one school, at that school — with the grade it names. Names, readings and birth dates shown in
the results are asked of the resident register's node for the children found, for the purpose.

Audit. The search itself is one entry (``children.search``) that says which *kinds* of terms were
used and how many children were found — never the terms: the audit log is hash-chained and kept
for years, cannot be edited, and a name or a birth date typed into it would outlive the family's
erasure request and the child's own records. Each child shown gets its own entry, as on the
candidate list, so the family's access history names the search their child appeared in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Select, intersect, select
from sqlalchemy.orm import Session

from tsunagu.catalog import catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.ingest.dates import parse_date
from tsunagu.ingest.normalize import name_key, reading_key
from tsunagu.link.searchkeys import (
    AZA,
    BIRTH,
    CLASS,
    CLASS_ITEM,
    NAME,
    READING,
    SearchKey,
    class_key,
    class_term,
    term_token,
)
from tsunagu.privacy import AuditEvent, Subject, append
from tsunagu.privacy.policy import policy_of
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.vault.node import Node
from tsunagu.work.access import Scope, list_scope, record_listed, suspended_persons
from tsunagu.work.candidates import latest_run
from tsunagu.work.child import visibility
from tsunagu.work.classes import class_visible, read_classes
from tsunagu.work.errors import Invalid
from tsunagu.work.identities import register_identities

ACTION = "children.search"
MAX_RESULTS = 50
MAX_WORDS = 6
KIND_LABELS = {NAME: "氏名", READING: "よみ", BIRTH: "生年月日", AZA: "宛名番号", CLASS: "組", "school": "学校",
               "grade": "学年"}
# 3年2組, 2組, 中1年3組, 小4年ひまわり学級: an optional grade (with the kind of school) and the class.
_CLASS_WORD = re.compile(r"^(?:(小学?|中学?)?([1-9])年)?([^年\s]+?(?:組|学級))$")
JUNIOR_HIGH_CODE = "C1"  # the 学校コード's kind: C1 中学校 (grades counted on, 中学1年 = 7)
_KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u309d\u309e\u30fd\u30fe・]+$")
_DIGITS = re.compile(r"^[0-9]{4,15}$")
_HAS_DIGIT = re.compile(r"[0-9]")


@dataclass(frozen=True)
class Word:
    """One word of the query and the keys it may stand for (a child matches any of them)."""

    text: str
    kinds: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]  # (kind, match key)
    grade: int | None = None  # a class word's grade as typed (3 of 3年2組)
    junior_high: bool | None = None  # 中3年2組 (True), 小3年2組 (False), 3年2組 (the school's kind)

    def at_school(self, school: str) -> Word:
        """A class word's key at ``school`` (2組 names a class in every school)."""
        return replace(self, keys=tuple((k, class_term(school, v) if k == CLASS else v) for k, v in self.keys))

    def grade_at(self, school: str) -> int | None:
        """The hub's grade (1–9) of a class word at ``school``."""
        if self.grade is None:
            return None
        junior = self.junior_high if self.junior_high is not None else school.startswith(JUNIOR_HIGH_CODE)
        return self.grade + 6 if junior and self.grade <= 3 else self.grade


@dataclass(frozen=True)
class Found:
    person_id: str
    name: str
    reading: str
    birth_date: date | None
    school_code: str | None
    grade: int | None
    tier: str
    school_class: str = ""  # 2組, where the roster releases it for the purpose and the user may see it


@dataclass
class SearchResult:
    query: str
    words: list[Word]
    rows: list[Found] = field(default_factory=list)
    total: int = 0
    truncated: bool = False
    indexed: bool = True
    school: str | None = None  # as searched: chosen, or the user's own for a class word
    grade: int | None = None  # as searched: chosen, or a class word's (3年2組)

    @property
    def class_label(self) -> str:
        """The class searched for, as typed words name it (2組), or empty."""
        return next((v.rsplit("\x1f", 1)[-1] for w in self.words for k, v in w.keys if k == CLASS), "")


def _birth(text: str) -> date | None:
    """A word with digits in it (not a 宛名番号) is a date, or a mistake: 2026年13月1日 is refused
    with the reason, not looked up as a name."""
    if not _HAS_DIGIT.search(text) or _DIGITS.match(text):
        if _DIGITS.match(text):
            try:
                return parse_date(text, "compact") if len(text) == 8 else None
            except ValueError:
                return None
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise Invalid(f"「{text}」は日付として読めません（{str(exc).split(' / ')[0]}）。") from exc


def _class_word(raw: str, text: str) -> Word | None:
    found = _CLASS_WORD.match(text)
    if found is None:
        return None
    kind, grade, label = found.groups()
    return Word(raw, (CLASS,), ((CLASS, class_key(label)),), int(grade) if grade else None,
                None if kind is None else kind.startswith("中"))


def parse_word(raw: str) -> Word:
    """The keys one typed word may stand for; Invalid when it can stand for none."""
    text = unicodedata.normalize("NFKC", raw).strip()
    klass = _class_word(raw, text)
    if klass is not None:
        return klass
    keys: list[tuple[str, str]] = []
    born = _birth(text)
    if born is not None:
        keys.append((BIRTH, born.isoformat()))
    if _DIGITS.match(text):
        keys.append((AZA, text))
    if born is None and not _DIGITS.match(text):
        if _KANA.match(text):
            keys.append((READING, reading_key(text)))
        name = name_key(text)
        if name:
            keys.append((NAME, name))
    keys = [(k, v) for k, v in keys if v]
    if not keys:
        raise Invalid(f"「{raw}」は氏名・よみ・生年月日・宛名番号・組のどれとしても読めません。")
    return Word(raw, tuple(dict.fromkeys(k for k, _ in keys)), tuple(keys))


def parse_query(query: str) -> list[Word]:
    """Words are separated by spaces (either width); a name typed with a space is two words."""
    words = [parse_word(w) for w in unicodedata.normalize("NFKC", query).split()]
    if len(words) > MAX_WORDS:
        raise Invalid(f"検索語は{MAX_WORDS}語までです。")
    if sum(CLASS in w.kinds for w in words) > 1:
        raise Invalid("組は一つだけ指定してください。")
    return words


def _class_school(words: list[Word], school: str | None, scope: Scope) -> tuple[str | None, list[Word]]:
    """The school a class word is looked up at: the one chosen, or the user's own when their work is
    at one school (a teacher typing 3年2組 means their school's); the words keyed at it."""
    if not any(CLASS in w.kinds for w in words):
        return school, words
    if not school and "municipality" not in scope.relationships and len(scope.schools) == 1:
        school = next(iter(scope.schools))
    if not school:
        raise Invalid("組で探すときは、学校を選んでください。")
    return school, [w.at_school(school) if CLASS in w.kinds else w for w in words]


def _class_grade(words: list[Word], school: str | None, grade: int | None) -> int | None:
    typed = {g for w in words if school and (g := w.grade_at(school)) is not None}
    if grade is not None and typed and typed != {grade}:
        raise Invalid("検索語の学年と、学年の欄の指定が違います。")
    return grade if grade is not None else next(iter(typed), None)


def _matching(secret: bytes, word: Word) -> Select[str]:
    """The persons with any of the word's keys."""
    tokens = [term_token(secret, kind, key) for kind, key in word.keys]
    return select(SearchKey.person_id).where(SearchKey.token.in_(tokens))


def search_children(
    session: Session, subject: Subject, purpose: str, query: str, *, secret: bytes, nodes: Mapping[str, Node],
    manifests: ManifestSet, school: str | None = None, grade: int | None = None,
    key: Ed25519PrivateKey | None = None, limit: int = MAX_RESULTS,
) -> SearchResult:
    """The children in ``subject``'s scope matching every word of ``query`` (and the school and
    grade, when given), from the latest screening run; decided and recorded (see the module)."""
    words = parse_query(query)
    if not words and not school:
        raise Invalid("氏名・よみ・生年月日・宛名番号のいずれか、または学校を指定してください。")
    if grade is not None and not 1 <= grade <= 9:
        raise Invalid("学年は小学1年から中学3年までです。")
    scope, decision = list_scope(session, subject, ACTION, purpose, key=key)
    school, words = _class_school(words, school, scope)
    grade = _class_grade(words, school, grade)
    result = SearchResult(query, words, school=school, grade=grade)
    # Any row at all (not a count: counting 850,000 rows at 100,000 children took longer than the search).
    result.indexed = session.scalar(select(SearchKey.id).limit(1)) is not None
    run = latest_run(session)
    # The persons every word matches, intersected by the database: a surname alone matched 3,500
    # persons at 100,000 children, each id fetched into Python and sent back in an IN list.
    matching = [_matching(secret, word) for word in words]
    people = None if not matching else matching[0] if len(matching) == 1 else intersect(*matching)
    rows: list[tuple[str, str | None, int | None, str]] = []
    if run is not None:
        r = ScreeningResult
        # By person only, the run compared here: with the run in the query SQLite walked the run's
        # 100,000 results by the (run, tier) index instead of the few persons found.
        stmt = select(r.person_id, r.school_code, r.grade, r.tier, r.run_id).where(
            r.person_id.in_(people) if people is not None else r.run_id == run.run_id)
        if school:
            stmt = stmt.where(r.school_code == school)
        if grade is not None:
            stmt = stmt.where(r.grade == grade)
        suspended = suspended_persons(session)
        rows = sorted((p, s, g, t) for p, s, g, t, run_id in session.execute(stmt)
                      if run_id == run.run_id and p not in suspended and scope.covers(p, s))
    result.total = len(rows)
    result.truncated = len(rows) > limit
    shown = rows[:limit]
    kinds = [*dict.fromkeys(KIND_LABELS[k] for w in words for k in w.kinds)]
    kinds += [KIND_LABELS[k] for k, v in (("school", school), ("grade", grade)) if v]
    # The scope decision is already on record (list_scope); this entry is the search's own summary.
    append(session, AuditEvent(
        actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=purpose,
        action=ACTION, outcome="allowed", rule=decision.rule,
        reason=f"検索（検索語の種類: {'・'.join(kinds)}、該当 {result.total}人、表示 {len(shown)}人）",
    ), key=key)
    ids = [p for p, *_ in shown]
    # The class of each child shown, by the face sheet's rule (``work.classes``) under the user's
    # relationship to that child; the entry of a child whose class was asked for names the item
    # (never the class itself, as the search's entry names 組 and not the class typed).
    catalog, policy = catalog_of(session), policy_of(session)
    with_class = [p for p, school_code, *_ in shown if class_visible(catalog, visibility(
        policy, subject, "child.items.read", purpose, scope.relationship_to(p, school_code), False))]
    record_listed(session, subject, decision, ACTION, purpose, [p for p in ids if p not in with_class], key=key)
    record_listed(session, subject, decision, ACTION, purpose, with_class, key=key, items=(CLASS_ITEM,))
    classes = read_classes(nodes, manifests, session, subject, purpose, with_class)
    identity = register_identities(nodes, manifests, session, subject, purpose, ids)
    for person_id, school_code, grade_no, tier in shown:
        found = identity.get(person_id, {})
        birth = found.get("birth_date")
        result.rows.append(Found(
            person_id, str(found.get("full_name") or ""), str(found.get("reading") or ""),
            birth if isinstance(birth, date) else None, school_code, grade_no, tier, classes.get(person_id, ""),
        ))
    # In 50音 order of the reading, as a register is read (children without a name shown last).
    result.rows.sort(key=lambda f: (not f.reading, f.reading, f.birth_date or date.max, f.person_id))
    return result
