"""Privacy and governance core: access decisions, the audit chain, break-glass, note encryption.

Sits beneath everything that touches personal data (department nodes included), so it imports
only tsunagu.store, tsunagu.catalog, tsunagu.yamlstrict and tsunagu.config — never a package that
holds or serves personal data. See docs/privacy.md.
"""

from tsunagu.privacy.access import authorise
from tsunagu.privacy.audit import AccessRecord, AuditEvent, AuditQueue, access_history, append, defer_appends, query_log
from tsunagu.privacy.breakglass import BreakGlassRefused, Grant, active_grant, break_glass, decide_with_grants
from tsunagu.privacy.chain import ChainProblem
from tsunagu.privacy.checkpoint import (
    ChainBrokenError,
    checkpoint,
    load_or_create_signing_key,
    parse_public_key,
    public_key_hex,
)
from tsunagu.privacy.crypto import (
    NoteCipher,
    NoteDecryptError,
    NoteKeyError,
    RotationReport,
    load_note_cipher,
    rotate,
)
from tsunagu.privacy.keyfiles import KeyFileError
from tsunagu.privacy.models import AuditCheckpoint, AuditEntry, BreakGlassGrant, PrivacyNotification
from tsunagu.privacy.policy import (
    Decision,
    Policy,
    PolicyError,
    Subject,
    decide,
    default_policy,
    load_policy,
    registered_actions,
)
from tsunagu.privacy.verify import VerifyReport, verify

__all__ = [
    "AccessRecord",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditEvent",
    "AuditQueue",
    "BreakGlassGrant",
    "BreakGlassRefused",
    "ChainBrokenError",
    "ChainProblem",
    "Decision",
    "Grant",
    "KeyFileError",
    "NoteCipher",
    "NoteDecryptError",
    "NoteKeyError",
    "Policy",
    "PolicyError",
    "PrivacyNotification",
    "RotationReport",
    "Subject",
    "VerifyReport",
    "access_history",
    "active_grant",
    "append",
    "authorise",
    "break_glass",
    "checkpoint",
    "decide",
    "decide_with_grants",
    "default_policy",
    "defer_appends",
    "load_note_cipher",
    "load_or_create_signing_key",
    "load_policy",
    "parse_public_key",
    "public_key_hex",
    "query_log",
    "registered_actions",
    "rotate",
    "verify",
]
