"""Each agency's copy of a dossier and its history in the store, and the portal feed's reads, on SQLite and
PostgreSQL; a whole liên thông trip with every agency keeping its own copy in one shared database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from store_backends import BACKENDS, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import WorkCalendar
from docflow.errors import ConflictError
from docflow.store.dossiers import (
    DOSSIER_TABLES,
    feed_history,
    feed_records,
    held_by,
    history_of,
    load_dossier,
    save_dossier,
)
from docflow.xml.dossier_xml import read_dossier, write_dossier

CAL = WorkCalendar()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
PROCEDURE = load_catalogue()["1.004227"]
CHAIN = step_agencies(REGISTRY, COMMUNE, PROCEDURE)
CLERK = flow.Clerk("Võ Minh Tâm", "Chuyên viên")
T0 = datetime(2017, 10, 2, 9, 0)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    for opened in backend_store(request, tmp_path):
        with opened.engine.begin() as conn:  # the PostgreSQL schema is shared by the session
            for table in reversed(DOSSIER_TABLES):
                conn.execute(table.delete())
        yield opened


def received(number: int = 1, at: datetime = T0):
    d = flow.receive(
        PROCEDURE,
        CAL,
        code=flow.dossier_code(COMMUNE, at, number),
        desk=COMMUNE,
        at=at,
        clerk=CLERK,
        applicant=Applicant("Đặng Thị Lệ Thủy"),
    )
    return flow.start(d, at + timedelta(minutes=30), CLERK)


def save(store, node, dossier, now):
    body = write_dossier(flow.DossierMessage(dossier.holder, dossier.holder, now, dossier))
    with store.unit_of_work() as repo:
        return save_dossier(repo, str(node), dossier, body, now)


def test_a_copy_is_stored_then_extended_with_only_its_new_rows(store):
    d = received()
    assert save(store, COMMUNE, d, T0) == 2
    moved, _ = flow.hand_over(d, PROCEDURE, CAL, T0 + timedelta(hours=2), CLERK, CHAIN[1])
    assert save(store, COMMUNE, moved, T0 + timedelta(hours=2)) == 1
    assert save(store, COMMUNE, moved, T0 + timedelta(hours=3)) == 0  # the same copy again
    with store.snapshot() as repo:
        record = load_dossier(repo, str(COMMUNE), d.code)
        rows = history_of(repo, str(COMMUNE), d.code)
        assert load_dossier(repo, str(COMMUNE), "nothing") is None
    assert (record.state, record.holder, record.desk, record.history_length) == (
        "processing",
        str(CHAIN[1]),
        str(COMMUNE),
        3,
    )
    assert record.due_at == d.due_at and record.updated_at == T0 + timedelta(hours=3)
    assert read_dossier(record.body).dossier == moved
    assert [(r.seq, r.state_code, r.agency) for r in rows] == [
        (1, 2, str(COMMUNE)),
        (2, 4, str(COMMUNE)),
        (3, 4, str(COMMUNE)),
    ]
    assert rows[2].step_due == moved.step_due and rows[0].content == "Tiếp nhận hồ sơ"


def test_an_older_copy_is_refused(store):
    d = received()
    moved, _ = flow.hand_over(d, PROCEDURE, CAL, T0 + timedelta(hours=2), CLERK, CHAIN[1])
    save(store, COMMUNE, moved, T0)
    with pytest.raises(ConflictError, match="3 history rows stored, this copy has 2"):
        save(store, COMMUNE, d, T0)


def test_the_whole_trip_with_every_agency_keeping_its_copy(store):
    d = received()
    save(store, COMMUNE, d, T0)
    at = T0 + timedelta(hours=2)
    for step in range(1, len(PROCEDURE.steps)):
        sender = d.holder
        d, message = flow.hand_over(d, PROCEDURE, CAL, at, CLERK, CHAIN[step])
        save(store, sender, d, at)
        wire = write_dossier(message)
        for _ in range(2):  # a redelivery of the same bytes changes nothing the second time
            with store.unit_of_work() as repo:
                stored = load_dossier(repo, str(CHAIN[step]), d.code)
                mine = read_dossier(stored.body).dossier if stored else None
                applied = flow.apply_incoming(mine, read_dossier(wire), CHAIN[step])
                if applied is not None:
                    save_dossier(repo, str(CHAIN[step]), applied, wire, at)
        at += timedelta(days=1)
    d = flow.return_result(flow.finish(d, at, CLERK), at + timedelta(hours=1), CLERK)
    save(store, COMMUNE, d, at + timedelta(hours=1))
    with store.snapshot() as repo:
        assert [r.code for r in held_by(repo, str(COMMUNE))] == [d.code]
        assert held_by(repo, str(CHAIN[1])) == [] and held_by(repo, str(CHAIN[2])) == []
        assert load_dossier(repo, str(CHAIN[1]), d.code).holder == str(CHAIN[2])  # the district's own copy
        (newest,) = feed_records(repo)
        history = feed_history(repo)
    assert (newest.node, newest.state, newest.history_length) == (str(COMMUNE), "returned", len(d.history))
    assert [(h.seq, h.state_code) for h in history] == [(n, r.state.code) for n, r in enumerate(d.history, 1)]
    assert {h.agency for h in history} == {str(COMMUNE), str(CHAIN[1]), str(CHAIN[2])}


def test_the_feed_reads_since_a_date(store):
    first, second = received(1), received(2, T0 + timedelta(days=3))
    save(store, COMMUNE, first, T0)
    save(store, COMMUNE, second, T0 + timedelta(days=3))
    with store.snapshot() as repo:
        assert [r.code for r in feed_records(repo, T0 + timedelta(days=1))] == [second.code]
        assert {h.code for h in feed_history(repo, T0 + timedelta(days=1))} == {second.code}
        assert len(feed_records(repo)) == 2 and len(feed_history(repo)) == 4
