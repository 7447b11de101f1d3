"""Free text about a child, sealed with the home's NoteCipher before it reaches the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher
from tsunagu.work.cases.models import CaseContact, CaseEvent, CaseMeeting
from tsunagu.work.models import FollowUp, Referral, Review, SupportPlan
from tsunagu.work.urgency.models import Assessment, Intake, IntakeEvent, SharedAct

# Every encrypted column of the work tables: key rotation must re-encrypt them all.
ENCRYPTED_COLUMNS: tuple[tuple[type[object], tuple[str, ...]], ...] = (
    (Review, ("rationale_enc", "override_reason_enc")),
    (SupportPlan, ("goals_enc", "closure_note_enc")),
    (Referral, ("note_enc",)),
    (FollowUp, ("note_enc",)),
    (Intake, ("reporter_note_enc", "child_name_enc", "concern_enc")),
    (Assessment, ("reason_enc",)),
    (IntakeEvent, ("note_enc",)),
    (SharedAct, ("note_enc",)),
    (CaseEvent, ("reason_enc",)),
    (CaseContact, ("counterpart_enc", "summary_enc")),
    (CaseMeeting, ("attendees_enc", "decisions_enc")),
)


def seal(cipher: NoteCipher, text: str | None) -> bytes | None:
    if text is None or not text.strip():
        return None
    return cipher.encrypt(text.strip())


def unseal(cipher: NoteCipher, blob: bytes | None) -> str:
    return "" if blob is None else cipher.decrypt(blob)


def reencrypt_notes(session: Session, old: NoteCipher, new: NoteCipher) -> int:
    """Move every note to ``new``'s current key (``privacy.rotate``'s callback); returns the count."""
    del old  # ``new`` holds every key, old ones included, so it can read what ``old`` wrote
    count = 0
    for model, columns in ENCRYPTED_COLUMNS:
        for row in session.scalars(select(model)):
            for column in columns:
                blob = getattr(row, column)
                if blob is not None:
                    setattr(row, column, new.reencrypt(blob))
                    count += 1
    session.flush()
    return count
