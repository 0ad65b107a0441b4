"""A node takes what the transport holds for it: one hop of the routing engine.

For each claimed transport delivery, inside the caller's unit of work (``drain`` in ``docflow.services.drain``):

1. the idempotency key (what the message *is*, from its routing headers) is remembered in the inbox —
   a key already there means a duplicate: acknowledged again, applied never;
2. the bytes are parsed (hardened) and validated; anything refused goes to quarantine with its reason, its
   key is forgotten again (only an applied message marks its identity as seen, so a corrupt copy never hides
   the good one) and, for a document, the sender gets a 02 (rejected) status naming the problem;
3. a message for another node is stamped with this node's TraceHeader and queued for the next hop (store and
   forward); a message for this node is applied: a document is stored and answered with 01 (arrived); a status
   moves the sender's delivery (DELIVERY) or an amendment (AMENDMENT), always through ``NodeWork.move``.

Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

from docflow.domain.envelope import BusinessDocType, Envelope
from docflow.domain.events import (
    BY_AMENDMENT,
    BY_STATUS,
    AmendmentRequested,
    DocumentArrived,
    DocumentForwarded,
    StatusUnmatched,
)
from docflow.domain.ids import organ_id
from docflow.domain.lifecycle import (
    AMENDMENT,
    DELIVERY,
    INBOUND,
    AmendmentState,
    amendment_effect,
    status_event,
)
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import DocflowError, TransportError, ValidationError, Violation, XMLError
from docflow.services.dossiers import read_dossier_hop, take_dossier
from docflow.services.outgoing import outbox_row, route_of, status_row
from docflow.services.trust import admit, trusted_envelope
from docflow.services.wire import DOSSIER, EDOC, STATUS_KIND, Routing
from docflow.services.work import NodeWork, Work
from docflow.store import Amendment, Document, Inbound
from docflow.transports.base import Delivery as TransportDelivery
from docflow.transports.base import Message
from docflow.xml.dossier_xml import DossierHop
from docflow.xml.hop import Hop, read_hop


@dataclass(slots=True)
class Intake:
    """What applying claimed messages did."""

    received: int = 0
    duplicates: int = 0
    forwarded: int = 0
    applied: int = 0
    quarantined: int = 0
    conflicts: int = 0

    def add(self, other: Intake) -> None:
        self.received += other.received
        self.duplicates += other.duplicates
        self.forwarded += other.forwarded
        self.applied += other.applied
        self.quarantined += other.quarantined
        self.conflicts += other.conflicts


def apply_safely(work: Work, node: str, claimed: list[TransportDelivery]) -> Intake:
    """Apply ``claimed`` for ``node`` in a savepoint; if the batch fails, apply its messages one by one, each in
    its own savepoint, and quarantine any message that still fails (with its reason) so it cannot block the
    queue.  The quarantine itself cannot fail on the bytes it keeps (``docflow.store.repos.base.safe_text``)."""
    mark = work.mark()
    try:
        with work.repo.savepoint():
            return apply_batch(work, node, claimed)
    except DocflowError:
        work.rewind(mark)
    intake = Intake()
    for delivery in claimed:
        mark = work.mark()
        try:
            with work.repo.savepoint():
                intake.add(apply_batch(work, node, [delivery]))
        except DocflowError as exc:
            work.rewind(mark)
            intake.received += 1
            intake.quarantined += 1
            message = delivery.message
            with work.repo.savepoint():  # its key stays unknown: a redelivery is refused the same way, never lost
                work.at(node).quarantine(
                    f"could not be applied: {exc}", message.body, source=message.sender, document_id=""
                )
    return intake


def apply_batch(work: Work, node: str, claimed: list[TransportDelivery]) -> Intake:
    """Apply claimed transport deliveries for ``node`` inside the caller's unit of work (no ack here)."""
    intake = Intake()
    here = work.at(node)
    routed: list[tuple[Message, Routing, str]] = []  # with the idempotency key, worked out once
    for delivery in claimed:
        intake.received += 1
        message = delivery.message
        try:
            routing = Routing.from_headers(message.kind, message.headers)
        except TransportError as exc:
            here.quarantine(str(exc), message.body, source=message.sender)
            intake.quarantined += 1
        else:
            routed.append((message, routing, routing.key))
    fresh = work.repo.inbox.remember(node, [key for _, _, key in routed], now=work.now)
    for message, routing, key in routed:
        if key not in fresh:
            intake.duplicates += 1
            continue
        fresh.discard(key)  # a second copy in the same batch is a duplicate too
        _take(here, message, routing, intake)
    return intake


def _take(here: NodeWork, message: Message, routing: Routing, intake: Intake) -> None:
    node, ctx = here.node, here.work.ctx
    expect = "document" if routing.kind == EDOC else "status"
    try:
        if routing.kind == DOSSIER:  # a one-stop dossier handed between agencies (docflow.services.dossiers)
            hop: Hop | DossierHop = read_dossier_hop(message.body, routing, source=message.message_id)
        else:
            hop = read_hop(message.body, source=message.message_id, expect=expect)
            admit(here, message, routing, hop)  # who may send what (docflow.services.trust)
        if routing.destination != node:
            _check_next_hop(here, routing)
            hop.stamp(node, here.now)
            here.enqueue([outbox_row(ctx, node, routing, hop.to_bytes(), here.now)])
            here.record(
                DocumentForwarded(
                    node,
                    here.now,
                    routing.document_id,
                    routing.destination,
                    message.sender[:40],
                    routing.kind != STATUS_KIND,
                    routing.status,
                )
            )
            intake.forwarded += 1
            return
        if isinstance(hop, DossierHop):
            take_dossier(here, routing, hop, message.body)
        elif routing.kind == EDOC:
            _apply_document(here, routing, trusted_envelope(here, routing, hop), message.body)
        else:
            _apply_status(here, routing, hop.status(), intake)
        intake.applied += 1
    except XMLError as exc:
        _refuse(here, routing, message.body, exc)
        intake.quarantined += 1


def _refuse(here: NodeWork, routing: Routing, body: bytes, exc: XMLError) -> None:
    """Keep a refused message in quarantine and forget its key; a refused document earns its sender a 02."""
    node, reason = here.node, str(exc)
    here.repo.inbox.forget(node, routing.key)
    here.quarantine(
        reason,
        body,
        source=routing.origin,
        document_id=routing.document_id,
        destination=routing.destination,
        violations=exc.violations,
    )
    if routing.kind == EDOC and routing.origin != node:
        here.enqueue(
            [
                status_row(
                    here.work.ctx,
                    node,
                    about=routing.document_id,
                    original_sender=routing.origin,
                    to=routing.origin,
                    code=StatusCode.REJECTED,
                    now=here.now,
                    description=f"Văn bản không hợp lệ: {reason}"[:500],
                    business=routing.business,
                    regarding=routing.destination if routing.destination != node else "",
                )
            ]
        )


def _apply_document(here: NodeWork, routing: Routing, envelope: Envelope, body: bytes) -> None:
    node, repo, now = here.node, here.repo, here.now
    if all(str(r.organ_id) != node for r in envelope.recipients):
        raise _not_addressed(node, envelope)
    business = int(envelope.business.doc_type)
    sender = routing.origin
    document_id = envelope.document_id
    repo.documents.add(Document(node, document_id, sender, body, now, business, envelope.subject[:500]))
    copy = Inbound(node, document_id, sender, INBOUND.initial, now, business)
    repo.inbound.add(copy)
    here.record(DocumentArrived(node, now, document_id, sender, business))
    if business != BusinessDocType.NEW:
        original = envelope.business.document_id
        _record_request(here, original, business, routing.round, document_id, envelope.business.reason)
    else:
        _settle_early_answers(here, copy)
    here.enqueue(
        [
            status_row(
                here.work.ctx,
                node,
                about=document_id,
                original_sender=sender,
                to=sender,
                code=StatusCode.ARRIVED,
                now=now,
                business=business,
            )
        ]
    )


def _settle_early_answers(here: NodeWork, copy: Inbound) -> None:
    """A recall, update or replacement this node already agreed to before the document itself arrived (the 13
    overtook it) takes effect on arrival, so both sides end in the same state whatever the order."""
    for amendment in here.repo.amendments.for_document(here.node, copy.document_id):  # one query, usually empty
        if amendment.recipient == here.node and AMENDMENT.states(amendment.state) is AmendmentState.AGREED:
            effect = amendment_effect(BusinessDocType(amendment.business_type))
            here.move(INBOUND, copy, effect, by=BY_AMENDMENT, status=StatusCode.AGREED.value)
            return


def _record_request(here: NodeWork, original: str, business: int, round: int, amending: str, reason: str) -> None:
    """The receiver's record of a recall / update / replacement request (one per round; a repeat is kept once)."""
    repo, node = here.repo, here.node
    round = round or repo.amendments.next_round(node, original, node, business)
    if repo.amendments.get(node, original, node, business, round) is None:
        repo.amendments.add(
            Amendment(node, original, node, business, AMENDMENT.initial, here.now, amending, reason, round)
        )
        here.record(AmendmentRequested(node, here.now, original, node, business, round, reason[:500], amending))


def _not_addressed(node: str, envelope: Envelope) -> XMLError:
    message = f"document {envelope.document_id} is not addressed to {node} (To lists no such OrganId)"
    return ValidationError(
        message,
        violations=[Violation(message, path="/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To", rule="recipient")],
    )


def _check_next_hop(here: NodeWork, routing: Routing) -> None:
    """A message to forward must name a route through this node to an agency this node knows (the registry,
    a provincial hub or the axis); anything else is refused, not followed."""
    try:
        next_hop = route_of(routing.route).next_hop(organ_id(here.node))
    except DocflowError as exc:
        problem = f"route header refused: {exc}"
    else:
        if next_hop is not None and here.work.ctx.knows(next_hop):
            return
        problem = f"route header names next hop {next_hop} towards {routing.destination}, which is not a known agency"
    raise ValidationError(problem, violations=[Violation(problem, path="/", rule="route")])


def _apply_status(here: NodeWork, routing: Routing, status: StatusMessage, intake: Intake) -> None:
    document_id = status.response_for.document_id or routing.document_id
    reporter = routing.regarding or routing.origin  # a hop that refused a document reports for its recipient
    code = status.status
    description = status.description[:500]
    if code is StatusCode.RECALLED:  # at the receiver: the sender asks to withdraw the document
        _record_request(here, document_id, int(BusinessDocType.REVOKE), routing.round, "", status.description)
        return
    if code in (StatusCode.AGREED, StatusCode.REFUSED):
        row = here.repo.amendments.get(here.node, document_id, reporter, routing.business, routing.round or None)
        if row is None:
            _unmatched(here, document_id, reporter, code, routing.business, description, intake)
            return
        moved = here.move(AMENDMENT, row, status_event(code), by=BY_STATUS, status=code.value, description=description)
        if moved is None:
            intake.conflicts += 1
        elif moved[1] is AmendmentState.AGREED and moved[0] is not moved[1]:
            delivery = here.repo.deliveries.get(here.node, document_id, reporter)
            if delivery is not None:
                effect = amendment_effect(BusinessDocType(routing.business))
                here.move(DELIVERY, delivery, effect, by=BY_AMENDMENT, status=code.value)
        return
    delivery = here.repo.deliveries.get(here.node, document_id, reporter)
    if delivery is None:
        _unmatched(here, document_id, reporter, code, routing.business, description, intake)
    elif (
        here.move(DELIVERY, delivery, status_event(code), by=BY_STATUS, status=code.value, description=description)
        is None
    ):
        intake.conflicts += 1


def _unmatched(
    here: NodeWork, document_id: str, reporter: str, code: StatusCode, business: int, description: str, intake: Intake
) -> None:
    """A status about a delivery or amendment this node does not have is recorded, not lost."""
    intake.conflicts += 1
    here.record(StatusUnmatched(here.node, here.now, document_id, reporter, code.value, business, description))


__all__ = ["Intake", "apply_batch", "apply_safely"]
