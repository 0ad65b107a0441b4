"""What a person at a node does: send a document; accept, reject, assign, start, complete one received;
recall, update or replace one sent; agree to or refuse a recall / update / replacement.

Each operation is one unit of work (``docflow.services.work.unit``): the lifecycle decides first (an
illegal clerk action raises ``IllegalTransitionError`` and nothing is written), then the state change
(through ``NodeWork.move``), its events and the status message to the other side are stored together; the
relay sends them later.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

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
from docflow.domain.events import BY_AMENDMENT, BY_CLERK, AmendmentRequested, DocumentSent
from docflow.domain.ids import OrganId, organ_id
from docflow.domain.lifecycle import AMENDMENT, CLERK_ACTIONS, DELIVERY, INBOUND, AmendmentState, amendment_effect
from docflow.domain.status import StatusCode
from docflow.errors import DuplicateError, RegistryError, ValidationError, Violation
from docflow.services.context import Context
from docflow.services.outgoing import document_routing, outbox_row, status_row
from docflow.services.trust import sign
from docflow.services.wire import MAX_DOCUMENT_ID
from docflow.services.work import NodeWork, unit
from docflow.store import Amendment, Delivery, Document, Repository
from docflow.xml import write_envelope
from docflow.xml.hop import read_hop

#: clerk action -> (INBOUND event, status code sent back): the domain's table, named here for callers.
ACTIONS = CLERK_ACTIONS


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


def send(ctx: Context, node: str, envelope: Envelope, *, within: NodeWork | None = None) -> str:
    """Store ``envelope`` once and queue one delivery per recipient (the outbox rows name the stored
    document instead of copying it); return its DocumentId.  ``within``: in that open unit of work of
    ``node`` (with the change the document belongs to), not in a unit of its own."""
    if str(envelope.sender.organ_id) != node:
        raise RegistryError(f"{node} cannot send a document whose From is {envelope.sender.organ_id}")
    document_id = envelope.document_id
    if len(document_id) > MAX_DOCUMENT_ID:
        message = f"DocumentId is {len(document_id)} characters long, more than the {MAX_DOCUMENT_ID} docflow stores"
        path = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId"
        raise ValidationError(message, violations=[Violation(message, path=path, rule="document-id-length")])
    written = write_envelope(envelope)
    read_hop(written, source=f"the document {document_id} from {node}", expect="document")  # what receivers check
    body = sign(ctx, node, written)
    business = int(envelope.business.doc_type)
    recipients = [str(r.organ_id) for r in envelope.recipients]
    with _node_work(ctx, node, within) as here:
        repo, now = here.repo, here.now
        stored = _store_once(repo, Document(node, document_id, node, body, now, business, envelope.subject[:500]))
        repo.deliveries.add(
            Delivery(node, document_id, r, DELIVERY.initial, now, route=ctx.route(node, r).encode()) for r in recipients
        )
        rounds: dict[str, int] = {}
        if business != BusinessDocType.NEW:
            original = envelope.business.document_id
            rounds = _request_amendments(here, original, recipients, business, document_id, envelope.business.reason)
        here.enqueue(
            outbox_row(
                ctx,
                node,
                document_routing(ctx, node, r, document_id, business, rounds.get(r, 0)),
                body,
                now,
                document_row=stored,
            )
            for r in recipients
        )
        for r in recipients:
            here.record(DocumentSent(node, now, document_id, r, business))
    return document_id


@contextmanager
def _node_work(ctx: Context, node: str, within: NodeWork | None) -> Iterator[NodeWork]:
    """``within`` when given, else ``node``'s view of a new unit of work."""
    if within is not None:
        if within.node != node:
            raise RegistryError(f"a document of {node} cannot be queued in a unit of work of {within.node}")
        yield within
        return
    with unit(ctx) as work:
        yield work.at(node)


def _store_once(repo: Repository, document: Document) -> int:
    """Store a document this node sends; a DocumentId it already sent is refused with what to do about it."""
    try:
        return repo.documents.add(document)
    except DuplicateError:
        raise DuplicateError(
            f"{document.node} already sent {document.document_id}: a DocumentId is the sender, the date and the "
            "code, so a new document needs its own number (to send the same one again, recall or replace it)"
        ) from None


def _request_amendments(
    here: NodeWork, original: str, recipients: Iterable[str], business: int, amending: str, reason: str
) -> dict[str, int]:
    """A new request round per recipient (a renewed request is a new amendment record); returns the rounds."""
    rounds: dict[str, int] = {}
    repo, node, now = here.repo, here.node, here.now
    for recipient in recipients:
        round = repo.amendments.next_round(node, original, recipient, business)
        repo.amendments.add(
            Amendment(node, original, recipient, business, AMENDMENT.initial, now, amending, reason, round)
        )
        here.record(AmendmentRequested(node, now, original, recipient, business, round, reason[:500], amending))
        rounds[recipient] = round
    return rounds


def act(ctx: Context, node: str, document_id: str, action: str, *, description: str = "", business: int = 0) -> str:
    """A clerk's action on a received document; returns the new state.  Repeating the last action is a no-op."""
    try:
        event_name, code = ACTIONS[action]
    except KeyError:
        raise RegistryError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}") from None
    with unit(ctx) as work:
        here = work.at(node)
        inbound = work.repo.inbound.get(node, document_id, business)
        if inbound is None:
            raise RegistryError(f"{node} has received no document {document_id}")
        INBOUND.fire(INBOUND.states(inbound.state), event_name, document=document_id)  # illegal: raise, write nothing
        moved = here.move(INBOUND, inbound, event_name, by=BY_CLERK, status=code.value, description=description)
        assert moved is not None
        old, new = moved
        if new is old:
            return new.value
        here.enqueue(
            [
                status_row(
                    ctx,
                    node,
                    about=document_id,
                    original_sender=inbound.sender,
                    to=inbound.sender,
                    code=code,
                    now=work.now,
                    description=description,
                    business=business,
                )
            ]
        )
    return new.value


def recall(ctx: Context, node: str, document_id: str, *, reason: str, recipients: Sequence[str] | None = None) -> int:
    """Ask the recipients of a sent document to withdraw it (status 13); returns how many were asked."""
    business = int(BusinessDocType.REVOKE)
    with unit(ctx) as work:
        here = work.at(node)
        targets = _recipients_of(work.repo, node, document_id, recipients)
        rounds = _request_amendments(here, document_id, targets, business, "", reason)
        here.enqueue(
            status_row(
                ctx,
                node,
                about=document_id,
                original_sender=node,
                to=r,
                code=StatusCode.RECALLED,
                now=work.now,
                description=reason,
                business=business,
                round=rounds[r],
            )
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
    event_name, code = ("agree", StatusCode.AGREED) if agree else ("refuse", StatusCode.REFUSED)
    with unit(ctx) as work:
        here = work.at(node)
        amendment = work.repo.amendments.get(node, document_id, node, business)
        if amendment is None:
            raise RegistryError(f"{node} has no {kind.name.lower()} request for {document_id}")
        AMENDMENT.fire(AMENDMENT.states(amendment.state), event_name, document=document_id)  # illegal: raise
        moved = here.move(AMENDMENT, amendment, event_name, by=BY_CLERK, status=code.value, description=reason)
        assert moved is not None
        old, new = moved
        if new is old:
            return new.value
        original = work.repo.inbound.get(node, document_id, 0)
        if new is AmendmentState.AGREED and original is not None:
            here.move(INBOUND, original, amendment_effect(kind), by=BY_AMENDMENT, status=code.value)
        sender = original.sender if original is not None else _sender_of(document_id)
        here.enqueue(
            [
                status_row(
                    ctx,
                    node,
                    about=document_id,
                    original_sender=sender,
                    to=sender,
                    code=code,
                    now=work.now,
                    description=reason,
                    business=business,
                    round=amendment.round,
                )
            ]
        )
    return new.value


def _sender_of(document_id: str) -> str:
    """The sender named in a DocumentId (when the original document never arrived here)."""
    return str(OrganId.parse(document_id.split(",", 1)[0]))


def _recipients_of(repo: Repository, node: str, document_id: str, only: Sequence[str] | None) -> list[str]:
    known = [d.recipient for d in repo.deliveries.for_document(node, document_id)]
    if not known:
        raise RegistryError(f"{node} has sent no document {document_id}")
    if only is None:
        return known
    missing = sorted(set(only) - set(known))
    if missing:
        raise RegistryError(f"{document_id} was not sent to {', '.join(missing)}")
    return [r for r in known if r in set(only)]
