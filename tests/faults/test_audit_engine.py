"""The audit check on what the engine itself wrote: a network run through the public API verifies, and an
operator's SQL edit of a state table, or the deletion of a node's chain, is named (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from engine_fixtures import COMMUNE, DISTRICT, PROVINCE, make_network
from sqlalchemy import text

from docflow.domain.clock import ManualClock


@pytest.fixture
def run(engine_db):
    """A province's document to a district and a commune: the commune accepts it, the district agrees to its
    recall.  Yields ``(network, document_id)``."""
    net = make_network(engine_db, clock=ManualClock())
    document = net.node(PROVINCE).send(recipients=[DISTRICT, COMMUNE], subject="Công văn", code="7/UBND-VP")
    net.run_until_idle()
    net.node(COMMUNE).accept(document)
    net.node(PROVINCE).recall(document, "Gửi nhầm", recipients=[DISTRICT])
    net.run_until_idle()
    net.node(DISTRICT).agree(document)
    net.run_until_idle()
    try:
        yield net, document
    finally:
        net.ctx.store.close()


def sql(net, statement, **params):
    with net.ctx.store.engine.begin() as conn:
        return conn.execute(text(statement), params)


def row_id(net, table, **where):
    clause = " AND ".join(f"{name} = :{name}" for name in where)
    return sql(net, f"SELECT id FROM {table} WHERE {clause}", **where).scalar_one()


def test_the_engines_own_states_replay_from_its_events(run):
    net, document = run
    states = {d.recipient: d.state for d in net.node(PROVINCE).deliveries(document)}
    assert states == {DISTRICT: "revoked", COMMUNE: "accepted"}
    report = net.ctx.store.verify_audit()
    assert report.ok, str(report)


def test_a_delivery_state_edited_by_sql_is_named(run):
    net, document = run
    target = row_id(net, "deliveries", node=PROVINCE, document_id=document, recipient=COMMUNE)
    sql(net, "UPDATE deliveries SET state = 'completed' WHERE id = :i", i=target)
    report = net.ctx.store.verify_audit()
    assert (report.ok, report.node, report.where) == (False, PROVINCE, f"deliveries id {target}")
    assert "'completed'" in report.reason and "'accepted'" in report.reason


def test_an_amendment_answer_edited_by_sql_is_named(run):
    net, document = run
    target = row_id(net, "amendments", node=DISTRICT, document_id=document)
    sql(net, "UPDATE amendments SET state = 'refused' WHERE id = :i", i=target)
    report = net.ctx.store.verify_audit()
    assert (report.ok, report.node, report.where) == (False, DISTRICT, f"amendments id {target}")


def test_a_received_copy_deleted_by_sql_is_named(run):
    net, document = run
    sql(net, "DELETE FROM inbound WHERE node = :n AND document_id = :d", n=COMMUNE, d=document)
    report = net.ctx.store.verify_audit()
    assert (report.ok, report.node) == (False, COMMUNE)
    assert "missing" in report.reason and report.first_bad_id is not None


def test_a_nodes_whole_chain_and_head_deleted_are_named(run):
    net, _document = run
    store = net.ctx.store
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
        conn.execute(text("DELETE FROM events WHERE node = :n"), {"n": COMMUNE})
        conn.execute(text("DELETE FROM chain_heads WHERE node = :n"), {"n": COMMUNE})
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER events_append_only")
    report = store.verify_audit()
    assert (report.ok, report.node) == (False, COMMUNE)
    assert "no audit chain" in report.reason
