"""Shared by the store tests: a migrated ``Store`` on SQLite (a fresh file) or PostgreSQL (a private schema).

PostgreSQL runs need ``DOCFLOW_TEST_POSTGRES_URL`` (the ``postgres_url`` fixture skips otherwise).  Each
test session creates its own ``docflow_test_<random>`` schema, reached through ``search_path`` in the
URL's ``options``, and drops it at the end, so parallel runs do not collide; each test starts from
empty tables.  Test modules import ``pg_store_url`` from here and wrap ``backend_store`` in their own fixture.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from docflow.store import Store, open_store
from docflow.store.dossiers import DOSSIER_TABLES
from docflow.store.engine import create_store_engine
from docflow.store.tables import ALL_TABLES

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456)


def at(seconds: float) -> datetime:
    """A timestamp ``seconds`` after ``T0``."""
    return T0 + timedelta(seconds=seconds)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` on every connection."""
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)


def make_schema(postgres_url: str) -> Iterator[str]:
    """Create a private schema, yield a URL reaching it, drop it afterwards."""
    schema = f"docflow_test_{secrets.token_hex(6)}"
    admin = create_store_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(postgres_url, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(scope="session")
def pg_store_url(postgres_url: str) -> Iterator[str]:
    """A migrated private PostgreSQL schema for this test session."""
    for url in make_schema(postgres_url):
        open_store(url).close()
        yield url


def empty_postgres_store(url: str) -> Store:
    store = open_store(url, create=False)
    names = ", ".join(t.name for t in (*ALL_TABLES, *DOSSIER_TABLES))
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
    return store


BACKENDS = ["sqlite", "postgres"]


def backend_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """A migrated, empty store on ``request.param``; the module must import the ``pg_store_url`` fixture.

    Use it as ``@pytest.fixture(params=BACKENDS) def store(request, tmp_path): yield from backend_store(...)``.
    """
    if request.param == "sqlite":
        opened = open_store(str(tmp_path / "docflow.db"))
    else:
        opened = empty_postgres_store(request.getfixturevalue("pg_store_url"))
    try:
        yield opened
    finally:
        opened.close()
