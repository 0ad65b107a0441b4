"""The store's repository, unit of work, migrations and engine settings, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from enum import Enum

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from store_backends import BACKENDS, T0, at, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.errors import ConfigError, ConflictError, DuplicateError, StoreError, Violation
from docflow.store import (
    Delivery,
    Document,
    Event,
    Inbound,
    Organisation,
    OutboxMessage,
    QuarantineEntry,
    head_revision,
    open_store,
    resolve_url,
)
from docflow.store.tables import metadata

NODE = "000.00.00.H53"
OTHER = "000.00.01.H53"
DOC = "000.00.00.H53,2024/05/06,12/UBND-VP"


class Phase(Enum):
    QUEUED = "queued"
    SENT = "sent"
    ARRIVED = "arrived"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A migrated, empty store on SQLite and on PostgreSQL."""
    yield from backend_store(request, tmp_path)


def document(**over):
    fields = dict(node=NODE, document_id=DOC, sender=NODE, envelope=b"<edXML>\xe1\xbb\x9d</edXML>\n", created_at=T0)
    fields.update(over)
    return Document(**fields)


def delivery(recipient, **over):
    fields = dict(node=NODE, document_id=DOC, recipient=recipient, state="queued", updated_at=T0)
    fields.update(over)
    return Delivery(**fields)


def message(message_id, **over):
    fields = dict(node=NODE, message_id=message_id, recipient=OTHER, kind="edoc", body=b"<x/>", created_at=T0)
    fields.update(over)
    return OutboxMessage(**fields)


# -- migrations and engine ----------------------------------------------------------------------------


def test_migrations_create_exactly_the_tables_of_tables_py(store):
    with store.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        assert {t.name for t in metadata.sorted_tables} | {"alembic_version"} == names
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert store.current_revision() == head_revision()


def test_upgrade_twice_is_a_no_op_and_keeps_rows(store):
    with store.unit_of_work() as repo:
        repo.add_document(document())
    assert store.upgrade() == head_revision()
    assert store.upgrade() == head_revision()
    with store.snapshot() as repo:
        assert repo.count_documents() == 1


def test_sqlite_connections_use_wal_normal_sync_foreign_keys_and_busy_timeout(tmp_path):
    with open_store(str(tmp_path / "p.db")) as opened, opened.engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() >= 1000


def test_resolve_url_defaults_env_bare_paths_and_postgres_driver(monkeypatch):
    monkeypatch.delenv("DOCFLOW_DB", raising=False)
    assert str(resolve_url()) == "sqlite:///docflow.db"
    monkeypatch.setenv("DOCFLOW_DB", "sqlite:///elsewhere.db")
    assert str(resolve_url()) == "sqlite:///elsewhere.db"
    assert str(resolve_url("data/node.db")) == "sqlite:///data/node.db"
    assert resolve_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert resolve_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="mysql"):
        resolve_url("mysql://u@h/db")


def test_importing_the_store_opens_nothing(tmp_path):
    code = (
        "import os, sys, docflow.store, docflow.store.uow;"
        "assert 'alembic' not in sys.modules, 'alembic imported';"
        "assert os.listdir('.') == [], os.listdir('.')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_open_store_without_create_leaves_the_schema_alone(tmp_path):
    with open_store(str(tmp_path / "bare.db"), create=False) as bare:
        assert bare.current_revision() is None
        with pytest.raises(StoreError), bare.unit_of_work() as repo:
            repo.count_documents()


# -- organisations and documents -------------------------------------------------------------------


def test_organisations_upsert_and_get(store):
    with store.unit_of_work() as repo:
        assert repo.upsert_organisations([Organisation(NODE, name="UBND tỉnh Thừa Thiên Huế", tier=0)]) == 1
        repo.upsert_organisations([Organisation(NODE, name="UBND thành phố Huế", kind="province", email="a@b.vn")])
    with store.snapshot() as repo:
        found = repo.get_organisation(NODE)
        assert found == Organisation(NODE, name="UBND thành phố Huế", kind="province", email="a@b.vn")
        assert repo.get_organisation(OTHER) is None


def test_document_round_trip_keeps_exact_bytes_and_hash(store):
    import hashlib

    with store.unit_of_work() as repo:
        row_id = repo.add_document(document(subject="Về việc triển khai", business_type=0))
    with store.snapshot() as repo:
        found = repo.get_document(NODE, DOC)
        assert found is not None and found.id == row_id
        assert found.envelope == b"<edXML>\xe1\xbb\x9d</edXML>\n"
        assert found.sha256 == hashlib.sha256(found.envelope).hexdigest()
        assert (found.subject, found.created_at) == ("Về việc triển khai", T0)
        assert repo.get_document(NODE, DOC, business_type=1) is None


def test_duplicate_document_raises_and_the_unit_of_work_rolls_back(store):
    with store.unit_of_work() as repo:
        repo.add_document(document())
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.add_deliveries([delivery(OTHER)])
        repo.add_document(document())
    with store.snapshot() as repo:
        assert repo.count_deliveries() == 0
        assert repo.count_documents() == 1
    with store.unit_of_work() as repo:  # same id for another business type or node is a different document
        repo.add_document(document(business_type=1))
        repo.add_document(document(node=OTHER))


# -- deliveries --------------------------------------------------------------------------------------


def test_deliveries_batch_get_list_and_counts(store):
    recipients = [f"000.00.{i:02d}.H53" for i in range(5, 0, -1)]
    with store.unit_of_work() as repo:
        assert repo.add_deliveries(delivery(r, route="H53>W") for r in recipients) == 5
        assert repo.add_deliveries([]) == 0
    with store.snapshot() as repo:
        listed = repo.deliveries_for(NODE, DOC)
        assert [d.recipient for d in listed] == sorted(recipients)
        one = repo.get_delivery(NODE, DOC, recipients[0])
        assert one is not None and (one.state, one.attempts, one.route) == ("queued", 0, "H53>W")
        assert repo.get_delivery(NODE, DOC, "999.99.99.H53") is None
        assert repo.count_deliveries(NODE) == 5 and repo.count_deliveries(NODE, "queued") == 5
        assert repo.delivery_states(NODE) == {"queued": 5}


def test_delivery_state_moves_only_from_the_expected_state(store):
    with store.unit_of_work() as repo:
        repo.add_deliveries([delivery(OTHER, state=Phase.QUEUED)])
        repo.set_delivery_state(
            NODE, DOC, OTHER, old=Phase.QUEUED, new=Phase.SENT, now=at(5), next_attempt_at=at(60), count_attempt=True
        )
    with store.snapshot() as repo:
        moved = repo.get_delivery(NODE, DOC, OTHER)
        assert (moved.state, moved.attempts, moved.updated_at, moved.next_attempt_at) == ("sent", 1, at(5), at(60))
    with pytest.raises(ConflictError, match="expected state 'queued', it is 'sent'"), store.unit_of_work() as repo:
        repo.set_delivery_state(NODE, DOC, OTHER, old="queued", new="sent", now=at(6))
    with pytest.raises(ConflictError, match="no such delivery"), store.unit_of_work() as repo:
        repo.set_delivery_state(NODE, DOC, NODE, old="queued", new="sent", now=at(6))


def test_due_deliveries_are_those_whose_time_has_come(store):
    with store.unit_of_work() as repo:
        repo.add_deliveries(
            [
                delivery("000.00.01.H53", next_attempt_at=at(30)),
                delivery("000.00.02.H53", next_attempt_at=at(10)),
                delivery("000.00.03.H53", next_attempt_at=at(99)),
                delivery("000.00.04.H53"),
            ]
        )
    with store.snapshot() as repo:
        due = repo.due_deliveries(NODE, at(30))
        assert [d.recipient for d in due] == ["000.00.02.H53", "000.00.01.H53"]
        assert len(repo.due_deliveries(NODE, at(30), limit=1)) == 1


# -- inbound -----------------------------------------------------------------------------------------


def test_inbound_add_move_conflict_and_duplicate(store):
    with store.unit_of_work() as repo:
        repo.add_inbound(Inbound(OTHER, DOC, NODE, Phase.ARRIVED, T0))
        repo.set_inbound_state(OTHER, DOC, old="arrived", new="accepted", now=at(1))
    with store.snapshot() as repo:
        found = repo.get_inbound(OTHER, DOC)
        assert (found.state, found.updated_at, found.sender) == ("accepted", at(1), NODE)
        assert repo.count_inbound(OTHER, "accepted") == 1
    with pytest.raises(ConflictError, match="it is 'accepted'"), store.unit_of_work() as repo:
        repo.set_inbound_state(OTHER, DOC, old="arrived", new="accepted", now=at(2))
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.add_inbound(Inbound(OTHER, DOC, NODE, "arrived", T0))


# -- events ------------------------------------------------------------------------------------------


def test_events_are_numbered_per_node_and_read_back_in_order(store):
    with store.unit_of_work() as repo:
        repo.append_events(
            [
                Event(NODE, at(0), "sent", DOC, OTHER, "queued", {"route": ["H53", "W"], "note": "gửi"}),
                Event(OTHER, at(1), "received", DOC, status="01"),
            ]
        )
    with store.unit_of_work() as repo:
        assert repo.append_events([Event(NODE, at(2), "status", DOC, OTHER, "01")]) == 1
    with store.snapshot() as repo:
        mine = repo.events_for(DOC, NODE)
        assert [(e.seq, e.kind) for e in mine] == [(1, "sent"), (2, "status")]
        assert mine[0].detail == {"route": ["H53", "W"], "note": "gửi"}
        assert mine[1].prev_hash == mine[0].hash and len(mine[0].hash) == 64
        assert [e.node for e in repo.events_for(DOC)] == [NODE, OTHER, NODE]
        assert repo.count_events() == 3 and repo.count_events(OTHER) == 1


def test_event_detail_must_be_json(store):
    with pytest.raises(StoreError, match="not JSON"), store.unit_of_work() as repo:
        repo.append_events([Event(NODE, T0, "sent", detail={"x": object()})])


def test_events_cannot_be_updated_or_deleted(store):
    with store.unit_of_work() as repo:
        repo.append_events([Event(NODE, T0, "sent", DOC)])
    for sql in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    with store.snapshot() as repo:
        assert [e.kind for e in repo.events_for(DOC)] == ["sent"]


# -- outbox ------------------------------------------------------------------------------------------


def test_claim_outbox_in_queue_order_with_lease_then_mark_sent(store):
    with store.unit_of_work() as repo:
        repo.enqueue([message(f"m{i}") for i in range(5)])
        repo.enqueue([message("later", next_attempt_at=at(100)), message("theirs", node=OTHER)])
    with store.unit_of_work() as repo:
        first = repo.claim_outbox(NODE, limit=3, now=at(1), lease=timedelta(seconds=30))
        assert [m.message_id for m in first] == ["m0", "m1", "m2"]
        assert all(m.attempts == 1 and m.next_attempt_at == at(31) for m in first)
        assert first[0].body == b"<x/>" and first[0].kind == "edoc"
    with store.unit_of_work() as repo:
        rest = repo.claim_outbox(NODE, limit=10, now=at(2))
        assert [m.message_id for m in rest] == ["m3", "m4"]  # leased ones and the not-yet-due one wait
        assert repo.mark_sent([m.id for m in first], at(3)) == 3
        assert repo.mark_sent([first[0].id], at(4)) == 0
    with store.unit_of_work() as repo:
        again = repo.claim_outbox(NODE, limit=10, now=at(200))
        assert [m.message_id for m in again] == ["m3", "m4", "later"]
        assert [m.attempts for m in again] == [2, 2, 1]
        assert repo.retry_later([again[0].id], at(500)) == 1
        assert repo.count_outbox(NODE, unsent_only=True) == 3 and repo.count_outbox() == 7
    with store.unit_of_work() as repo:
        assert [m.message_id for m in repo.claim_outbox(NODE, limit=10, now=at(400))] == ["m4", "later"]
        assert repo.claim_outbox(NODE, limit=10, now=at(401)) == []


def test_enqueue_refuses_a_message_id_twice(store):
    with store.unit_of_work() as repo:
        repo.enqueue([message("m1")])
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.enqueue([message("m1", node=OTHER)])


# -- inbox and quarantine ----------------------------------------------------------------------------


def test_remember_receipt_is_idempotent_per_node(store):
    with store.unit_of_work() as repo:
        assert repo.remember_receipt(NODE, "k1", now=T0, result="01") is True
        assert repo.remember_receipt(NODE, "k1", now=at(5), result="other") is False
        assert repo.remember_receipt(OTHER, "k1", now=T0) is True
    with store.unit_of_work() as repo:
        assert repo.remember_receipt(NODE, "k1", now=at(9)) is False
        found = repo.receipt(NODE, "k1")
        assert (found.result, found.received_at) == ("01", T0)
        assert repo.receipt(NODE, "k2") is None


def test_quarantine_round_trip(store):
    problems = (Violation("missing Subject", line=3, path="/edXML/edXMLEnvelope", rule="required", file="a.edxml"),)
    with store.unit_of_work() as repo:
        first = repo.quarantine(QuarantineEntry(NODE, T0, "invalid envelope", b"\x00<bad", "fs:inbox/a", problems))
        repo.quarantine(QuarantineEntry(OTHER, at(1), "unsafe XML", b"<!DOCTYPE x>"))
    with store.snapshot() as repo:
        mine = repo.list_quarantine(NODE)
        assert mine == [QuarantineEntry(NODE, T0, "invalid envelope", b"\x00<bad", "fs:inbox/a", problems, first)]
        assert [q.reason for q in repo.list_quarantine()] == ["invalid envelope", "unsafe XML"]
        assert repo.count_quarantine() == 2 and repo.count_quarantine(OTHER) == 1


# -- unit of work ------------------------------------------------------------------------------------


def test_unit_of_work_commits_or_rolls_back_as_a_whole(store):
    with pytest.raises(RuntimeError), store.unit_of_work() as repo:
        repo.add_document(document())
        repo.add_deliveries([delivery(OTHER)])
        repo.enqueue([message("m1")])
        repo.append_events([Event(NODE, T0, "sent", DOC)])
        raise RuntimeError("transport refused")
    with store.snapshot() as repo:
        counts = (repo.count_documents(), repo.count_deliveries(), repo.count_outbox(), repo.count_events())
        assert counts == (0, 0, 0, 0)
    with store.unit_of_work() as repo:
        repo.append_events([Event(NODE, T0, "sent", DOC)])
    assert store.verify_audit().ok


def test_savepoint_undoes_one_hop_of_a_batch(store):
    with store.unit_of_work() as repo:
        for i, doc_id in enumerate(["D1", "D2", "D1", "D3"]):
            try:
                with repo.savepoint():
                    repo.add_document(document(document_id=doc_id))
                    repo.append_events([Event(NODE, at(i), "stored", doc_id)])
            except DuplicateError:
                pass
    with store.snapshot() as repo:
        assert repo.count_documents() == 3 and repo.count_events() == 3
    report = store.verify_audit()
    assert report.ok and report.events_checked == 3


def test_a_snapshot_neither_blocks_writers_nor_sees_their_later_commits(store):
    with store.unit_of_work() as repo:
        repo.add_document(document(document_id="D1"))
    with store.snapshot() as reader:
        assert reader.count_documents() == 1
        with store.unit_of_work() as writer:
            writer.add_document(document(document_id="D2"))
        assert reader.count_documents() == 1
    with store.snapshot() as reader:
        assert reader.count_documents() == 2


def test_other_integrity_failures_are_store_errors_not_duplicates(store):
    with pytest.raises(StoreError) as caught, store.unit_of_work() as repo:
        repo.add_document(document(subject=None))
    assert not isinstance(caught.value, DuplicateError)
    assert caught.value.__cause__ is not None


def test_amendment_records_and_moves_with_an_optimistic_check(tmp_path):
    from datetime import datetime

    from docflow.errors import ConflictError
    from docflow.store import Amendment, open_store

    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    at = datetime(2017, 10, 2, 8, 0, 0)
    with store.unit_of_work() as repo:
        repo.add_amendment(Amendment("000.00.00.H58", "D1", "000.00.52.H58", 1, "requested", at, reason="sai sót"))
    with store.unit_of_work() as repo:
        repo.set_amendment_state("000.00.00.H58", "D1", "000.00.52.H58", 1, old="requested", new="agreed", now=at)
    with store.snapshot() as repo:
        found = repo.get_amendment("000.00.00.H58", "D1", "000.00.52.H58", 1)
        assert found is not None and found.state == "agreed" and found.reason == "sai sót"
        assert [a.recipient for a in repo.amendments_for("000.00.00.H58", "D1")] == ["000.00.52.H58"]
    with pytest.raises(ConflictError), store.unit_of_work() as repo:
        repo.set_amendment_state("000.00.00.H58", "D1", "000.00.52.H58", 1, old="requested", new="refused", now=at)


def test_outbox_headers_round_trip(tmp_path):
    from datetime import datetime

    from docflow.store import OutboxMessage, open_store

    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    at = datetime(2017, 10, 2, 8, 0, 0)
    headers = {"origin": "000.00.00.H58", "destination": "000.21.52.H58", "route": "hub:x;y"}
    with store.unit_of_work() as repo:
        repo.enqueue([OutboxMessage("N", "m1", "R", "edoc", b"<x/>", at, headers=headers)])
    with store.unit_of_work() as repo:
        (claimed,) = repo.claim_outbox("N", limit=10, now=at)
    assert dict(claimed.headers) == headers
