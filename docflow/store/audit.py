"""The keyed, hash-chained audit log: how an event is hashed, and checking that nothing in the log (or the
states it explains) was changed.

Each node has its own chain, so nodes sharing a database never wait on each other's lock and each node's log
can be checked (and handed over) on its own.  Event ``seq`` runs 1, 2, 3 ... per node; the first event's
``prev_hash`` is 64 zeros, and

    hash = HMAC-SHA256(key of the node, prev_hash + canonical JSON [node, seq, at, kind, document_id,
                                                                    recipient, status, detail])

where ``at`` is ISO 8601 with microseconds and ``detail`` is the canonical JSON text exactly as stored (keys
sorted, no spaces, UTF-8).  The key is kept outside the database (``audit_keys``: a key directory, made on
first use, mode 0600), so whoever edits rows and recomputes the chain without it is found.
``chain_heads`` keeps each node's last ``seq`` and ``hash``.

``verify_chain`` reports the first fault, naming the event (or the range of events) or the state row:

* a changed row breaks its own hash; a deleted row breaks the ``seq`` run at its successor; a chain rewritten
  without the key fails its keyed hash (and is named as such when it matches the unkeyed formula);
* row ids must grow with ``seq`` within a chain: swapped or rewritten ids are found;
* events cut from the end no longer reach the head; with the head moved back too, the node's *checkpoint*
  (the last verified head, signed with the key and kept in the key directory) names the events that are gone;
* a node whose whole chain and head were deleted is still known: from its checkpoint, or from state rows;
* ``deliveries``, ``inbound`` and ``amendments`` must hold the states the events replay to (``audit_replay``).

A successful check moves each chain's checkpoint forward; ``checkpoint_heads`` does so without a check
(for a writer to call after its commits).  Imports SQLAlchemy Core, ``docflow.errors``,
``docflow.domain.lifecycle`` (through ``audit_replay``) and this package.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, NoReturn

from sqlalchemy import Connection, select, union

from docflow.errors import StoreError
from docflow.store.audit_keys import Checkpoint, Keyring, default_keyring, mac
from docflow.store.audit_replay import Replay
from docflow.store.tables import amendments, chain_heads, deliveries, documents, events, inbound

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of a check; ``first_bad_id`` .. ``last_bad_id`` name the events at fault, ``where`` a state
    row or another place (a checkpoint, a missing chain)."""

    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    reason: str = ""
    node: str | None = None
    chains_checked: int = 0
    last_bad_id: int | None = None
    where: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events_checked} events in {self.chains_checked} chains verified"
        if self.where:
            place = self.where
        elif self.first_bad_id is None:
            place = "chain"
        elif self.last_bad_id is not None and self.last_bad_id != self.first_bad_id:
            place = f"event ids {self.first_bad_id}–{self.last_bad_id}"
        else:
            place = f"event id {self.first_bad_id}"
        return f"broken: {place} (node {self.node}): {self.reason}"


def _json_default(value: object) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError(f"event detail value of type {type(value).__name__} is not JSON")


# Built once: ``json.dumps`` with options builds an encoder on every call (a fifth of a hop's JSON time).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: object) -> str:
    """Deterministic JSON text: sorted keys, no spaces, UTF-8 kept (datetimes as ISO 8601)."""
    try:
        return _CANONICAL.encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"event detail cannot be stored: {exc}") from exc


def timestamp_text(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _payload(
    node: str, seq: int, at: datetime, kind: str, document_id: str, recipient: str, status: str, detail_text: str
) -> str:
    return _COMPACT.encode([node, seq, timestamp_text(at), kind, document_id, recipient, status, detail_text])


def node_key(node: str, keyring: Keyring | None = None) -> bytes:
    """The node's audit key from ``keyring`` (default: ``default_keyring()``), made on first use."""
    key = (keyring or default_keyring()).key(node)
    assert key is not None  # create=True always yields a key
    return key


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
    *,
    key: bytes | None = None,
) -> str:
    """The chain hash of one event (see the module docstring); ``key`` defaults to the node's key in the
    default keyring (cached after the first read)."""
    secret = key if key is not None else node_key(node)
    return mac(secret, prev_hash + _payload(node, seq, at, kind, document_id, recipient, status, detail_text))


def _unkeyed_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def database_tag(conn: Connection) -> str | None:
    """A name for the database ``conn`` reaches, under which its checkpoints are kept (``None``: in memory)."""
    url = conn.engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        identity = "sqlite:" + os.path.realpath(url.database)
    else:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        identity = f"postgresql:{url.host}:{url.port or 5432}/{url.database}/{schema}"
    return f"{url.get_backend_name()}-{hashlib.sha256(identity.encode()).hexdigest()[:20]}"


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


def _nodes_with_state(conn: Connection, node: str | None) -> set[str]:
    parts = [select(t.c.node).distinct() for t in (documents, deliveries, inbound, amendments)]
    found = {row[0] for row in conn.execute(union(*parts))}
    return found if node is None else found & {node}


class _Failed(Exception):
    def __init__(self, report: AuditReport) -> None:
        self.report = report


class _Check:
    """The state of one check, and the report it ends with."""

    def __init__(self, conn: Connection, keyring: Keyring, states: bool) -> None:
        self.conn, self.keyring, self.states = conn, keyring, states
        self.key = b""
        self.node = ""
        self.checked = 0
        self.chains = 0
        self.replays: dict[str, Replay] = {}
        self.ends: dict[str, tuple[int, str, str, dict[int, tuple[int, str]]]] = {}

    def fail(
        self, node: str | None, reason: str, first: int | None = None, last: int | None = None, where: str = ""
    ) -> NoReturn:
        raise _Failed(AuditReport(False, self.checked, first, reason, node, self.chains, last, where))

    def start(self, node: str, checkpoint: Checkpoint | str | None) -> None:
        """Begin checking ``node``'s chain (its events follow in ``seq`` order through ``feed``)."""
        self.chains += 1
        key = self.keyring.key(node, create=False)
        if key is None:
            self.fail(node, f"no audit key for this node in {self.keyring.directory}: the chain cannot be checked")
        self.node, self.key = node, key
        self.replay = self.replays[node] = Replay(node)
        self.seq, self.prev, self.prev_id, self.last_at = 0, GENESIS, 0, ""
        self.wanted = checkpoint.seq if isinstance(checkpoint, Checkpoint) else -1
        self.at_checkpoint: dict[int, tuple[int, str]] = {}

    def feed(self, row: Any) -> None:
        node, seq = self.node, self.seq
        if row.seq != seq + 1:
            self.fail(node, f"seq {row.seq} follows seq {seq}: event(s) missing", row.id, row.id)
        if row.id <= self.prev_id:
            reason = f"event id {row.id} (seq {row.seq}) is not after event id {self.prev_id} (seq {seq}): row ids"
            self.fail(node, reason + " swapped or rewritten", min(row.id, self.prev_id), max(row.id, self.prev_id))
        if row.prev_hash != self.prev:
            self.fail(node, "prev_hash does not match the previous event's hash", row.id)
        payload = _payload(node, row.seq, row.at, row.kind, row.document_id, row.recipient, row.status, row.detail)
        if row.hash != mac(self.key, self.prev + payload):
            if row.hash == _unkeyed_hash(self.prev, payload):
                reason = "the event is hashed without the node's key (rewritten by someone without the key)"
            else:
                reason = "hash does not match the event's content"
            self.fail(node, reason, row.id)
        if self.states and (finding := self.replay.feed(row.id, row.kind, row.document_id, row.recipient, row.detail)):
            self.fail(node, finding.reason, finding.event_id)
        if row.seq == self.wanted:
            self.at_checkpoint[row.seq] = (row.id, row.hash)
        self.checked += 1
        self.seq, self.prev, self.prev_id, self.last_at = row.seq, row.hash, row.id, timestamp_text(row.at)

    def end(self) -> None:
        self.ends[self.node] = (self.seq, self.prev, self.last_at, self.at_checkpoint)

    def head(self, node: str, head: tuple[int, str] | None) -> None:
        seq, prev, _at, _points = self.ends.get(node, (0, GENESIS, "", {}))
        if head is None:
            if seq:
                self.fail(node, "events exist but the chain head is missing")
            return
        if head != (seq, prev):
            if head[0] == 0 and seq == 0:
                return
            reason = (
                f"the chain head records seq {head[0]} but the events end at seq {seq}: events deleted or altered "
                "at the end of the chain"
            )
            if seq == 0:
                reason = f"the chain head records seq {head[0]} but no events remain"
            self.fail(node, reason)

    def checkpoint(self, node: str, point: Checkpoint | str | None) -> None:
        if point is None:
            return
        if isinstance(point, str):
            self.fail(node, point, where="checkpoint")
        seq, _prev, _at, found = self.ends.get(node, (0, GENESIS, "", {}))
        if seq < point.seq:
            what = "the whole chain and its head are gone" if seq == 0 else f"the events end at seq {seq}"
            self.fail(
                node,
                f"{what}, but a checkpoint (last event at {point.at or '?'}) recorded seq {point.seq}: events "
                f"{seq + 1}–{point.seq} were deleted and the chain head moved back",
                where=f"events seq {seq + 1}–{point.seq}",
            )
        event_id, digest = found.get(point.seq, (None, ""))
        if digest != point.hash:
            self.fail(node, f"the event at seq {point.seq} is not the one the checkpoint recorded", event_id)

    def compare_states(self, node: str) -> None:
        replay = self.replays.get(node) or Replay(node)
        finding = replay.compare(self.conn)
        if finding is not None:
            self.fail(node, finding.reason, finding.event_id, where=finding.where)


def verify_chain(
    conn: Connection,
    node: str | None = None,
    *,
    keyring: Keyring | None = None,
    states: bool = True,
    checkpoint: bool = True,
) -> AuditReport:
    """Check every chain (or ``node``'s), its checkpoint, and (``states``) the state tables against the events;
    report the first fault.  When all is well and ``checkpoint`` is set, move the checkpoints forward.

    Run it in one snapshot (``Store.snapshot()``) so writers appending meanwhile do not look like tampering.
    """
    ring = keyring or default_keyring()
    tag = database_tag(conn)
    head_stmt = select(chain_heads.c.node, chain_heads.c.seq, chain_heads.c.hash)
    if node is not None:
        head_stmt = head_stmt.where(chain_heads.c.node == node)
    heads = {row.node: (int(row.seq), str(row.hash)) for row in conn.execute(head_stmt)}
    points: Mapping[str, Checkpoint | str] = ring.checkpoints(tag) if tag else {}
    if node is not None:
        points = {n: p for n, p in points.items() if n == node}
    check = _Check(conn, ring, states)
    try:
        current: str | None = None
        for row in _rows(conn, node):
            if row.node != current:
                if current is not None:
                    check.end()
                current = row.node
                check.start(current, points.get(current))
            check.feed(row)
        if current is not None:
            check.end()
        stated = _nodes_with_state(conn, node) if states else set()
        for name in sorted(set(check.ends) | set(heads) | set(points) | stated):
            check.head(name, heads.get(name))
            check.checkpoint(name, points.get(name))
            if name not in check.ends and name in stated:
                check.fail(name, "the node has stored documents or states but no audit chain: its chain was deleted")
            if states:
                check.compare_states(name)
    except _Failed as failed:
        return failed.report
    if checkpoint and tag:
        for name, (seq, prev, at, _found) in check.ends.items():
            ring.save_checkpoint(tag, Checkpoint(name, seq, prev, at))
    return AuditReport(True, check.checked, chains_checked=check.chains)


def checkpoint_heads(conn: Connection, node: str | None = None, *, keyring: Keyring | None = None) -> int:
    """Sign the current chain heads (of ``node``, or all) as checkpoints, without verifying the chains; return
    how many moved forward.  Call it on committed data (a snapshot, or right after a commit): a later deletion
    of events below a checkpoint, with the head moved back, is then caught even if nobody verified meanwhile.
    A checkpoint never moves back, so a head already moved back by an intruder cannot lower it."""
    ring = keyring or default_keyring()
    tag = database_tag(conn)
    if tag is None:
        return 0
    stmt = (
        select(chain_heads.c.node, chain_heads.c.seq, chain_heads.c.hash, events.c.at)
        .join(events, (events.c.node == chain_heads.c.node) & (events.c.seq == chain_heads.c.seq))
        .where(chain_heads.c.seq > 0)
    )
    if node is not None:
        stmt = stmt.where(chain_heads.c.node == node)
    moved = 0
    for row in conn.execute(stmt):
        point = Checkpoint(row.node, int(row.seq), str(row.hash), timestamp_text(row.at))
        moved += ring.save_checkpoint(tag, point)
    return moved


def detail_of(text: str) -> Mapping[str, Any]:
    """The stored detail JSON text as a mapping."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
