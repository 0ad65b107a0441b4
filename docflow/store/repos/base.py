"""What every table repository shares: the connection, the dialect and the mapping of driver errors.

Driver errors become ``StoreError`` (``DuplicateError`` for a unique key) at this boundary.  A ``Prepared``
statement runs on the SQLite driver's own connection when it has a driver form (``prepared.py``), else through
SQLAlchemy like any other statement.  Text that
PostgreSQL cannot store (NUL characters) is made visible instead of failing the unit of work (``safe_text``).
Imports SQLAlchemy Core, ``docflow.errors`` and this package's records only.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from docflow.errors import DuplicateError, StoreError
from docflow.store.records import record_values
from docflow.store.repos.prepared import Prepared


class TableRepo:
    """Statements of one table on one connection (no state kept between calls)."""

    __slots__ = ("conn", "dialect", "driver")

    def __init__(self, conn: Connection, driver: Any = None) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        # SQLite's own connection, for prepared statements (looked up once per unit of work, not per statement)
        self.driver = driver if driver is not None or self.dialect != "sqlite" else sqlite_driver(conn)

    def run(self, stmt: Any, params: Any = None, *, what: str) -> Any:
        if isinstance(stmt, Prepared):
            if self.driver is not None:
                if not params:  # no parameters, or an empty list: one execution, as SQLAlchemy does
                    params = None
                first = params if params is None or isinstance(params, dict) else params[0]
                form = stmt.form(self.conn.dialect, tuple(first) if first else ())
                if form is not None:
                    try:
                        return form.execute(self.driver, params)
                    except sqlite3.IntegrityError as exc:
                        if is_unique_violation(exc):
                            raise DuplicateError(f"{what}: already stored ({exc})") from exc
                        raise StoreError(f"{what}: {exc}") from exc
                    except sqlite3.Error as exc:
                        raise StoreError(f"{what}: {exc.__class__.__name__}: {exc}") from exc
            stmt = stmt.statement
        try:
            return self.conn.execute(stmt, params)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise DuplicateError(f"{what}: already stored ({exc.orig})") from exc
            raise StoreError(f"{what}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"{what}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc


def sqlite_driver(conn: Connection) -> Any:
    """The SQLite driver's connection under ``conn`` (an open SQLAlchemy connection)."""
    return conn.connection.driver_connection


def is_unique_violation(exc: BaseException) -> bool:
    """A driver error (or SQLAlchemy's wrapper of one) saying a unique key is already stored."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def naive(at: datetime) -> datetime:
    """Aware timestamps become naive local time, the convention of the whole store."""
    return at if at.tzinfo is None else at.astimezone().replace(tzinfo=None)


def safe_text(text: str) -> str:
    """``text`` with NUL characters written as ``\\x00`` (PostgreSQL text cannot hold them)."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def as_row(record: Any) -> dict[str, Any]:
    """A record's fields as a parameter dict (``id`` left out when unset)."""
    row = record_values(record)
    if row.get("id", 0) is None:
        del row["id"]
    return row
