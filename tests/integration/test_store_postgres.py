"""PostgreSQL-only behaviour of the store: private schemas, row locks between concurrent writers and relays.

The whole repository suite (tests/unit/test_store.py, test_audit.py) also runs on PostgreSQL; these
tests cover what needs two real concurrent sessions.  They skip when DOCFLOW_TEST_POSTGRES_URL is unset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from store_backends import T0, at, empty_postgres_store, make_schema, pg_store_url  # noqa: F401  (fixture)

from docflow.store import Event, OutboxMessage, Store, head_revision, open_store

NODES = ["000.00.01.H53", "000.00.02.H53", "000.00.03.H53"]


@pytest.fixture
def pg(request):
    opened = empty_postgres_store(request.getfixturevalue("pg_store_url"))
    yield opened
    opened.close()


def run_together(*jobs: Callable[[], object]) -> list[object]:
    """Start every job at the same moment in its own thread; return results (exceptions included)."""
    results: list[object] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def runner(i: int, job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_each_session_works_in_its_own_schema(pg: Store):
    with pg.engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    assert schema.startswith("docflow_test_")


def test_concurrent_migrations_of_a_fresh_schema_both_succeed(postgres_url):
    for url in make_schema(postgres_url):
        stores = [open_store(url, create=False) for _ in range(3)]
        try:
            assert run_together(*(s.upgrade for s in stores)) == [head_revision()] * 3
        finally:
            for s in stores:
                s.close()


def test_writers_on_several_nodes_in_opposite_orders_neither_fork_nor_deadlock(pg: Store):
    def writer(order: list[str]) -> int:
        for i in range(20):
            with pg.unit_of_work() as repo:
                repo.events.append(Event(node, at(i), "status", "D", detail={"i": i}) for node in order)
        return 20

    results = run_together(lambda: writer(NODES), lambda: writer(NODES[::-1]), lambda: writer(NODES[1:]))
    assert results == [20, 20, 20]
    report = pg.verify_audit()
    assert (report.ok, report.events_checked, report.chains_checked) == (True, 160, 3)


def test_two_relays_claim_disjoint_messages(pg: Store):
    with pg.unit_of_work() as repo:
        repo.outbox.enqueue(OutboxMessage(NODES[0], f"m{i}", NODES[1], "edoc", b"x", T0) for i in range(6))
    first = pg.unit_of_work()
    repo1 = first.__enter__()
    try:
        mine = repo1.outbox.claim(NODES[0], limit=3, now=at(1), lease=timedelta(seconds=30))
        with pg.unit_of_work() as repo2:  # the first relay has not committed: its rows are skipped, not waited on
            theirs = repo2.outbox.claim(NODES[0], limit=10, now=at(1), lease=timedelta(seconds=60))
    finally:
        first.__exit__(None, None, None)
    assert [m.message_id for m in mine] == ["m0", "m1", "m2"]
    assert [m.message_id for m in theirs] == ["m3", "m4", "m5"]


def test_the_same_receipt_applied_at_once_is_applied_once(pg: Store):
    def receive() -> bool:
        with pg.unit_of_work() as repo:
            return bool(repo.inbox.remember(NODES[0], ["msg-1"], now=T0))

    assert sorted(run_together(receive, receive, receive, receive)) == [False, False, False, True]
