"""Appending to a chain whose head this process last wrote skips the locking read, and a stale hint is harmless.

The hint is checked by the head's ``UPDATE ... WHERE seq = :seen AND hash = :seen``: a rolled-back append
leaves the hint ahead of the stored head, and the next append must still chain on the stored one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from store_backends import BACKENDS, at, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.store import Event

NODE = "000.00.00.H53"
DOC = "000.00.00.H53,2024/05/06,12/UBND-VP"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A migrated, empty store on SQLite and on PostgreSQL."""
    yield from backend_store(request, tmp_path)


def append(store, i):
    with store.unit_of_work() as repo:
        repo.events.append([Event(NODE, at(i), "status", DOC, detail={"i": i})])


def test_an_append_after_this_process_wrote_the_head_does_not_read_it_again(store):
    append(store, 0)
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    append(store, 1)
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert store.verify_audit().ok


def test_a_rolled_back_append_leaves_a_stale_hint_and_the_next_append_chains_on_the_stored_head(store):
    append(store, 0)
    with pytest.raises(RuntimeError), store.unit_of_work() as repo:
        repo.events.append([Event(NODE, at(1), "status", DOC, detail={"i": 1})])
        raise RuntimeError("the unit of work fails after the append")
    append(store, 2)
    report = store.verify_audit()
    assert (report.ok, report.events_checked) == (True, 2)
    with store.snapshot() as repo:
        assert [(e.seq, e.detail["i"]) for e in repo.events.of_document(DOC)] == [(1, 0), (2, 2)]


OTHER = "000.00.01.H53"


def append_both(store, i, nodes=(NODE, OTHER)):
    with store.unit_of_work() as repo:
        repo.events.append([Event(node, at(i), "status", DOC, detail={"i": i}) for node in nodes])


def test_an_append_to_several_chains_whose_heads_this_process_wrote_reads_none_of_them_on_sqlite(store):
    append_both(store, 0)
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    append_both(store, 1)
    if store.engine.dialect.name == "sqlite":  # PostgreSQL locks several heads with one read, in node order
        assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    report = store.verify_audit()
    assert (report.ok, report.events_checked) == (True, 4)


def test_one_stale_hint_among_several_chains_keeps_the_others_and_chains_that_one_on_its_stored_head(store):
    append_both(store, 0)
    with pytest.raises(RuntimeError), store.unit_of_work() as repo:  # only OTHER's hint runs ahead of its head
        repo.events.append([Event(OTHER, at(1), "status", DOC, detail={"i": 1})])
        raise RuntimeError("the unit of work fails after the append")
    append_both(store, 2)
    append_both(store, 3)
    report = store.verify_audit()
    assert (report.ok, report.events_checked) == (True, 6)
    with store.snapshot() as repo:
        assert [(e.seq, e.detail["i"]) for e in repo.events.of_document(DOC, OTHER)] == [(1, 0), (2, 2), (3, 3)]
        assert [(e.seq, e.detail["i"]) for e in repo.events.of_document(DOC, NODE)] == [(1, 0), (2, 2), (3, 3)]
