"""SQLite transactions: a unit of work takes the write lock when it begins, a snapshot never does.

The BEGIN goes straight to the driver (no engine event); the snapshot option set on a ``Connection`` lasts as
long as that connection's checkout, so the pooled connection a snapshot used begins IMMEDIATE for the next writer.
"""

from __future__ import annotations

import sqlite3

import pytest

from docflow.store.uow import open_store


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'begin.db'}")
    yield store
    store.close()


def other_writer(store):
    return sqlite3.connect(store.engine.url.database, isolation_level=None, timeout=0)


def test_a_unit_of_work_holds_the_write_lock_from_its_begin_even_after_a_snapshot_on_the_same_connection(store):
    with store.snapshot() as repo:
        repo.conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    assert store.engine.pool.checkedin() == 1  # the next unit of work reuses that pooled connection
    writer = other_writer(store)
    # nothing executed in the unit of work: its BEGIN IMMEDIATE alone holds the lock
    with store.unit_of_work(), pytest.raises(sqlite3.OperationalError, match="locked"):
        writer.execute("BEGIN IMMEDIATE")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("ROLLBACK")
    writer.close()


def test_a_snapshot_reads_while_another_writer_holds_the_lock(store):
    writer = other_writer(store)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with store.snapshot() as repo:
            assert repo.conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
