"""The HTTP transport for department nodes: signed requests, signed answers, one contract.

The hub side needs only ``HttpNode`` (and never imports the web framework); a node host builds
its service with ``tsunagu.vault.http.server.create_app``. Protocol, keys and failure handling
are described in docs/topology.md.
"""

from __future__ import annotations

from tsunagu.vault.errors import NodeAuthenticationError, NodeTransportError, NodeUnavailableError
from tsunagu.vault.http.client import ExchangeRecord, HttpNode, Timeouts, signed_headers

__all__ = [
    "ExchangeRecord",
    "HttpNode",
    "NodeAuthenticationError",
    "NodeTransportError",
    "NodeUnavailableError",
    "Timeouts",
    "signed_headers",
]
