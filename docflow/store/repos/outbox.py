"""The ``outbox`` table: messages a node has queued, until the transport has taken them.

Rows are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several relays share an outbox
without sending a row twice at once.  A row the transport took is deleted (or, with a retention period,
kept with ``sent_at`` until ``prune``); a row given up keeps ``dead_at`` until an operator revives or purges
it.  A document sent by its origin names its ``documents`` row instead of copying the bytes.
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update

from docflow.store.records import OutboxMessage, evolve
from docflow.store.repos.base import TableRepo, as_row
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import documents, outbox

_ENQUEUE = Prepared(outbox.insert())
_WAITING = (outbox.c.sent_at.is_(None), outbox.c.dead_at.is_(None))
_DUE = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= bindparam("c_now"))
_CLAIM_SELECT = (
    select(outbox)
    .where(outbox.c.node == bindparam("c_node"), *_WAITING, _DUE)
    .order_by(outbox.c.id)
    .limit(bindparam("c_limit"))
)
# SQLite has no row locks (its write lock serialises relays); PostgreSQL skips rows another relay is claiming.
_CLAIM = {"sqlite": Prepared(_CLAIM_SELECT), "postgresql": Prepared(_CLAIM_SELECT.with_for_update(skip_locked=True))}
# The bytes of the stored documents some rows carry: read once per document, shared by its rows.
#: The transport headers as stored (sorted keys, UTF-8 kept), built once rather than per ``json.dumps``.
_HEADERS = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_BODIES = select(documents.c.id, documents.c.envelope).where(documents.c.id.in_(bindparam("ids", expanding=True)))
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(attempts=outbox.c.attempts + 1, next_attempt_at=bindparam("until"))
)
_BY_MESSAGE = outbox.c.message_id.in_(bindparam("mids", expanding=True))
_DELETE_SENT = delete(outbox).where(_BY_MESSAGE, outbox.c.dead_at.is_(None))
# One message (every hop of a document sent one at a time), or several on SQLite (one prepared statement run for
# each: the driver's executemany, not an expanding IN that SQLAlchemy renders anew at each call).
_DELETE_ONE_SENT = Prepared(delete(outbox).where(outbox.c.message_id == bindparam("mid"), outbox.c.dead_at.is_(None)))
_MARK_SENT = update(outbox).where(_BY_MESSAGE, *_WAITING).values(sent_at=bindparam("now"))
_RETRY = update(outbox).where(_BY_MESSAGE, *_WAITING).values(next_attempt_at=bindparam("at"), attempts=bindparam("n"))
_GIVE_UP = Prepared(
    update(outbox)
    .where(outbox.c.message_id == bindparam("mid"), *_WAITING)
    .values(dead_at=bindparam("now"), next_attempt_at=None, attempts=bindparam("n"))
)
_REVIVE = (
    update(outbox)
    .where(_BY_MESSAGE, outbox.c.dead_at.is_not(None))
    .values(dead_at=None, attempts=0, next_attempt_at=None, created_at=bindparam("now"))
)
_PURGE = delete(outbox).where(_BY_MESSAGE, outbox.c.dead_at.is_not(None))
_PRUNE = delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < bindparam("before"))
_NODES_DUE = Prepared(select(outbox.c.node).where(*_WAITING, _DUE).distinct().order_by(outbox.c.node))
_NODES_DUE_BESIDES = (
    select(outbox.c.node)
    .where(*_WAITING, _DUE, outbox.c.message_id.not_in(bindparam("skip", expanding=True)))
    .distinct()
    .order_by(outbox.c.node)
)
#: ``_NODES_DUE_BESIDES`` for a short ``skip`` list, prepared once per size bucket (1, 2, 4 … 64 ids, the list
#: padded by repeating its first id): a driver that sends one document and runs until idle asks this each time.
_BESIDES_BUCKETS = {
    size: Prepared(
        select(outbox.c.node)
        .where(*_WAITING, _DUE, outbox.c.message_id.not_in([bindparam(f"skip{i}") for i in range(size)]))
        .distinct()
        .order_by(outbox.c.node)
    )
    for size in (1, 2, 4, 8, 16, 32, 64)
}
_NEXT_DUE = Prepared(select(func.min(outbox.c.next_attempt_at)).where(*_WAITING))
_DEAD = select(outbox)


def _record(row: Any) -> OutboxMessage:
    fields = dict(row._mapping)
    fields["headers"] = json.loads(fields["headers"] or "{}")
    fields["body"] = fields["body"] or b""
    return OutboxMessage(**fields)


class OutboxRepo(TableRepo):
    __slots__ = ()

    def enqueue(self, rows: Iterable[OutboxMessage]) -> int:
        """Queue messages in one batch; ``DuplicateError`` if a ``message_id`` is already queued."""
        batch = []
        for record in rows:
            row = as_row(record)
            row["headers"] = _HEADERS.encode(dict(record.headers))
            if record.document_row is not None:
                row["body"] = None  # the bytes are the stored document's
            batch.append(row)
        if batch:
            self.run(_ENQUEUE, batch, what="enqueue")
        return len(batch)

    def claim(
        self, node: str, *, limit: int, now: datetime, lease: timedelta = timedelta(seconds=60)
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages of ``node`` in queue order, counting an attempt and leasing them
        until ``now + lease`` (then they are due again unless marked sent, retried or given up)."""
        params = {"c_node": node, "c_now": now, "c_limit": limit}
        claimed = self._with_bodies([_record(row) for row in self.run(_CLAIM[self.dialect], params, what="claim")])
        if not claimed:
            return []
        until = now + lease
        self.run(_LEASE, {"ids": [row.id for row in claimed], "until": until}, what="lease outbox")
        return [_leased(row, until) for row in claimed]

    def sent(self, message_ids: Sequence[str], now: datetime, *, keep: bool = False) -> int:
        """The transport took these messages: delete them (or mark them sent when ``keep``)."""
        if not message_ids:
            return 0
        if keep:
            return int(self.run(_MARK_SENT, {"mids": list(message_ids), "now": now}, what="mark sent").rowcount)
        if len(message_ids) == 1:
            return int(self.run(_DELETE_ONE_SENT, {"mid": message_ids[0]}, what="drop sent").rowcount)
        if self.dialect == "sqlite":  # the driver sums the rows each execution deleted
            params = [{"mid": mid} for mid in message_ids]
            return int(self.run(_DELETE_ONE_SENT, params, what="drop sent").rowcount)
        return int(self.run(_DELETE_SENT, {"mids": list(message_ids)}, what="drop sent").rowcount)

    def retry(self, message_ids: Sequence[str], at: datetime, *, attempts: int) -> int:
        """Make waiting messages due again at ``at`` with ``attempts`` counted."""
        if not message_ids:
            return 0
        params = {"mids": list(message_ids), "at": at, "n": attempts}
        return int(self.run(_RETRY, params, what="retry later").rowcount)

    def give_up(self, message_id: str, now: datetime, *, attempts: int) -> int:
        """Give a waiting message up (after ``attempts`` refused attempts); it waits for an operator."""
        params = {"mid": message_id, "now": now, "n": attempts}
        return int(self.run(_GIVE_UP, params, what="give up").rowcount)

    def dead(self, node: str | None = None, document: str | None = None) -> list[OutboxMessage]:
        """Given-up messages (of ``node``, about ``document``), oldest first."""
        stmt = _DEAD.where(outbox.c.dead_at.is_not(None)).order_by(outbox.c.id)
        if node is not None:
            stmt = stmt.where(outbox.c.node == node)
        rows = [_record(row) for row in self.run(stmt, what="dead messages")]
        return self._with_bodies([r for r in rows if document is None or r.headers.get("document") == document])

    def _with_bodies(self, rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """Rows with the bytes of the document they name filled in (one read per document, however many rows:
        a fan-out to 5,000 recipients reads its envelope once)."""
        wanted = sorted({row.document_row for row in rows if row.document_row is not None and not row.body})
        if not wanted:
            return rows
        bodies = {i: bytes(envelope) for i, envelope in self.run(_BODIES, {"ids": wanted}, what="document bodies")}
        return [
            evolve(row, body=bodies.get(row.document_row, b""))
            if row.document_row is not None and not row.body
            else row
            for row in rows
        ]

    def revive(self, message_ids: Sequence[str], now: datetime) -> int:
        """Queue given-up messages again, due at once with a fresh budget."""
        if not message_ids:
            return 0
        return int(self.run(_REVIVE, {"mids": list(message_ids), "now": now}, what="revive").rowcount)

    def purge(self, message_ids: Sequence[str]) -> int:
        """Delete given-up messages for good."""
        if not message_ids:
            return 0
        return int(self.run(_PURGE, {"mids": list(message_ids)}, what="purge").rowcount)

    def prune(self, before: datetime) -> int:
        """Delete messages kept after sending (a retention period) that were sent before ``before``."""
        return int(self.run(_PRUNE, {"before": before}, what="prune outbox").rowcount)

    def nodes_due(self, now: datetime, *, besides: Sequence[str] = ()) -> list[str]:
        """Nodes holding waiting messages that are due at ``now``, other than the messages ``besides`` (which
        the caller is about to send)."""
        if besides:
            bucket = next((size for size in _BESIDES_BUCKETS if size >= len(besides)), None)
            if bucket is not None:
                padded = [*besides, *[besides[0]] * (bucket - len(besides))]
                params = {"c_now": now, **{f"skip{i}": mid for i, mid in enumerate(padded)}}
                return [row[0] for row in self.run(_BESIDES_BUCKETS[bucket], params, what="due outboxes")]
            params = {"c_now": now, "skip": list(besides)}
            return [row[0] for row in self.run(_NODES_DUE_BESIDES, params, what="due outboxes")]
        return [row[0] for row in self.run(_NODES_DUE, {"c_now": now}, what="due outboxes")]

    def next_due(self) -> datetime | None:
        """When the earliest waiting message (lease or back-off) falls due, if any."""
        return self.run(_NEXT_DUE, what="next due").scalar()


def _leased(row: OutboxMessage, until: datetime) -> OutboxMessage:
    return evolve(row, attempts=row.attempts + 1, next_attempt_at=until)
