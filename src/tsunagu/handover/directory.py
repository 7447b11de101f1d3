"""信頼する自治体: the municipalities this one exchanges packages with, and their public keys.

Registered by an administrator from the other side's identity card (``tsunagu handover
identity`` there), like a department node's key in ``topology.yaml``. A municipality that is not
registered and active can neither send here nor be sent to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.handover.keys import Identity, parse_box_key, parse_sign_key
from tsunagu.handover.models import TrustedMunicipality
from tsunagu.municipality import MunicipalityCodeError, validate_code
from tsunagu.privacy import Subject, authorise
from tsunagu.work.errors import Invalid, NotFound, Refused


@dataclass(frozen=True)
class Card:
    """An identity card: what one municipality gives another to be registered."""

    code: str
    name: str
    endpoint: str | None
    sign_key: str
    box_key: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "endpoint": self.endpoint, "sign_key": self.sign_key,
                "box_key": self.box_key}


def own_card(identity: Identity, endpoint: str | None) -> Card:
    return Card(identity.code, identity.name, endpoint, identity.sign_public, identity.box_public)


def parse_card(text: str) -> Card:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"自治体の登録情報（JSON）を読めません: {exc}") from exc
    if not isinstance(doc, dict):
        raise Invalid("自治体の登録情報の形式が不正です。")
    missing = [k for k in ("code", "name", "sign_key", "box_key") if not isinstance(doc.get(k), str)]
    if missing:
        raise Invalid(f"自治体の登録情報に {', '.join(missing)} がありません。")
    endpoint = doc.get("endpoint")
    return Card(doc["code"], doc["name"], endpoint if isinstance(endpoint, str) and endpoint else None,
                doc["sign_key"], doc["box_key"])


def _check(card: Card, own_code: str) -> None:
    try:
        validate_code(card.code)
    except MunicipalityCodeError as exc:
        raise Invalid(str(exc)) from exc
    if card.code == own_code:
        raise Invalid("自分の自治体は登録できません。")
    if not card.name.strip():
        raise Invalid("自治体名を入力してください。")
    if card.endpoint is not None:
        url = urlparse(card.endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise Invalid(f"窓口のURLが不正です: {card.endpoint}（http(s)://ホスト:ポート）")
    try:
        parse_sign_key(card.sign_key)
        parse_box_key(card.box_key)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


def register(session: Session, subject: Subject, card: Card, *, own_code: str,
             key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> TrustedMunicipality:
    """Add or update a trusted municipality (an administrator's act, recorded)."""
    decision = authorise(session, subject, "handover.manage", "administration", key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    _check(card, own_code)
    row = session.get(TrustedMunicipality, card.code)
    at = now or datetime.now(UTC)
    if row is None:
        row = TrustedMunicipality(code=card.code, registered_at=at)
        session.add(row)
    row.name, row.endpoint, row.sign_key, row.box_key = card.name.strip(), card.endpoint, card.sign_key, card.box_key
    row.active, row.registered_by, row.registered_at = True, subject.user_id, at
    session.flush()
    return row


def deactivate(session: Session, subject: Subject, code: str, *, key: Ed25519PrivateKey | None = None) -> None:
    decision = authorise(session, subject, "handover.manage", "administration", key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    row = session.get(TrustedMunicipality, code)
    if row is None:
        raise NotFound(f"自治体 {code} は登録されていません。")
    row.active = False


def trusted(session: Session, code: str) -> TrustedMunicipality | None:
    row = session.get(TrustedMunicipality, code)
    return row if row is not None and row.active else None


def all_municipalities(session: Session) -> list[TrustedMunicipality]:
    return list(session.scalars(select(TrustedMunicipality).order_by(TrustedMunicipality.code)))
