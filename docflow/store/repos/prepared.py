"""Prepared statements: a hot statement compiled once and run on the SQLite driver's own cursor.

A unit of work on a hop runs half a dozen small statements; through ``Connection.execute`` each pays about
20 µs of SQLAlchemy's per-call machinery (execution context, parameter dicts, result metadata) for 4 µs of
SQLite work.  ``Prepared(statement)`` keeps the Core statement and, per set of parameter names, what
SQLAlchemy itself would send to SQLite: the compiled text, the positional parameter order, each parameter's
bind processor (``DateTime`` to text, say), the scalar column defaults of an INSERT, and the result
processors of the columns it returns.  ``TableRepo.run`` executes a prepared statement on the driver's
connection inside the transaction the unit of work began (SQLite has no engine events to skip), and any
statement this cannot reproduce exactly (expanding ``IN``, callable defaults, non-positional dialects) is
simply executed by SQLAlchemy, as is every statement on PostgreSQL, where the watchdog arms each call.

The results keep the small surface the repositories use: ``rowcount``, ``inserted_primary_key``, ``first()``,
``scalar()``, iteration, and rows with attribute access and ``_mapping``.
Imports SQLAlchemy Core only.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

_MISSING = object()
#: What SQLAlchemy's SQLite ``DATETIME`` writes by default (``datetime.isoformat(" ", "microseconds")`` too).
_SQLITE_DATETIME_FORMAT = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
#: Forms kept per statement: one per set of parameter names a repository passes (a handful in practice).
_FORMS_LIMIT = 16


class Prepared:
    """A Core ``statement`` built once at import, with its driver-level forms compiled on first use."""

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, ...], _Form | None] = {}

    def form(self, dialect: Dialect, keys: tuple[str, ...]) -> _Form | None:
        """The driver form for parameters named ``keys``; ``None`` when SQLAlchemy must run it."""
        try:
            return self._forms[keys]
        except KeyError:
            pass
        form = _compile(self.statement, dialect, keys)
        if len(self._forms) < _FORMS_LIMIT:
            self._forms[keys] = form
        return form

    def __repr__(self) -> str:
        return f"Prepared({self.statement})"


class _Form:
    """What SQLAlchemy would send to the driver for one set of parameter names, and how to read the rows."""

    __slots__ = ("_binds", "_columns", "_fixed_at", "_get", "_one", "_process_at", "_row", "_width", "sql")

    def __init__(
        self,
        sql: str,
        binds: Sequence[tuple[str, Any, Callable[[Any], Any] | None]],
        columns: Sequence[tuple[str, Callable[[Any], Any] | None]] | None,
    ) -> None:
        self.sql = sql
        self._binds = tuple(binds)  # (name, fixed value or _MISSING, bind processor) in positional order
        self._columns = tuple(columns) if columns is not None else None
        self._row = None if columns is None else _row_class([n for n, _ in columns])
        # The parameters are picked by one C call (itemgetter); only fixed values and bind processors (DateTime
        # to text, say) are then placed by position.
        names = tuple(name for name, fixed, _ in self._binds if fixed is _MISSING)
        self._get = itemgetter(*names) if names else None
        self._one = len(names) == 1  # itemgetter of one name gives the value, not a tuple
        self._width = len(self._binds)
        self._fixed_at = {i: fixed for i, (_, fixed, _) in enumerate(self._binds) if fixed is not _MISSING}
        self._process_at = tuple((i, process) for i, (_, _, process) in enumerate(self._binds) if process is not None)

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        get = self._get
        named = () if get is None else (get(params),) if self._one else get(params)
        if not self._fixed_at:
            if not self._process_at:
                return named
            out = list(named)
        else:
            out = [None] * self._width
            it = iter(named)
            fixed = self._fixed_at
            for i in range(self._width):
                out[i] = fixed[i] if i in fixed else next(it)
        for i, process in self._process_at:
            value = out[i]
            if value is not None:
                out[i] = process(value)
        return tuple(out)

    def execute(self, driver: Any, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> DriverResult:
        """Run on ``driver`` (a DB-API connection in an open transaction) and read any rows at once."""
        if params is None or isinstance(params, Mapping):
            cursor = driver.execute(self.sql, self.values(params or {}))
            read = self._read(cursor.fetchall()) if self._row is not None else []
            return DriverResult(cursor.rowcount, cursor.lastrowid, read)
        if self._row is None:
            cursor = driver.executemany(self.sql, [self.values(p) for p in params])
            return DriverResult(cursor.rowcount, None, ())
        rows: list[Any] = []
        count = 0
        for one in params:  # RETURNING from many parameter sets: one statement each (SQLite has no batch form)
            cursor = driver.execute(self.sql, self.values(one))
            rows.extend(self._read(cursor.fetchall()))
            count += max(cursor.rowcount, 0)
        return DriverResult(count, None, rows)

    def _read(self, raw: list[tuple[Any, ...]]) -> list[Any]:
        assert self._columns is not None and self._row is not None
        make = self._row._make
        processors = [p for _, p in self._columns]
        if not any(processors):
            return [make(r) for r in raw]
        return [make(v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True)) for r in raw]


class DriverResult:
    """The rows and counts of a prepared statement run on the driver (all rows already fetched)."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rowcount: int, lastrowid: int | None, rows: Sequence[Any]) -> None:
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self._rows = rows

    @property
    def inserted_primary_key(self) -> tuple[int | None]:
        return (self.lastrowid,)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)


def _row_class(names: list[str]) -> Any:
    """A tuple with attribute access and ``_mapping`` (as SQLAlchemy's rows have) for columns ``names``."""
    base: Any = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    keys = tuple(names)
    return type("Row", (base,), {"__slots__": (), "_mapping": property(lambda row: dict(zip(keys, row, strict=True)))})


def _compile(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> _Form | None:
    """The driver form of ``statement`` for parameters ``keys``, or ``None`` if it needs SQLAlchemy at run time."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    if not compiled.positional or compiled.positiontup is None:
        return None
    if getattr(compiled, "literal_execute_params", None) or getattr(compiled, "post_compile_params", None):
        return None
    defaults: dict[str, Any] = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not default.is_scalar:
            return None
        defaults[column.key] = default.arg
    given = set(keys)
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding or bind.callable is not None:
            return None
        if name in given:
            fixed = _MISSING
        elif name in defaults:
            fixed = defaults[name]
        elif not bind.required:
            fixed = bind.value
        else:
            return None  # a required parameter missing: let SQLAlchemy say so
        binds.append((name, fixed, _bind_processor(bind.type.dialect_impl(dialect), dialect)))
    return _Form(compiled.string, binds, _result_columns(statement, dialect))


def _bind_processor(impl: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The type's own bind processor; for SQLite's ``DATETIME`` in its default storage format, the same text
    from ``datetime.isoformat`` (C) for the naive datetimes the store uses (anything else: SQLAlchemy's)."""
    process = impl.bind_processor(dialect)
    if process is None or getattr(impl, "_storage_format", None) != _SQLITE_DATETIME_FORMAT:
        return process
    if not isinstance(impl, DateTime):
        return process
    slow = process

    def fast(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return slow(value)

    return fast


def _result_columns(statement: Any, dialect: Dialect) -> list[tuple[str, Callable[[Any], Any] | None]] | None:
    """``(name, result processor)`` of each column the statement returns, or ``None`` if it returns none."""
    if getattr(statement, "is_select", False):
        columns = list(statement.selected_columns)
    elif getattr(statement, "_returning", ()):
        columns = list(statement.exported_columns)
    else:
        return None
    out = []
    for column in columns:
        impl = column.type.dialect_impl(dialect)
        out.append((column.key or column.name, impl.result_processor(dialect, None)))
    return out


__all__ = ["DriverResult", "Prepared"]
