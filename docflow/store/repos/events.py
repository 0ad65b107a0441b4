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
from docflow.store.audit_keys import Keyring, default_keyring
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
        """Append events to their nodes' chains (heads locked in node order) in a few statements; return how many.

        The heads this process last wrote are tried first, all in one statement (one node on PostgreSQL, where
        each execution is a round trip); a head that moved meanwhile is locked and chained anew."""
        by_node: dict[str, list[Event]] = {}
        for record in rows:
            by_node.setdefault(record.node, []).append(record)
        if not by_node:
            return 0
        nodes = sorted(by_node)
        where = _where(self.conn.engine)
        keyring = default_keyring()  # read once for the batch (it looks at the environment on each call)
        chained: dict[str, tuple[list[dict[str, object]], tuple[int, str]]] = {}
        locked: dict[str, tuple[int, str]] = {}
        if len(nodes) == 1 or self.dialect == "sqlite":
            seen = {n: head for n in nodes if (head := _LAST_HEADS.get((where, n))) is not None}
            chained = {n: _chain(n, by_node[n], seen[n], keyring) for n in nodes if n in seen}
            if chained:
                params = [
                    {"n": n, "s": head[0], "h": head[1], "old_s": seen[n][0], "old_h": seen[n][1]}
                    for n, (_, head) in chained.items()
                ]
                moved = self.run(_MOVE_SEEN_HEAD, params[0] if len(params) == 1 else params, what="move chain heads")
                if moved.rowcount != len(params):  # some head is not the one seen: keep those that moved
                    locked = self._lock_heads(list(chained))
                    chained = {n: done for n, done in chained.items() if locked.get(n) == done[1]}
        rest = [n for n in nodes if n not in chained]
        if rest:
            missing = [n for n in rest if n not in locked]
            if missing:
                locked.update(self._lock_heads(missing))
            moves = []
            for node in rest:
                chained[node] = done = _chain(node, by_node[node], locked[node], keyring)
                moves.append({"n": node, "s": done[1][0], "h": done[1][1]})
            self.run(_MOVE_HEAD, moves, what="move chain heads")
        batch = [row for node in nodes for row in chained[node][0]]
        self.run(_ADD, batch, what="append events")
        _remember(where, [(node, *chained[node][1]) for node in nodes])
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
    node: str, records: list[Event], head: tuple[int, str], keyring: Keyring
) -> tuple[list[dict[str, object]], tuple[int, str]]:
    """``node``'s event rows chained onto its ``head``, and its new ``(seq, hash)`` head."""
    batch: list[dict[str, object]] = []
    seq, prev = head
    key = keyring.key(node)
    for record in records:
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
    return batch, (seq, prev)


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
