"""Turn a database URL into a configured SQLAlchemy ``Engine`` (SQLite file or PostgreSQL).

URLs: ``sqlite:///path.db`` (or a bare path), ``sqlite://`` (memory, tests), ``postgresql://...``
(``postgres://`` and driver-less URLs use psycopg 3).  ``None`` means ``$DOCFLOW_DB`` or
``sqlite:///docflow.db`` in the working directory.

SQLite is set up on every new connection: WAL journal, ``synchronous=NORMAL``, ``foreign_keys=ON``
and a busy timeout.  pysqlite's own transaction handling is switched off and every transaction is
opened with ``BEGIN IMMEDIATE`` (sent straight to the driver), so a writer takes SQLite's single write lock up
front (waiting up to the busy timeout) instead of failing half-way when it upgrades a read lock; a connection carrying
the ``docflow_snapshot`` execution option opens a plain deferred ``BEGIN`` (a read snapshot that
does not block writers).  Nothing here opens a connection until the engine is used.

PostgreSQL gets the timeouts of ``docflow.config.Timeouts`` (defaults when none are given): libpq's
``connect_timeout``, TCP keepalives and ``tcp_user_timeout``; the server's ``statement_timeout``, ``lock_timeout``
and ``idle_in_transaction_session_timeout`` (added to the URL's ``options``; settings the URL already names are
kept); and a client-side watchdog (``watchdog.py``) on every statement, commit, rollback and pre-ping, which shuts a
connection whose server has not answered within ``statement + grace`` seconds, since a hung server or network
never delivers the server's own timeout.  A timeout of any of these kinds is raised as ``StoreTimeoutError``
(a ``StoreError``) and the connection is not reused.
Imports only SQLAlchemy, ``docflow.config``, ``docflow.errors`` and this package's ``watchdog``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from docflow.config import DEFAULT_TIMEOUTS, Timeouts
from docflow.errors import ConfigError, StoreTimeoutError
from docflow.store.watchdog import Watchdog

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


def create_store_engine(url: str | URL | None = None, *, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    """Build the engine for ``url`` with docflow's settings; extra ``kwargs`` go to ``create_engine``."""
    parsed = url if isinstance(url, URL) else resolve_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    return _postgres_engine(parsed, timeouts or DEFAULT_TIMEOUTS, **kwargs)


#: SQLSTATEs of the server's own timeouts: statement (query_canceled), lock, idle in transaction.
_SERVER_TIMEOUTS = {"57014": "statement", "55P03": "lock", "25P03": "idle_in_transaction"}


def _millis(seconds: float) -> int:
    return max(int(seconds * 1000), 1)


def _postgres_engine(url: URL, timeouts: Timeouts, **kwargs: Any) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    server = {
        "statement_timeout": _millis(timeouts.statement),
        "lock_timeout": _millis(timeouts.lock),
        "idle_in_transaction_session_timeout": _millis(timeouts.idle_in_transaction),
    }
    options = url.query.get("options", "")
    text = " ".join(options) if isinstance(options, tuple) else options
    extra = [f"-c {name}={value}" for name, value in server.items() if name not in text]
    url = url.update_query_dict({"options": " ".join([text, *extra]).strip()})
    libpq = {
        "connect_timeout": max(math.ceil(timeouts.connect), 2),  # libpq counts whole seconds, at least 2
        "keepalives": 1,
        "keepalives_idle": max(int(timeouts.keepalive), 1),
        "keepalives_interval": max(int(timeouts.keepalive) // 3, 1),
        "keepalives_count": 3,
        "tcp_user_timeout": _millis(timeouts.watchdog),
    }
    connect_args = kwargs.pop("connect_args", {})
    for name, value in libpq.items():
        if name not in url.query:
            connect_args.setdefault(name, value)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _guard(engine, timeouts)
    return engine


def _raw(connection: Any) -> Any:
    """The DB-API connection under a pool proxy (the watchdog keys on it)."""
    return getattr(connection, "dbapi_connection", None) or connection


def _guard(engine: Engine, timeouts: Timeouts) -> None:
    """Arm the watchdog around every call that waits for the server, and map timeouts to ``StoreTimeoutError``."""
    watchdog = Watchdog(tick=min(0.1, timeouts.grace / 4))
    limit = timeouts.watchdog

    def arm(connection: Any) -> None:
        raw = _raw(connection)
        watchdog.arm(raw, limit, raw.fileno)

    def bounded(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(dbapi_connection: Any) -> Any:
            arm(dbapi_connection)
            try:
                return method(dbapi_connection)
            finally:
                watchdog.disarm(_raw(dbapi_connection))

        return call

    dialect: Any = engine.dialect
    for name in ("do_commit", "do_rollback", "do_ping"):  # calls that wait for the server outside any cursor
        setattr(dialect, name, bounded(getattr(dialect, name)))

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, *_args: Any) -> None:
        arm(conn.connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, *_args: Any) -> None:
        watchdog.disarm(_raw(conn.connection))

    @event.listens_for(engine, "handle_error")
    def _map(ctx: ExceptionContext) -> None:
        raw = None
        if ctx.connection is not None:
            try:
                raw = _raw(ctx.connection.connection)
            except Exception:  # already invalidated: no connection to ask about
                raw = None
        if raw is not None:
            watchdog.disarm(raw)
        fired = raw is not None and watchdog.fired(raw)
        if ctx.is_pre_ping:
            return  # a dead pooled connection: the pool replaces it
        original = ctx.original_exception
        kind = _SERVER_TIMEOUTS.get(str(getattr(original, "sqlstate", "") or ""))
        if fired:
            ctx.is_disconnect = True
            reason = f"no answer within {limit:g} s (statement timeout {timeouts.statement:g} s + grace)"
        elif kind is not None:
            reason = f"{kind.replace('_', ' ')} timeout ({getattr(timeouts, kind):g} s)"
        elif ctx.connection is None and "timeout expired" in str(original):
            reason = f"connect timeout ({timeouts.connect:g} s)"
        else:
            return
        where = safe_url(engine.url.set(query={}))  # the options carry the timeouts: long, and said below
        raise StoreTimeoutError(f"database {where} timed out: {reason}: {str(original).strip()}") from original


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

    # No engine-level event listener: with none, SQLAlchemy skips its event dispatch on every statement.  The
    # snapshot option is noted on the pooled connection when it is set (cleared at each checkout, so it lives
    # as long as the ``Connection`` that set it) and read when the transaction begins.
    dialect: Any = engine.dialect
    set_options = dialect.set_connection_execution_options

    def _set_options(connection: Any, opts: Any) -> None:
        set_options(connection, opts)
        if SNAPSHOT_OPTION in opts:
            connection.connection.info[_SNAPSHOT] = bool(opts[SNAPSHOT_OPTION])

    @event.listens_for(engine, "checkout")
    def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        record.info.pop(_SNAPSHOT, None)

    def _do_begin(dbapi_connection: Any) -> None:
        # Straight to the driver: a BEGIN needs none of a statement's compilation, events or result handling (it
        # is a tenth of the statements of a unit of work).  SQLAlchemy maps the driver's errors raised here.
        snapshot = dbapi_connection.info.get(_SNAPSHOT, False)
        dbapi_connection.driver_connection.execute("BEGIN" if snapshot else "BEGIN IMMEDIATE")

    dialect.set_connection_execution_options = _set_options
    dialect.do_begin = _do_begin
    return engine


#: Key of the pooled connection's ``info`` saying its ``Connection`` asked for a read snapshot.
_SNAPSHOT = "docflow_snapshot"


def missing_sqlite_file(url: str | None) -> str | None:
    """The path of a SQLite file database that does not exist yet (read-only commands must not create it)."""
    parsed = resolve_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory(parsed) or parsed.database is None:
        return None
    return None if os.path.exists(parsed.database) else parsed.database
