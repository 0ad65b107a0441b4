"""Prepared statements on SQLite's own cursor give exactly what SQLAlchemy gives, and fall back where they cannot.

The same repository calls run twice, once on the driver path and once with every driver form refused (so
SQLAlchemy executes each statement); what they return and every table they leave must be identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, bindparam, select, text

from docflow.errors import ConflictError, DuplicateError, StoreError
from docflow.store import Store, open_store
from docflow.store.records import Amendment, Delivery, Document, Event, Inbound, OutboxMessage
from docflow.store.repos.base import TableRepo
from docflow.store.repos.prepared import DriverResult, Prepared
from docflow.store.tables import ALL_TABLES, documents, outbox

T0 = datetime(2017, 10, 2, 8, 0, 0, 123456)


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCFLOW_AUDIT_KEYS", str(tmp_path / "keys"))


def _store(folder: Path, name: str) -> Iterator[Store]:
    store = open_store(f"sqlite:///{folder / name}")
    try:
        yield store
    finally:
        store.close()


class _Counting:
    """Counts the statements run on the driver path (``Prepared.form`` wrapped)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, refuse: bool) -> None:
        self.driver = 0
        original = Prepared.form

        def form(prepared: Prepared, dialect: Any, keys: tuple[str, ...]) -> Any:
            if refuse:
                return None
            found = original(prepared, dialect, keys)
            self.driver += found is not None
            return found

        monkeypatch.setattr(Prepared, "form", form)


def _workload(store: Store) -> list[Any]:
    """Every hot repository call, with what each returned (rows as records, so both paths compare equal)."""
    seen: list[Any] = []
    with store.unit_of_work() as repo:
        row = repo.documents.add(Document("A", "doc-1", "A", b"<x>\x00\xff</x>", T0, 0, "Báo cáo số 1"))
        seen.append(row)
        seen.append(repo.documents.get("A", "doc-1"))
        seen.append(repo.documents.get("A", "missing"))
        seen.append(repo.deliveries.add([Delivery("A", "doc-1", r, "pending", T0, route="A>B") for r in ("B", "C")]))
        repo.deliveries.move("A", "doc-1", "B", old="pending", new="sent", now=T0 + timedelta(seconds=1))
        seen.append(
            repo.deliveries.advance([("A", "doc-1", "B"), ("A", "doc-1", "C")], old="pending", new="sent", now=T0)
        )
        seen.append(repo.deliveries.get("A", "doc-1", "B"))
        seen.append(repo.deliveries.for_document("A", "doc-1"))
        seen.append(repo.inbound.add(Inbound("B", "doc-1", "A", "arrived", T0)))
        repo.inbound.move("B", "doc-1", old="arrived", new="accepted", now=T0 + timedelta(minutes=1))
        seen.append(repo.inbound.get("B", "doc-1", 0))
        seen.append(repo.amendments.add(Amendment("A", "doc-1", "B", 1, "requested", T0, "doc-2", "sai sót")))
        seen.append(repo.amendments.get("A", "doc-1", "B", 1))
        seen.append(repo.amendments.for_document("A", "doc-1"))
        seen.append(sorted(repo.inbox.remember("B", ["k1", "k2", "k1", "x" * 400], now=T0)))
        seen.append(sorted(repo.inbox.remember("B", ["k2", "k3"], now=T0)))
        repo.inbox.forget("B", "k3")
        seen.append([repo.inbox.seen("B", k) for k in ("k1", "k3", "x" * 400)])
        queued = [
            OutboxMessage("A", f"m-{i}", "B", "edoc", b"body", T0, headers={"kind": "edoc", "n": str(i)})
            for i in range(3)
        ]
        seen.append(repo.outbox.enqueue(queued))
        seen.append(repo.outbox.enqueue([OutboxMessage("A", "m-doc", "C", "edoc", b"", T0, document_row=row)]))
        seen.append(repo.outbox.nodes_due(T0))
        seen.append(repo.outbox.claim("A", limit=2, now=T0))
        seen.append(repo.outbox.sent(["m-0"], T0))
        seen.append(repo.outbox.give_up("m-1", T0, attempts=3))
        seen.append(repo.outbox.next_due())
        seen.append(repo.events.append([Event("A", T0, "sent", "doc-1", "B", "sent", {"n": 1})]))
        seen.append(repo.events.append([Event("A", T0, "sent", "doc-1", "C", "sent", {"n": 2})]))
        seen.append(repo.events.of_document("doc-1"))
    return seen


def _tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.snapshot() as repo:
        return {t.name: [tuple(r) for r in repo.conn.execute(select(t).order_by(*t.primary_key))] for t in ALL_TABLES}


def test_the_driver_path_returns_and_stores_exactly_what_sqlalchemy_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        counting = _Counting(patch, refuse=False)
        for store in _store(tmp_path, "driver.db"):
            driver_seen, driver_tables = _workload(store), _tables(store)
    with monkeypatch.context() as patch:
        _Counting(patch, refuse=True)
        for store in _store(tmp_path, "sqlalchemy.db"):
            sqlalchemy_seen, sqlalchemy_tables = _workload(store), _tables(store)
    assert counting.driver >= 25  # the workload did run on the driver path
    assert driver_seen == sqlalchemy_seen
    assert driver_tables == sqlalchemy_tables
    # what the comparison covers: datetimes with microseconds, bytes with NUL, defaults filled in
    (document,) = driver_tables["documents"]
    assert datetime(2017, 10, 2, 8, 0, 0, 123456) in document and b"<x>\x00\xff</x>" in document
    attempts = list(outbox.c.keys()).index("attempts")
    by_message = {row[2]: row[attempts] for row in driver_tables["outbox"]}
    assert by_message == {"m-1": 3, "m-2": 0, "m-doc": 0}  # given by give_up; the column's default


def test_a_duplicate_on_the_driver_path_is_a_duplicate_error_and_a_broken_one_a_store_error(tmp_path: Path) -> None:
    for store in _store(tmp_path, "dup.db"):
        with store.unit_of_work() as repo:
            repo.documents.add(Document("A", "doc-1", "A", b"<x/>", T0))
        with pytest.raises(DuplicateError, match="document doc-1 at A: already stored"), store.unit_of_work() as repo:
            repo.documents.add(Document("A", "doc-1", "A", b"<y/>", T0))
        with pytest.raises(StoreError, match="NOT NULL"), store.unit_of_work() as repo:
            repo.documents.add(Document("A", "doc-2", "A", b"<y/>", T0, subject=None))  # type: ignore[arg-type]
        with (
            pytest.raises(ConflictError, match="expected state 'pending', no such delivery"),
            store.unit_of_work() as repo,
        ):
            repo.deliveries.move("A", "doc-9", "B", old="pending", new="sent", now=T0)
        with store.snapshot() as repo:
            assert repo.documents.get("A", "doc-1").envelope == b"<x/>"  # type: ignore[union-attr]
            assert repo.documents.get("A", "doc-2") is None


def test_what_the_driver_cannot_reproduce_is_left_to_sqlalchemy(tmp_path: Path) -> None:
    for store in _store(tmp_path, "fallback.db"):
        with store.unit_of_work() as repo:
            dialect = repo.conn.dialect
            expanding = Prepared(select(outbox.c.id).where(outbox.c.message_id.in_(bindparam("ids", expanding=True))))
            assert expanding.form(dialect, ("ids",)) is None
            result = TableRepo(repo.conn).run(expanding, {"ids": ["a", "b"]}, what="expanding")
            assert not isinstance(result, DriverResult) and result.all() == []
            every = Prepared(select(documents.c.id))
            for nothing in (None, {}):  # one execution, as SQLAlchemy does with no parameters
                assert TableRepo(repo.conn).run(every, nothing, what="all").all() == []
                assert repo.conn.execute(every.statement, nothing).all() == []
            missing = Prepared(select(documents.c.id).where(documents.c.node == bindparam("k_node")))
            assert missing.form(dialect, ()) is None  # a required parameter not given
            with pytest.raises(StoreError, match="k_node"):
                TableRepo(repo.conn).run(missing, {}, what="missing parameter")


def test_a_prepared_statement_keeps_few_forms(tmp_path: Path) -> None:
    for store in _store(tmp_path, "forms.db"):
        with store.unit_of_work() as repo:
            stmt = Prepared(documents.insert())
            optional = ("business_type", "subject", "created_at", "sha256", "envelope", "sender")
            for mask in range(40):
                keys = ("node", "document_id", *(c for i, c in enumerate(optional) if mask >> i & 1))
                form = stmt.form(repo.conn.dialect, keys)
                assert form is not None and form.sql.startswith("INSERT INTO documents (node, document_id")
            assert len(stmt._forms) == 16  # the first sixteen are kept, the others compiled each time


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subject=st.text(max_size=60),
    at=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    envelope=st.binary(min_size=1, max_size=300),
)
def test_any_text_bytes_and_time_read_back_as_written_on_the_driver_path(
    tmp_path_factory: pytest.TempPathFactory, subject: str, at: datetime, envelope: bytes
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    for store in _store(folder, "p.db"):
        with store.unit_of_work() as repo:
            repo.documents.add(Document("A", "doc", "A", envelope, at, 0, subject.replace("\x00", "")))
        with store.snapshot() as repo:
            found = repo.documents.get("A", "doc")
            via_sqlalchemy = repo.conn.execute(text("SELECT created_at, subject FROM documents")).one()
            dialect = repo.conn.dialect
            sqlalchemy_text = DateTime().dialect_impl(dialect).bind_processor(dialect)(at)  # type: ignore[misc]
        assert via_sqlalchemy[0] == sqlalchemy_text  # the very text SQLAlchemy itself would have written
        assert found is not None
        assert (found.created_at, found.subject, found.envelope) == (at, subject.replace("\x00", ""), envelope)
        assert via_sqlalchemy[1] == found.subject
