"""The ``inbox`` table: the idempotency keys a node has applied.

A key is remembered in the unit of work that applies its message and forgotten again in the same unit of work
when the message is refused, so only an applied message marks its identity as seen (a refused, truncated
copy never hides the good one).  Keys longer than the column are stored as their SHA-256.
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from docflow.store.repos.base import TableRepo
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import DOC_ID, inbox

_INSERT: dict[str, Any] = {"sqlite": sqlite.insert(inbox), "postgresql": postgresql.insert(inbox)}
# Only the set of new keys matters: without parameter ordering SQLAlchemy sends one multi-row INSERT ... RETURNING.
_REMEMBER = {
    d: Prepared(stmt.on_conflict_do_nothing().returning(inbox.c.idempotency_key)) for d, stmt in _INSERT.items()
}
_FORGET = Prepared(delete(inbox).where(inbox.c.node == bindparam("n"), inbox.c.idempotency_key == bindparam("k")))
_SEEN = Prepared(
    select(inbox.c.idempotency_key).where(inbox.c.node == bindparam("n"), inbox.c.idempotency_key == bindparam("k"))
)


def stored_key(key: str) -> str:
    """The text kept for ``key``: itself, or ``sha256:<hex>`` when it would not fit the column."""
    if len(key) <= DOC_ID and "\x00" not in key:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class InboxRepo(TableRepo):
    __slots__ = ()

    def remember(self, node: str, keys: Sequence[str], *, now: datetime) -> set[str]:
        """Record ``keys`` in one statement; return those that were new (the others are duplicates)."""
        stored = {stored_key(k): k for k in dict.fromkeys(keys)}
        if not stored:
            return set()
        params = [{"node": node, "idempotency_key": k, "received_at": now, "result": ""} for k in stored]
        result = self.run(_REMEMBER[self.dialect], params, what="remember receipts")
        return {stored[row[0]] for row in result}

    def forget(self, node: str, key: str) -> None:
        """Forget a key remembered in this unit of work (its message was refused)."""
        self.run(_FORGET, {"n": node, "k": stored_key(key)}, what="forget receipt")

    def seen(self, node: str, key: str) -> bool:
        return self.run(_SEEN, {"n": node, "k": stored_key(key)}, what="receipt").first() is not None
