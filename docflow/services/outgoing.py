"""Turning decisions into outbox rows: documents (one hop further along their route) and status messages.

Nothing here talks to the transport: a node only *enqueues* (in the same unit of work as its state
change); the relay sends later.  That is what makes a crash between "persisted" and "sent" harmless.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

import functools
from datetime import datetime

from docflow.domain.envelope import ResponseFor
from docflow.domain.ids import DocumentId, OrganId, organ_id
from docflow.domain.routing import Route
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import IdentifierError
from docflow.services.context import Context
from docflow.services.wire import EDOC, STATUS_KIND, Routing
from docflow.store import OutboxMessage
from docflow.xml import write_status


def outbox_row(
    ctx: Context, node: str, routing: Routing, body: bytes, now: datetime, *, document_row: int | None = None
) -> OutboxMessage:
    """The outbox row that moves ``body`` one hop further along ``routing.route`` from ``node`` (a document
    stored at ``node`` is named by its ``document_row`` instead of copying ``body``)."""
    next_hop = route_of(routing.route).next_hop(organ_id(node))
    if next_hop is None:
        raise IdentifierError(f"{node} is the destination of {routing.key}: nothing to forward")
    return OutboxMessage(
        node=node,
        message_id=routing.message_id(node),
        recipient=str(next_hop),
        kind=routing.kind,
        body=body,  # kept in memory for an in-process send; the store keeps only ``document_row``
        created_at=now,
        headers=routing.headers(),
        document_row=document_row,
    )


#: Routes travel as text in headers; decoding one is cached (a province has a few hundred distinct routes).
route_of = functools.lru_cache(maxsize=65536)(Route.decode)


def document_routing(
    ctx: Context, origin: str, destination: str, document_id: str, business: int, round: int = 0
) -> Routing:
    """Routing facts of a document from ``origin`` to ``destination``."""
    route = ctx.route(origin, destination)
    return Routing(EDOC, origin, destination, route.encode(), document_id, business, round=round)


def response_for(document_id: str, original_sender: str) -> ResponseFor:
    """ResponseFor naming ``document_id`` (code and date taken from the DocumentId when it parses)."""
    try:
        parsed = DocumentId.parse(document_id)
    except IdentifierError:
        return ResponseFor(organ_id=OrganId.parse(original_sender), document_id=document_id)
    return ResponseFor(
        organ_id=OrganId.parse(original_sender),
        code=f"{parsed.code_number}/{parsed.code_notation}",
        promulgation_date=parsed.date,
        document_id=document_id,
    )


def status_row(
    ctx: Context,
    node: str,
    *,
    about: str,
    original_sender: str,
    to: str,
    code: StatusCode,
    now: datetime,
    description: str = "",
    business: int = 0,
    regarding: str = "",
    round: int = 0,
) -> OutboxMessage:
    """Enqueue-ready status message from ``node`` to ``to`` about document ``about`` (``regarding`` names the
    recipient of the delivery concerned when it is not ``node``; ``round`` the amendment round answered)."""
    message = StatusMessage(
        sender=ctx.organization(node),
        response_for=response_for(about, original_sender),
        status=code,
        timestamp=now,
        description=description or code.label,
    )
    route = ctx.route(node, to)
    routing = Routing(STATUS_KIND, node, to, route.encode(), about, business, code.value, regarding, round)
    return outbox_row(ctx, node, routing, write_status(message), now)
