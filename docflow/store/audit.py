"""The hash-chained audit log: how an event is hashed, and checking that no stored event was changed.

Each node has its own chain, so nodes sharing a database never wait on each other's lock and each
node's log can be checked (and handed over) on its own.  Event ``seq`` runs 1, 2, 3 ... per node;
the first event's ``prev_hash`` is 64 zeros, and

    hash = sha256(prev_hash + canonical JSON [node, seq, at, kind, document_id, recipient, status, detail])

where ``at`` is ISO 8601 with microseconds and ``detail`` is the canonical JSON text exactly as stored
(keys sorted, no spaces, UTF-8).  ``chain_heads`` keeps each node's last ``seq`` and ``hash``: a
changed row breaks its own hash, a deleted row breaks its successor's ``prev_hash`` and the ``seq``
run, and events cut from the end no longer reach the head.

Imports SQLAlchemy Core and ``docflow.errors`` only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, select

from docflow.errors import StoreError
from docflow.store.tables import chain_heads, events

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of a chain check; ``first_bad_id`` names the first event found wrong."""

    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    reason: str = ""
    node: str | None = None
    chains_checked: int = 0

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events_checked} events in {self.chains_checked} chains verified"
        where = f"event id {self.first_bad_id}" if self.first_bad_id is not None else "chain"
        return f"broken: {where} (node {self.node}): {self.reason}"


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError(f"event detail value of type {type(value).__name__} is not JSON")


def canonical_json(value: object) -> str:
    """Deterministic JSON text: sorted keys, no spaces, UTF-8 kept (datetimes as ISO 8601)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"event detail cannot be stored: {exc}") from exc


def timestamp_text(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def event_hash(
    prev_hash: str,
    node: str,
    seq: int,
    at: datetime,
    kind: str,
    document_id: str,
    recipient: str,
    status: str,
    detail_text: str,
) -> str:
    """The chain hash of one event (see the module docstring)."""
    payload = json.dumps(
        [node, seq, timestamp_text(at), kind, document_id, recipient, status, detail_text],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _rows(conn: Connection, node: str | None) -> Iterator[Any]:
    stmt = select(
        events.c.id,
        events.c.node,
        events.c.seq,
        events.c.at,
        events.c.kind,
        events.c.document_id,
        events.c.recipient,
        events.c.status,
        events.c.detail,
        events.c.prev_hash,
        events.c.hash,
    ).order_by(events.c.node, events.c.seq)
    if node is not None:
        stmt = stmt.where(events.c.node == node)
    yield from conn.execution_options(yield_per=2000).execute(stmt)


def verify_chain(conn: Connection, node: str | None = None) -> AuditReport:
    """Recompute every chain (or ``node``'s) and report the first event that does not fit.

    Run it in one snapshot (``Store.snapshot()``) so writers appending meanwhile do not look like tampering.
    """
    head_stmt = select(chain_heads.c.node, chain_heads.c.seq, chain_heads.c.hash)
    if node is not None:
        head_stmt = head_stmt.where(chain_heads.c.node == node)
    heads = {row.node: (row.seq, row.hash) for row in conn.execute(head_stmt)}
    checked = 0
    chains = 0
    current: str | None = None
    seq = 0
    prev = GENESIS

    def end_of_chain(name: str) -> AuditReport | None:
        head = heads.pop(name, None)
        if head is None:
            return AuditReport(False, checked, None, "events exist but the chain head is missing", name, chains)
        if head != (seq, prev):
            return AuditReport(
                False,
                checked,
                None,
                f"the chain head records seq {head[0]} but the events end at seq {seq}: events deleted or altered "
                "at the end of the chain",
                name,
                chains,
            )
        return None

    for row in _rows(conn, node):
        if row.node != current:
            if current is not None and (bad := end_of_chain(current)):
                return bad
            current, seq, prev = row.node, 0, GENESIS
            chains += 1
        if row.seq != seq + 1:
            reason = f"seq {row.seq} follows seq {seq}: event(s) missing"
            return AuditReport(False, checked, row.id, reason, row.node, chains)
        if row.prev_hash != prev:
            reason = "prev_hash does not match the previous event's hash"
            return AuditReport(False, checked, row.id, reason, row.node, chains)
        expected = event_hash(
            prev, row.node, row.seq, row.at, row.kind, row.document_id, row.recipient, row.status, row.detail
        )
        if row.hash != expected:
            return AuditReport(False, checked, row.id, "hash does not match the event's content", row.node, chains)
        checked += 1
        seq, prev = row.seq, row.hash
    if current is not None and (bad := end_of_chain(current)):
        return bad
    for name, (head_seq, _hash) in heads.items():
        if head_seq != 0:
            reason = f"the chain head records seq {head_seq} but no events remain"
            return AuditReport(False, checked, None, reason, name, chains)
    return AuditReport(True, checked, chains_checked=chains)


def detail_of(text: str) -> Mapping[str, Any]:
    """The stored detail JSON text as a mapping."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
