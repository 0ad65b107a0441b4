"""A unit of work of the engine, and the one ``move`` through which every lifecycle change goes.

    with unit(ctx) as work:                      # one transaction
        node = work.at("000.00.00.H58")
        node.move(INBOUND, inbound_row, "accept", status="03")
        node.enqueue([...]); node.record(DocumentSent(...))
    # committed: the audit rows were appended in the same transaction; now the events are published to
    # ``ctx.bus`` and the queued rows handed to ``ctx.handoff`` for an in-process network to send at once

``NodeWork.move(lifecycle, row, event, **context)`` fires the lifecycle's shared machine on the row's state,
writes the row with its optimistic check (``ConflictError`` if another writer moved it meanwhile) and records
a ``StateChanged`` event — or, when the lifecycle refuses the event, records a ``MoveRefused`` and writes
nothing.  Initial states come from ``Lifecycle.initial``.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from docflow.domain.events import DomainEvent, MoveRefused, Quarantined, StateChanged, record
from docflow.domain.lifecycle import AMENDMENT, DELIVERY, INBOUND, Lifecycle
from docflow.errors import IllegalTransitionError, Violation
from docflow.services.context import Context
from docflow.store import Amendment, Delivery, Event, Inbound, OutboxMessage, QuarantineEntry, Repository
from docflow.store.records import evolve

Row = Delivery | Inbound | Amendment


class Handoff:
    """Rows a committed unit of work queued, for an in-process network to send without claiming them again.

    Bounded: when nobody takes them (a process with no network), the oldest are dropped — they are due in the
    store, where any relay finds them."""

    __slots__ = ("_rows",)

    def __init__(self, limit: int = 10_000) -> None:
        self._rows: deque[OutboxMessage] = deque(maxlen=limit)

    def put(self, rows: Iterable[OutboxMessage]) -> None:
        self._rows.extend(rows)

    def message_ids(self) -> list[str]:
        """The message ids of the rows held (still due in the store until they are sent and recorded)."""
        return [row.message_id for row in self._rows]

    def take(self) -> list[OutboxMessage]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __len__(self) -> int:
        return len(self._rows)


class Work:
    """What one unit of work does, collected until it commits."""

    __slots__ = ("_outbox", "ctx", "events", "now", "repo", "written")

    def __init__(self, ctx: Context, repo: Repository, now: datetime) -> None:
        self.ctx, self.repo, self.now = ctx, repo, now
        self.events: list[DomainEvent] = []
        self._outbox: list[OutboxMessage] = []
        self.written: list[OutboxMessage] = []

    def at(self, node: str) -> NodeWork:
        return NodeWork(self, node)

    def mark(self) -> tuple[int, int]:
        return len(self._outbox), len(self.events)

    def rewind(self, mark: tuple[int, int]) -> None:
        """Forget what was collected since ``mark`` (its savepoint was rolled back)."""
        del self._outbox[mark[0] :]
        del self.events[mark[1] :]

    def enqueue(self, rows: Iterable[OutboxMessage]) -> None:
        self._outbox.extend(rows)

    def flush(self, *, leased: bool) -> None:
        """Write the collected outbox rows and audit rows.  ``leased`` rows are written claimed (one attempt,
        hidden for a lease) for a caller that sends them at once; otherwise they are due now."""
        rows = self._outbox
        if leased and rows:
            until = self.now + lease(self.ctx)
            rows = [evolve(row, attempts=1, next_attempt_at=until) for row in rows]
        self.repo.outbox.enqueue(rows)
        self.repo.events.append(_audit_row(event) for event in self.events)
        self.written.extend(rows)
        self._outbox = []


@contextmanager
def unit(ctx: Context, *, leased: bool = False) -> Iterator[Work]:
    """A unit of work: commit, then publish its events and hand its due rows to the network."""
    with ctx.store.unit_of_work() as repo:
        work = Work(ctx, repo, ctx.clock.now())
        yield work
        work.flush(leased=leased)
    ctx.bus.publish(work.events)
    if not leased:
        ctx.handoff.put(work.written)


def lease(ctx: Context) -> timedelta:
    """How long a claimed message stays hidden from other relays before it is due again."""
    return timedelta(seconds=max(ctx.settings.retry_delay, 1.0))


def _audit_row(event: DomainEvent) -> Event:
    kind, party, status, detail = record(event)
    return Event(event.node, event.at, kind, event.document_id, party, status, detail)


class NodeWork:
    """One node's view of a unit of work."""

    __slots__ = ("node", "work")

    def __init__(self, work: Work, node: str) -> None:
        self.work, self.node = work, node

    @property
    def repo(self) -> Repository:
        return self.work.repo

    @property
    def now(self) -> datetime:
        return self.work.now

    def record(self, event: DomainEvent) -> None:
        self.work.events.append(event)

    def enqueue(self, rows: Iterable[OutboxMessage]) -> None:
        self.work.enqueue(rows)

    def move(
        self,
        lifecycle: Lifecycle,
        row: Row,
        event: str,
        *,
        by: str,
        status: str = "",
        description: str = "",
        next_attempt_at: datetime | None = None,
        count_attempt: bool = False,
        **context: Any,
    ) -> tuple[Enum, Enum] | None:
        """Fire ``event`` on ``row``'s state, write the row, record what happened (``by`` says what caused it:
        ``docflow.domain.events.BY_*``); ``(old, new)``, or ``None`` when the lifecycle refused the event (a
        ``MoveRefused`` is recorded and nothing is written)."""
        old = lifecycle.states(row.state)
        party, business, round = _party(lifecycle, row)
        try:
            new = lifecycle.fire(old, event, document=row.document_id, **context)
        except IllegalTransitionError as exc:
            self.record(
                MoveRefused(
                    self.node,
                    self.now,
                    row.document_id,
                    lifecycle=lifecycle.name,
                    party_id=party,
                    event=event,
                    state=old.value,
                    error=str(exc)[:300],
                    by=by,
                    status=status,
                    business=business,
                )
            )
            return None
        if new is not old or next_attempt_at is not None or count_attempt:
            _WRITERS[lifecycle.name](self.repo, row, old, new, self.now, next_attempt_at, count_attempt)
        self.record(
            StateChanged(
                self.node,
                self.now,
                row.document_id,
                lifecycle=lifecycle.name,
                party_id=party,
                event=event,
                old=old.value,
                new=new.value,
                by=by,
                status=status,
                business=business,
                round=round,
                description=description[:500],
            )
        )
        return old, new

    def advance(self, keys: Sequence[tuple[str, str]], event: str) -> int:
        """Fire ``event`` on the deliveries ``(document_id, recipient)`` of this node in one statement per source
        state (rows already moved on by a status are left alone; no event is recorded: the send was); returns
        how many moved."""
        moved = 0
        for source in DELIVERY.states:
            if DELIVERY.can(source, event):
                target = DELIVERY.fire(source, event)
                batch = [(self.node, d, r) for d, r in keys]
                moved += self.repo.deliveries.advance(batch, old=source, new=target, now=self.now)
        return moved

    def quarantine(
        self,
        reason: str,
        body: bytes,
        *,
        source: str = "",
        document_id: str = "",
        destination: str = "",
        violations: Sequence[Violation] = (),
    ) -> None:
        """Keep refused bytes with their reason and record it."""
        self.repo.quarantine.add(QuarantineEntry(self.node, self.now, reason, body, source, tuple(violations)))
        self.record(Quarantined(self.node, self.now, document_id, reason[:500], source[:200], destination))


def _party(lifecycle: Lifecycle, row: Row) -> tuple[str, int, int]:
    """(the other agency, business type, round) of a lifecycle row."""
    if isinstance(row, Delivery):
        return row.recipient, 0, 0
    if isinstance(row, Inbound):
        return row.sender, row.business_type, 0
    return row.recipient, row.business_type, row.round


def _write_delivery(
    repo: Repository, row: Any, old: Enum, new: Enum, now: datetime, next_at: datetime | None, count: bool
) -> None:
    repo.deliveries.move(
        row.node,
        row.document_id,
        row.recipient,
        old=old,
        new=new,
        now=now,
        next_attempt_at=next_at,
        count_attempt=count,
    )


def _write_inbound(
    repo: Repository, row: Any, old: Enum, new: Enum, now: datetime, next_at: datetime | None, count: bool
) -> None:
    repo.inbound.move(row.node, row.document_id, old=old, new=new, now=now, business_type=row.business_type)


def _write_amendment(
    repo: Repository, row: Any, old: Enum, new: Enum, now: datetime, next_at: datetime | None, count: bool
) -> None:
    repo.amendments.move(
        row.node, row.document_id, row.recipient, row.business_type, old=old, new=new, now=now, round=row.round
    )


_WRITERS = {DELIVERY.name: _write_delivery, INBOUND.name: _write_inbound, AMENDMENT.name: _write_amendment}
