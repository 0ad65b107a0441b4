"""One-stop dossiers between docflow engines on different servers, through a real ``docflow serve`` process: the
commune's engine and the district's (which also serves the province) share nothing but the axis
(``axis+http://``).  A land dossier makes its whole liên thông trip, commune desk → district → province
department → back to the desk, each hand-over an axis package of ``messagetype=dossier``; a hand-over sent
twice is one package, and the receiving engine takes it once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from axis_processes import Served

from docflow.bootstrap import build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant
from docflow.domain.lifecycle import DossierState
from docflow.services import Network, serve_once
from docflow.services.context import Context
from docflow.transports import Message

COMMUNE, DISTRICT, PROVINCE, DEPARTMENT = "000.20.50.H58", "000.00.50.H58", "000.00.00.H58", "000.00.10.H58"
LAND = "1.004227"  # commune desk → district → province department → commune desk, 10 working days
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")
T0 = datetime(2017, 10, 2, 8, 0)  # a Monday morning
ROWS = "SELECT {} FROM axis_packages ORDER BY created_at, rowid"


@pytest.fixture
def engines(served: Served, tmp_path: Path) -> Iterator[tuple[Network, Network]]:
    """The commune's engine and the district's, each with its own store, over the same axis."""
    url = (
        served.url.replace("http://", "axis+http://")
        + f"?system=engine&secret_file={tmp_path / 'axis-credentials.toml'}"
    )
    clock = ManualClock(T0)
    made = [
        build_network(db=f"sqlite:///{tmp_path / name}.db", transport=url, clock=clock)
        for name in ("commune", "district")
    ]
    try:
        yield made[0], made[1]
    finally:
        for net in made:
            net.ctx.transport.close()
            net.ctx.store.close()


def pump(ctx: Context, nodes: list[str]) -> int:
    """``docflow worker`` for ``nodes``: passes until one moves nothing; returns how many messages it applied."""
    applied = 0
    for _ in range(20):
        moved = 0
        for node in nodes:
            activity = serve_once(ctx, node)
            moved += activity.moved
            applied += activity.intake.applied
        if not moved:
            return applied
    raise AssertionError("the engine kept moving after 20 passes")


def test_a_dossier_makes_its_whole_trip_between_two_servers_through_the_axis(engines, served):
    commune, district = engines
    far = [DISTRICT, PROVINCE, DEPARTMENT]
    desk = commune.node(COMMUNE).dossiers
    d = desk.receive(LAND, Applicant("Trần Văn Bình"), CLERK, number=1)
    assert [str(a) for a in desk.chain(d)] == [COMMUNE, DISTRICT, DEPARTMENT, COMMUNE]
    desk.start(d.code, CLERK)
    desk.hand_over(d.code, CLERK)
    pump(commune.ctx, [COMMUNE])
    assert served.rows(ROWS.format("message_type, recipient")) == [("dossier", DISTRICT)]

    assert pump(district.ctx, far) == 1
    held = district.node(DISTRICT).dossiers.get(d.code)
    assert held is not None and str(held.holder) == DISTRICT and held.state is DossierState.PROCESSING
    district.node(DISTRICT).dossiers.hand_over(d.code, CLERK)
    pump(district.ctx, far)
    district.node(DEPARTMENT).dossiers.hand_over(d.code, CLERK)  # back to the desk, through the district
    pump(district.ctx, far)

    assert pump(commune.ctx, [COMMUNE]) == 1
    back = desk.get(d.code)
    assert back is not None and str(back.holder) == COMMUNE
    assert [str(row.agency) for row in back.history] == [COMMUNE, COMMUNE, COMMUNE, DISTRICT, DEPARTMENT]
    desk.finish(d.code, CLERK)
    assert desk.return_result(d.code, CLERK).state is DossierState.RETURNED

    hops = [(sender, recipient) for sender, recipient in served.rows(ROWS.format("sender, recipient"))]
    assert hops == [
        (COMMUNE, DISTRICT),  # the commune's engine hands over to the district's
        (DISTRICT, PROVINCE),  # the district's engine relays through the province to its department
        (DISTRICT, DEPARTMENT),
        (DEPARTMENT, PROVINCE),  # and back to the desk, through the province and the district
        (DEPARTMENT, DISTRICT),
        (DEPARTMENT, COMMUNE),
    ]
    assert {state for (state,) in served.rows(ROWS.format("state"))} == {"DONE"}  # every hop acknowledged
    assert served.rows("SELECT COUNT(*) FROM quarantine") == [(0,)]


def test_a_hand_over_sent_twice_is_one_package(engines, served):
    commune, _ = engines
    desk = commune.node(COMMUNE).dossiers
    d = desk.receive(LAND, Applicant("Lê Thị Hoa"), CLERK, number=2)
    desk.start(d.code, CLERK)
    desk.hand_over(d.code, CLERK)
    pump(commune.ctx, [COMMUNE])
    [(doc_id, body, meta)] = served.rows(ROWS.format("send_id, body, meta"))
    extra = json.loads(meta)
    again = Message(extra["id"], extra["sender"], DISTRICT, "dossier", body, json.loads(extra["headers"]))
    commune.ctx.transport.send(again)  # a resend after a lost answer
    assert served.rows(ROWS.format("send_id")) == [(doc_id,)]
