"""The dossier message kind on the wire: its routing headers carry the hand-over's identity, so the inbox key of
any hand-over is ``DossierMessage.identity`` and survives the headers' round trip (property-tested)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant
from docflow.domain.ids import OrganId
from docflow.domain.procedures import load_catalogue
from docflow.domain.worktime import WorkCalendar
from docflow.errors import TransportError
from docflow.services.wire import DOSSIER, EDOC, Routing
from docflow.transports.base import Message

CATALOGUE = load_catalogue()
CALENDAR = WorkCalendar()
CLERK = flow.Clerk("Lê Văn A")
T0 = datetime(2017, 10, 2, 8, 0)
organs = st.sampled_from(["000.20.50.H58", "000.00.50.H58", "000.00.10.H58", "000.00.00.H58", "000.21.51.H58"])


@given(
    desk=organs,
    to=organs,
    number=st.integers(1, 99_999),
    suspensions=st.integers(0, 3),
    procedure=st.sampled_from(sorted(code for code, p in CATALOGUE.items() if len(p.steps) > 1)),
)
def test_the_routing_key_of_a_hand_over_is_its_identity(
    desk: str, to: str, number: int, suspensions: int, procedure: str
) -> None:
    p = CATALOGUE[procedure]
    d = flow.receive(p, CALENDAR, code=flow.dossier_code(OrganId.parse(desk), T0, number), desk=OrganId.parse(desk),
                     applicant=Applicant("Trần Thị B"), at=T0, clerk=CLERK)  # fmt: skip
    d = flow.start(d, T0, CLERK)
    for _ in range(suspensions):
        d = flow.resume(flow.suspend(d, T0, CLERK, "chờ"), p, CALENDAR, T0, CLERK)
    _, message = flow.hand_over(d, p, CALENDAR, T0, CLERK, OrganId.parse(to))
    if to == desk:
        assert message is None
        return
    assert message is not None
    routing = Routing(DOSSIER, desk, to, f"direct:{desk};{to}", d.code, round=len(message.dossier.history))
    assert routing.key == message.identity
    again = Routing.from_headers(DOSSIER, routing.headers())
    assert again == routing and again.key == message.identity
    assert Routing.from_headers(EDOC, routing.headers()).key != routing.key  # kinds never share keys


def test_an_unknown_kind_is_refused_by_the_wire_and_the_transport() -> None:
    with pytest.raises(TransportError, match="'dossier'"):
        Routing.from_headers("parcel", {})
    with pytest.raises(TransportError, match="unknown message kind"):
        Message("m-1", "000.20.50.H58", "000.00.50.H58", "parcel", b"")  # type: ignore[arg-type]
    assert Message("m-2", "000.20.50.H58", "000.00.50.H58", "dossier", b"<x/>").kind == DOSSIER
