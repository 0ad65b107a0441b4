"""Turn a database URL into a configured SQLAlchemy ``Engine`` (SQLite file or PostgreSQL).

URLs: ``sqlite:///path.db`` (or a bare path), ``sqlite://`` (memory, tests), ``postgresql://...``
(``postgres://`` and driver-less URLs use psycopg 3).  ``None`` means ``$DOCFLOW_DB`` or
``sqlite:///docflow.db`` in the working directory.

SQLite is set up on every new connection: WAL journal, ``synchronous=NORMAL``, ``foreign_keys=ON``
and a busy timeout.  pysqlite's own transaction handling is switched off and every transaction is
opened with ``BEGIN IMMEDIATE``, so a writer takes SQLite's single write lock up front (waiting up
to the busy timeout) instead of failing half-way when it upgrades a read lock; a connection carrying
the ``docflow_snapshot`` execution option opens a plain deferred ``BEGIN`` (a read snapshot that
does not block writers).  Nothing here opens a connection until the engine is used.
Imports only SQLAlchemy and ``docflow.errors``.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from docflow.errors import ConfigError

DEFAULT_URL = "sqlite:///docflow.db"
ENV_VAR = "DOCFLOW_DB"
BUSY_TIMEOUT_MS = 10_000
WAL_CHECKPOINT_PAGES = 10_000
#: Execution option asking for a read snapshot rather than a write transaction.
SNAPSHOT_OPTION = "docflow_snapshot"


def resolve_url(url: str | None = None) -> URL:
    """The URL to use: ``url``, else ``$DOCFLOW_DB``, else ``sqlite:///docflow.db``; bare paths are SQLite files."""
    text = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in text:
        text = "sqlite:///" + text
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {text!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgres" or parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r} in {safe_url(parsed)}: use sqlite or postgresql")
    return parsed


def safe_url(url: URL | str) -> str:
    """The URL as text with any password hidden (for messages and logs)."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """Build the engine for ``url`` with docflow's settings; extra ``kwargs`` go to ``create_engine``."""
    parsed = url if isinstance(url, URL) else resolve_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    memory = is_memory(url)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    if memory:
        from sqlalchemy.pool import StaticPool

        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see the module docstring
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint the WAL every ~40 MB rather than every 4 MB: a message store writes whole envelopes,
            # and each checkpoint costs an fsync; fewer, larger ones keep commits cheap (WAL stays bounded).
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        snapshot = conn.get_execution_options().get(SNAPSHOT_OPTION, False)
        conn.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")

    return engine


def missing_sqlite_file(url: str | None) -> str | None:
    """The path of a SQLite file database that does not exist yet (read-only commands must not create it)."""
    parsed = resolve_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory(parsed) or parsed.database is None:
        return None
    return None if os.path.exists(parsed.database) else parsed.database
