"""The ``amendments`` table: recall / update / replacement requests per document × recipient × round.
Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, select, update

from docflow.errors import ConflictError
from docflow.store.records import Amendment, State, state_text
from docflow.store.repos.base import TableRepo, as_row, naive
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import amendments

_KEY = and_(
    amendments.c.node == bindparam("k_node"),
    amendments.c.document_id == bindparam("k_doc"),
    amendments.c.recipient == bindparam("k_rcpt"),
    amendments.c.business_type == bindparam("k_type"),
)
_ADD = Prepared(amendments.insert())
_GET = Prepared(select(amendments).where(_KEY, amendments.c.round == bindparam("k_round")))
_LATEST = Prepared(select(amendments).where(_KEY).order_by(amendments.c.round.desc()).limit(1))
_SET = Prepared(
    update(amendments)
    .where(_KEY, amendments.c.round == bindparam("k_round"), amendments.c.state == bindparam("k_old"))
    .values(state=bindparam("new"), updated_at=bindparam("now"))
)
_FOR_DOCUMENT = Prepared(
    select(amendments)
    .where(amendments.c.node == bindparam("k_node"), amendments.c.document_id == bindparam("k_doc"))
    .order_by(amendments.c.id)
)


class AmendmentRepo(TableRepo):
    __slots__ = ()

    def add(self, record: Amendment) -> int:
        """Record a request round; ``DuplicateError`` if that round is already recorded."""
        row = as_row(record)
        row["state"] = state_text(record.state)
        return int(self.run(_ADD, row, what="add amendment").inserted_primary_key[0])

    def get(
        self, node: str, document_id: str, recipient: str, business_type: int, round: int | None = None
    ) -> Amendment | None:
        """The amendment of that round, or of the latest round when ``round`` is None."""
        params = {"k_node": node, "k_doc": document_id, "k_rcpt": recipient, "k_type": business_type}
        if round is None:
            found = self.run(_LATEST, params, what="get amendment").first()
        else:
            found = self.run(_GET, {**params, "k_round": round}, what="get amendment").first()
        return Amendment(**found._mapping) if found else None

    def next_round(self, node: str, document_id: str, recipient: str, business_type: int) -> int:
        """The round a new request of this kind would take (1 when none was made)."""
        latest = self.get(node, document_id, recipient, business_type)
        return 1 if latest is None else latest.round + 1

    def for_document(self, node: str, document_id: str) -> list[Amendment]:
        rows = self.run(_FOR_DOCUMENT, {"k_node": node, "k_doc": document_id}, what="amendments of a document")
        return [Amendment(**row._mapping) for row in rows]

    def move(
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
            "now": naive(now),
        }
        if self.run(_SET, params, what="move amendment").rowcount != 1:
            raise ConflictError(
                f"amendment {document_id} -> {recipient} (type {business_type}) at {node} is not in state "
                f"{state_text(old)!r}"
            )
