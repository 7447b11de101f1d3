"""Case-note encryption: round trip, loud failures, key files, rotation."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tsunagu.privacy import KeyFileError, NoteCipher, NoteDecryptError, NoteKeyError, load_note_cipher, rotate
from tsunagu.privacy.crypto import configured_key_id, key_id_of, notes_dir

NOTE = "母親から「夜は一人で過ごすことが多い」と聞き取り。次回家庭訪問は6月12日。"


def test_round_trip_and_the_ciphertext_hides_the_text(tmp_path: Path) -> None:
    cipher = load_note_cipher(tmp_path)
    blob = cipher.encrypt(NOTE)
    assert cipher.decrypt(blob) == NOTE
    assert NOTE.encode() not in blob and "家庭訪問".encode() not in blob
    assert cipher.encrypt(NOTE) != blob  # a fresh nonce each time
    assert key_id_of(blob) == cipher.current_key_id
    assert load_note_cipher(tmp_path).decrypt(blob) == NOTE  # the same key is found again


def test_key_files_are_private(tmp_path: Path) -> None:
    cipher = load_note_cipher(tmp_path)
    folder = notes_dir(tmp_path)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / f"{cipher.current_key_id}.key").stat().st_mode & 0o777 == 0o600
    (folder / f"{cipher.current_key_id}.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_note_cipher(tmp_path)


def test_no_key_yet_is_an_error_when_creation_is_not_allowed(tmp_path: Path) -> None:
    with pytest.raises(NoteKeyError, match="暗号鍵がありません"):
        load_note_cipher(tmp_path, create=False)


def test_the_wrong_key_fails_loudly(tmp_path: Path) -> None:
    cipher = load_note_cipher(tmp_path)
    blob = cipher.encrypt(NOTE)
    impostor = NoteCipher({cipher.current_key_id: os.urandom(32)}, cipher.current_key_id)
    with pytest.raises(NoteDecryptError, match="復号できません"):
        impostor.decrypt(blob)
    with pytest.raises(NoteKeyError, match="見つかりません"):
        NoteCipher({"other": os.urandom(32)}, "other").decrypt(blob)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # ciphertext or tag changed
        lambda b: b[:5] + b"X" + b[6:],  # key id relabelled (the header is authenticated)
        lambda b: b[:20],  # truncated
        lambda b: b"plain text, not a note",
    ],
    ids=["flipped-bit", "relabelled", "truncated", "not-a-blob"],
)
def test_a_damaged_ciphertext_is_refused(tmp_path: Path, mangle: object) -> None:
    cipher = load_note_cipher(tmp_path)
    blob = cipher.encrypt(NOTE)
    with pytest.raises((NoteDecryptError, NoteKeyError)):
        cipher.decrypt(mangle(blob))  # type: ignore[operator]


def test_rotation_moves_notes_to_a_new_key_and_old_ones_still_decrypt(tmp_path: Path) -> None:
    old = load_note_cipher(tmp_path)
    stored = {1: old.encrypt(NOTE), 2: old.encrypt("別のケース記録")}
    untouched = old.encrypt("まだ移していない記録")

    def reencrypt(before: NoteCipher, after: NoteCipher) -> int:
        assert before.current_key_id == old.current_key_id != after.current_key_id
        for note_id, blob in stored.items():
            stored[note_id] = after.reencrypt(blob)
        return len(stored)

    report = rotate(tmp_path, reencrypt)
    assert (report.old_key_id, report.reencrypted) == (old.current_key_id, 2)
    assert set(report.key_ids) == {old.current_key_id, report.new_key_id}
    now = load_note_cipher(tmp_path)
    assert now.current_key_id == report.new_key_id
    assert key_id_of(now.encrypt("新しい記録")) == report.new_key_id
    assert all(key_id_of(b) == report.new_key_id for b in stored.values())
    assert now.decrypt(stored[1]) == NOTE
    assert now.decrypt(untouched) == "まだ移していない記録"
    again = rotate(tmp_path)
    assert again.old_key_id == report.new_key_id and len(again.key_ids) == 3


def test_a_failed_reencryption_leaves_the_current_key_as_it_was(tmp_path: Path) -> None:
    old = load_note_cipher(tmp_path)

    def broken(_before: NoteCipher, _after: NoteCipher) -> int:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        rotate(tmp_path, broken)
    assert load_note_cipher(tmp_path).current_key_id == old.current_key_id


def test_a_key_from_the_settings_is_current_and_cannot_be_rotated_here(tmp_path: Path) -> None:
    file_cipher = load_note_cipher(tmp_path)
    old_blob = file_cipher.encrypt(NOTE)
    configured = base64.b64encode(os.urandom(32)).decode()
    cipher = load_note_cipher(tmp_path, configured)
    assert cipher.current_key_id == configured_key_id(configured)
    assert cipher.decrypt(old_blob) == NOTE
    assert load_note_cipher(tmp_path, configured).decrypt(cipher.encrypt("設定の鍵")) == "設定の鍵"
    with pytest.raises(NoteKeyError, match="note_key"):
        rotate(tmp_path, note_key=configured)
    with pytest.raises(NoteKeyError, match="32"):
        load_note_cipher(tmp_path, base64.b64encode(b"short").decode())
