"""What a person at a node does: send a document; accept, reject, assign, start, complete one received;
recall, update or replace one sent; agree to or refuse a recall / update / replacement.

Each operation is one unit of work: the lifecycle decides first (an illegal move raises
``IllegalTransitionError`` and nothing is written), then the state change, its audit events and the
status message to the other side are stored together; the relay sends them later.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime

from docflow.domain.envelope import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    Envelope,
    OtherInfo,
    Priority,
    PromulgationInfo,
    Reference,
    TraceHeader,
)
from docflow.domain.ids import OrganId, organ_id
from docflow.domain.lifecycle import AMENDMENT, INBOUND, AmendmentState, DeliveryState, InboundState, amendment_effect
from docflow.domain.status import StatusCode
from docflow.errors import RegistryError
from docflow.services.context import Context
from docflow.services.outgoing import document_routing, event, outbox_row, status_row
from docflow.store import Amendment, Delivery, Document, OutboxMessage, Repository
from docflow.xml import write_envelope

#: clerk action -> (INBOUND event, status code sent back)
ACTIONS: dict[str, tuple[str, StatusCode]] = {
    "accept": ("accept", StatusCode.ACCEPTED),
    "reject": ("reject", StatusCode.REJECTED),
    "assign": ("assign", StatusCode.ASSIGNED),
    "start": ("process", StatusCode.PROCESSING),
    "complete": ("complete", StatusCode.COMPLETED),
}


@contextmanager
def _unit_of_work(ctx: Context) -> Iterator[tuple[Repository, list[OutboxMessage]]]:
    """A unit of work whose enqueued rows are handed to ``ctx.on_queued`` once committed (the network sends
    them at its next step without claiming them again; if it never does, any relay finds them due)."""
    queued: list[OutboxMessage] = []
    with ctx.store.unit_of_work() as repo:
        yield repo, queued
    if queued and ctx.on_queued is not None:
        ctx.on_queued(queued)


def _enqueue(repo: Repository, queued: list[OutboxMessage], rows: Iterable[OutboxMessage]) -> None:
    batch = list(rows)
    repo.enqueue(batch)
    queued.extend(batch)


def draft(
    ctx: Context,
    node: str,
    recipients: Sequence[OrganId | str],
    *,
    subject: str,
    code: Code,
    content: str = "",
    document_type: DocumentType | None = None,
    due_date: date | None = None,
    priority: Priority = Priority.NORMAL,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    business: Business | None = None,
    place: str = "",
) -> Envelope:
    """The envelope ``node`` would send: headers from the registry, DocumentId composed, first TraceHeader;
    ``place`` is where it is promulgated (PromulgationInfo/Place)."""
    now = ctx.clock.now()
    sender = ctx.organization(node)
    unique = list(dict.fromkeys(str(organ_id(r)) for r in recipients))
    if not unique:
        raise RegistryError("a document needs at least one recipient")
    files = tuple(
        Attachment.from_bytes(f"cid:{i}", data, name=name, content_type=kind)
        for i, (name, data, kind) in enumerate(attachments, start=1)
    )
    return Envelope(
        sender=sender,
        recipients=tuple(ctx.organization(r) for r in unique),
        document_id=Envelope.compose_document_id(sender.organ_id, now.date(), code),
        code=code,
        subject=subject,
        promulgation=PromulgationInfo(place=place, date=now.date()),
        document_type=document_type or DocumentType(18, None, "Công văn"),
        content=content,
        due_date=due_date,
        other=OtherInfo(priority=priority),
        trace=(TraceHeader(sender.organ_id, now),),
        business=business or Business(),
        references=tuple(Reference(a.content_id, a.content_type, a.description, a.attachment_name) for a in files),
        attachments=files,
    )


def send(ctx: Context, node: str, envelope: Envelope) -> str:
    """Store ``envelope`` and queue one delivery per recipient; return its DocumentId."""
    if str(envelope.sender.organ_id) != node:
        raise RegistryError(f"{node} cannot send a document whose From is {envelope.sender.organ_id}")
    now = ctx.clock.now()
    body = write_envelope(envelope)
    document_id = envelope.document_id
    business = int(envelope.business.doc_type)
    recipients = [str(r.organ_id) for r in envelope.recipients]
    with _unit_of_work(ctx) as (repo, queued):
        repo.add_document(Document(node, document_id, node, body, now, business, envelope.subject[:500]))
        repo.add_deliveries(
            Delivery(node, document_id, r, DeliveryState.QUEUED, now, route=ctx.route(node, r).encode())
            for r in recipients
        )
        rounds: dict[str, int] = {}
        if business != BusinessDocType.NEW:
            original = envelope.business.document_id
            rounds = _request_amendments(
                repo, node, original, recipients, business, now, document_id, envelope.business.reason
            )
        _enqueue(
            repo,
            queued,
            [
                outbox_row(
                    ctx, node, document_routing(ctx, node, r, document_id, business, rounds.get(r, 0)), body, now
                )
                for r in recipients
            ],
        )
        repo.append_events(
            event(node, now, "sent", document_id=document_id, recipient=r, detail={"business": business})
            for r in recipients
        )
    return document_id


def _request_amendments(
    repo: Repository,
    node: str,
    original: str,
    recipients: Iterable[str],
    business: int,
    now: datetime,
    amending: str,
    reason: str,
) -> dict[str, int]:
    """A new request round per recipient (a renewed request is a new amendment record); returns the rounds."""
    rounds: dict[str, int] = {}
    for recipient in recipients:
        round = repo.next_amendment_round(node, original, recipient, business)
        repo.add_amendment(
            Amendment(node, original, recipient, business, AmendmentState.REQUESTED, now, amending, reason, round)
        )
        rounds[recipient] = round
    return rounds


def act(ctx: Context, node: str, document_id: str, action: str, *, description: str = "", business: int = 0) -> str:
    """A clerk's action on a received document; returns the new state.  Repeating the last action is a no-op."""
    try:
        event_name, code = ACTIONS[action]
    except KeyError:
        raise RegistryError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}") from None
    now = ctx.clock.now()
    with _unit_of_work(ctx) as (repo, queued):
        inbound = repo.get_inbound(node, document_id, business)
        if inbound is None:
            raise RegistryError(f"{node} has received no document {document_id}")
        old = InboundState(inbound.state)
        new = INBOUND.fire(old, event_name, document=document_id)
        if new is old:
            return new.value
        repo.set_inbound_state(node, document_id, old=old, new=new, now=now, business_type=business)
        repo.append_events(
            [
                event(
                    node,
                    now,
                    action,
                    document_id=document_id,
                    recipient=node,
                    status=code.value,
                    detail={"state": new.value, "description": description[:500]},
                )
            ]
        )
        _enqueue(
            repo,
            queued,
            [
                status_row(
                    ctx,
                    node,
                    about=document_id,
                    original_sender=inbound.sender,
                    to=inbound.sender,
                    code=code,
                    now=now,
                    description=description,
                    business=business,
                )
            ],
        )
    return new.value


def recall(ctx: Context, node: str, document_id: str, *, reason: str, recipients: Sequence[str] | None = None) -> int:
    """Ask the recipients of a sent document to withdraw it (status 13); returns how many were asked."""
    now = ctx.clock.now()
    business = int(BusinessDocType.REVOKE)
    with _unit_of_work(ctx) as (repo, queued):
        targets = _recipients_of(repo, node, document_id, recipients)
        rounds = _request_amendments(repo, node, document_id, targets, business, now, "", reason)
        _enqueue(
            repo,
            queued,
            [
                status_row(
                    ctx,
                    node,
                    about=document_id,
                    original_sender=node,
                    to=r,
                    code=StatusCode.RECALLED,
                    now=now,
                    description=reason,
                    business=business,
                    round=rounds[r],
                )
                for r in targets
            ],
        )
        repo.append_events(
            event(node, now, "recall", document_id=document_id, recipient=r, status="13", detail={"reason": reason})
            for r in targets
        )
    return len(targets)


def amend(ctx: Context, node: str, document_id: str, kind: BusinessDocType, envelope: Envelope, *, reason: str) -> str:
    """Send ``envelope`` as an update or replacement of ``document_id`` to that document's recipients."""
    if kind not in (BusinessDocType.UPDATE, BusinessDocType.REPLACE):
        raise RegistryError(f"amend takes update or replace, not {kind.name.lower()}")
    with ctx.store.snapshot() as repo:
        targets = _recipients_of(repo, node, document_id, None)
    amended = replace(
        envelope,
        recipients=tuple(ctx.organization(r) for r in targets),
        business=Business(doc_type=kind, document_id=document_id, reason=reason),
    )
    return send(ctx, node, amended)


def answer(ctx: Context, node: str, document_id: str, kind: BusinessDocType, *, agree: bool, reason: str = "") -> str:
    """Agree (15) or refuse (16) a recall / update / replacement of ``document_id``; returns the new state."""
    business = int(kind)
    now = ctx.clock.now()
    with _unit_of_work(ctx) as (repo, queued):
        amendment = repo.get_amendment(node, document_id, node, business)
        if amendment is None:
            raise RegistryError(f"{node} has no {kind.name.lower()} request for {document_id}")
        old = AmendmentState(amendment.state)
        new = AMENDMENT.fire(old, "agree" if agree else "refuse", document=document_id)
        original = repo.get_inbound(node, document_id, 0)
        if new is old:
            return new.value
        if new is AmendmentState.AGREED and original is not None:
            before = InboundState(original.state)
            after = INBOUND.fire(before, amendment_effect(kind), document=document_id)
            if after is not before:
                repo.set_inbound_state(node, document_id, old=before, new=after, now=now)
        repo.set_amendment_state(node, document_id, node, business, old=old, new=new, now=now, round=amendment.round)
        sender = original.sender if original is not None else _sender_of(document_id)
        code = StatusCode.AGREED if agree else StatusCode.REFUSED
        repo.append_events(
            [
                event(
                    node,
                    now,
                    "agree" if agree else "refuse",
                    document_id=document_id,
                    recipient=node,
                    status=code.value,
                    detail={"business": business, "reason": reason[:500]},
                )
            ]
        )
        _enqueue(
            repo,
            queued,
            [
                status_row(
                    ctx,
                    node,
                    about=document_id,
                    original_sender=sender,
                    to=sender,
                    code=code,
                    now=now,
                    description=reason,
                    business=business,
                    round=amendment.round,
                )
            ],
        )
    return new.value


def _sender_of(document_id: str) -> str:
    """The sender named in a DocumentId (when the original document never arrived here)."""
    return str(OrganId.parse(document_id.split(",", 1)[0]))


def _recipients_of(repo: Repository, node: str, document_id: str, only: Sequence[str] | None) -> list[str]:
    known = [d.recipient for d in repo.deliveries_for(node, document_id)]
    if not known:
        raise RegistryError(f"{node} has sent no document {document_id}")
    if only is None:
        return known
    missing = sorted(set(only) - set(known))
    if missing:
        raise RegistryError(f"{document_id} was not sent to {', '.join(missing)}")
    return [r for r in known if r in set(only)]
