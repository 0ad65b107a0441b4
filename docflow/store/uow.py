"""The unit of work and the ``Store`` handle: one transaction, one connection, one ``Repository``.

    store = open_store("sqlite:///docflow.db")
    with store.unit_of_work() as repo:      # BEGIN (IMMEDIATE on SQLite)
        repo.documents.add(...)
        repo.deliveries.add([...])
        repo.outbox.enqueue([...])
        repo.events.append([...])
    # COMMIT here; ROLLBACK if the block raised (and the error goes on)

Many hops may share one unit of work (the simulator batches them): wrap each hop in
``with repo.savepoint():`` so that one failing hop is undone alone.  Keep a unit of work short and
append events last in it, since appending holds the node's chain-head lock until commit.
``Store.snapshot()`` gives a read-only, consistent view (reports, audit) that does not block writers.
Imports SQLAlchemy, ``docflow.errors`` and this package only; nothing connects until used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import SQLAlchemyError

from docflow.errors import StoreError
from docflow.store import migrate
from docflow.store.audit import AuditReport, verify_chain
from docflow.store.engine import SNAPSHOT_OPTION, create_store_engine, safe_url
from docflow.store.repository import Repository


class UnitOfWork:
    """A context manager: a connection in one transaction, committed on success, rolled back on error."""

    __slots__ = ("_conn", "_engine", "_tx")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    def __enter__(self) -> Repository:
        try:
            self._conn = self._engine.connect()
            self._tx = self._conn.begin()
        except SQLAlchemyError as exc:
            if self._conn is not None:
                self._conn.close()
            raise StoreError(f"cannot start a transaction: {exc}") from exc
        return Repository(self._conn)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None or tx is None:
            return
        try:
            if exc_type is None:
                try:
                    tx.commit()
                except SQLAlchemyError as error:
                    raise StoreError(f"commit failed: {error}") from error
            elif tx.is_active:
                tx.rollback()
        finally:
            conn.close()


class Store:
    """A database of one or many nodes: hands out units of work and read snapshots."""

    __slots__ = ("engine",)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return safe_url(self.engine.url)

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self.engine.dialect.name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    @contextmanager
    def snapshot(self) -> Iterator[Repository]:
        """A read-only consistent view: deferred BEGIN on SQLite, REPEATABLE READ READ ONLY on PostgreSQL."""
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot connect to {self.url}: {exc}") from exc
        try:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            else:
                conn.execution_options(**{SNAPSHOT_OPTION: True})
            with conn.begin():
                yield Repository(conn)
        finally:
            conn.close()

    def verify_audit(self, node: str | None = None) -> AuditReport:
        """Check every node's event chain (or ``node``'s) in one snapshot."""
        with self.snapshot() as repo:
            try:
                return verify_chain(repo.conn, node)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read the audit log: {exc}") from exc

    def upgrade(self, revision: str = "head") -> str | None:
        """Apply migrations up to ``revision``; return the revision reached."""
        return migrate.upgrade(self.engine, revision)

    def current_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open the database at ``url`` (default ``$DOCFLOW_DB`` or ``sqlite:///docflow.db``).

    With ``create`` the schema is migrated to the newest revision (a no-op when it already is).
    """
    store = Store(create_store_engine(url))
    if create:
        try:
            store.upgrade()
        except BaseException:
            store.close()
            raise
    return store
