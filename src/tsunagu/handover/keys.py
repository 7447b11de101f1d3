"""This municipality's hand-over identity: an Ed25519 key that signs and an X25519 key that opens.

Both live in the home (``keys/handover/``, files 0600, created once and never replaced: another
municipality has registered their public halves). They are separate from the hub's audit key so
that what another municipality trusts can be rotated without touching the audit chain.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.public import PrivateKey, PublicKey

from tsunagu.config import Settings
from tsunagu.errors import ConfigurationError
from tsunagu.privacy.keyfiles import create_secret, read_secret
from tsunagu.vault.http import signing

KEY_DIR = Path("keys") / "handover"


class HandoverKeyError(ConfigurationError, ValueError):
    """A key is missing, malformed or not the kind expected; the message says which."""

    code = "handover_key"


@dataclass(frozen=True)
class Identity:
    """Who this municipality is to other municipalities."""

    code: str
    name: str
    sign_key: Ed25519PrivateKey
    box_key: PrivateKey

    @property
    def sign_public(self) -> str:
        return signing.public_key_b64(self.sign_key.public_key())

    @property
    def box_public(self) -> str:
        return base64.b64encode(bytes(self.box_key.public_key)).decode("ascii")


def _box_key(path: Path) -> PrivateKey:
    if not path.exists():
        create_secret(path, base64.b64encode(bytes(PrivateKey.generate())) + b"\n")
    try:
        raw = base64.b64decode(read_secret(path).strip(), validate=True)
        return PrivateKey(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise HandoverKeyError(f"暗号化鍵を読めません: {path} / unreadable X25519 key ({exc})") from exc


def load_identity(settings: Settings) -> Identity:
    """The home's keys, created on first use."""
    if not settings.municipality_code or not settings.municipality_name:
        raise HandoverKeyError("自治体コードと名称が設定されていません（tsunagu init） / municipality not configured")
    folder = settings.home / KEY_DIR
    sign_key, _new = signing.load_or_create_private_key(folder / "sign_ed25519.pem")
    return Identity(settings.municipality_code, settings.municipality_name, sign_key, _box_key(folder / "box_x25519.key"))


def parse_sign_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise HandoverKeyError(f"署名用公開鍵は32バイトのbase64です: {text!r} / invalid Ed25519 public key") from exc


def parse_box_key(text: str) -> PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return PublicKey(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise HandoverKeyError(f"暗号化用公開鍵は32バイトのbase64です: {text!r} / invalid X25519 public key") from exc
