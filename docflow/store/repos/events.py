"""The ``events`` table and ``chain_heads``: each node's append-only, hash-chained audit log.

How an event is hashed (and checked) is ``docflow.store.audit``; this module appends and reads.
A unit of work that appends to one node's chain whose head this process last wrote skips the locking read:
``UPDATE chain_heads ... WHERE seq = :seen AND hash = :seen`` takes the same row lock and proves the head is
still the one remembered (another writer, a rollback or a tampered head makes it match nothing, and the
append falls back to ``SELECT ... FOR UPDATE``).
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from docflow.store.audit import GENESIS, canonical_json, detail_of, event_hash
from docflow.store.audit_keys import default_keyring
from docflow.store.records import Event
from docflow.store.repos.base import TableRepo, naive, safe_text
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import chain_heads, events

_ADD = Prepared(events.insert())
_NEW_HEAD = {
    "sqlite": Prepared(sqlite.insert(chain_heads).on_conflict_do_nothing()),
    "postgresql": Prepared(postgresql.insert(chain_heads).on_conflict_do_nothing()),
}
_HEADS_FOR_UPDATE = (
    select(chain_heads.c.node, chain_heads.c.seq, chain_heads.c.hash)
    .where(chain_heads.c.node.in_(bindparam("ns", expanding=True)))
    .order_by(chain_heads.c.node)
    .with_for_update()
)
_MOVE_HEAD = Prepared(
    update(chain_heads).where(chain_heads.c.node == bindparam("n")).values(seq=bindparam("s"), hash=bindparam("h"))
)
_MOVE_SEEN_HEAD = Prepared(
    update(chain_heads)
    .where(
        chain_heads.c.node == bindparam("n"),
        chain_heads.c.seq == bindparam("old_s"),
        chain_heads.c.hash == bindparam("old_h"),
    )
    .values(seq=bindparam("s"), hash=bindparam("h"))
)
#: (database, node) pairs whose chain head this process has seen (bounded: a country has ~13,000 nodes).
_KNOWN_HEADS: set[tuple[str, str]] = set()
_KNOWN_LIMIT = 100_000
#: (database, node) -> the (seq, hash) this process last wrote as the head: a hint, checked by the UPDATE.
_LAST_HEADS: dict[tuple[str, str], tuple[int, str]] = {}
_OF_DOCUMENT = Prepared(select(events).where(events.c.document_id == bindparam("k_doc")).order_by(events.c.id))
_OF_DOCUMENT_AT = Prepared(
    select(events)
    .where(events.c.document_id == bindparam("k_doc"), events.c.node == bindparam("k_node"))
    .order_by(events.c.id)
)


class EventRepo(TableRepo):
    __slots__ = ()

    def _lock_heads(self, nodes: list[str]) -> dict[str, tuple[int, str]]:
        """Lock the chain heads of ``nodes`` (sorted: no deadlock between writers), creating missing ones first.

        A head is created (``ON CONFLICT DO NOTHING``, in node order) before any head is locked, so two writers
        that both create heads never hold one lock while waiting for another out of order; heads this process
        has seen are not created again."""
        where = self.conn.engine.url.render_as_string(hide_password=True)
        unknown = [n for n in nodes if (where, n) not in _KNOWN_HEADS]
        if unknown:
            self.run(_NEW_HEAD[self.dialect], [{"node": n, "seq": 0, "hash": GENESIS} for n in unknown], what="heads")
        found = {
            row.node: (int(row.seq), str(row.hash))
            for row in self.run(_HEADS_FOR_UPDATE, {"ns": nodes}, what="lock chain heads")
        }
        missing = [n for n in nodes if n not in found]  # a head deleted behind this process's back
        if missing:
            self.run(_NEW_HEAD[self.dialect], [{"node": n, "seq": 0, "hash": GENESIS} for n in missing], what="heads")
            for row in self.run(_HEADS_FOR_UPDATE, {"ns": missing}, what="lock chain heads"):
                found[row.node] = (int(row.seq), str(row.hash))
        if len(_KNOWN_HEADS) < _KNOWN_LIMIT:
            _KNOWN_HEADS.update((where, n) for n in nodes)
        return found

    def append(self, rows: Iterable[Event]) -> int:
        """Append events to their nodes' chains (heads locked in node order) in a few statements; return how many."""
        by_node: dict[str, list[Event]] = {}
        for record in rows:
            by_node.setdefault(record.node, []).append(record)
        if not by_node:
            return 0
        nodes = sorted(by_node)
        where = _where(self.conn.engine)
        if len(nodes) == 1:
            seen = _LAST_HEADS.get((where, nodes[0]))
            if seen is not None:
                batch, heads = _chain(nodes, by_node, {nodes[0]: seen})
                ((node, seq, digest),) = heads
                params = {"n": node, "s": seq, "h": digest, "old_s": seen[0], "old_h": seen[1]}
                moved = self.run(_MOVE_SEEN_HEAD, params, what="move chain head")
                if moved.rowcount == 1:  # the head was still the one seen, and is now locked by this transaction
                    self.run(_ADD, batch, what="append events")
                    _remember(where, heads)
                    return len(batch)
        batch, heads = _chain(nodes, by_node, self._lock_heads(nodes))
        self.run(_ADD, batch, what="append events")
        self.run(_MOVE_HEAD, [{"n": n, "s": seq, "h": h} for n, seq, h in heads], what="move chain heads")
        _remember(where, heads)
        return len(batch)

    def of_document(self, document_id: str, node: str | None = None) -> list[Event]:
        """The events about one document (of one node, or all), in the order they were appended."""
        if node is None:
            rows = self.run(_OF_DOCUMENT, {"k_doc": document_id}, what="events of a document")
        else:
            rows = self.run(_OF_DOCUMENT_AT, {"k_doc": document_id, "k_node": node}, what="events of a document")
        out = []
        for row in rows:
            fields = dict(row._mapping)
            fields["detail"] = detail_of(fields["detail"])
            out.append(Event(**fields))
        return out


def _chain(
    nodes: list[str], by_node: dict[str, list[Event]], heads: dict[str, tuple[int, str]]
) -> tuple[list[dict[str, object]], list[tuple[str, int, str]]]:
    """The event rows chained onto ``heads`` and the new ``(node, seq, hash)`` head of each node."""
    batch: list[dict[str, object]] = []
    moves: list[tuple[str, int, str]] = []
    keyring = default_keyring()  # read once for the batch (it looks at the environment on each call)
    for node in nodes:
        seq, prev = heads[node]
        key = keyring.key(node)
        for record in by_node[node]:
            seq += 1
            at = naive(record.at)
            detail = canonical_json(dict(record.detail))
            document_id, party = safe_text(record.document_id), safe_text(record.recipient)
            digest = event_hash(prev, node, seq, at, record.kind, document_id, party, record.status, detail, key=key)
            batch.append(
                {
                    "node": node,
                    "seq": seq,
                    "at": at,
                    "kind": record.kind,
                    "document_id": document_id,
                    "recipient": party,
                    "status": record.status,
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        moves.append((node, seq, prev))
    return batch, moves


def _where(engine: Engine) -> str:
    """The database an engine writes to, as the head hints name it (rendered once per engine)."""
    found = _WHERE.get(engine)
    if found is None:
        found = _WHERE[engine] = engine.url.render_as_string(hide_password=True)
    return found


_WHERE: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _remember(where: str, heads: list[tuple[str, int, str]]) -> None:
    """Keep the heads just written as hints for this process's next append (bounded)."""
    if len(_LAST_HEADS) >= _KNOWN_LIMIT:
        _LAST_HEADS.clear()
    for node, seq, digest in heads:
        _LAST_HEADS[(where, node)] = (seq, digest)
