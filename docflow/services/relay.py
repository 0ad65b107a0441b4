"""The outbox relay: push what a node has enqueued to the transport, then record that it left.

Claiming, sending and marking are three steps on purpose: the claim is a lease committed before any
network I/O, the sends happen outside any database transaction, and the marks are committed after.
A crash after a send but before its mark sends the message again later — the receiver's inbox absorbs
the repeat — so nothing is ever lost and nothing is applied twice.

A failed send is retried with back-off; at the origin node each failure moves the delivery through the
DELIVERY lifecycle (``retrying``, then ``dead`` once the retry budget is spent).  ``sent_at`` marks when a
row left the outbox, sent or given up; the event log tells which.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from docflow.domain.lifecycle import DELIVERY, DeliveryState
from docflow.domain.status import StatusCode
from docflow.errors import IllegalTransitionError, TransportError
from docflow.services.context import Context
from docflow.services.outgoing import event, status_row
from docflow.services.wire import BUSINESS, DESTINATION, DOCUMENT, EDOC, ORIGIN
from docflow.store import OutboxMessage, Repository
from docflow.transports.base import Message

Failure = tuple[OutboxMessage, TransportError]


@dataclass(slots=True)
class Push:
    """What one ``relay`` call did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    recipients: set[str] = field(default_factory=set)


def lease(ctx: Context) -> timedelta:
    """How long a claimed message stays hidden from other relays before it is due again."""
    return timedelta(seconds=max(ctx.settings.retry_delay, 1.0))


def dispatch(ctx: Context, node: str, rows: list[OutboxMessage]) -> tuple[list[OutboxMessage], list[Failure]]:
    """Hand claimed rows to the transport, outside any transaction; nothing is recorded here."""
    sent: list[OutboxMessage] = []
    failed: list[Failure] = []
    for row in rows:
        try:
            ctx.transport.send(Message(row.message_id, node, row.recipient, row.kind, row.body, row.headers))  # type: ignore[arg-type]
        except TransportError as exc:
            failed.append((row, exc))
        else:
            sent.append(row)
    return sent, failed


def settle(ctx: Context, repo: Repository, sent: list[OutboxMessage], failed: list[Failure], push: Push) -> None:
    """Record what ``dispatch`` did, for rows of any nodes, in the caller's unit of work."""
    now = ctx.clock.now()
    repo.mark_sent_messages([row.message_id for row in sent], now)
    first_hops: list[tuple[str, str, str]] = []
    for row in sent:
        push.sent += 1
        push.recipients.add(row.recipient)
        if _is_origin(row, row.node):
            first_hops.append((row.node, row.headers[DOCUMENT], row.headers[DESTINATION]))
    if first_hops:
        # The machine decides once per source state; the store applies it to every row still in that state
        # (a row a status has already moved on is left alone: "send" is legal only from these states).
        for old, name in ((DeliveryState.QUEUED, "send"), (DeliveryState.RETRYING, "resend")):
            repo.advance_deliveries(first_hops, old=old, new=DELIVERY.fire(old, name), now=now)
    for row, exc in failed:
        if _fail(ctx, repo, row.node, row, exc, now):
            push.dead += 1
        else:
            push.failed += 1


def relay(ctx: Context, node: str) -> Push:
    """Claim, send and record up to ``ctx.settings.batch`` due outbox messages of ``node``."""
    with ctx.store.unit_of_work() as repo:
        rows = repo.claim_outbox(node, limit=ctx.settings.batch, now=ctx.clock.now(), lease=lease(ctx))
    push = Push()
    if not rows:
        return push
    sent, failed = dispatch(ctx, node, rows)
    with ctx.store.unit_of_work() as repo:
        settle(ctx, repo, sent, failed, push)
    return push


def _is_origin(row: OutboxMessage, node: str) -> bool:
    return row.kind == EDOC and row.headers.get(ORIGIN) == node


def _fail(ctx: Context, repo: Repository, node: str, row: OutboxMessage, exc: TransportError, now: datetime) -> bool:
    """Record a failed send; True when the message is given up (dead)."""
    document_id, recipient = row.headers.get(DOCUMENT, ""), row.headers.get(DESTINATION, "")
    budget = ctx.settings.retry_budget
    dead = row.attempts >= budget
    retry_at = now + timedelta(seconds=ctx.retry_delay(row.attempts))
    if _is_origin(row, node):
        delivery = repo.get_delivery(node, document_id, recipient)
        if delivery is not None:
            old = DeliveryState(delivery.state)
            try:
                new = DELIVERY.fire(old, "fail", document=document_id, attempts=row.attempts, budget=budget)
            except IllegalTransitionError:
                new = old  # already past sending (a status arrived): the failed hop is moot
            else:  # every failed attempt is counted, also a second one while already retrying
                repo.set_delivery_state(
                    node,
                    document_id,
                    recipient,
                    old=old,
                    new=new,
                    now=now,
                    next_attempt_at=None if new is DeliveryState.DEAD else retry_at,
                    count_attempt=True,
                )
            dead = new is DeliveryState.DEAD or (dead and new is old)
    detail = {"message": row.message_id, "to": row.recipient, "error": str(exc)[:300], "attempts": row.attempts}
    if dead:
        repo.mark_sent_messages([row.message_id], now)
        repo.append_events([event(node, now, "dead", document_id=document_id, recipient=recipient, detail=detail)])
        origin = row.headers.get(ORIGIN, "")
        if row.kind == EDOC and not _is_origin(row, node) and origin:
            # A forwarding node gives up: the sender hears it as a 02 for that recipient, so the delivery ends.
            repo.enqueue(
                [
                    status_row(
                        ctx,
                        node,
                        about=document_id,
                        original_sender=origin,
                        to=origin,
                        code=StatusCode.REJECTED,
                        now=now,
                        description=f"Không chuyển tiếp được tới {row.recipient}: {exc}"[:500],
                        business=int(row.headers.get(BUSINESS, "0")),
                        regarding=recipient,
                    )
                ]
            )
        return True
    repo.retry_messages([row.message_id], retry_at, attempts=row.attempts)
    repo.append_events([event(node, now, "send-failed", document_id=document_id, recipient=recipient, detail=detail)])
    return False
