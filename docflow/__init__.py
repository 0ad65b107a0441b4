"""docflow: route official documents (edXML, QCVN 102:2016) between the four tiers of Vietnamese government.

The curated public API.  Importing ``docflow`` opens no connection and no file; the names below are loaded
lazily on first use, so ``import docflow`` stays cheap and pulls in neither lxml nor SQLAlchemy until needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Attachment": "docflow.domain.envelope",
    "Business": "docflow.domain.envelope",
    "BusinessDocType": "docflow.domain.envelope",
    "Clock": "docflow.domain.clock",
    "Code": "docflow.domain.envelope",
    "DocflowError": "docflow.errors",
    "DocumentId": "docflow.domain.ids",
    "Envelope": "docflow.domain.envelope",
    "ManualClock": "docflow.domain.clock",
    "Network": "docflow.services",
    "Node": "docflow.services",
    "OrganId": "docflow.domain.ids",
    "Organization": "docflow.domain.envelope",
    "Registry": "docflow.domain.registry",
    "Route": "docflow.domain.routing",
    "RoutingPolicy": "docflow.domain.routing",
    "Settings": "docflow.services",
    "StatusCode": "docflow.domain.status",
    "StatusMessage": "docflow.domain.status",
    "Tier": "docflow.domain.ids",
    "UnsafeXMLError": "docflow.errors",
    "ValidationError": "docflow.errors",
    "WallClock": "docflow.domain.clock",
    "build_network": "docflow.bootstrap",
    "read_message": "docflow.xml",
    "topology": "docflow.domain.topologies",
    "write_message": "docflow.xml",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'docflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
