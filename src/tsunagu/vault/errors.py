"""Failures of a node exchange that are not policy refusals by the node itself.

The run layer treats them alike whichever transport a department uses: a department whose node
cannot answer is named as missing and the run completes with the others. A refusal by the node
stays a ``NodeRefusedError`` (the node answered, and the answer was no).
"""

from __future__ import annotations

from tsunagu.errors import UnavailableError
from tsunagu.vault.node import NodeRefusedError


class NodeTransportError(UnavailableError, RuntimeError):
    """An exchange with a department's node failed below the level of the node's policy."""

    code = "node_unavailable"

    def __init__(self, department: str, reason: str) -> None:
        self.department = department
        self.reason = reason
        super().__init__(f"{department}: {reason}")


class NodeUnavailableError(NodeTransportError):
    """The node is down, too slow, or answered something that is not a valid signed answer."""


class NodeAuthenticationError(NodeRefusedError):
    """The node refused the message itself (signature, clock window, replay), not its content.

    ``code`` is the node's error code: ``bad_signature``, ``unknown_hub``, ``stale`` or ``replay``.
    """

    def __init__(self, department: str, code: str, reason: str) -> None:
        self.code = code
        super().__init__(department, reason)
