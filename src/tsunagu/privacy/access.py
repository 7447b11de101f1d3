"""The one call a route, command or node makes before touching personal data.

``authorise`` decides (honouring break-glass grants) and records the decision in the audit chain,
allowed or denied, in the caller's transaction. On a denial the caller should still commit, so
that refused attempts are on record too, and then refuse the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.privacy.audit import DEFAULT_CHECKPOINT_EVERY, AuditEvent, append
from tsunagu.privacy.breakglass import decide_with_grants
from tsunagu.privacy.policy import Decision, Policy, Subject, policy_of


def authorise(
    session: Session,
    subject: Subject,
    action: str,
    purpose: str,
    *,
    person_id: str | None = None,
    items: Sequence[str] = (),
    relationship: str = "none",
    sensitivity: int = 1,
    holder: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    policy: Policy | None = None,
) -> Decision:
    """Decide and record. Unknown names raise PolicyError (and record nothing: it is a bug)."""
    policy = policy or policy_of(session)
    if person_id is not None:
        decision = decide_with_grants(
            session, subject, action, purpose, person_id=person_id, relationship=relationship,
            sensitivity=sensitivity, holder=holder, now=now, policy=policy,
        )
    else:
        decision = policy.decide(subject, action, purpose, relationship=relationship, sensitivity=sensitivity,
                                 holder=holder, now=now)
    append(
        session,
        AuditEvent.from_decision(subject, decision, action, purpose, person_id=person_id, items=items,
                                 request_id=request_id, at=now),
        key=key,
        checkpoint_every=checkpoint_every,
    )
    return decision
