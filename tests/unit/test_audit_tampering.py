"""Tampering the plain hash chain missed, each found by ``verify_audit`` with the row or range at fault:
a row edited and the chain recomputed, swapped row ids, the last rows deleted with the head moved back, a
node's whole chain and head deleted, and edits of the state tables (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from store_backends import BACKENDS, T0, at, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.store import Event
from docflow.store.audit import GENESIS, checkpoint_heads, timestamp_text, verify_chain
from docflow.store.audit_keys import Keyring
from docflow.store.tables import amendments, deliveries, inbound

NODE = "000.00.00.H53"
OTHER = "000.00.01.H53"
THIRD = "000.00.02.H53"
DOC = "000.00.00.H53,2024/05/06,12/UBND-VP"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    yield from backend_store(request, tmp_path)


def fill(store, node=NODE, count=5):
    with store.unit_of_work() as repo:
        repo.events.append(Event(node, at(i), "status", DOC, OTHER, f"0{i % 6 + 1}", {"i": i}) for i in range(count))
    return rows_of(store, node)


def rows_of(store, node=NODE):
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT * FROM events WHERE node = :n ORDER BY seq"), {"n": node}).all()


def tamper(store, *statements):
    """Run ``(sql, params)`` statements as a privileged intruder would, with the append-only guard off."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
        for sql, params in statements:
            conn.execute(text(sql), params)
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER events_append_only")


def rehash(rows, start, hasher, detail):
    """Rewrite ``detail`` of row ``start`` and recompute every hash from there, as a forger would."""
    statements = []
    prev = rows[start - 1].hash if start else GENESIS
    for index in range(start, len(rows)):
        row = rows[index]
        body = detail if index == start else row.detail
        at_value = datetime.fromisoformat(row.at) if isinstance(row.at, str) else row.at  # SQLite gives text
        payload = json.dumps(
            [row.node, row.seq, timestamp_text(at_value), row.kind, row.document_id, row.recipient, row.status, body],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hasher(prev + payload)
        statements.append(
            ("UPDATE events SET detail = :d, prev_hash = :p, hash = :h WHERE id = :i",
             {"d": body, "p": prev, "h": digest, "i": row.id})
        )  # fmt: skip
        prev = digest
    statements.append(("UPDATE chain_heads SET hash = :h WHERE node = :n", {"h": prev, "n": rows[0].node}))
    return statements


# -- a row edited and the chain recomputed ------------------------------------------------------------


def test_a_chain_recomputed_with_the_old_unkeyed_formula_is_caught_at_the_edited_row(store):
    rows = fill(store)
    sha = lambda data: hashlib.sha256(data.encode()).hexdigest()  # noqa: E731
    tamper(store, *rehash(rows, 2, sha, '{"i":99}'))
    report = store.verify_audit()
    assert (report.ok, report.first_bad_id, report.node) == (False, rows[2].id, NODE)
    assert "without the node's key" in report.reason


def test_a_chain_recomputed_with_another_key_is_caught_at_the_edited_row(store):
    rows = fill(store)
    forged = lambda data: hmac.new(b"k" * 32, data.encode(), "sha256").hexdigest()  # noqa: E731
    tamper(store, *rehash(rows, 3, forged, '{"i":42}'))
    report = store.verify_audit()
    assert (report.ok, report.first_bad_id) == (False, rows[3].id)
    assert "hash does not match" in report.reason


# -- swapped row ids ----------------------------------------------------------------------------------


def test_swapped_row_ids_are_caught_naming_both(store):
    rows = fill(store)
    first, second = rows[1].id, rows[3].id
    spare = 10_000_000
    tamper(
        store,
        ("UPDATE events SET id = :s WHERE id = :a", {"s": spare, "a": first}),
        ("UPDATE events SET id = :a WHERE id = :b", {"a": first, "b": second}),
        ("UPDATE events SET id = :b WHERE id = :s", {"b": second, "s": spare}),
    )
    report = store.verify_audit()
    assert not report.ok and "ids" in report.reason
    assert {report.first_bad_id, report.last_bad_id} <= {first, second, rows[2].id}
    assert "event ids" in str(report)


# -- the last rows deleted and the head moved back ------------------------------------------------------


def test_the_last_rows_deleted_with_the_head_moved_back_are_caught_by_the_checkpoint(store):
    rows = fill(store)
    assert store.verify_audit().ok  # the check signs a checkpoint at seq 5, outside the database
    tamper(
        store,
        ("DELETE FROM events WHERE node = :n AND seq > 3", {"n": NODE}),
        ("UPDATE chain_heads SET seq = 3, hash = :h WHERE node = :n", {"h": rows[2].hash, "n": NODE}),
    )
    report = store.verify_audit()
    assert not report.ok and report.node == NODE
    assert "seq 5" in report.reason and "4–5" in report.reason and "moved back" in report.reason
    assert report.where == "events seq 4–5"


def test_heads_signed_after_a_commit_catch_a_truncation_nobody_verified_before(store):
    rows = fill(store, count=6)
    with store.snapshot() as repo:
        assert checkpoint_heads(repo.conn) == 1
        assert checkpoint_heads(repo.conn) == 0  # already there
    tamper(
        store,
        ("DELETE FROM events WHERE node = :n AND seq > 4", {"n": NODE}),
        ("UPDATE chain_heads SET seq = 4, hash = :h WHERE node = :n", {"h": rows[3].hash, "n": NODE}),
    )
    with store.snapshot() as repo:
        assert checkpoint_heads(repo.conn) == 0  # the moved-back head cannot lower the checkpoint
    report = store.verify_audit()
    assert not report.ok and report.where == "events seq 5–6"


def test_a_checkpoint_follows_new_events_and_its_file_cannot_be_edited(store, audit_keys):
    fill(store, count=3)
    assert store.verify_audit().ok
    fill(store, count=2)
    assert store.verify_audit().ok  # moved forward to seq 5
    [point] = list((audit_keys / "checkpoints").rglob(f"{NODE}.json"))
    data = json.loads(point.read_text())
    assert data["seq"] == 5
    data["seq"] = 2  # an intruder lowers it to hide a truncation
    point.write_text(json.dumps(data))
    report = store.verify_audit()
    assert not report.ok and report.where == "checkpoint" and "altered" in report.reason


# -- a node's whole chain and head deleted --------------------------------------------------------------


def test_a_deleted_chain_and_head_are_caught_by_the_checkpoint(store):
    fill(store, NODE, 4)
    fill(store, OTHER, 2)
    assert store.verify_audit().ok
    tamper(
        store,
        ("DELETE FROM events WHERE node = :n", {"n": NODE}),
        ("DELETE FROM chain_heads WHERE node = :n", {"n": NODE}),
    )
    report = store.verify_audit()
    assert (report.ok, report.node) == (False, NODE)
    assert "whole chain" in report.reason and "seq 4" in report.reason


def test_a_deleted_chain_is_caught_by_the_states_that_remain(store):
    add_delivery_history(store)
    tamper(
        store,
        ("DELETE FROM events WHERE node = :n", {"n": NODE}),
        ("DELETE FROM chain_heads WHERE node = :n", {"n": NODE}),
    )
    report = verify_chain_of(store, checkpoint=False)  # no checkpoint was ever taken
    assert (report.ok, report.node) == (False, NODE)
    assert "no audit chain" in report.reason


# -- edits of the state tables -----------------------------------------------------------------------


def moved(node, i, lifecycle, party, old, new, business=0, round_=0, status=""):
    detail = {"lifecycle": lifecycle, "event": "x", "old": old, "new": new, "business": business, "round": round_}
    return Event(node, at(i), "moved", DOC, party, status, detail)


def add_delivery_history(store):
    """What the engine writes for a document sent to OTHER that arrived and was accepted, and THIRD's copy
    being recalled: state rows and the events that explain them."""
    with store.unit_of_work() as repo:
        repo.events.append(
            [
                Event(NODE, at(0), "sent", DOC, OTHER, "", {"business": 0}),
                Event(NODE, at(0), "sent", DOC, THIRD, "", {"business": 0}),
                moved(NODE, 1, "delivery", OTHER, "sent", "arrived", status="01"),  # "send" itself writes no event
                moved(NODE, 2, "delivery", OTHER, "arrived", "accepted", status="03"),
                Event(NODE, at(3), "amendment-requested", DOC, THIRD, "", {"business": 1, "round": 1}),
                Event(OTHER, at(1), "arrived", DOC, OTHER, "01", {"business": 0, "sender": NODE}),
                moved(OTHER, 2, "inbound", NODE, "received", "accepted", status="03"),
            ]
        )
        conn = repo.conn
        conn.execute(
            insert(deliveries),
            [
                {"node": NODE, "document_id": DOC, "recipient": OTHER, "state": "accepted", "updated_at": T0},
                {"node": NODE, "document_id": DOC, "recipient": THIRD, "state": "sent", "updated_at": T0},
            ],
        )
        conn.execute(
            insert(inbound),
            {"node": OTHER, "document_id": DOC, "business_type": 0, "sender": NODE, "state": "accepted",
             "updated_at": T0},
        )  # fmt: skip
        conn.execute(
            insert(amendments),
            {"node": NODE, "document_id": DOC, "recipient": THIRD, "business_type": 1, "round": 1,
             "state": "requested", "updated_at": T0},
        )  # fmt: skip


def verify_chain_of(store, **options):
    with store.snapshot() as repo:
        return verify_chain(repo.conn, **options)


def state_id(store, table, **where):
    clause = " AND ".join(f"{k} = :{k}" for k in where)
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT id FROM {table} WHERE {clause}"), where).scalar_one()


def test_states_that_match_their_events_verify(store):
    add_delivery_history(store)
    report = store.verify_audit()
    assert report.ok, str(report)
    assert (report.events_checked, report.chains_checked) == (7, 2)


@pytest.mark.parametrize(
    ("table", "where", "new_state", "said"),
    [
        ("deliveries", {"recipient": OTHER}, "completed", "accepted"),
        ("deliveries", {"recipient": THIRD}, "revoked", "queued"),
        ("inbound", {"node": OTHER}, "completed", "accepted"),
        ("amendments", {"recipient": THIRD}, "agreed", "requested"),
    ],
)
def test_an_edited_state_row_is_caught_naming_the_row_and_the_event(store, table, where, new_state, said):
    add_delivery_history(store)
    row = state_id(store, table, **where)
    tamper(store, (f"UPDATE {table} SET state = :s WHERE id = :i", {"s": new_state, "i": row}))
    report = store.verify_audit()
    assert not report.ok
    assert report.where == f"{table} id {row}"
    assert repr(new_state) in report.reason and repr(said) in report.reason
    assert f"{table} id {row}" in str(report)
    assert verify_chain_of(store, states=False).ok  # the chain itself is intact: only the states were edited


def test_a_deleted_or_added_state_row_is_caught(store):
    add_delivery_history(store)
    row = state_id(store, "deliveries", recipient=THIRD)
    tamper(store, ("DELETE FROM deliveries WHERE id = :i", {"i": row}))
    report = store.verify_audit()
    assert not report.ok and "missing" in report.reason and THIRD in report.reason
    with store.engine.begin() as conn:
        conn.execute(
            insert(deliveries),
            [
                {"node": NODE, "document_id": DOC, "recipient": THIRD, "state": "sent", "updated_at": T0},
                {"node": NODE, "document_id": DOC, "recipient": "XYZ", "state": "completed", "updated_at": T0},
            ],
        )
    report = store.verify_audit()
    assert not report.ok and "has no event in the log" in report.reason and "XYZ" in report.reason


def test_a_state_edited_between_two_moves_is_caught_at_the_later_move(store):
    add_delivery_history(store)
    with store.unit_of_work() as repo:  # the engine's next move starts from the edited state
        repo.events.append([moved(NODE, 9, "delivery", OTHER, "processing", "completed", status="06")])
    report = store.verify_audit()
    assert not report.ok and "outside the engine" in report.reason
    assert report.first_bad_id == rows_of(store)[-1].id


# -- keys ---------------------------------------------------------------------------------------------


def test_without_the_writers_key_the_chain_is_not_called_intact(store, tmp_path):
    fill(store)
    with store.snapshot() as repo:
        report = verify_chain(repo.conn, keyring=Keyring(tmp_path / "elsewhere"))
    assert not report.ok and "no audit key" in report.reason


def test_a_key_is_made_once_with_owner_only_modes_even_by_racing_threads(tmp_path: Path):
    ring = Keyring(tmp_path / "keys")
    found: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: found.append(Keyring(ring.directory).key(NODE))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and len(found[0] or b"") == 32
    assert stat.S_IMODE(os.stat(ring.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(ring.key_path(NODE)).st_mode) == 0o600
    assert [p.name for p in ring.directory.iterdir()] == [f"{NODE}.key"]  # no temporary file left behind
    assert Keyring(ring.directory).key(OTHER, create=False) is None
