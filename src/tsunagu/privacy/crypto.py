"""Encryption at rest for free-text case notes (AES-256-GCM).

Case notes are the most sensitive text the hub holds and the easiest to leak through a backup
or a database dump, so they are encrypted before they reach the database. Each ciphertext
carries the id of its key, so keys can be rotated without re-encrypting everything at once:
old keys stay in the key ring for reading until every note has been re-encrypted.

Blob layout: ``b"tsn1" | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 bytes) | ciphertext+tag``.
The header is the AEAD associated data, so a blob cannot be relabelled with another key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tsunagu.errors import ConfigurationError, IntegrityError
from tsunagu.privacy.keyfiles import create_secret, private_dir, read_secret

MAGIC = b"tsn1"
NONCE_BYTES = 12
KEY_BYTES = 32
NOTES_KEY_DIR = Path("keys") / "notes"
CURRENT_FILE = "CURRENT"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class NoteKeyError(ConfigurationError, RuntimeError):
    """A note key is missing, malformed or cannot be managed in this configuration."""

    code = "note_key"


class NoteDecryptError(IntegrityError, ValueError):
    """A ciphertext is malformed, or was not made with the key its header names."""

    code = "note_decrypt"


class NoteCipher:
    """A key ring: encrypts with the current key, decrypts with whichever key a blob names."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for key_id, key in keys.items():
            if not KEY_ID.match(key_id):
                raise NoteKeyError(f"鍵IDが不正です: {key_id!r} / invalid key id")
            if len(key) != KEY_BYTES:
                raise NoteKeyError(f"鍵 {key_id} の長さが{KEY_BYTES}バイトではありません / key must be 32 bytes")
        if current not in keys:
            raise NoteKeyError(f"現在の鍵 {current!r} が鍵束にありません / current key missing from the key ring")
        self._keys = dict(keys)
        self.current_key_id = current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def encrypt(self, text: str) -> bytes:
        key_id = self.current_key_id.encode("ascii")
        header = MAGIC + bytes([len(key_id)]) + key_id
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + AESGCM(self._keys[self.current_key_id]).encrypt(nonce, text.encode("utf-8"), header)

    def decrypt(self, blob: bytes) -> str:
        key_id, header = _parse_header(blob)
        if key_id not in self._keys:
            raise NoteKeyError(
                f"暗号鍵 {key_id} が見つかりません。鍵を削除していないか確認してください / note key {key_id} not found"
            )
        nonce = blob[len(header):len(header) + NONCE_BYTES]
        try:
            plain = AESGCM(self._keys[key_id]).decrypt(nonce, blob[len(header) + NONCE_BYTES:], header)
        except InvalidTag as exc:
            raise NoteDecryptError(
                f"ケース記録を復号できません（鍵 {key_id} が違うか、暗号文が改変されています） / decryption failed"
            ) from exc
        return plain.decode("utf-8")

    def reencrypt(self, blob: bytes) -> bytes:
        """The blob under the current key (unchanged if it already is)."""
        if key_id_of(blob) == self.current_key_id:
            return blob
        return self.encrypt(self.decrypt(blob))


def _parse_header(blob: bytes) -> tuple[str, bytes]:
    if len(blob) < len(MAGIC) + 1 or not blob.startswith(MAGIC):
        raise NoteDecryptError("暗号化されたケース記録の形式ではありません / not a tsunagu note ciphertext")
    length = blob[len(MAGIC)]
    header = blob[: len(MAGIC) + 1 + length]
    if len(blob) < len(header) + NONCE_BYTES + 16:
        raise NoteDecryptError("暗号文が短すぎます（途中で切れています） / truncated ciphertext")
    try:
        return header[len(MAGIC) + 1:].decode("ascii"), header
    except UnicodeDecodeError as exc:
        raise NoteDecryptError("暗号文の鍵IDが不正です / malformed key id") from exc


def key_id_of(blob: bytes) -> str:
    return _parse_header(blob)[0]


def _encode_key(key: bytes) -> bytes:
    return base64.urlsafe_b64encode(key) + b"\n"


def _decode_key(text: bytes | str, where: str) -> bytes:
    raw = text.strip() if isinstance(text, bytes) else text.strip().encode("ascii", "replace")
    try:
        key = base64.urlsafe_b64decode(raw.replace(b"+", b"-").replace(b"/", b"_"))
    except (binascii.Error, ValueError) as exc:
        raise NoteKeyError(f"{where} が base64 ではありません / note key is not base64") from exc
    if len(key) != KEY_BYTES:
        raise NoteKeyError(f"{where} は{KEY_BYTES}バイトの鍵（base64）である必要があります / note key must be 32 bytes")
    return key


def configured_key_id(note_key: str) -> str:
    """A key given in the settings is named by a digest of itself, so its blobs find it again."""
    return "cfg-" + hashlib.sha256(_decode_key(note_key, "note_key")).hexdigest()[:12]


def notes_dir(home: Path) -> Path:
    return home / NOTES_KEY_DIR


def _file_keys(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.stem: _decode_key(read_secret(p), str(p)) for p in sorted(folder.glob("*.key")) if KEY_ID.match(p.stem)}


def _current_file_key(folder: Path) -> str | None:
    path = folder / CURRENT_FILE
    return path.read_text("ascii").strip() if path.is_file() else None


def _set_current(folder: Path, key_id: str) -> None:
    tmp = folder / f".{CURRENT_FILE}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(key_id + "\n", "ascii")
    os.replace(tmp, folder / CURRENT_FILE)  # atomic: readers see the old or the new key id


def _new_key(folder: Path, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    key_id = f"n{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    create_secret(folder / f"{key_id}.key", _encode_key(AESGCM.generate_key(bit_length=256)))
    return key_id


def load_note_cipher(home: Path, note_key: str | None = None, *, create: bool = True) -> NoteCipher:
    """The home's key ring: ``home/keys/notes/*.key`` plus ``note_key`` from the settings.

    A configured ``note_key`` is the current key (an operator keeps it in a secret store);
    otherwise ``CURRENT`` names it, and the first key is created on first use.
    """
    folder = notes_dir(home)
    keys = _file_keys(folder)
    if note_key:
        key_id = configured_key_id(note_key)
        keys[key_id] = _decode_key(note_key, "note_key")
        return NoteCipher(keys, key_id)
    current = _current_file_key(folder)
    if current is None:
        if keys:
            raise NoteKeyError(f"{folder / CURRENT_FILE} がありません（現在の鍵が不明） / CURRENT key pointer missing")
        if not create:
            raise NoteKeyError(f"ケース記録の暗号鍵がありません: {folder} / no note key yet")
        private_dir(folder)
        current = _new_key(folder)
        _set_current(folder, current)
        keys = _file_keys(folder)
    return NoteCipher(keys, current)


@dataclass(frozen=True)
class RotationReport:
    old_key_id: str | None
    new_key_id: str
    reencrypted: int
    key_ids: tuple[str, ...]


Reencrypt = Callable[[NoteCipher, NoteCipher], int]


def rotate(home: Path, reencrypt: Reencrypt | None = None, *, note_key: str | None = None,
           now: datetime | None = None) -> RotationReport:
    """Create a new current key and let ``reencrypt(old, new)`` move stored notes to it.

    Order matters for a crash at any point: the new key file is written first (harmless alone),
    then the notes are re-encrypted (the new key is already on disk, so they stay readable),
    and only then does CURRENT switch. Old keys are kept: notes not yet moved still need them.
    """
    if note_key:
        raise NoteKeyError(
            "note_key が設定（tsunagu.yaml または TSUNAGU_NOTE_KEY）で与えられているため、ここでは鍵を更新できません。"
            "秘密情報の保管場所で新しい鍵を発行し、古い鍵を keys/notes/ に置いてください / rotate the configured key "
            "in your secret store"
        )
    old = load_note_cipher(home)
    new_id = _new_key(notes_dir(home), now)
    keys = _file_keys(notes_dir(home))
    before, after = NoteCipher(keys, old.current_key_id), NoteCipher(keys, new_id)
    count = reencrypt(before, after) if reencrypt is not None else 0
    _set_current(notes_dir(home), new_id)
    return RotationReport(old.current_key_id, new_id, count, after.key_ids)
