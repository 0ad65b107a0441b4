"""The apology letter of a late dossier travels as a real edXML document through the engine, from the late
district to the commune desk that must hand it to the applicant (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from docflow import ManualClock, build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant
from docflow.domain.envelope import Code
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.worktime import WorkCalendar

CAL = WorkCalendar()
PROCEDURE = load_catalogue()["1.004227"]
CLERK = flow.Clerk("Trương Văn Hậu", "Phó Chủ tịch", "UBND huyện")
T0 = datetime(2017, 10, 2, 9, 0)


def test_the_apology_letter_is_delivered_to_the_desk_as_an_edxml_document(engine_db):
    late = datetime(2017, 10, 11, 9, 0)
    network = build_network(db=engine_db, clock=ManualClock(late))
    registry = network.ctx.registry
    commune = next(a.code for a in registry if a.kind is AgencyKind.COMMUNE)
    chain = step_agencies(registry, commune, PROCEDURE)
    d = flow.receive(
        PROCEDURE,
        CAL,
        code=flow.dossier_code(commune, T0, 9),
        desk=commune,
        at=T0,
        clerk=CLERK,
        applicant=Applicant("Ngô Thị Bích Thủy"),
    )
    d, message = flow.hand_over(flow.start(d, T0, CLERK), PROCEDURE, CAL, T0 + timedelta(hours=1), CLERK, chain[1])
    d = flow.apply_incoming(None, message, chain[1])
    assert flow.apology_due(d, PROCEDURE, CAL, late)
    d, letter = flow.apologise(
        d,
        PROCEDURE,
        CAL,
        late,
        CLERK,
        sender=registry.organization(chain[1]),
        desk=registry.organization(commune),
        code=Code("21", "PXL-UBND"),
        reason="chờ kết quả đo đạc",
    )
    try:
        document_id = network.node(chain[1]).send(letter)
        network.run_until_idle()
        received = [row.document_id for row in network.node(commune).inbox()]
    finally:
        network.ctx.store.close()
    assert received == [document_id] == [d.apologies[-1].document_id]
    assert d.history[-1].content.startswith("Xin lỗi và hẹn lại ngày trả kết quả")
