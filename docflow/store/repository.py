"""``Repository``: the table repositories of one unit of work, on one connection.

    with store.unit_of_work() as repo:
        repo.documents.add(...); repo.deliveries.add([...]); repo.outbox.enqueue([...]); repo.events.append([...])

Each attribute is a small repository of one table (``docflow.store.repos``); statements are built once at
import and batches go through ``executemany``; no objects are kept between calls (no identity map), so a
long run never grows in memory.  A failed statement leaves a PostgreSQL transaction aborted: to go on in
the same unit of work, wrap the attempt in ``with repo.savepoint():``.
Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from docflow.errors import StoreError
from docflow.store.repos.amendments import AmendmentRepo
from docflow.store.repos.base import TableRepo, sqlite_driver
from docflow.store.repos.deliveries import DeliveryRepo, InboundRepo
from docflow.store.repos.documents import DocumentRepo
from docflow.store.repos.events import EventRepo
from docflow.store.repos.inbox import InboxRepo
from docflow.store.repos.organisations import OrganisationRepo
from docflow.store.repos.outbox import OutboxRepo
from docflow.store.repos.quarantine import QuarantineRepo
from docflow.store.tables import ALL_TABLES

_TABLES = {table.name: table for table in ALL_TABLES}


#: attribute -> the repository of that table (made on first use in a unit of work: a hop uses three or four)
_REPOS: dict[str, type[TableRepo]] = {
    "documents": DocumentRepo,
    "deliveries": DeliveryRepo,
    "inbound": InboundRepo,
    "amendments": AmendmentRepo,
    "outbox": OutboxRepo,
    "inbox": InboxRepo,
    "events": EventRepo,
    "quarantine": QuarantineRepo,
    "organisations": OrganisationRepo,
}


class Repository:
    """Every table's repository on one connection (each made when first used, then kept)."""

    documents: DocumentRepo
    deliveries: DeliveryRepo
    inbound: InboundRepo
    amendments: AmendmentRepo
    outbox: OutboxRepo
    inbox: InboxRepo
    events: EventRepo
    quarantine: QuarantineRepo
    organisations: OrganisationRepo

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._driver = sqlite_driver(conn) if conn.dialect.name == "sqlite" else None

    def __getattr__(self, name: str) -> TableRepo:
        kind = _REPOS.get(name)
        if kind is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        made = kind(self.conn, self._driver)
        setattr(self, name, made)  # found directly from now on: __getattr__ runs once per table
        return made

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

    def count(self, table: str, **where: Any) -> int:
        """Rows of ``table`` matching ``column=value`` pairs (``None`` values are ignored): for reports and tests."""
        found = _TABLES.get(table)
        if found is None:
            raise StoreError(f"no table {table!r}: expected one of {', '.join(sorted(_TABLES))}")
        stmt = select(func.count()).select_from(found)
        for name, value in where.items():
            if value is not None:
                stmt = stmt.where(found.c[name] == getattr(value, "value", value))
        return int(self.documents.run(stmt, what=f"count {table}").scalar_one())
