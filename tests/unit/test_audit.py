"""The keyed hash-chained event log: it verifies when intact and names the first event altered or removed.

The finer tampering (recomputed chains, swapped ids, a moved-back head, a deleted chain, edited states) is in
test_audit_tampering.py.
"""

from __future__ import annotations

import hmac
import json
import os
import stat
import threading

import pytest
from store_backends import BACKENDS, T0, at, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.store import Event
from docflow.store.audit import GENESIS, canonical_json

NODE = "000.00.00.H53"
OTHER = "000.00.01.H53"
DOC = "000.00.00.H53,2024/05/06,12/UBND-VP"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A migrated, empty store on SQLite and on PostgreSQL."""
    yield from backend_store(request, tmp_path)


def fill(store, node=NODE, count=5):
    with store.unit_of_work() as repo:
        repo.events.append(Event(node, at(i), "status", DOC, OTHER, f"0{i % 6 + 1}", {"i": i}) for i in range(count))
    with store.snapshot() as repo:
        return [e.id for e in repo.events.of_document(DOC, node)]


def tamper(store, sql, *params):
    """Change the log behind the store's back, as a privileged intruder would (switching the guard off)."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
            conn.exec_driver_sql(sql, params)
            conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER events_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
            conn.exec_driver_sql("DROP TRIGGER events_no_delete")
            conn.exec_driver_sql(sql, params)


def test_an_empty_log_verifies(store):
    report = store.verify_audit()
    assert report.ok and report.events_checked == 0 and report.first_bad_id is None


def test_intact_chains_of_several_nodes_verify(store):
    fill(store, NODE, 5)
    fill(store, OTHER, 3)
    fill(store, NODE, 2)
    report = store.verify_audit()
    assert (report.ok, report.events_checked, report.chains_checked) == (True, 10, 2)
    assert str(report) == "ok: 10 events in 2 chains verified"
    only = store.verify_audit(OTHER)
    assert (only.ok, only.events_checked) == (True, 3)


def test_the_first_hash_follows_the_documented_formula(store, audit_keys):
    with store.unit_of_work() as repo:
        repo.events.append([Event(NODE, T0, "sent", DOC, OTHER, "queued", {"b": 1, "a": "ơ"})])
    with store.snapshot() as repo:
        (event,) = repo.events.of_document(DOC)
    detail = '{"a":"ơ","b":1}'
    assert canonical_json({"b": 1, "a": "ơ"}) == detail
    payload = json.dumps(
        [NODE, 1, "2024-05-06T07:08:09.123456", "sent", DOC, OTHER, "queued", detail],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    key_file = audit_keys / f"{NODE}.key"
    key = bytes.fromhex(key_file.read_text().strip())
    assert len(key) == 32
    assert event.prev_hash == GENESIS
    assert event.hash == hmac.new(key, (GENESIS + payload).encode(), "sha256").hexdigest()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600  # made on first use, readable by its owner only


def test_a_changed_detail_is_found_at_that_event(store):
    ids = fill(store)
    tamper(
        store,
        "UPDATE events SET detail = ? WHERE id = ?"
        if store.dialect == "sqlite"
        else "UPDATE events SET detail = %s WHERE id = %s",
        '{"i":99}',
        ids[2],
    )
    report = store.verify_audit()
    assert not report.ok
    assert (report.first_bad_id, report.node, report.events_checked) == (ids[2], NODE, 2)
    assert "hash does not match" in report.reason
    assert f"event id {ids[2]}" in str(report)


def test_a_deleted_event_is_found_at_its_successor(store):
    ids = fill(store)
    fill(store, OTHER, 2)
    tamper(store, f"DELETE FROM events WHERE id = {ids[1]}")
    report = store.verify_audit()
    assert (report.ok, report.first_bad_id, report.node) == (False, ids[2], NODE)
    assert "missing" in report.reason
    assert store.verify_audit(OTHER).ok


def test_events_cut_from_the_end_are_found_by_the_chain_head(store):
    ids = fill(store)
    tamper(store, f"DELETE FROM events WHERE id = {ids[-1]}")
    report = store.verify_audit()
    assert not report.ok and report.first_bad_id is None
    assert "seq 5" in report.reason and "seq 4" in report.reason


def test_a_rewritten_chain_is_still_caught_by_its_successor(store):
    ids = fill(store)
    tamper(store, f"UPDATE events SET prev_hash = '{'f' * 64}' WHERE id = {ids[3]}")
    report = store.verify_audit()
    assert (report.ok, report.first_bad_id) == (False, ids[3])
    assert "prev_hash" in report.reason


def test_two_writers_appending_at_once_do_not_fork_the_chain(store):
    errors = []

    def writer(tag):
        try:
            for i in range(15):
                with store.unit_of_work() as repo:
                    repo.events.append([Event(NODE, at(i), "status", DOC, detail={"w": tag, "i": i})] * 2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = store.verify_audit()
    assert (report.ok, report.events_checked) == (True, 60)
    with store.snapshot() as repo:
        assert [e.seq for e in repo.events.of_document(DOC)] == list(range(1, 61))
