"""Ed25519 keys and the signed strings of the node protocol.

Every request is signed by the hub over (target department, hub id, timestamp, nonce, body
sha256); every response by the node over (department, the request's nonce, status, body sha256).
The department is part of both strings so a message signed for one node cannot be replayed
against another node, whose nonce memory is separate.

The hub key lives at ``<home>/keys/hub_ed25519.pem`` — the same file and format (PKCS8 PEM,
unencrypted, mode 0600) that ``tsunagu.privacy`` uses for the audit chain. This module keeps its
own small loader so the node layer does not import the privacy layer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tsunagu.errors import KeyFileError as KeyFileError  # the one key-file error, named here too

PROTOCOL = "tsunagu-node-v1"
DEFAULT_HUB_ID = "hub"
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


# -- where keys live ---------------------------------------------------------------------------------
def hub_key_path(home: Path) -> Path:
    return home / "keys" / "hub_ed25519.pem"


def node_key_path(home: Path, department: str) -> Path:
    return home / "keys" / "nodes" / f"{department}_ed25519.pem"


def public_key_path(private_path: Path) -> Path:
    """The public half written next to a private key, for copying to the other side."""
    return private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")


# -- key files ---------------------------------------------------------------------------------------
def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a new key file readable by its owner only; never overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # O_EXCL: a key that exists is someone's identity; replacing it silently would break trust.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_key_path(path).write_bytes(public_key_pem(key.public_key()))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            f"鍵ファイルがありません: {path}（`tsunagu node keygen` で作成してください） / key file not found"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"鍵ファイルを読めません: {path} / unreadable key file ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"Ed25519 の鍵ではありません: {path} / not an Ed25519 key")
    return key


def load_or_create_private_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key at ``path``, creating it first if there is none; the flag says whether it is new."""
    if path.exists():
        return load_private_key(path), False
    key = Ed25519PrivateKey.generate()
    try:
        write_private_key(path, key)
    except FileExistsError:
        # Another process created it between the check and the write: use theirs.
        return load_private_key(path), False
    return key, True


# -- public keys in configuration ----------------------------------------------------------------------
def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode("ascii")


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _from_pem(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"公開鍵を読めません: {where} / unreadable public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"Ed25519 の公開鍵ではありません: {where} / not an Ed25519 public key")
    return key


def parse_public_key(value: str, base: Path) -> Ed25519PublicKey:
    """A public key written as raw base64 (44 characters), 64 hex digits, inline PEM, or a PEM file path.

    Hex is accepted because ``tsunagu keys list`` prints the hub key that way.

    A relative path is taken from ``base`` (the home), so a topology file can be copied with
    the home it belongs to.
    """
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return _from_pem(text.encode("ascii"), "inline PEM")
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return Ed25519PublicKey.from_public_bytes(raw)
    path = Path(text)
    path = path if path.is_absolute() else base / path
    try:
        return _from_pem(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise KeyFileError(
            f"公開鍵が base64（32バイト）でもPEMファイルでもありません: {value!r} / "
            "public key is neither base64 of 32 bytes nor an existing PEM file"
        ) from None


# -- signed strings ------------------------------------------------------------------------------------
def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def utc_timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


def parse_timestamp(text: str) -> datetime | None:
    """A timezone-aware ISO timestamp, or None: a naive time could mean any clock."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def request_message(department: str, hub_id: str, timestamp: str, nonce: str, digest: str) -> bytes:
    return "\n".join((PROTOCOL, "request", department, hub_id, timestamp, nonce, digest)).encode("utf-8")


def response_message(department: str, nonce: str, status: int, digest: str) -> bytes:
    return "\n".join((PROTOCOL, "response", department, nonce, str(status), digest)).encode("utf-8")


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode("ascii")


def verify(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
