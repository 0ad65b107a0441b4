"""The ``deliveries`` table (the sender's view of each recipient) and ``inbound`` (the receiver's copy).

A state is changed only from the state the caller read (an optimistic check): ``ConflictError`` otherwise.
Only ``docflow.services.work.NodeWork.move`` calls ``move``; ``advance`` is its batched form.
Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, select, update

from docflow.errors import ConflictError
from docflow.store.records import Delivery, Inbound, State, state_text
from docflow.store.repos.base import TableRepo, as_row
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import deliveries, inbound

_DELIVERY_KEY = and_(
    deliveries.c.node == bindparam("k_node"),
    deliveries.c.document_id == bindparam("k_doc"),
    deliveries.c.recipient == bindparam("k_rcpt"),
)
_ADD_DELIVERY = Prepared(deliveries.insert())
_GET_DELIVERY = Prepared(select(deliveries).where(_DELIVERY_KEY))
_SET_DELIVERY = Prepared(
    update(deliveries)
    .where(_DELIVERY_KEY, deliveries.c.state == bindparam("k_old"))
    .values(
        state=bindparam("new"),
        updated_at=bindparam("now"),
        next_attempt_at=bindparam("next_at"),
        attempts=deliveries.c.attempts + bindparam("bump"),
    )
)
_FOR_DOCUMENT = Prepared(
    select(deliveries)
    .where(deliveries.c.node == bindparam("k_node"), deliveries.c.document_id == bindparam("k_doc"))
    .order_by(deliveries.c.recipient)
)

_INBOUND_KEY = and_(
    inbound.c.node == bindparam("k_node"),
    inbound.c.document_id == bindparam("k_doc"),
    inbound.c.business_type == bindparam("k_type"),
)
_ADD_INBOUND = Prepared(inbound.insert())
_GET_INBOUND = Prepared(select(inbound).where(_INBOUND_KEY))
_SET_INBOUND = Prepared(
    update(inbound)
    .where(_INBOUND_KEY, inbound.c.state == bindparam("k_old"))
    .values(state=bindparam("new"), updated_at=bindparam("now"))
)
_INBOUND_OF = Prepared(
    select(inbound).where(inbound.c.node == bindparam("k_node")).order_by(inbound.c.id).limit(bindparam("n"))
)


class DeliveryRepo(TableRepo):
    __slots__ = ()

    def add(self, rows: Iterable[Delivery]) -> int:
        """Insert delivery rows in one batch; return how many; ``DuplicateError`` if one exists."""
        batch = []
        for record in rows:
            row = as_row(record)
            row["state"] = state_text(record.state)
            batch.append(row)
        if batch:
            self.run(_ADD_DELIVERY, batch, what="add deliveries")
        return len(batch)

    def get(self, node: str, document_id: str, recipient: str) -> Delivery | None:
        params = {"k_node": node, "k_doc": document_id, "k_rcpt": recipient}
        found = self.run(_GET_DELIVERY, params, what="get delivery").first()
        return Delivery(**found._mapping) if found else None

    def for_document(self, node: str, document_id: str) -> list[Delivery]:
        """Every recipient's delivery of one document sent by ``node``, by recipient."""
        rows = self.run(_FOR_DOCUMENT, {"k_node": node, "k_doc": document_id}, what="deliveries of a document")
        return [Delivery(**row._mapping) for row in rows]

    def move(
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
        """Move a delivery from ``old`` to ``new``; ``ConflictError`` if it is not in ``old``."""
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
        if self.run(_SET_DELIVERY, params, what="move delivery").rowcount != 1:
            actual = self.get(node, document_id, recipient)
            found = "no such delivery" if actual is None else f"it is {actual.state!r}"
            raise ConflictError(
                f"delivery of {document_id} to {recipient} at {node}: expected state {state_text(old)!r}, {found}"
            )

    def advance(self, keys: Sequence[tuple[str, str, str]], *, old: State, new: State, now: datetime) -> int:
        """Move every delivery ``(node, document_id, recipient)`` that is in ``old`` to ``new`` in one statement;
        rows in another state are left alone.  Returns how many moved."""
        if not keys:
            return 0
        old_text, new_text = state_text(old), state_text(new)
        params = [
            {
                "k_node": node,
                "k_doc": doc,
                "k_rcpt": rcpt,
                "k_old": old_text,
                "new": new_text,
                "now": now,
                "next_at": None,
                "bump": 0,
            }
            for node, doc, rcpt in keys
        ]
        return int(self.run(_SET_DELIVERY, params, what="advance deliveries").rowcount)


class InboundRepo(TableRepo):
    __slots__ = ()

    def add(self, record: Inbound) -> int:
        """Store the receiver's copy; return its id; ``DuplicateError`` if already there."""
        row = as_row(record)
        row["state"] = state_text(record.state)
        result = self.run(_ADD_INBOUND, row, what=f"inbound {record.document_id} at {record.node}")
        return int(result.inserted_primary_key[0])

    def get(self, node: str, document_id: str, business_type: int = 0) -> Inbound | None:
        params = {"k_node": node, "k_doc": document_id, "k_type": business_type}
        found = self.run(_GET_INBOUND, params, what="get inbound").first()
        return Inbound(**found._mapping) if found else None

    def of_node(self, node: str, *, limit: int = 1000) -> list[Inbound]:
        """Documents ``node`` received, oldest first."""
        rows = self.run(_INBOUND_OF, {"k_node": node, "n": limit}, what="inbound of a node")
        return [Inbound(**row._mapping) for row in rows]

    def move(
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
        if self.run(_SET_INBOUND, params, what="move inbound").rowcount != 1:
            actual = self.get(node, document_id, business_type)
            found = "no such document" if actual is None else f"it is {actual.state!r}"
            raise ConflictError(f"inbound {document_id} at {node}: expected state {state_text(old)!r}, {found}")
