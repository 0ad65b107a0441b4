"""A node takes what the transport holds for it: one hop of the routing engine.

For each claimed transport delivery, in one unit of work per batch:

1. the idempotency key (what the message *is*, from its routing headers) is remembered in the inbox —
   a key already there means a duplicate: acknowledged again, applied never;
2. the bytes are parsed (hardened) and validated; anything refused goes to quarantine with its reason and,
   for a document, the sender gets a 02 (rejected) status naming the problem;
3. a message for another node is stamped with this node's TraceHeader and put in the outbox for the next
   hop (store and forward); a message for this node is applied: a document is stored and answered with
   01 (arrived); a status moves the sender's delivery (DELIVERY lifecycle) or an amendment (AMENDMENT).

The transport is acknowledged only after the commit, so a crash anywhere means redelivery, and the inbox
makes redelivery harmless.  Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from docflow.domain.envelope import BusinessDocType, Envelope
from docflow.domain.lifecycle import (
    AMENDMENT,
    DELIVERY,
    AmendmentState,
    DeliveryState,
    InboundState,
    amendment_effect,
    status_event,
)
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import DocflowError, IllegalTransitionError, TransportError, XMLError
from docflow.services.context import Context
from docflow.services.outgoing import event, outbox_row, status_row
from docflow.services.relay import lease
from docflow.services.wire import EDOC, Routing
from docflow.store import Amendment, Document, Event, Inbound, OutboxMessage, QuarantineEntry, Repository
from docflow.transports.base import Delivery as TransportDelivery
from docflow.xml.hop import read_hop


@dataclass(slots=True)
class Intake:
    """What one ``process_inbox`` call did."""

    received: int = 0
    duplicates: int = 0
    forwarded: int = 0
    applied: int = 0
    quarantined: int = 0
    conflicts: int = 0

    def add(self, other: Intake) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class Pending:
    """Appends collected over a batch (of one node or many) and written by ``flush`` with one statement each."""

    outbox: list[OutboxMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        return len(self.outbox), len(self.events)

    def rewind(self, mark: tuple[int, int]) -> None:
        """Forget what was added since ``mark`` (its savepoint was rolled back)."""
        del self.outbox[mark[0] :]
        del self.events[mark[1] :]


def process_inbox(ctx: Context, node: str) -> tuple[Intake, list[OutboxMessage]]:
    """Take up to ``ctx.settings.batch`` messages for ``node`` and apply them in one unit of work.

    Returns what was done and the outbox rows it wrote, already claimed (leased) for the caller to send
    at once with ``relay.dispatch`` — if the caller never does, they fall due again when the lease ends.
    """
    claimed = ctx.transport.receive(node, limit=ctx.settings.batch)
    if not claimed:
        return Intake(), []
    try:
        with ctx.store.unit_of_work() as repo:
            pending = Pending()
            intake = apply_safely(ctx, repo, node, claimed, pending)
            rows = flush(ctx, repo, pending)
    except BaseException:
        for delivery in claimed:
            ctx.transport.nack(delivery)
        raise
    for delivery in claimed:
        ctx.transport.ack(delivery)
    return intake, rows


def apply_batch(ctx: Context, repo: Repository, node: str, claimed: list[TransportDelivery], out: Pending) -> Intake:
    """Apply claimed transport deliveries for ``node`` inside the caller's unit of work (no ack here);
    outgoing messages and audit events are collected in ``out`` for ``flush``."""
    intake = Intake()
    now = ctx.clock.now()
    routed: list[tuple[TransportDelivery, Routing]] = []
    for delivery in claimed:
        intake.received += 1
        message = delivery.message
        try:
            routed.append((delivery, Routing.from_headers(message.kind, message.headers)))
        except TransportError as exc:
            _quarantine(repo, out, node, now, message.sender, str(exc), message.body)
            intake.quarantined += 1
    fresh = repo.remember_receipts(node, [routing.key for _, routing in routed], now=now)
    for delivery, routing in routed:
        if routing.key not in fresh:
            intake.duplicates += 1
            continue
        fresh.discard(routing.key)  # a second copy in the same batch is a duplicate too
        _take(ctx, repo, out, node, delivery, routing, now, intake)
    return intake


def apply_safely(ctx: Context, repo: Repository, node: str, claimed: list[TransportDelivery], out: Pending) -> Intake:
    """``apply_batch`` in a savepoint; if the batch fails, apply its messages one by one, each in its own
    savepoint, and quarantine any message that still fails (with its reason) so it cannot block the queue."""
    mark = out.mark()
    try:
        with repo.savepoint():
            return apply_batch(ctx, repo, node, claimed, out)
    except DocflowError:
        out.rewind(mark)
    intake = Intake()
    for delivery in claimed:
        mark = out.mark()
        try:
            with repo.savepoint():
                intake.add(apply_batch(ctx, repo, node, [delivery], out))
        except DocflowError as exc:
            out.rewind(mark)
            intake.received += 1
            intake.quarantined += 1
            _quarantine_failure(ctx, repo, out, node, delivery, exc)
    return intake


def _quarantine_failure(
    ctx: Context, repo: Repository, out: Pending, node: str, delivery: TransportDelivery, exc: DocflowError
) -> None:
    message = delivery.message
    now = ctx.clock.now()
    reason = f"could not be applied: {exc}"
    with repo.savepoint():
        repo.quarantine(QuarantineEntry(node, now, reason[:2000], message.body, message.sender))
        try:
            routing = Routing.from_headers(message.kind, message.headers)
        except TransportError:
            routing = None
        if routing is not None:  # remember it, so a redelivery of the same message is not tried again
            repo.remember_receipts(node, [routing.key], now=now)
        out.events.append(
            event(
                node,
                now,
                "quarantined",
                document_id=routing.document_id if routing else "",
                detail={"reason": reason[:500], "message": message.message_id},
            )
        )


def flush(ctx: Context, repo: Repository, out: Pending) -> list[OutboxMessage]:
    """Write what ``apply_batch`` collected; the outbox rows are written already claimed (leased) so the
    caller can send them at once — if it never does, they fall due again when the lease ends."""
    until = ctx.clock.now() + lease(ctx)
    rows = [replace(row, attempts=1, next_attempt_at=until) for row in out.outbox]
    repo.enqueue(rows)
    repo.append_events(out.events)
    return rows


def _take(
    ctx: Context,
    repo: Repository,
    out: Pending,
    node: str,
    delivery: TransportDelivery,
    routing: Routing,
    now: datetime,
    intake: Intake,
) -> None:
    message = delivery.message
    expect = "document" if routing.kind == EDOC else "status"
    try:
        hop = read_hop(message.body, source=message.message_id, expect=expect)
        if routing.destination != node:
            hop.stamp(node, now)
            out.outbox.append(outbox_row(ctx, node, routing, hop.to_bytes(), now))
            out.events.append(
                event(
                    node,
                    now,
                    "forwarded",
                    document_id=routing.document_id,
                    recipient=routing.destination,
                    status=routing.status,
                    detail={"from": message.sender, "kind": routing.kind},
                )
            )
            intake.forwarded += 1
            return
        if routing.kind == EDOC:
            _apply_document(ctx, repo, out, node, routing, hop.envelope(strict=ctx.settings.strict), message.body, now)
        else:
            _apply_status(ctx, repo, out, node, routing, hop.status(), now, intake)
        intake.applied += 1
    except XMLError as exc:
        _refuse(ctx, repo, out, node, routing, message.body, exc, now)
        intake.quarantined += 1


def _quarantine(
    repo: Repository, out: Pending, node: str, now: datetime, source: str, reason: str, body: bytes
) -> None:
    repo.quarantine(QuarantineEntry(node, now, reason, body, source))
    out.events.extend([event(node, now, "quarantined", detail={"reason": reason[:500], "source": source})])


def _refuse(
    ctx: Context, repo: Repository, out: Pending, node: str, routing: Routing, body: bytes, exc: XMLError, now: datetime
) -> None:
    """Keep a refused message in quarantine; a refused document earns its sender a 02 status."""
    reason = str(exc)
    repo.quarantine(QuarantineEntry(node, now, reason, body, routing.origin, exc.violations))
    out.events.append(
        event(
            node,
            now,
            "quarantined",
            document_id=routing.document_id,
            recipient=routing.destination,
            detail={"reason": reason[:500], "kind": routing.kind},
        )
    )
    if routing.kind == EDOC and routing.origin != node:
        out.outbox.extend(
            [
                status_row(
                    ctx,
                    node,
                    about=routing.document_id,
                    original_sender=routing.origin,
                    to=routing.origin,
                    code=StatusCode.REJECTED,
                    now=now,
                    description=f"Văn bản không hợp lệ: {reason}"[:500],
                    business=routing.business,
                    regarding=routing.destination if routing.destination != node else "",
                )
            ]
        )


def _apply_document(
    ctx: Context,
    repo: Repository,
    out: Pending,
    node: str,
    routing: Routing,
    envelope: Envelope,
    body: bytes,
    now: datetime,
) -> None:
    if all(str(r.organ_id) != node for r in envelope.recipients):
        raise _not_addressed(node, envelope)
    business = int(envelope.business.doc_type)
    sender = routing.origin
    repo.add_document(Document(node, envelope.document_id, sender, body, now, business, envelope.subject[:500]))
    repo.add_inbound(Inbound(node, envelope.document_id, sender, InboundState.RECEIVED, now, business))
    rows = [
        event(
            node,
            now,
            "arrived",
            document_id=envelope.document_id,
            recipient=node,
            status="01",
            detail={"from": sender, "business": business},
        )
    ]
    if business != BusinessDocType.NEW:
        original = envelope.business.document_id
        _record_request(
            repo, node, original, business, routing.round, now, envelope.document_id, envelope.business.reason
        )
        rows.append(
            event(
                node,
                now,
                "amendment-requested",
                document_id=original,
                recipient=node,
                detail={"business": business, "by": envelope.document_id},
            )
        )
    out.events.extend(rows)
    out.outbox.extend(
        [
            status_row(
                ctx,
                node,
                about=envelope.document_id,
                original_sender=sender,
                to=sender,
                code=StatusCode.ARRIVED,
                now=now,
                business=business,
            )
        ]
    )


def _record_request(
    repo: Repository, node: str, original: str, business: int, round: int, now: datetime, amending: str, reason: str
) -> None:
    """The receiver's record of a recall / update / replacement request (one per round; a repeat is kept once)."""
    round = round or repo.next_amendment_round(node, original, node, business)
    if repo.get_amendment(node, original, node, business, round) is None:
        repo.add_amendment(
            Amendment(node, original, node, business, AmendmentState.REQUESTED, now, amending, reason, round)
        )


def _not_addressed(node: str, envelope: Envelope) -> XMLError:
    from docflow.errors import ValidationError, Violation

    message = f"document {envelope.document_id} is not addressed to {node} (To lists no such OrganId)"
    return ValidationError(
        message,
        violations=[Violation(message, path="/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To", rule="recipient")],
    )


def _apply_status(
    ctx: Context,
    repo: Repository,
    out: Pending,
    node: str,
    routing: Routing,
    status: StatusMessage,
    now: datetime,
    intake: Intake,
) -> None:
    document_id = status.response_for.document_id or routing.document_id
    reporter = routing.regarding or routing.origin  # a hop that refused a document reports for its recipient
    code = status.status
    detail = {"from": reporter, "description": status.description[:500], "business": routing.business}
    if code is StatusCode.RECALLED:  # at the receiver: the sender asks to withdraw the document
        _record_request(
            repo, node, document_id, int(BusinessDocType.REVOKE), routing.round, now, "", status.description
        )
        out.events.append(
            event(
                node,
                now,
                "recall-requested",
                document_id=document_id,
                recipient=node,
                status=code.value,
                detail=detail,
            )
        )
        return
    if code in (StatusCode.AGREED, StatusCode.REFUSED):
        _apply_reply(repo, out, node, document_id, reporter, routing, code, now, detail, intake)
        return
    current = repo.get_delivery(node, document_id, reporter)
    if current is None:
        _not_applied(out, intake, node, now, "status-unmatched", document_id, reporter, code, detail)
        return
    old = DeliveryState(current.state)
    try:
        new = DELIVERY.fire(old, status_event(code), document=document_id)
    except IllegalTransitionError as exc:
        conflict = {**detail, "state": old.value, "error": str(exc)}
        _not_applied(out, intake, node, now, "status-conflict", document_id, reporter, code, conflict)
        return
    if new is not old:
        repo.set_delivery_state(node, document_id, reporter, old=old, new=new, now=now)
    _record(out, node, now, "status", document_id, reporter, code, {**detail, "state": new.value})


def _not_applied(
    out: Pending,
    intake: Intake,
    node: str,
    now: datetime,
    kind: str,
    document_id: str,
    reporter: str,
    code: StatusCode,
    detail: dict,
) -> None:
    """A status that changes nothing here (no such delivery, or a conflicting stage) is recorded, not lost."""
    intake.conflicts += 1
    _record(out, node, now, kind, document_id, reporter, code, detail)


def _record(
    out: Pending,
    node: str,
    now: datetime,
    kind: str,
    document_id: str,
    reporter: str,
    code: StatusCode,
    detail: dict,
) -> None:
    """The audit event of a status received about ``reporter``'s delivery."""
    out.events.append(
        event(node, now, kind, document_id=document_id, recipient=reporter, status=code.value, detail=detail)
    )


def _apply_reply(
    repo: Repository,
    out: Pending,
    node: str,
    document_id: str,
    reporter: str,
    routing: Routing,
    code: StatusCode,
    now: datetime,
    detail: dict,
    intake: Intake,
) -> None:
    """A receiver's 15/16 to this node's recall, update or replacement (of the round it names)."""
    business = routing.business
    amendment = repo.get_amendment(node, document_id, reporter, business, routing.round or None)
    if amendment is None:
        _not_applied(out, intake, node, now, "status-unmatched", document_id, reporter, code, detail)
        return
    old = AmendmentState(amendment.state)
    try:
        new = AMENDMENT.fire(old, status_event(code), document=document_id)
    except IllegalTransitionError as exc:
        conflict = {**detail, "state": old.value, "error": str(exc)}
        _not_applied(out, intake, node, now, "status-conflict", document_id, reporter, code, conflict)
        return
    if new is not old:
        repo.set_amendment_state(
            node, document_id, reporter, business, old=old, new=new, now=now, round=amendment.round
        )
        if new is AmendmentState.AGREED:
            _apply_effect(repo, out, node, document_id, reporter, BusinessDocType(business), now)
    _record(out, node, now, "status", document_id, reporter, code, {**detail, "amendment": new.value})


def _apply_effect(
    repo: Repository, out: Pending, node: str, document_id: str, recipient: str, kind: BusinessDocType, now: datetime
) -> None:
    delivery = repo.get_delivery(node, document_id, recipient)
    if delivery is None:
        return
    old = DeliveryState(delivery.state)
    try:
        new = DELIVERY.fire(old, amendment_effect(kind), document=document_id)
    except IllegalTransitionError as exc:
        out.events.append(
            event(
                node,
                now,
                "amendment-conflict",
                document_id=document_id,
                recipient=recipient,
                detail={"state": old.value, "error": str(exc)},
            )
        )
        return
    if new is not old:
        repo.set_delivery_state(node, document_id, recipient, old=old, new=new, now=now)


__all__ = ["Intake", "Pending", "apply_batch", "apply_safely", "flush", "process_inbox"]
