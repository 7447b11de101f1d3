"""名寄せ確認 for staff: uncertain pairs side by side, decided with a reason.

Link review shows identifying attributes only (sensitivity 1): the policy's ``link.review`` for
the screening purpose, across the municipality (centre caseworkers and data stewards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link import review as queue
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node
from tsunagu.work.errors import Invalid, NotFound, Refused

ACTION = "link.review"
PURPOSE = "screening"
FIELD_LABELS = {"full_name": "氏名", "reading": "よみ", "birth_date": "生年月日", "sex": "性別", "address": "住所",
                "guardian_name": "保護者氏名", "school_code": "学校コード", "aza_number": "宛名番号"}


SEX = {"M": "男", "F": "女", "1": "男", "2": "女", "男": "男", "女": "女"}
MISSING = "記録なし"
# A birth-date gap of this many years or more is not a typing error: the records are of two people
# (a parent and a child share name, address and household, and only the birth date tells them apart).
GENERATION_YEARS = 12


@dataclass(frozen=True)
class PairView:
    id: int
    left_key: str
    right_key: str
    match_probability: float
    # label, left, right, state: "same", "differ" or "missing" (one side has no record: not a difference)
    rows: list[tuple[str, str, str, str]]
    left_label: str = ""
    right_label: str = ""
    evidence_against: tuple[str, ...] = ()


def _source_label(catalog: Catalog, key: str, manifests: ManifestSet) -> str:
    """The department and source a record came from, as people name them (no source id)."""
    source = key.partition(":")[0]
    try:
        manifest = manifests.get(source)
    except (KeyError, LookupError):
        return "記録"
    departments = catalog.departments
    department = departments[manifest.department].name if manifest.department in departments else ""
    return f"{department}（{manifest.label}）" if department else manifest.label


def _shown(name: str, value: str) -> str:
    return SEX.get(value, value) if name == "sex" else value


def _against(rows: list[tuple[str, str, str]]) -> tuple[str, ...]:
    """Evidence the model weighed less than a person should: birth dates years apart."""
    found = []
    for name, left, right in rows:
        if name == "birth_date" and left[:4].isdigit() and right[:4].isdigit():
            gap = abs(int(left[:4]) - int(right[:4]))
            if gap >= GENERATION_YEARS:
                found.append(f"生年月日が{gap}年離れています（{left[:4]}年と{right[:4]}年）。親子やきょうだいなど、"
                             "別の人の記録である可能性が高い組です。")
            elif left != right:
                found.append(f"生年月日が異なります（{left} と {right}）。")
    return tuple(found)


def _rows(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    out = []
    for name, left, right in rows:
        state = "missing" if not left or not right else ("same" if left == right else "differ")
        out.append((FIELD_LABELS.get(name, name), _shown(name, left) or MISSING, _shown(name, right) or MISSING, state))
    return out


def _authorise(session: Session, subject: Subject, key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, ACTION, PURPOSE, relationship="municipality", sensitivity=1, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def pending_pairs(
    session: Session, subject: Subject, nodes: Mapping[str, Node], manifests: ManifestSet, *, limit: int = 20,
    key: Ed25519PrivateKey | None = None,
) -> list[PairView]:
    _authorise(session, subject, key)
    catalog = catalog_of(session)
    pairs = []
    for pair in queue.open_pairs(session, limit):
        try:
            rows = queue.side_by_side(pair, nodes, manifests, subject.user_id, subject.role)
        except Exception:  # a department's node being down hides its pair, not the whole queue
            continue
        pairs.append(PairView(pair.id, pair.left_key, pair.right_key, pair.match_probability, _rows(rows),
                              _source_label(catalog, pair.left_key, manifests),
                              _source_label(catalog, pair.right_key, manifests),
                              _against(rows)))
    return pairs


def decide_pair(session: Session, subject: Subject, pair_id: int, decision: str, reason: str, *,
                key: Ed25519PrivateKey | None = None) -> None:
    _authorise(session, subject, key)
    if decision not in ("match", "non_match"):
        raise Invalid("同一人物か別人かを選んでください。", field="decision")
    if not reason.strip():
        raise Invalid("判断の理由を入力してください。", field="reason")
    try:
        queue.decide(session, pair_id, decision, subject.user_id, reason)
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
