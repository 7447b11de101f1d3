"""The case records in a family's disclosure pack (保有個人情報開示): what the case holds about the child.

The status, owner's role and the history of changes are sensitivity 2 and disclosed as they are; the
free text (reasons, contact summaries, meeting decisions and roles) and the 要対協 registration
are sensitivity 3: without ``notes`` they are listed as present, for the recording body to decide on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher
from tsunagu.work.cases.ledger import entry_of
from tsunagu.work.cases.records import contacts_of, meetings_of
from tsunagu.work.cases.status import case_view


def disclosed_case(session: Session, person_id: str, cipher: NoteCipher, *, notes: bool, withheld: str) -> dict[str, Any]:
    """JSON-ready: the caller has authorised the disclosure (``requests.handle``) in this transaction."""
    case = case_view(session, person_id, cipher, notes=True)  # read to know what is present, shown per ``notes``

    def text(value: str | None) -> str:
        if not value:
            return ""
        return value if notes else withheld

    entry = entry_of(session, person_id)
    return {
        "status": case.status, "team": case.team,
        "history": [{"at": e.at.isoformat(), "kind": e.kind_label,
                     "change": f"{e.from_status or '未確認'} → {e.to_status}" if e.to_status else "",
                     "reason": text(e.reason)} for e in case.history],
        "contacts": [{"on": c.contact_on.isoformat(), "kind": c.kind_label, "counterpart": text(c.counterpart),
                      "summary": text(c.summary)} for c in contacts_of(session, person_id, cipher)],
        "meetings": [{"held_on": m.held_on.isoformat(), "agencies": [a.agency for a in m.attendees] if notes else [],
                      "decisions": text(m.decisions)} for m in meetings_of(session, person_id, cipher)],
        "ledger": None if entry is None else {
            "category": text(entry.category), "registered_on": entry.registered_on.isoformat(),
            "closed_on": entry.closed_on.isoformat() if entry.closed_on else None},
    }
