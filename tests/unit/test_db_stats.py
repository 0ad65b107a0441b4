"""``docflow.store.stats``: rows and bytes per table, on SQLite (dbstat and the fallback) and PostgreSQL."""

from __future__ import annotations

import pytest
from store_backends import BACKENDS, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.errors import StoreError
from docflow.store import create_store_engine, open_store
from docflow.store.stats import DBSTAT, PAYLOAD, POSTGRES, DatabaseStats, TableStats, database_stats, human

CONTENT = "Báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội. " * 40


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    yield from backend_store(request, tmp_path)


def send_documents(url: str, count: int) -> None:
    """``count`` one-recipient documents between two agencies of Tiền Giang, delivered (01 back)."""
    net = build_network(db=url, clock=ManualClock(), policy="direct")
    try:
        registry = net.ctx.registry
        province = registry.provinces()[0]
        district = registry.districts_of(province)[0]
        for number in range(1, count + 1):
            net.node(province).send(
                recipients=[district],
                subject=f"Công văn {number}",
                code=f"{number}/UBND-VP",
                content=CONTENT[:480],  # the schema's limit; the rest travels as an attachment
                attachments=[("bao-cao.txt", CONTENT.encode(), "text/plain")],
            )
        activity = net.run_until_idle()
        assert activity.intake.received == 2 * count  # each document and its 01 status
    finally:
        net.ctx.store.close()
        net.ctx.transport.close()


def test_every_table_of_the_schema_is_listed_with_its_rows(store):
    empty = database_stats(store.engine)
    assert empty.method == (POSTGRES if store.dialect == "postgresql" else DBSTAT)
    assert {"documents", "outbox", "events"} <= {t.name for t in empty.tables}
    assert all(t.bytes > 0 for t in empty.tables)  # even an empty table owns a page
    assert empty.rows == empty.table("alembic_version").rows == 1

    send_documents(store.engine.url.render_as_string(hide_password=False), 12)
    full = database_stats(store.engine)
    assert full.table("documents").rows >= 12  # a stored copy at each end (or one, once stored once per node)
    assert full.table("events").rows > 12
    assert full.table("documents").bytes > empty.table("documents").bytes
    assert full.table("documents").bytes >= 12 * len(CONTENT.encode()) * 0.5  # compressed text is not expected
    assert full.bytes == sum(t.bytes for t in full.tables) > empty.bytes
    assert full.rows == sum(t.rows for t in full.tables)


def test_a_table_added_outside_the_schema_is_listed_too(store):
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE extra_notes (id INTEGER PRIMARY KEY, note TEXT)")
        conn.exec_driver_sql("CREATE INDEX extra_notes_note ON extra_notes (note)")
        for i in range(50):
            conn.exec_driver_sql(f"INSERT INTO extra_notes VALUES ({i}, '{'x' * 200}')")
    try:
        stats = database_stats(store.engine)
        assert stats.table("extra_notes").rows == 50
        assert stats.table("extra_notes").bytes >= 50 * 200 * 2  # the rows and their index
        assert "extra_notes_note" not in {t.name for t in stats.tables}  # an index counts with its table
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE extra_notes")


def test_sqlite_fallback_estimates_payload_when_dbstat_is_not_used(tmp_path):
    with open_store(str(tmp_path / "fallback.db")) as store:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
            for i in range(10):
                conn.exec_driver_sql(f"INSERT INTO blobs VALUES ({i}, zeroblob(1000))")
        stats = database_stats(store.engine, use_dbstat=False)
    assert stats.method == PAYLOAD
    assert stats.table("blobs") == TableStats("blobs", 10, 10 * 1000 + 10)  # ten bodies, ten one-byte ids
    assert stats.table("documents").bytes == 0
    assert stats.file_bytes is not None and stats.file_bytes > 10_000


def test_lines_give_one_line_per_table_and_a_total():
    stats = DatabaseStats("sqlite:///x.db", DBSTAT, (TableStats("a", 2, 4096), TableStats("b", 3, 8192)), 20480)
    lines = stats.lines()
    assert lines[0] == f"sqlite:///x.db: bytes from {DBSTAT}"
    assert lines[2].split()[:3] == ["a", "2", "4,096"]
    assert lines[3].split()[:3] == ["b", "3", "8,192"]
    assert lines[4].split() == ["total", "5", "12,288", "12.0", "KiB"]
    assert lines[5] == "file on disk (with WAL): 20,480 bytes  20.0 KiB"
    with pytest.raises(KeyError, match="no table 'c'; tables: a, b"):
        stats.table("c")


def test_human_sizes():
    assert [human(n) for n in (0, 1023, 1024, 5 * 1024**2 + 1, 3 * 1024**4)] == [
        "0 B", "1023 B", "1.0 KiB", "5.0 MiB", "3072.0 GiB"
    ]  # fmt: skip


def test_a_driver_failure_is_a_store_error(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"not a database" * 1000)
    engine = create_store_engine(str(path))
    with pytest.raises(StoreError, match=r"cannot read table statistics from sqlite:///.*broken\.db"):
        database_stats(engine)
    engine.dispose()
