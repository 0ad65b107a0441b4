"""Rows and bytes per table of a docflow database, for ``docflow db stats`` and the storage benchmarks.

Lists whatever tables the database holds (read from the catalogue, not from ``tables.py``), so it keeps
working while tables come and go.  Bytes per table include the table's indexes:

- SQLite: the ``dbstat`` virtual table (pages of each b-tree times the page size) when SQLite was built with
  it; otherwise an estimate: the summed ``length()`` of every column (payload only, no page overhead); the
  file size on disk is shown beside it either way.
- PostgreSQL: ``pg_total_relation_size`` (heap, indexes and TOAST) of each table in the current schema.

SQLAlchemy Core only; must not import lxml, docflow.xml, docflow.transports, docflow.services or above.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select, table, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from docflow.errors import StoreError
from docflow.store.engine import SNAPSHOT_OPTION, is_memory, safe_url

#: How bytes were counted (shown by ``db stats``).
DBSTAT = "sqlite dbstat (pages)"
PAYLOAD = "sqlite column payload (estimate: dbstat unavailable)"
POSTGRES = "postgresql pg_total_relation_size"


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table: its name, how many rows it holds and the bytes it takes (with its indexes)."""

    name: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DatabaseStats:
    """Every table of one database, how the bytes were counted, and (SQLite files) the file sizes on disk."""

    url: str
    method: str
    tables: tuple[TableStats, ...]
    file_bytes: int | None = None  # SQLite: the database file plus its WAL, as the file system sees them

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def table(self, name: str) -> TableStats:
        """The figures of table ``name`` (``KeyError`` naming the tables present when it is absent)."""
        for entry in self.tables:
            if entry.name == name:
                return entry
        raise KeyError(f"no table {name!r}; tables: {', '.join(t.name for t in self.tables) or 'none'}")

    def lines(self) -> list[str]:
        """The report printed by ``docflow db stats``: one line per table, then the total."""
        width = max([len("total"), len("table")] + [len(t.name) for t in self.tables])
        out = [f"{self.url}: bytes from {self.method}", f"{'table':<{width}} {'rows':>12} {'bytes':>15}"]
        out += [f"{t.name:<{width}} {t.rows:>12,} {t.bytes:>15,}  {human(t.bytes)}" for t in self.tables]
        out.append(f"{'total':<{width}} {self.rows:>12,} {self.bytes:>15,}  {human(self.bytes)}")
        if self.file_bytes is not None:
            out.append(f"file on disk (with WAL): {self.file_bytes:,} bytes  {human(self.file_bytes)}")
        return out


def human(size: int) -> str:
    """``size`` bytes in the largest binary unit that keeps it at or above 1 (e.g. ``4.0 KiB``)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def database_stats(engine: Engine, *, use_dbstat: bool = True) -> DatabaseStats:
    """Rows and bytes of every table in ``engine``'s database (its current schema on PostgreSQL).

    ``use_dbstat=False`` forces SQLite's fallback estimate (used when ``dbstat`` is not compiled in).
    Driver errors become ``StoreError``.
    """
    try:
        with engine.connect().execution_options(**{SNAPSHOT_OPTION: True}) as conn, conn.begin():
            names = sorted(inspect(conn).get_table_names())
            rows = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}
            if engine.dialect.name == "postgresql":
                return DatabaseStats(safe_url(engine.url), POSTGRES, _tables(names, rows, _postgres_bytes(conn)))
            if use_dbstat and (sizes := _dbstat_bytes(conn)) is not None:
                method = DBSTAT
            else:
                method, sizes = PAYLOAD, {name: _payload_bytes(conn, name) for name in names}
            return DatabaseStats(safe_url(engine.url), method, _tables(names, rows, sizes), _file_bytes(engine))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read table statistics from {safe_url(engine.url)}: {exc}") from exc


def _tables(names: list[str], rows: dict[str, int], sizes: dict[str, int]) -> tuple[TableStats, ...]:
    return tuple(TableStats(name, rows[name], sizes.get(name, 0)) for name in names)


def _dbstat_bytes(conn: Connection) -> dict[str, int] | None:
    """Bytes per table, its indexes included, from ``dbstat``; ``None`` when SQLite lacks it."""
    try:
        pages = conn.execute(text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all()
    except OperationalError:
        return None
    owner: dict[str, str] = dict(
        conn.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")).all()
    )
    sizes: dict[str, int] = {}
    for name, size in pages:
        table_name = owner.get(name, name)
        sizes[table_name] = sizes.get(table_name, 0) + int(size or 0)
    return sizes


def _payload_bytes(conn: Connection, name: str) -> int:
    columns = [column["name"] for column in inspect(conn).get_columns(name)]
    if not columns:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    summed = " + ".join(f"COALESCE(SUM(LENGTH({quote(c)})), 0)" for c in columns)
    return int(conn.execute(text(f"SELECT {summed} FROM {quote(name)}")).scalar_one())


def _postgres_bytes(conn: Connection) -> dict[str, int]:
    query = text(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    )
    return {name: int(size) for name, size in conn.execute(query).all()}


def _file_bytes(engine: Engine) -> int | None:
    if is_memory(engine.url) or not engine.url.database:
        return None
    path = engine.url.database
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
