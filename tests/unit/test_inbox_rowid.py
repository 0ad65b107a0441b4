"""Migration 0005: on SQLite the inbox is a WITHOUT ROWID table; the keys a node had applied survive the
upgrade and the downgrade, and a duplicate is still refused after either."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from docflow.store import open_store
from docflow.store.migrate import _config

T0 = datetime(2017, 10, 2, 8, 0, 0)
NODE = "000.00.50.H58"


def table_sql(store) -> str:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'inbox'")).scalar()


def test_the_inbox_keeps_its_keys_through_the_migration_and_back(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'node.db'}", create=False) as store:
        store.upgrade("0004")
        assert "WITHOUT ROWID" not in table_sql(store)
        with store.unit_of_work() as repo:
            assert repo.inbox.remember(NODE, ["a", "b"], now=T0) == {"a", "b"}
        assert store.upgrade() == "0005"
        assert "WITHOUT ROWID" in table_sql(store)
        with store.unit_of_work() as repo:
            assert repo.inbox.remember(NODE, ["a", "c"], now=T0) == {"c"}  # "a" was kept: still a duplicate
            assert repo.inbox.seen(NODE, "b")
        with store.engine.begin() as conn:
            command.downgrade(_config(conn), "0004")
        assert "WITHOUT ROWID" not in table_sql(store)
        with store.unit_of_work() as repo:
            assert repo.inbox.remember(NODE, ["a", "b", "c", "d"], now=T0) == {"d"}
