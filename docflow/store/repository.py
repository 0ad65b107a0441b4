"""Everything a node reads and writes, as SQLAlchemy Core statements on one ``Connection``.

A ``Repository`` is bound to the connection of one unit of work (``docflow.store.uow``); it keeps no
state and no objects between calls (no identity map), so a long simulation never grows in memory.
Statements are built once at import and reused; batches go through ``executemany``.  Driver errors
become ``StoreError`` (``DuplicateError`` for a unique key, ``ConflictError`` for an optimistic check
that failed) at this boundary.  A failed statement leaves a PostgreSQL transaction aborted: to go on
in the same unit of work, wrap the attempt in ``with repo.savepoint():``.

Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from docflow.errors import ConflictError, DuplicateError, StoreError, Violation
from docflow.store.audit import GENESIS, canonical_json, detail_of, event_hash
from docflow.store.records import (
    Amendment,
    Delivery,
    Document,
    Event,
    Inbound,
    Organisation,
    OutboxMessage,
    QuarantineEntry,
    Receipt,
    State,
    state_text,
)
from docflow.store.tables import (
    amendments,
    chain_heads,
    deliveries,
    documents,
    events,
    inbound,
    inbox,
    organisations,
    outbox,
    quarantine,
)

_INSERT: dict[str, dict[str, Any]] = {
    name: {"sqlite": sqlite.insert(table), "postgresql": postgresql.insert(table)}
    for name, table in (("inbox", inbox), ("chain_heads", chain_heads), ("organisations", organisations))
}
# rowcount of an INSERT is only kept when asked for: 1 when the key was new, 0 when it was already there.
_REMEMBER = {
    d: stmt.on_conflict_do_nothing().execution_options(preserve_rowcount=True) for d, stmt in _INSERT["inbox"].items()
}
_REMEMBER_MANY = {
    # No parameter ordering is asked for: only the set of new keys matters, and without it SQLAlchemy sends
    # one multi-row INSERT ... RETURNING instead of one statement per key.
    d: stmt.on_conflict_do_nothing().returning(inbox.c.idempotency_key)
    for d, stmt in _INSERT["inbox"].items()
}
_NEW_HEAD = {d: stmt.on_conflict_do_nothing() for d, stmt in _INSERT["chain_heads"].items()}
_UPSERT_ORG = {
    d: stmt.on_conflict_do_update(
        index_elements=["organ_id"],
        set_={c.name: stmt.excluded[c.name] for c in organisations.c if c.name != "organ_id"},
    )
    for d, stmt in _INSERT["organisations"].items()
}
# Built once: SQLAlchemy memoises a statement's cache key on the object, so reuse skips that work per call.
_ADD_DOCUMENT = documents.insert()
_ADD_DELIVERY = deliveries.insert()
_ADD_INBOUND = inbound.insert()
_ADD_EVENT = events.insert()
_ENQUEUE = outbox.insert()
_ADD_AMENDMENT = amendments.insert()
_MARK_SENT_MESSAGES = (
    update(outbox)
    .where(outbox.c.message_id.in_(bindparam("mids", expanding=True)), outbox.c.sent_at.is_(None))
    .values(sent_at=bindparam("now"))
)
_DUE = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= bindparam("c_now"))
_CLAIM_SELECT = (
    select(outbox)
    .where(outbox.c.node == bindparam("c_node"), outbox.c.sent_at.is_(None), _DUE)
    .order_by(outbox.c.id)
    .limit(bindparam("c_limit"))
)
# SQLite has no row locks (its write lock serialises relays); PostgreSQL skips rows another relay is claiming.
_CLAIM = {"sqlite": _CLAIM_SELECT, "postgresql": _CLAIM_SELECT.with_for_update(skip_locked=True)}
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(attempts=outbox.c.attempts + 1, next_attempt_at=bindparam("until"))
)
_QUARANTINE = quarantine.insert()
_HEADS_FOR_UPDATE = (
    select(chain_heads.c.node, chain_heads.c.seq, chain_heads.c.hash)
    .where(chain_heads.c.node.in_(bindparam("ns", expanding=True)))
    .order_by(chain_heads.c.node)
    .with_for_update()
)
_MOVE_HEAD = (
    update(chain_heads).where(chain_heads.c.node == bindparam("n")).values(seq=bindparam("s"), hash=bindparam("h"))
)

_DELIVERY_KEY = and_(
    deliveries.c.node == bindparam("k_node"),
    deliveries.c.document_id == bindparam("k_doc"),
    deliveries.c.recipient == bindparam("k_rcpt"),
)
_SET_DELIVERY = (
    update(deliveries)
    .where(_DELIVERY_KEY, deliveries.c.state == bindparam("k_old"))
    .values(
        state=bindparam("new"),
        updated_at=bindparam("now"),
        next_attempt_at=bindparam("next_at"),
        attempts=deliveries.c.attempts + bindparam("bump"),
    )
)
_GET_DELIVERY = select(deliveries).where(_DELIVERY_KEY)
_INBOUND_KEY = and_(
    inbound.c.node == bindparam("k_node"),
    inbound.c.document_id == bindparam("k_doc"),
    inbound.c.business_type == bindparam("k_type"),
)
_GET_INBOUND = select(inbound).where(_INBOUND_KEY)
_SET_INBOUND = (
    update(inbound)
    .where(_INBOUND_KEY, inbound.c.state == bindparam("k_old"))
    .values(state=bindparam("new"), updated_at=bindparam("now"))
)


_AMENDMENT_KEY = and_(
    amendments.c.node == bindparam("k_node"),
    amendments.c.document_id == bindparam("k_doc"),
    amendments.c.recipient == bindparam("k_rcpt"),
    amendments.c.business_type == bindparam("k_type"),
)
_GET_AMENDMENT = select(amendments).where(_AMENDMENT_KEY, amendments.c.round == bindparam("k_round"))
_LATEST_AMENDMENT = select(amendments).where(_AMENDMENT_KEY).order_by(amendments.c.round.desc()).limit(1)
_SET_AMENDMENT = (
    update(amendments)
    .where(_AMENDMENT_KEY, amendments.c.round == bindparam("k_round"), amendments.c.state == bindparam("k_old"))
    .values(state=bindparam("new"), updated_at=bindparam("now"))
)


def _as_row(record: Any) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in record.__slots__}
    if row.get("id", 0) is None:
        del row["id"]
    if isinstance(record, OutboxMessage):
        row["headers"] = json.dumps(dict(record.headers), ensure_ascii=False, sort_keys=True)
    return row


def _outbox_record(row: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(**{**row, "headers": json.loads(row["headers"] or "{}")})


def _is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def _naive(at: datetime) -> datetime:
    """Aware timestamps become naive local time, the convention of the whole store."""
    return at if at.tzinfo is None else at.astimezone().replace(tzinfo=None)


class Repository:
    """Reads and writes of one node's (or several nodes') rows on one connection."""

    __slots__ = ("_dialect", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name

    # -- plumbing ---------------------------------------------------------------------------------

    def _run(self, stmt: Any, params: Any = None, *, what: str) -> Any:
        try:
            return self.conn.execute(stmt, params)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise DuplicateError(f"{what}: already stored ({exc.orig})") from exc
            raise StoreError(f"{what}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"{what}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc

    @contextmanager
    def savepoint(self) -> Iterator[Repository]:
        """A nested transaction: a failure inside rolls back only what was done inside."""
        try:
            nested = self.conn.begin_nested()
        except SQLAlchemyError as exc:
            raise StoreError(f"savepoint: {exc}") from exc
        try:
            yield self
        except BaseException:
            if nested.is_active:
                nested.rollback()
            raise
        else:
            nested.commit()

    # -- organisations ----------------------------------------------------------------------------

    def upsert_organisations(self, rows: Iterable[Organisation]) -> int:
        """Insert or update directory entries; return how many were given."""
        batch = [_as_row(r) for r in rows]
        if batch:
            self._run(_UPSERT_ORG[self._dialect], batch, what="upsert organisations")
        return len(batch)

    def get_organisation(self, organ_id: str) -> Organisation | None:
        row = self._run(select(organisations).where(organisations.c.organ_id == organ_id), what="get organisation")
        found = row.first()
        return Organisation(**found._mapping) if found else None

    # -- documents --------------------------------------------------------------------------------

    def add_document(self, doc: Document) -> int:
        """Store a document with its exact envelope; return its row id; ``DuplicateError`` if present."""
        row = _as_row(doc)
        row["sha256"] = doc.sha256 or hashlib.sha256(doc.envelope).hexdigest()
        result = self._run(_ADD_DOCUMENT, row, what=f"document {doc.document_id} at {doc.node}")
        return int(result.inserted_primary_key[0])

    def get_document(self, node: str, document_id: str, business_type: int = 0) -> Document | None:
        stmt = select(documents).where(
            documents.c.node == node,
            documents.c.document_id == document_id,
            documents.c.business_type == business_type,
        )
        found = self._run(stmt, what="get document").first()
        return Document(**found._mapping) if found else None

    # -- deliveries -------------------------------------------------------------------------------

    def add_deliveries(self, rows: Iterable[Delivery]) -> int:
        """Insert delivery rows in one batch; return how many; ``DuplicateError`` if one exists."""
        batch = []
        for record in rows:
            row = _as_row(record)
            row["state"] = state_text(record.state)
            batch.append(row)
        if batch:
            self._run(_ADD_DELIVERY, batch, what="add deliveries")
        return len(batch)

    def get_delivery(self, node: str, document_id: str, recipient: str) -> Delivery | None:
        params = {"k_node": node, "k_doc": document_id, "k_rcpt": recipient}
        found = self._run(_GET_DELIVERY, params, what="get delivery").first()
        return Delivery(**found._mapping) if found else None

    def advance_deliveries(self, keys: Sequence[tuple[str, str, str]], *, old: State, new: State, now: datetime) -> int:
        """Move every delivery ``(node, document_id, recipient)`` that is in ``old`` to ``new``, in one
        statement; rows in another state are left alone.  Returns how many moved."""
        if not keys:
            return 0
        params = [
            {
                "k_node": node,
                "k_doc": doc,
                "k_rcpt": rcpt,
                "k_old": state_text(old),
                "new": state_text(new),
                "now": now,
                "next_at": None,
                "bump": 0,
            }
            for node, doc, rcpt in keys
        ]
        return int(self._run(_SET_DELIVERY, params, what="advance deliveries").rowcount)

    def set_delivery_state(
        self,
        node: str,
        document_id: str,
        recipient: str,
        *,
        old: State,
        new: State,
        now: datetime,
        next_attempt_at: datetime | None = None,
        count_attempt: bool = False,
    ) -> None:
        """Move a delivery from ``old`` to ``new``, setting ``next_attempt_at``; ``ConflictError`` if not in ``old``."""
        params = {
            "k_node": node,
            "k_doc": document_id,
            "k_rcpt": recipient,
            "k_old": state_text(old),
            "new": state_text(new),
            "now": now,
            "next_at": next_attempt_at,
            "bump": 1 if count_attempt else 0,
        }
        result = self._run(_SET_DELIVERY, params, what="set delivery state")
        if result.rowcount != 1:
            actual = self.get_delivery(node, document_id, recipient)
            found = "no such delivery" if actual is None else f"it is {actual.state!r}"
            raise ConflictError(
                f"delivery of {document_id} to {recipient} at {node}: expected state {state_text(old)!r}, {found}"
            )

    def deliveries_for(self, node: str, document_id: str) -> list[Delivery]:
        """All recipients' deliveries of one document sent by ``node``, by recipient."""
        stmt = (
            select(deliveries)
            .where(deliveries.c.node == node, deliveries.c.document_id == document_id)
            .order_by(deliveries.c.recipient)
        )
        return [Delivery(**row._mapping) for row in self._run(stmt, what="deliveries for")]

    def due_deliveries(self, node: str, now: datetime, *, limit: int = 100) -> list[Delivery]:
        """Deliveries whose ``next_attempt_at`` has come (retries, timeouts), earliest first."""
        stmt = (
            select(deliveries)
            .where(deliveries.c.node == node, deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        return [Delivery(**row._mapping) for row in self._run(stmt, what="due deliveries")]

    # -- inbound ----------------------------------------------------------------------------------

    def add_inbound(self, record: Inbound) -> int:
        """Store the receiver's copy state; return its id; ``DuplicateError`` if already there."""
        row = _as_row(record)
        row["state"] = state_text(record.state)
        result = self._run(_ADD_INBOUND, row, what=f"inbound {record.document_id} at {record.node}")
        return int(result.inserted_primary_key[0])

    def get_inbound(self, node: str, document_id: str, business_type: int = 0) -> Inbound | None:
        params = {"k_node": node, "k_doc": document_id, "k_type": business_type}
        found = self._run(_GET_INBOUND, params, what="get inbound").first()
        return Inbound(**found._mapping) if found else None

    def inbound_for(self, node: str, *, limit: int = 1000) -> list[Inbound]:
        """Documents ``node`` received, oldest first."""
        stmt = select(inbound).where(inbound.c.node == node).order_by(inbound.c.id).limit(limit)
        return [Inbound(**row._mapping) for row in self._run(stmt, what="inbound")]

    def set_inbound_state(
        self, node: str, document_id: str, *, old: State, new: State, now: datetime, business_type: int = 0
    ) -> None:
        """Move the receiver's copy from ``old`` to ``new``; ``ConflictError`` if it is not in ``old``."""
        params = {
            "k_node": node,
            "k_doc": document_id,
            "k_type": business_type,
            "k_old": state_text(old),
            "new": state_text(new),
            "now": now,
        }
        if self._run(_SET_INBOUND, params, what="set inbound state").rowcount != 1:
            actual = self.get_inbound(node, document_id, business_type)
            found = "no such document" if actual is None else f"it is {actual.state!r}"
            raise ConflictError(f"inbound {document_id} at {node}: expected state {state_text(old)!r}, {found}")

    # -- events (hash chain) ----------------------------------------------------------------------

    def _lock_heads(self, nodes: list[str]) -> dict[str, tuple[int, str]]:
        """Lock the chain heads of ``nodes`` (sorted: no deadlock between writers), creating missing ones."""
        found = {
            row.node: (int(row.seq), str(row.hash))
            for row in self._run(_HEADS_FOR_UPDATE, {"ns": nodes}, what="lock chain heads")
        }
        missing = [n for n in nodes if n not in found]
        if missing:
            params = [{"node": n, "seq": 0, "hash": GENESIS} for n in missing]
            self._run(_NEW_HEAD[self._dialect], params, what="new chain heads")
            for row in self._run(_HEADS_FOR_UPDATE, {"ns": missing}, what="lock chain heads"):
                found[row.node] = (int(row.seq), str(row.hash))
        return found

    def append_events(self, rows: Iterable[Event]) -> int:
        """Append events to their nodes' chains (heads locked in node order); a few statements however many
        nodes and events; return how many."""
        by_node: dict[str, list[Event]] = {}
        for record in rows:
            by_node.setdefault(record.node, []).append(record)
        if not by_node:
            return 0
        nodes = sorted(by_node)
        heads = self._lock_heads(nodes)
        batch = []
        moves = []
        for node in nodes:
            seq, prev = heads[node]
            for record in by_node[node]:
                seq += 1
                at = _naive(record.at)
                detail = canonical_json(dict(record.detail))
                digest = event_hash(
                    prev, node, seq, at, record.kind, record.document_id, record.recipient, record.status, detail
                )
                batch.append(
                    {
                        "node": node,
                        "seq": seq,
                        "at": at,
                        "kind": record.kind,
                        "document_id": record.document_id,
                        "recipient": record.recipient,
                        "status": record.status,
                        "detail": detail,
                        "prev_hash": prev,
                        "hash": digest,
                    }
                )
                prev = digest
            moves.append({"n": node, "s": seq, "h": prev})
        self._run(_ADD_EVENT, batch, what="append events")
        self._run(_MOVE_HEAD, moves, what="move chain heads")
        return len(batch)

    def events_for(self, document_id: str, node: str | None = None) -> list[Event]:
        """The events about one document (of one node, or all), in the order they were appended."""
        stmt = select(events).where(events.c.document_id == document_id).order_by(events.c.id)
        if node is not None:
            stmt = stmt.where(events.c.node == node)
        out = []
        for row in self._run(stmt, what="events for"):
            fields = dict(row._mapping)
            fields["detail"] = detail_of(fields["detail"])
            out.append(Event(**fields))
        return out

    # -- outbox -----------------------------------------------------------------------------------

    def enqueue(self, rows: Iterable[OutboxMessage]) -> int:
        """Queue outgoing messages in one batch; ``DuplicateError`` if a message_id is already queued."""
        batch = [_as_row(r) for r in rows]
        if batch:
            self._run(_ENQUEUE, batch, what="enqueue")
        return len(batch)

    def claim_outbox(
        self, node: str, *, limit: int, now: datetime, lease: timedelta = timedelta(seconds=60)
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due unsent messages in queue order, counting an attempt and leasing them.

        A claimed message is not due again until ``now + lease``: mark it sent, or ``retry_later``.
        On PostgreSQL rows another relay is claiming are skipped (``FOR UPDATE SKIP LOCKED``).
        """
        params = {"c_node": node, "c_now": now, "c_limit": limit}
        claimed = [dict(row._mapping) for row in self._run(_CLAIM[self._dialect], params, what="claim outbox")]
        if not claimed:
            return []
        until = now + lease
        ids = [row["id"] for row in claimed]
        self._run(_LEASE, {"ids": ids, "until": until}, what="claim outbox")
        return [_outbox_record({**row, "attempts": row["attempts"] + 1, "next_attempt_at": until}) for row in claimed]

    def mark_sent(self, ids: Sequence[int], now: datetime) -> int:
        """Mark messages sent; return how many were still unsent."""
        if not ids:
            return 0
        stmt = update(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.sent_at.is_(None)).values(sent_at=now)
        return int(self._run(stmt, what="mark sent").rowcount)

    def mark_sent_messages(self, message_ids: Sequence[str], now: datetime) -> int:
        """Mark messages sent by ``message_id`` (what a sender knows without reading ids back)."""
        if not message_ids:
            return 0
        params = {"mids": list(message_ids), "now": now}
        return int(self._run(_MARK_SENT_MESSAGES, params, what="mark sent").rowcount)

    def retry_messages(self, message_ids: Sequence[str], at: datetime, *, attempts: int | None = None) -> int:
        """Make unsent messages (by ``message_id``) due again at ``at``, recording ``attempts`` when given."""
        if not message_ids:
            return 0
        values: dict[str, Any] = {"next_attempt_at": at}
        if attempts is not None:
            values["attempts"] = attempts
        stmt = (
            update(outbox)
            .where(outbox.c.message_id.in_(list(message_ids)), outbox.c.sent_at.is_(None))
            .values(**values)
        )
        return int(self._run(stmt, what="retry later").rowcount)

    def nodes_with_due_outbox(self, now: datetime) -> list[str]:
        """Nodes holding unsent messages that are due at ``now``."""
        due = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)
        stmt = select(outbox.c.node).where(outbox.c.sent_at.is_(None), due).distinct().order_by(outbox.c.node)
        return [row[0] for row in self._run(stmt, what="due outboxes")]

    def next_outbox_due(self) -> datetime | None:
        """When the earliest unsent message that is waiting (lease or back-off) becomes due, if any."""
        stmt = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.sent_at.is_(None))
        return self._run(stmt, what="next due").scalar()

    def retry_later(self, ids: Sequence[int], at: datetime) -> int:
        """Make unsent messages due again at ``at`` (back-off after a failed send)."""
        if not ids:
            return 0
        stmt = update(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.sent_at.is_(None)).values(next_attempt_at=at)
        return int(self._run(stmt, what="retry later").rowcount)

    # -- amendments (recall / update / replace) ---------------------------------------------------

    def add_amendment(self, record: Amendment) -> int:
        """Record a recall / update / replacement request; ``DuplicateError`` if one is already recorded."""
        row = _as_row(record)
        row["state"] = state_text(record.state)
        result = self._run(_ADD_AMENDMENT, row, what="add amendment")
        return int(result.inserted_primary_key[0])

    def get_amendment(
        self, node: str, document_id: str, recipient: str, business_type: int, round: int | None = None
    ) -> Amendment | None:
        """The amendment of that round, or the latest round when ``round`` is None."""
        params = {"k_node": node, "k_doc": document_id, "k_rcpt": recipient, "k_type": business_type}
        if round is None:
            found = self._run(_LATEST_AMENDMENT, params, what="get amendment").first()
        else:
            found = self._run(_GET_AMENDMENT, {**params, "k_round": round}, what="get amendment").first()
        return Amendment(**found._mapping) if found else None

    def amendments_for(self, node: str, document_id: str) -> list[Amendment]:
        stmt = (
            select(amendments)
            .where(amendments.c.node == node, amendments.c.document_id == document_id)
            .order_by(amendments.c.id)
        )
        return [Amendment(**row._mapping) for row in self._run(stmt, what="amendments")]

    def next_amendment_round(self, node: str, document_id: str, recipient: str, business_type: int) -> int:
        """The round a new request of this kind would take (1 when none was made)."""
        latest = self.get_amendment(node, document_id, recipient, business_type)
        return 1 if latest is None else latest.round + 1

    def set_amendment_state(
        self,
        node: str,
        document_id: str,
        recipient: str,
        business_type: int,
        *,
        old: State,
        new: State,
        now: datetime,
        round: int = 1,
    ) -> None:
        """Move an amendment (of ``round``) from ``old`` to ``new``; ``ConflictError`` if it was not in ``old``."""
        params = {
            "k_node": node,
            "k_doc": document_id,
            "k_rcpt": recipient,
            "k_type": business_type,
            "k_round": round,
            "k_old": state_text(old),
            "new": state_text(new),
            "now": _naive(now),
        }
        if self._run(_SET_AMENDMENT, params, what="set amendment state").rowcount != 1:
            raise ConflictError(
                f"amendment {document_id} -> {recipient} (type {business_type}) at {node} is not in state "
                f"{state_text(old)!r}"
            )

    # -- inbox (idempotency) ----------------------------------------------------------------------

    def remember_receipt(self, node: str, key: str, *, now: datetime, result: str = "") -> bool:
        """Record that ``node`` applied ``key``; False when it already had (acknowledge, do not re-apply)."""
        params = {"node": node, "idempotency_key": key, "received_at": now, "result": result}
        return self._run(_REMEMBER[self._dialect], params, what="remember receipt").rowcount == 1

    def remember_receipts(self, node: str, keys: Sequence[str], *, now: datetime) -> set[str]:
        """Record many keys in one statement; return those that were new (the rest are duplicates)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        params = [{"node": node, "idempotency_key": k, "received_at": now, "result": ""} for k in unique]
        result = self._run(_REMEMBER_MANY[self._dialect], params, what="remember receipts")
        return {row[0] for row in result}

    def receipt(self, node: str, key: str) -> Receipt | None:
        stmt = select(inbox).where(inbox.c.node == node, inbox.c.idempotency_key == key)
        found = self._run(stmt, what="receipt").first()
        return Receipt(**found._mapping) if found else None

    # -- quarantine -------------------------------------------------------------------------------

    def quarantine(self, entry: QuarantineEntry) -> int:
        """Keep a rejected envelope with its reason; return its id."""
        row = _as_row(entry)
        row["violations"] = json.dumps([asdict(v) for v in entry.violations], ensure_ascii=False)
        return int(self._run(_QUARANTINE, row, what="quarantine").inserted_primary_key[0])

    def list_quarantine(self, node: str | None = None, *, limit: int = 100) -> list[QuarantineEntry]:
        stmt = select(quarantine).order_by(quarantine.c.id).limit(limit)
        if node is not None:
            stmt = stmt.where(quarantine.c.node == node)
        out = []
        for row in self._run(stmt, what="list quarantine"):
            fields = dict(row._mapping)
            fields["violations"] = tuple(Violation(**v) for v in json.loads(fields["violations"]))
            out.append(QuarantineEntry(**fields))
        return out

    # -- counts for reports -----------------------------------------------------------------------

    def _count(self, table: Any, **where: Any) -> int:
        stmt = select(func.count()).select_from(table)
        for name, value in where.items():
            if value is not None:
                stmt = stmt.where(table.c[name] == value)
        return int(self._run(stmt, what=f"count {table.name}").scalar_one())

    def count_documents(self, node: str | None = None) -> int:
        return self._count(documents, node=node)

    def count_deliveries(self, node: str | None = None, state: State | None = None) -> int:
        return self._count(deliveries, node=node, state=None if state is None else state_text(state))

    def count_inbound(self, node: str | None = None, state: State | None = None) -> int:
        return self._count(inbound, node=node, state=None if state is None else state_text(state))

    def count_events(self, node: str | None = None) -> int:
        return self._count(events, node=node)

    def count_quarantine(self, node: str | None = None) -> int:
        return self._count(quarantine, node=node)

    def count_outbox(self, node: str | None = None, *, unsent_only: bool = False) -> int:
        stmt = select(func.count()).select_from(outbox)
        if node is not None:
            stmt = stmt.where(outbox.c.node == node)
        if unsent_only:
            stmt = stmt.where(outbox.c.sent_at.is_(None))
        return int(self._run(stmt, what="count outbox").scalar_one())

    def delivery_states(self, node: str | None = None) -> dict[str, int]:
        """How many deliveries are in each state."""
        stmt = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
        if node is not None:
            stmt = stmt.where(deliveries.c.node == node)
        return {state: int(n) for state, n in self._run(stmt, what="delivery states")}
