"""The lifecycles: DELIVERY (sender side), INBOUND (receiver side), AMENDMENT (recall/update/replace), DOSSIER.

Each is a module-level ``Lifecycle`` singleton over one shared ``transitions.Machine``; the state lives in the
stored row and the engine asks ``LIFECYCLE.fire(state, event, document=..., **context)`` for the next one.
The rules themselves (and why they are what they are) are the tables in ``tables.py``.

Pure: standard library, ``transitions`` and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

from typing import Final

from docflow.domain.envelope import BusinessDocType
from docflow.domain.lifecycle.machine import Lifecycle, Move
from docflow.domain.lifecycle.tables import (
    AMENDMENT_EFFECTS,
    AMENDMENT_ORDER,
    AMENDMENT_ROWS,
    AMENDMENT_TERMINAL,
    CLERK_ACTIONS,
    DELIVERY_ORDER,
    DELIVERY_ROWS,
    DELIVERY_STATUS_STAGES,
    DELIVERY_TERMINAL,
    DOSSIER_ORDER,
    DOSSIER_ROWS,
    DOSSIER_TERMINAL,
    INBOUND_ORDER,
    INBOUND_ROWS,
    INBOUND_TERMINAL,
    STATUS_EVENTS,
    AmendmentState,
    DeliveryState,
    DossierState,
    InboundState,
    status_rows,
)
from docflow.domain.status import StatusCode
from docflow.errors import LifecycleError

__all__ = [
    "AMENDMENT",
    "AMENDMENT_EFFECTS",
    "CLERK_ACTIONS",
    "DELIVERY",
    "DOSSIER",
    "INBOUND",
    "LIFECYCLES",
    "STATUS_EVENTS",
    "AmendmentState",
    "DeliveryState",
    "DossierState",
    "InboundState",
    "Lifecycle",
    "Move",
    "amendment_effect",
    "status_event",
]

DELIVERY: Final[Lifecycle[DeliveryState]] = Lifecycle(
    "delivery",
    DeliveryState,
    DeliveryState.QUEUED,
    DELIVERY_TERMINAL,
    (*DELIVERY_ROWS, *status_rows(DELIVERY_STATUS_STAGES, DELIVERY_ORDER, DeliveryState)),
    DELIVERY_ORDER,
)
INBOUND: Final[Lifecycle[InboundState]] = Lifecycle(
    "inbound", InboundState, InboundState.RECEIVED, INBOUND_TERMINAL, INBOUND_ROWS, INBOUND_ORDER
)
AMENDMENT: Final[Lifecycle[AmendmentState]] = Lifecycle(
    "amendment", AmendmentState, AmendmentState.REQUESTED, AMENDMENT_TERMINAL, AMENDMENT_ROWS, AMENDMENT_ORDER
)
DOSSIER: Final[Lifecycle[DossierState]] = Lifecycle(
    "dossier", DossierState, DossierState.SUBMITTED, DOSSIER_TERMINAL, DOSSIER_ROWS, DOSSIER_ORDER
)

#: name -> lifecycle, in drawing order.
LIFECYCLES: Final[dict[str, Lifecycle]] = {lc.name: lc for lc in (DELIVERY, INBOUND, AMENDMENT, DOSSIER)}


def status_event(code: StatusCode) -> str:
    """The event a received status code fires: 01–06 on DELIVERY, 13 ``request``, 15 ``agree``, 16 ``refuse``."""
    return STATUS_EVENTS[code]


def amendment_effect(kind: BusinessDocType) -> str:
    """The event fired on DELIVERY and INBOUND once an amendment of business type ``kind`` is agreed."""
    try:
        return AMENDMENT_EFFECTS[kind]
    except KeyError:
        raise LifecycleError(f"business type {int(kind)} ({kind.name.lower()}) is not an amendment") from None
