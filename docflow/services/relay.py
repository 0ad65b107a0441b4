"""The outbox relay: hand queued rows to the transport, then record what happened to them.

Claiming, sending and recording are three steps on purpose: the claim is a lease committed before any network
I/O, the sends happen outside any database transaction, and the records are committed after.  A crash after a
send but before its record sends the message again later — the receiver's inbox absorbs the repeat — so
nothing is ever lost and nothing is applied twice.

A row the transport took is deleted (or kept for ``Settings.keep_sent``).  A failed send waits and is tried
again (``docflow.domain.retry.RetryPolicy``): a transport that is *unavailable* pauses the row without spending
an attempt; a refusal spends one; the row is given up only when both the attempts and the time budget are
spent, and an operator can revive it (``revive``).  At the origin each failure moves the delivery through
DELIVERY (``retrying``, ``dead``), and a forwarding hop that gives up tells the sender with a 02.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from docflow.domain.events import BY_OPERATOR, BY_RELAY, GaveUp, Revived, SendFailed
from docflow.domain.lifecycle import DELIVERY, DeliveryState
from docflow.domain.status import StatusCode
from docflow.errors import DocflowError, TransportError, TransportUnavailableError
from docflow.services.context import Context
from docflow.services.outgoing import status_row
from docflow.services.wire import BUSINESS, DESTINATION, DOCUMENT, EDOC, ORIGIN
from docflow.services.work import NodeWork, Work, lease, unit
from docflow.store import OutboxMessage
from docflow.transports.base import Message

Failure = tuple[OutboxMessage, TransportError]


@dataclass(slots=True)
class Push:
    """What sending and recording did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    outages: int = 0
    recipients: set[str] = field(default_factory=set)

    def add(self, other: Push) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.outages += other.outages
        self.recipients |= other.recipients


def dispatch(ctx: Context, node: str, rows: list[OutboxMessage]) -> tuple[list[OutboxMessage], list[Failure]]:
    """Hand rows to the transport, outside any transaction; nothing is recorded here.  Any docflow error of the
    transport is a failed send (a driver error a transport did not map is one too: the row is never lost)."""
    sent: list[OutboxMessage] = []
    failed: list[Failure] = []
    transport = ctx.transport
    for row in rows:
        try:
            transport.send(Message(row.message_id, node, row.recipient, row.kind, row.body, row.headers))  # type: ignore[arg-type]
        except TransportError as exc:
            failed.append((row, exc))
        except (DocflowError, OSError, TimeoutError) as exc:
            failed.append((row, TransportUnavailableError(f"send to {row.recipient}: {exc}")))
        else:
            sent.append(row)
    return sent, failed


def settle(work: Work, sent: list[OutboxMessage], failed: list[Failure], push: Push) -> None:
    """Record what ``dispatch`` did, for rows of any nodes, in the caller's unit of work."""
    ctx, repo, now = work.ctx, work.repo, work.now
    repo.outbox.sent([row.message_id for row in sent], now, keep=ctx.settings.keep_sent > 0)
    first_hops: dict[str, list[tuple[str, str]]] = {}
    for row in sent:
        push.sent += 1
        push.recipients.add(row.recipient)
        if _is_origin(row):
            first_hops.setdefault(row.node, []).append((row.headers[DOCUMENT], row.headers[DESTINATION]))
    for node, keys in first_hops.items():
        here = work.at(node)
        if here.advance(keys, "send") < len(keys):  # some were retried (or already moved on by a status)
            here.advance(keys, "resend")
    for row, exc in failed:
        _fail(work.at(row.node), row, exc, push)


def relay(ctx: Context, node: str) -> Push:
    """Claim, send and record up to ``ctx.settings.batch`` due outbox messages of ``node``."""
    with ctx.store.unit_of_work() as repo:
        rows = repo.outbox.claim(node, limit=ctx.settings.batch, now=ctx.clock.now(), lease=lease(ctx))
    push = Push()
    if rows:
        sent, failed = dispatch(ctx, node, rows)
        with unit(ctx) as work:
            settle(work, sent, failed, push)
    return push


def revive(ctx: Context, *, node: str | None = None, document: str | None = None) -> int:
    """Queue given-up messages again (of ``node``, about ``document``) with fresh budgets; their deliveries go
    back to ``retrying``.  Returns how many were revived."""
    with unit(ctx) as work:
        rows = work.repo.outbox.dead(node, document)
        work.repo.outbox.revive([row.message_id for row in rows], work.now)
        for row in rows:
            here = work.at(row.node)
            document_id, destination = row.headers.get(DOCUMENT, ""), row.headers.get(DESTINATION, "")
            if _is_origin(row):
                delivery = work.repo.deliveries.get(row.node, document_id, destination)
                if delivery is not None and DELIVERY.can(DELIVERY.states(delivery.state), "revive"):
                    here.move(DELIVERY, delivery, "revive", by=BY_OPERATOR)
            here.record(Revived(row.node, work.now, document_id, destination, row.message_id, row.kind == EDOC))
    return len(rows)


def purge(ctx: Context, *, node: str | None = None, document: str | None = None) -> int:
    """Delete given-up messages for good (their deliveries stay ``dead``); returns how many."""
    with unit(ctx) as work:
        rows = work.repo.outbox.dead(node, document)
        return work.repo.outbox.purge([row.message_id for row in rows])


def _is_origin(row: OutboxMessage) -> bool:
    return row.kind == EDOC and row.headers.get(ORIGIN) == row.node


def _fail(here: NodeWork, row: OutboxMessage, exc: TransportError, push: Push) -> None:
    """Record a failed send: wait and retry, or give up once both budgets are spent."""
    ctx, repo, now = here.work.ctx, here.repo, here.now
    policy = ctx.retry
    outage = isinstance(exc, TransportUnavailableError)
    attempts = row.attempts - 1 if outage else row.attempts  # an unavailable transport spends no attempt
    spent = not outage and policy.spent(attempts, (now - row.created_at).total_seconds())
    delay = policy.pause() if outage else policy.backoff(attempts)
    retry_at = now + timedelta(seconds=delay)
    document_id, destination = row.headers.get(DOCUMENT, ""), row.headers.get(DESTINATION, "")
    if _is_origin(row):
        delivery = repo.deliveries.get(here.node, document_id, destination)
        if delivery is not None:
            moved = here.move(
                DELIVERY,
                delivery,
                "fail",
                by=BY_RELAY,
                spent=spent,
                next_attempt_at=None if spent else retry_at,
                count_attempt=not outage,
            )
            if moved is not None:  # refused: a status already moved it past sending, the hop is moot
                spent = moved[1] is DeliveryState.DEAD
    error = str(exc)[:300]
    if spent:
        repo.outbox.give_up(row.message_id, now, attempts=attempts)
        here.record(
            GaveUp(
                here.node,
                now,
                document_id,
                destination,
                row.recipient,
                row.message_id,
                row.kind == EDOC,
                error,
                attempts,
            )
        )
        push.dead += 1
        origin = row.headers.get(ORIGIN, "")
        if row.kind == EDOC and not _is_origin(row) and origin:
            # A forwarding node gives up: the sender hears it as a 02 for that recipient, so the delivery ends.
            here.enqueue(
                [
                    status_row(
                        ctx,
                        here.node,
                        about=document_id,
                        original_sender=origin,
                        to=origin,
                        code=StatusCode.REJECTED,
                        now=now,
                        description=f"Không chuyển tiếp được tới {row.recipient}: {exc}"[:500],
                        business=int(row.headers.get(BUSINESS, "0")),
                        regarding=destination,
                    )
                ]
            )
        return
    repo.outbox.retry([row.message_id], retry_at, attempts=attempts)
    here.record(
        SendFailed(
            here.node,
            now,
            document_id,
            destination,
            row.recipient,
            row.message_id,
            row.kind == EDOC,
            error,
            attempts,
            outage,
            delay,
        )
    )
    push.failed += 1
    push.outages += outage
