"""Human work: accounts, case assignments, reviews, plans, referrals, follow-ups, the support
directory and suspensions of use — the workflows that ask the nodes. No web imports.

Every function that reads or writes a child's data takes the acting ``Subject`` and a purpose
and decides-and-records through ``tsunagu.privacy.authorise`` in the caller's transaction (see
``work.access``). A refusal raises ``Refused`` after its audit entry was added: commit anyway.
"""

from tsunagu.work.access import relationship, suspended_persons
from tsunagu.work.errors import Invalid, NotFound, Refused, Suspended, WorkError
from tsunagu.work.notes import reencrypt_notes

__all__ = [
    "Invalid",
    "NotFound",
    "Refused",
    "Suspended",
    "WorkError",
    "reencrypt_notes",
    "relationship",
    "suspended_persons",
]
