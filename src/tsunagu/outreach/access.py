"""Access for push-type support: the policy, and the officer's own department (both recorded).

The policy says which roles may handle outreach for which holding departments; it cannot say that
an officer of 保育課 may not open 教育委員会's list, since a decision does not compare the
subject's organisation with the holder. That comparison is made here, first, and a refusal is
recorded in the audit chain like any other.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.catalog import catalog_of
from tsunagu.privacy import AuditEvent, Decision, Subject, append, authorise
from tsunagu.work.errors import Refused

PURPOSE = "outreach"
DENY_OTHER_DEPARTMENT = "deny.outreach.other_department"


def decide_department(session: Session, subject: Subject, action: str, department: str, *,
                      person_id: str | None = None, key: Ed25519PrivateKey | None = None) -> Decision:
    """Allowed only for the department's own officers and as the policy allows; raises Refused otherwise."""
    if subject.organisation != department or department not in catalog_of(session).departments:
        decision = Decision(False, f"拒否: 所属（{subject.organisation}）が制度を実施する部署（{department}）ではありません。",
                            DENY_OTHER_DEPARTMENT)
        append(session, AuditEvent.from_decision(subject, decision, action, PURPOSE, person_id=person_id), key=key)
        raise Refused(decision.reason, decision)
    decision = authorise(session, subject, action, PURPOSE, person_id=person_id, relationship="municipality",
                         sensitivity=2, holder=department, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return decision
