"""A one-stop dossier travels through the engine like any message (SQLite and PostgreSQL): its liên thông trip
commune desk → district office → province department → back to the commune desk, hop by hop through the
forwarding nodes; duplicates and replayed raw copies absorbed by the inbox; a copy that does not extend the
history held, or a body under another hand-over's headers, quarantined with its reason; the apology letter of a
late dossier sent as an edXML document and arriving at the desk."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest
from engine_fixtures import KEEP_SENT, make_network, outbox_messages

from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant, Channel, DossierMessage
from docflow.domain.envelope import Code
from docflow.domain.events import (
    DocumentForwarded,
    DossierApologised,
    DossierHandedOver,
    DossierReceived,
    StateChanged,
)
from docflow.domain.lifecycle import DossierState
from docflow.domain.registry import AgencyKind
from docflow.domain.worktime import Timeliness
from docflow.errors import IllegalTransitionError, LifecycleError
from docflow.services import Network
from docflow.services.dossiers import dossier_routing
from docflow.transports.base import Message
from docflow.transports.memory import MemoryBroker, MemoryTransport
from docflow.xml.dossier_xml import write_dossier

LAND = "1.004227"  # commune desk → district land office → province department → commune desk, 10 working days
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")
T0 = datetime(2017, 10, 2, 8, 0)  # a Monday morning
HOUR = 3600.0


def commune_of(net: Network) -> str:
    return str(next(a.code for a in net.ctx.registry if a.kind is AgencyKind.COMMUNE))


def trip(net: Network, clock: ManualClock, desk: str, *, number: int = 1) -> tuple[str, list[str]]:
    """Receive a land dossier at ``desk``, carry it through its chain and return the result; the code and
    the agencies of the chain."""
    node = net.node(desk)
    d = node.dossiers.receive(LAND, Applicant("Trần Văn Bình"), CLERK, number=number)
    chain = [str(a) for a in node.dossiers.chain(d)]
    node.dossiers.start(d.code, CLERK)
    for here in chain[:-1]:
        clock.advance(2 * HOUR)
        net.node(here).dossiers.hand_over(d.code, CLERK)
        net.run_until_idle()
    clock.advance(HOUR)
    node.dossiers.finish(d.code, CLERK)
    node.dossiers.return_result(d.code, CLERK)
    return d.code, chain


def test_a_dossier_goes_commune_district_province_and_back(engine_db: str) -> None:
    clock = ManualClock(T0)
    net = make_network(engine_db, clock=clock)
    try:
        desk = commune_of(net)
        code, chain = trip(net, clock, desk)
        tiers = [net.ctx.registry[a].kind for a in chain]
        assert tiers[0] is AgencyKind.COMMUNE and chain[-1] == desk == chain[0]
        assert tiers[1] in (AgencyKind.OFFICE, AgencyKind.DISTRICT)
        assert tiers[2] in (AgencyKind.DEPARTMENT, AgencyKind.PROVINCE)

        final = net.node(desk).dossiers.get(code)
        assert final is not None and final.state is DossierState.RETURNED
        assert flow.timeliness(final) is Timeliness.EARLY
        assert [row.agency for row in final.history].count(final.desk) >= 3
        for agency, rows in zip(chain[1:3], (4, 5), strict=True):  # each agency keeps the copy it handed on
            copy = net.node(agency).dossiers.get(code)
            assert copy is not None and len(copy.history) == rows and str(copy.holder) != agency

        steps = net.trace(code)
        handed = [(s.node, s.event.recipient) for s in steps if isinstance(s.event, DossierHandedOver)]
        received = [(s.node, s.event.sender) for s in steps if isinstance(s.event, DossierReceived)]
        assert handed == list(pairwise(chain))
        assert received == [(b, a) for a, b in handed]
        forwarded = [s.node for s in steps if isinstance(s.event, DocumentForwarded)]
        assert len(forwarded) >= 2  # the tiers between the agencies carried it, hop by hop
        assert net.quarantine() == []
    finally:
        net.ctx.store.close()


def test_duplicates_and_replayed_dossier_messages_change_nothing(engine_db: str) -> None:
    clock = ManualClock(T0)
    broker = MemoryBroker(clock=clock.time)
    net = make_network(engine_db, clock=clock, broker=broker, settings=KEEP_SENT)
    try:
        code, chain = trip(net, clock, commune_of(net))
        before = {a: net.node(a).dossiers.get(code) for a in set(chain)}
        replay = [m for m in outbox_messages(net) if m.kind == "dossier"]
        assert len(replay) >= 3 + 3  # three hand-overs, each sent by its agency and by at least one relay
        wire = MemoryTransport(broker)
        for n, message in enumerate(replay):
            wire.send(message)
            wire.send(
                Message(f"again-{n}", message.sender, message.recipient, "dossier", message.body, message.headers)
            )
        clock.advance(600)
        net.recover()
        activity = net.run_until_idle()
        assert activity.intake.received == activity.intake.duplicates == 2 * len(replay)
        assert (activity.intake.applied, activity.intake.forwarded, activity.intake.quarantined) == (0, 0, 0)
        assert {a: net.node(a).dossiers.get(code) for a in set(chain)} == before
    finally:
        net.ctx.store.close()


def _send_raw(net: Network, message: DossierMessage, *, headers_of: DossierMessage | None = None) -> None:
    routing = dossier_routing(net.ctx, headers_of or message)
    body = write_dossier(message)
    transport = net.ctx.transport
    transport.send(Message(f"raw-{routing.key}", routing.origin, routing.destination, "dossier", body,
                           routing.headers()))  # fmt: skip
    net.notify([routing.destination])


def test_a_diverging_copy_and_a_body_under_other_headers_are_quarantined(engine_db: str) -> None:
    clock = ManualClock(T0)
    net = make_network(engine_db, clock=clock)
    try:
        desk = commune_of(net)
        node = net.node(desk)
        d = node.dossiers.receive(LAND, Applicant("Lê Thị Hoa"), CLERK, number=7)
        office = str(node.dossiers.chain(d)[1])
        node.dossiers.start(d.code, CLERK)
        clock.advance(HOUR)
        node.dossiers.hand_over(d.code, CLERK)
        net.run_until_idle()
        held = net.node(office).dossiers.get(d.code)
        assert held is not None

        # another history for the same dossier: suspended and resumed before a hand-over nobody stored
        p = node.dossiers.catalogue[LAND]
        other = flow.resume(flow.suspend(flow.start(d, T0, CLERK), T0, CLERK, "chờ xác minh"), p,
                            node.dossiers.calendar, T0, CLERK)  # fmt: skip
        _, forged = flow.hand_over(other, p, node.dossiers.calendar, T0, CLERK, held.holder)
        assert forged is not None
        _send_raw(net, forged)
        activity = net.run_until_idle()
        # the real hand-over's body under the forged one's headers
        _, real = flow.hand_over(flow.start(d, T0, CLERK), p, node.dossiers.calendar, T0, CLERK, held.holder)
        assert real is not None
        _send_raw(net, real, headers_of=forged.with_trace(forged.trace[0]))  # its key was forgotten: fresh
        activity.add(net.run_until_idle())
        assert activity.intake.quarantined == 2
        reasons = sorted(entry.reason for entry in net.quarantine(office))
        assert "does not extend the one stored" in reasons[0] or "differs" in reasons[0]
        assert "routing headers name" in reasons[1]
        assert net.node(office).dossiers.get(d.code) == held
    finally:
        net.ctx.store.close()


def test_the_apology_letter_goes_to_the_desk_as_an_edxml_document(engine_db: str) -> None:
    clock = ManualClock(T0)
    net = make_network(engine_db, clock=clock)
    try:
        desk = commune_of(net)
        node = net.node(desk)
        d = node.dossiers.receive(LAND, Applicant("Phạm Văn Tư"), CLERK, number=3)
        office = str(node.dossiers.chain(d)[1])
        node.dossiers.start(d.code, CLERK)
        node.dossiers.hand_over(d.code, CLERK)
        net.run_until_idle()
        # the office sat on it: by 12/10 the return date of 16/10 cannot be kept
        clock.set((datetime(2017, 10, 12, 9, 0) - T0).total_seconds())
        late = net.node(office).dossiers
        assert late.apology_due(d.code)
        after = late.apologise(d.code, CLERK, letter_code=Code("15", "PXL-TNMT"), reason="chờ kết quả đo đạc")
        assert not late.apology_due(d.code)
        with pytest.raises(LifecycleError, match="not after"):  # nothing written, no second letter
            late.apologise(d.code, CLERK, letter_code=Code("16", "PXL-TNMT"), reason="lần hai", new_due=after.due_at)
        net.run_until_idle()
        letter = after.apologies[-1].document_id
        assert letter and after.due_at is not None and after.due_at > (d.due_at or after.due_at)
        assert [row.document_id for row in net.node(desk).inbox()] == [letter]
        assert after.history[-1].content.startswith("Xin lỗi và hẹn lại ngày trả kết quả")
        steps = [s.event for s in net.trace(d.code) if isinstance(s.event, DossierApologised)]
        assert [(e.node, e.desk, e.letter) for e in steps] == [(office, desk, letter)]
    finally:
        net.ctx.store.close()


def test_a_desk_clerks_actions_each_store_the_copy_and_an_illegal_one_writes_nothing(engine_db: str) -> None:
    clock = ManualClock(T0)
    net = make_network(engine_db, clock=clock)
    try:
        desks = net.node(commune_of(net)).dossiers
        d = desks.receive(LAND, Applicant("Võ Thị Mai"), CLERK, number=11)
        desks.start(d.code, CLERK)
        clock.advance(HOUR)
        desks.suspend(d.code, CLERK, "chờ ý kiến cơ quan thuế")
        clock.advance(48 * HOUR)  # two calendar days with the clock stopped
        resumed = desks.resume(d.code, CLERK)
        assert resumed.due_at is not None and d.due_at is not None and resumed.due_at > d.due_at
        desks.request_supplement(d.code, CLERK, "bản sao sổ hộ khẩu")
        with pytest.raises(IllegalTransitionError):
            desks.finish(d.code, CLERK)  # waiting for papers: not a move of the DOSSIER table
        waiting = desks.get(d.code)
        assert waiting is not None and waiting.state is DossierState.SUPPLEMENT_REQUESTED
        clock.advance(HOUR)
        desks.receive_supplement(d.code, CLERK)
        after = desks.withdraw(d.code, CLERK, "không tiếp tục")
        assert after.state is DossierState.WITHDRAWN and desks.get(d.code) == after
        online = desks.receive("1.000894", Applicant("Đỗ Văn Nam"), CLERK, number=12, channel=Channel.ONLINE)
        assert online.state is DossierState.SUBMITTED
        refused = desks.refuse(online.code, CLERK, "thiếu giấy tờ")
        assert refused.state is DossierState.REFUSED
        moves = [s.event for s in net.trace(d.code) if isinstance(s.event, StateChanged)]
        assert [(m.lifecycle, m.event) for m in moves] == [
            ("dossier", event)
            for event in ("start", "suspend", "resume", "request_supplement", "receive_supplement", "withdraw")
        ]
        assert net.quarantine() == []
    finally:
        net.ctx.store.close()
