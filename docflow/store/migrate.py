"""Apply and inspect the schema migrations (Alembic, run programmatically: no alembic.ini needed).

The migration scripts ship inside the package (``docflow/store/migrations``).  ``upgrade`` runs in
one transaction; on PostgreSQL it first takes a transaction-scoped advisory lock so that several
processes starting at once do not race to create the same tables (on SQLite ``BEGIN IMMEDIATE``
serialises them).  Alembic is imported only when a migration function is called.
Imports SQLAlchemy, Alembic and ``docflow.errors`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from docflow.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Arbitrary 64-bit key of the PostgreSQL advisory lock taken while migrating ("docflow" in ASCII).
_PG_LOCK_KEY = 0x646F63666C6F77


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this docflow."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _current(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    try:
        with engine.connect() as conn:
            return _current(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the schema revision: {exc}") from exc


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` (a no-op when already there); return the revision reached."""
    from alembic import command
    from alembic.util import CommandError

    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            command.upgrade(_config(conn), revision)
            return _current(conn)
    except (SQLAlchemyError, CommandError) as exc:
        raise StoreError(f"migration to {revision} failed: {exc}") from exc
