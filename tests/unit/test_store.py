"""The store's repository, unit of work, migrations and engine settings, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from enum import Enum

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
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
from docflow.store.tables import inbox, metadata, outbox

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
        repo.documents.add(document())
    assert store.upgrade() == head_revision()
    assert store.upgrade() == head_revision()
    with store.snapshot() as repo:
        assert repo.count("documents") == 1


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
            repo.count("documents")


# -- organisations and documents -------------------------------------------------------------------


def test_organisations_upsert_and_get(store):
    with store.unit_of_work() as repo:
        assert repo.organisations.upsert([Organisation(NODE, name="UBND tỉnh Thừa Thiên Huế", tier=0)]) == 1
        repo.organisations.upsert([Organisation(NODE, name="UBND thành phố Huế", kind="province", email="a@b.vn")])
    with store.snapshot() as repo:
        found = repo.organisations.get(NODE)
        assert found == Organisation(NODE, name="UBND thành phố Huế", kind="province", email="a@b.vn")
        assert repo.organisations.get(OTHER) is None


def test_document_round_trip_keeps_exact_bytes_and_hash(store):
    import hashlib

    with store.unit_of_work() as repo:
        row_id = repo.documents.add(document(subject="Về việc triển khai", business_type=0))
    with store.snapshot() as repo:
        found = repo.documents.get(NODE, DOC)
        assert found is not None and found.id == row_id
        assert found.envelope == b"<edXML>\xe1\xbb\x9d</edXML>\n"
        assert found.sha256 == hashlib.sha256(found.envelope).hexdigest()
        assert (found.subject, found.created_at) == ("Về việc triển khai", T0)
        assert repo.documents.get(NODE, DOC, business_type=1) is None


def test_duplicate_document_raises_and_the_unit_of_work_rolls_back(store):
    with store.unit_of_work() as repo:
        repo.documents.add(document())
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.deliveries.add([delivery(OTHER)])
        repo.documents.add(document())
    with store.snapshot() as repo:
        assert repo.count("deliveries") == 0
        assert repo.count("documents") == 1
    with store.unit_of_work() as repo:  # same id for another business type or node is a different document
        repo.documents.add(document(business_type=1))
        repo.documents.add(document(node=OTHER))


# -- deliveries --------------------------------------------------------------------------------------


def test_deliveries_batch_get_list_and_counts(store):
    recipients = [f"000.00.{i:02d}.H53" for i in range(5, 0, -1)]
    with store.unit_of_work() as repo:
        assert repo.deliveries.add(delivery(r, route="H53>W") for r in recipients) == 5
        assert repo.deliveries.add([]) == 0
    with store.snapshot() as repo:
        listed = repo.deliveries.for_document(NODE, DOC)
        assert [d.recipient for d in listed] == sorted(recipients)
        one = repo.deliveries.get(NODE, DOC, recipients[0])
        assert one is not None and (one.state, one.attempts, one.route) == ("queued", 0, "H53>W")
        assert repo.deliveries.get(NODE, DOC, "999.99.99.H53") is None
        assert repo.count("deliveries", node=NODE) == 5 and repo.count("deliveries", node=NODE, state="queued") == 5
        assert repo.count("deliveries", node=NODE, state=Phase.QUEUED) == 5
    with pytest.raises(StoreError, match="no table 'nope'"), store.snapshot() as repo:
        repo.count("nope")


def test_delivery_state_moves_only_from_the_expected_state(store):
    with store.unit_of_work() as repo:
        repo.deliveries.add([delivery(OTHER, state=Phase.QUEUED)])
        repo.deliveries.move(
            NODE, DOC, OTHER, old=Phase.QUEUED, new=Phase.SENT, now=at(5), next_attempt_at=at(60), count_attempt=True
        )
    with store.snapshot() as repo:
        moved = repo.deliveries.get(NODE, DOC, OTHER)
        assert (moved.state, moved.attempts, moved.updated_at, moved.next_attempt_at) == ("sent", 1, at(5), at(60))
    with pytest.raises(ConflictError, match="expected state 'queued', it is 'sent'"), store.unit_of_work() as repo:
        repo.deliveries.move(NODE, DOC, OTHER, old="queued", new="sent", now=at(6))
    with pytest.raises(ConflictError, match="no such delivery"), store.unit_of_work() as repo:
        repo.deliveries.move(NODE, DOC, NODE, old="queued", new="sent", now=at(6))


def test_advance_moves_only_rows_in_the_old_state(store):
    with store.unit_of_work() as repo:
        repo.deliveries.add([delivery("000.00.01.H53"), delivery("000.00.02.H53", state=Phase.ARRIVED)])
        keys = [(NODE, DOC, "000.00.01.H53"), (NODE, DOC, "000.00.02.H53")]
        assert repo.deliveries.advance(keys, old=Phase.QUEUED, new=Phase.SENT, now=at(1)) == 1
        assert repo.deliveries.advance([], old=Phase.QUEUED, new=Phase.SENT, now=at(1)) == 0
    with store.snapshot() as repo:
        assert [d.state for d in repo.deliveries.for_document(NODE, DOC)] == ["sent", "arrived"]


# -- inbound -----------------------------------------------------------------------------------------


def test_inbound_add_move_conflict_and_duplicate(store):
    with store.unit_of_work() as repo:
        repo.inbound.add(Inbound(OTHER, DOC, NODE, Phase.ARRIVED, T0))
        repo.inbound.move(OTHER, DOC, old="arrived", new="accepted", now=at(1))
    with store.snapshot() as repo:
        found = repo.inbound.get(OTHER, DOC)
        assert (found.state, found.updated_at, found.sender) == ("accepted", at(1), NODE)
        assert repo.count("inbound", node=OTHER, state="accepted") == 1
    with pytest.raises(ConflictError, match="it is 'accepted'"), store.unit_of_work() as repo:
        repo.inbound.move(OTHER, DOC, old="arrived", new="accepted", now=at(2))
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.inbound.add(Inbound(OTHER, DOC, NODE, "arrived", T0))


# -- events ------------------------------------------------------------------------------------------


def test_events_are_numbered_per_node_and_read_back_in_order(store):
    with store.unit_of_work() as repo:
        repo.events.append(
            [
                Event(NODE, at(0), "sent", DOC, OTHER, "queued", {"route": ["H53", "W"], "note": "gửi"}),
                Event(OTHER, at(1), "received", DOC, status="01"),
            ]
        )
    with store.unit_of_work() as repo:
        assert repo.events.append([Event(NODE, at(2), "status", DOC, OTHER, "01")]) == 1
    with store.snapshot() as repo:
        mine = repo.events.of_document(DOC, NODE)
        assert [(e.seq, e.kind) for e in mine] == [(1, "sent"), (2, "status")]
        assert mine[0].detail == {"route": ["H53", "W"], "note": "gửi"}
        assert mine[1].prev_hash == mine[0].hash and len(mine[0].hash) == 64
        assert [e.node for e in repo.events.of_document(DOC)] == [NODE, OTHER, NODE]
        assert repo.count("events") == 3 and repo.count("events", node=OTHER) == 1


def test_event_detail_must_be_json(store):
    with pytest.raises(StoreError, match="not JSON"), store.unit_of_work() as repo:
        repo.events.append([Event(NODE, T0, "sent", detail={"x": object()})])


def test_events_cannot_be_updated_or_deleted(store):
    with store.unit_of_work() as repo:
        repo.events.append([Event(NODE, T0, "sent", DOC)])
    for sql in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    with store.snapshot() as repo:
        assert [e.kind for e in repo.events.of_document(DOC)] == ["sent"]


# -- outbox ------------------------------------------------------------------------------------------


def test_claim_outbox_in_queue_order_with_lease_then_sent_rows_are_gone(store):
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message(f"m{i}") for i in range(5)])
        repo.outbox.enqueue([message("later", next_attempt_at=at(100)), message("theirs", node=OTHER)])
    with store.unit_of_work() as repo:
        first = repo.outbox.claim(NODE, limit=3, now=at(1), lease=timedelta(seconds=30))
        assert [m.message_id for m in first] == ["m0", "m1", "m2"]
        assert all(m.attempts == 1 and m.next_attempt_at == at(31) for m in first)
        assert first[0].body == b"<x/>" and first[0].kind == "edoc"
    with store.unit_of_work() as repo:
        rest = repo.outbox.claim(NODE, limit=10, now=at(2), lease=timedelta(seconds=60))
        assert [m.message_id for m in rest] == ["m3", "m4"]  # leased ones and the not-yet-due one wait
        assert repo.outbox.sent([m.message_id for m in first], at(3)) == 3
        assert repo.outbox.sent([first[0].message_id], at(4)) == 0
        assert repo.outbox.sent([], at(4)) == 0
    with store.unit_of_work() as repo:
        again = repo.outbox.claim(NODE, limit=10, now=at(200), lease=timedelta(seconds=60))
        assert [m.message_id for m in again] == ["m3", "m4", "later"]
        assert [m.attempts for m in again] == [2, 2, 1]
        assert repo.outbox.retry([again[0].message_id], at(500), attempts=2) == 1
        assert repo.count("outbox", node=NODE) == 3 and repo.count("outbox") == 4
        assert repo.outbox.nodes_due(at(200)) == [OTHER]
        assert repo.outbox.next_due() == at(260)
    with store.unit_of_work() as repo:
        claimed = repo.outbox.claim(NODE, limit=10, now=at(400), lease=timedelta(seconds=60))
        assert [m.message_id for m in claimed] == ["m4", "later"]
        assert repo.outbox.claim(NODE, limit=10, now=at(401), lease=timedelta(seconds=60)) == []


def test_a_document_row_is_sent_without_copying_its_bytes(store):
    with store.unit_of_work() as repo:
        row = repo.documents.add(document())
        repo.outbox.enqueue([message("ref", body=b"in memory only", document_row=row), message("inline")])
    with store.snapshot() as repo:
        stored = dict(repo.conn.execute(select(outbox.c.message_id, outbox.c.body)).all())
        assert stored == {"ref": None, "inline": b"<x/>"}
    with store.unit_of_work() as repo:
        claimed = {m.message_id: m for m in repo.outbox.claim(NODE, limit=5, now=at(1), lease=timedelta(seconds=9))}
        assert claimed["ref"].body == document().envelope and claimed["ref"].document_row == row
        assert claimed["inline"].body == b"<x/>"


def test_sent_rows_kept_for_a_retention_period_are_pruned_later(store):
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message("m1"), message("m2")])
        assert repo.outbox.sent(["m1"], at(10), keep=True) == 1
        assert repo.outbox.claim(NODE, limit=5, now=at(11), lease=timedelta(seconds=9))[0].message_id == "m2"
        assert repo.outbox.prune(at(10)) == 0
        assert repo.outbox.prune(at(11)) == 1
        assert repo.count("outbox") == 1


def test_given_up_rows_wait_for_an_operator_to_revive_or_purge_them(store):
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message("m1", headers={"document": DOC}), message("m2"), message("m3", node=OTHER)])
        assert [repo.outbox.give_up(m, at(5), attempts=4) for m in ("m1", "m2", "m3", "m1")] == [1, 1, 1, 0]
        assert repo.outbox.claim(NODE, limit=5, now=at(6), lease=timedelta(seconds=9)) == []
        assert repo.outbox.nodes_due(at(6)) == [] and repo.outbox.next_due() is None
        assert [m.message_id for m in repo.outbox.dead()] == ["m1", "m2", "m3"]
        assert [m.message_id for m in repo.outbox.dead(NODE, DOC)] == ["m1"]
        assert all(m.dead_at == at(5) and m.attempts == 4 for m in repo.outbox.dead())
        assert repo.outbox.revive(["m1"], at(7)) == 1
        assert repo.outbox.purge(["m2", "m1"]) == 1  # only given-up rows are purged
        assert repo.outbox.revive([], at(7)) == repo.outbox.purge([]) == 0
        revived = repo.outbox.claim(NODE, limit=5, now=at(7), lease=timedelta(seconds=9))
        assert [(m.message_id, m.attempts, m.created_at) for m in revived] == [("m1", 1, at(7))]
        assert [m.message_id for m in repo.outbox.dead()] == ["m3"]


def test_enqueue_refuses_a_message_id_twice(store):
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message("m1")])
    with pytest.raises(DuplicateError), store.unit_of_work() as repo:
        repo.outbox.enqueue([message("m1", node=OTHER)])


# -- inbox and quarantine ----------------------------------------------------------------------------


def test_remember_is_idempotent_per_node_and_forget_undoes_it(store):
    with store.unit_of_work() as repo:
        assert repo.inbox.remember(NODE, ["k1", "k2", "k1"], now=T0) == {"k1", "k2"}
        assert repo.inbox.remember(NODE, ["k1", "k3"], now=at(5)) == {"k3"}
        assert repo.inbox.remember(OTHER, ["k1"], now=T0) == {"k1"}
        assert repo.inbox.remember(NODE, [], now=T0) == set()
    with store.unit_of_work() as repo:
        assert repo.inbox.seen(NODE, "k1") and not repo.inbox.seen(NODE, "k9")
        repo.inbox.forget(NODE, "k1")
        assert not repo.inbox.seen(NODE, "k1") and repo.inbox.seen(OTHER, "k1")
        assert repo.inbox.remember(NODE, ["k1"], now=at(9)) == {"k1"}


def test_keys_longer_than_the_column_or_with_nul_are_kept_as_their_digest(store):
    long_key = "edoc|" + "9" * 400
    with store.unit_of_work() as repo:
        assert repo.inbox.remember(NODE, [long_key, "a\x00b"], now=T0) == {long_key, "a\x00b"}
        assert repo.inbox.remember(NODE, [long_key], now=T0) == set()
        assert repo.inbox.seen(NODE, long_key)
        keys = [row[0] for row in repo.conn.execute(select(inbox.c.idempotency_key))]
        assert all(k.startswith("sha256:") and len(k) == 71 for k in keys)


def test_quarantine_keeps_text_postgresql_cannot_store(store):
    bad = "sender\x00with NUL " + "x" * 5000
    with store.unit_of_work() as repo:
        repo.quarantine.add(QuarantineEntry(NODE, T0, bad, b"\x00\xff", bad, (Violation(bad, path="/\x00"),)))
    with store.snapshot() as repo:
        (entry,) = repo.quarantine.list(NODE)
        assert entry.reason.startswith("sender\\x00with NUL") and len(entry.reason) == 4000
        assert entry.source == entry.reason and entry.body == b"\x00\xff"
        assert entry.violations[0].path == "/\\x00"


def test_quarantine_round_trip(store):
    problems = (Violation("missing Subject", line=3, path="/edXML/edXMLEnvelope", rule="required", file="a.edxml"),)
    with store.unit_of_work() as repo:
        first = repo.quarantine.add(QuarantineEntry(NODE, T0, "invalid envelope", b"\x00<bad", "fs:inbox/a", problems))
        repo.quarantine.add(QuarantineEntry(OTHER, at(1), "unsafe XML", b"<!DOCTYPE x>"))
    with store.snapshot() as repo:
        mine = repo.quarantine.list(NODE)
        assert mine == [QuarantineEntry(NODE, T0, "invalid envelope", b"\x00<bad", "fs:inbox/a", problems, first)]
        assert [q.reason for q in repo.quarantine.list()] == ["invalid envelope", "unsafe XML"]
        assert repo.count("quarantine") == 2 and repo.count("quarantine", node=OTHER) == 1


# -- unit of work ------------------------------------------------------------------------------------


def test_unit_of_work_commits_or_rolls_back_as_a_whole(store):
    with pytest.raises(RuntimeError), store.unit_of_work() as repo:
        repo.documents.add(document())
        repo.deliveries.add([delivery(OTHER)])
        repo.outbox.enqueue([message("m1")])
        repo.events.append([Event(NODE, T0, "sent", DOC)])
        raise RuntimeError("transport refused")
    with store.snapshot() as repo:
        counts = (repo.count("documents"), repo.count("deliveries"), repo.count("outbox"), repo.count("events"))
        assert counts == (0, 0, 0, 0)
    with store.unit_of_work() as repo:
        repo.events.append([Event(NODE, T0, "sent", DOC)])
    assert store.verify_audit().ok


def test_savepoint_undoes_one_hop_of_a_batch(store):
    with store.unit_of_work() as repo:
        for i, doc_id in enumerate(["D1", "D2", "D1", "D3"]):
            try:
                with repo.savepoint():
                    repo.documents.add(document(document_id=doc_id))
                    repo.events.append([Event(NODE, at(i), "stored", doc_id)])
            except DuplicateError:
                pass
    with store.snapshot() as repo:
        assert repo.count("documents") == 3 and repo.count("events") == 3
    report = store.verify_audit()
    assert report.ok and report.events_checked == 3


def test_a_snapshot_neither_blocks_writers_nor_sees_their_later_commits(store):
    with store.unit_of_work() as repo:
        repo.documents.add(document(document_id="D1"))
    with store.snapshot() as reader:
        assert reader.count("documents") == 1
        with store.unit_of_work() as writer:
            writer.documents.add(document(document_id="D2"))
        assert reader.count("documents") == 1
    with store.snapshot() as reader:
        assert reader.count("documents") == 2


def test_other_integrity_failures_are_store_errors_not_duplicates(store):
    with pytest.raises(StoreError) as caught, store.unit_of_work() as repo:
        repo.documents.add(document(subject=None))
    assert not isinstance(caught.value, DuplicateError)
    assert caught.value.__cause__ is not None


def test_amendment_records_and_moves_with_an_optimistic_check(tmp_path):
    from datetime import datetime

    from docflow.errors import ConflictError
    from docflow.store import Amendment, open_store

    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    at = datetime(2017, 10, 2, 8, 0, 0)
    with store.unit_of_work() as repo:
        repo.amendments.add(Amendment("000.00.00.H58", "D1", "000.00.52.H58", 1, "requested", at, reason="sai sót"))
    with store.unit_of_work() as repo:
        repo.amendments.move("000.00.00.H58", "D1", "000.00.52.H58", 1, old="requested", new="agreed", now=at)
    with store.snapshot() as repo:
        found = repo.amendments.get("000.00.00.H58", "D1", "000.00.52.H58", 1)
        assert found is not None and found.state == "agreed" and found.reason == "sai sót"
        assert [a.recipient for a in repo.amendments.for_document("000.00.00.H58", "D1")] == ["000.00.52.H58"]
    with pytest.raises(ConflictError), store.unit_of_work() as repo:
        repo.amendments.move("000.00.00.H58", "D1", "000.00.52.H58", 1, old="requested", new="refused", now=at)


def test_outbox_headers_round_trip(tmp_path):
    from datetime import datetime

    from docflow.store import OutboxMessage, open_store

    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    at = datetime(2017, 10, 2, 8, 0, 0)
    headers = {"origin": "000.00.00.H58", "destination": "000.21.52.H58", "route": "hub:x;y"}
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([OutboxMessage("N", "m1", "R", "edoc", b"<x/>", at, headers=headers)])
    with store.unit_of_work() as repo:
        (claimed,) = repo.outbox.claim("N", limit=10, now=at)
    assert dict(claimed.headers) == headers
