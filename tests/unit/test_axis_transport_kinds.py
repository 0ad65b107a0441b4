"""How the ``axis+http://`` transport lists what waits: from a docflow axis every kind (documents, statuses,
dossiers) in one ``getReceivedEdocList`` (the signed ``docflow-kinds`` parameter, whose answer says it listed
them all); from an axis that ignores the extension, or refuses it, documents then statuses, one call each.
Driven against docflow's axis app in process; the other axes are the same app behind a client that leaves the
extension out or is refused it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from axis_inprocess import H58, TestClient
from engine_fixtures import outbox_messages

from docflow.axis.app import ServerSettings, create_app
from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import parse
from docflow.axis.packages import response_for
from docflow.bootstrap import build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant
from docflow.domain.status import StatusCode, StatusMessage
from docflow.transports import Message
from docflow.transports.http import AxisTransport
from docflow.xml import write_envelope, write_status

COMMUNE, DISTRICT = "000.20.50.H58", "000.00.50.H58"
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")
T0 = datetime(2017, 10, 2, 8, 0)
ENGINE = """
[[system]]
id = "engine"
secret = "s3"
agencies = ["*"]
"""


class StandardAxisClient(AxisClient):
    """A client of an axis that does not know ``docflow-kinds``: the parameter never reaches the server."""

    def request(self, operation: str, params: Sequence[tuple[str, str]] = (), **options: Any) -> Any:
        return super().request(operation, [p for p in params if p[0] != "docflow-kinds"], **options)


class StrictAxisClient(AxisClient):
    """A client of an axis that refuses parameters it does not know."""

    def received_kinds(self, kinds: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
        raise AxisCallError("getReceivedEdocList", "207", "unknown parameter docflow-kinds")


@pytest.fixture
def http(tmp_path) -> Iterator[TestClient]:
    backend = AxisBackend.open(db=f"sqlite:///{tmp_path / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(ENGINE))  # fmt: skip
    with TestClient(create_app(backend, ServerSettings())) as client:
        yield client
    backend.close()


def transport(http: TestClient, kind: type[AxisClient] = AxisClient) -> AxisTransport:
    return AxisTransport(kind("http://testserver", "engine", "s3", http=http, retries=0))


def queue_one_of_each(http: TestClient) -> list[str]:
    """A status, a document and a dossier hand-over for the district, sent in that order; their message ids."""
    net = build_network(db="sqlite://", clock=ManualClock(T0))
    draft = net.node(COMMUNE).draft([DISTRICT], subject="Báo cáo", code="5/BC-UBND")
    document = Message("m-doc", COMMUNE, DISTRICT, "edoc", write_envelope(draft), {})
    accepted = StatusMessage(
        sender=net.ctx.organization(H58),
        response_for=response_for(draft.document_id, COMMUNE),
        status=StatusCode.ACCEPTED,
        timestamp=T0,
        description="Đã tiếp nhận",
    )
    status = Message("m-status", H58, DISTRICT, "status", write_status(accepted), {})
    desk = net.node(COMMUNE).dossiers
    d = desk.receive("1.004227", Applicant("Trần Văn Bình"), CLERK, number=1)
    desk.start(d.code, CLERK)
    desk.hand_over(d.code, CLERK)
    [dossier] = outbox_messages(net)
    sender = transport(http)
    for message in (status, document, dossier):
        sender.send(message)
    return [status.message_id, document.message_id, dossier.message_id]


def test_a_docflow_axis_lists_every_kind_in_one_call_documents_first(http):
    status_id, document_id, dossier_id = queue_one_of_each(http)
    receiver = transport(http)
    before = receiver.client.calls
    assert receiver.pending(DISTRICT) == 3
    assert receiver.client.calls - before == 1
    got = receiver.receive(DISTRICT)
    assert [(d.message.kind, d.message.message_id) for d in got] == [
        ("edoc", document_id),
        ("status", status_id),
        ("dossier", dossier_id),
    ]


def test_an_axis_that_ignores_the_extension_is_asked_for_documents_then_statuses(http):
    status_id, document_id, _ = queue_one_of_each(http)
    receiver = transport(http, StandardAxisClient)
    before = receiver.client.calls
    assert receiver.pending(DISTRICT) == 2  # such an axis carries no dossiers
    assert receiver.client.calls - before == 2
    assert [d.message.message_id for d in receiver.receive(DISTRICT)] == [document_id, status_id]


def test_an_axis_that_refuses_the_extension_is_asked_one_kind_at_a_time_from_then_on(http):
    status_id, document_id, _ = queue_one_of_each(http)
    receiver = transport(http, StrictAxisClient)
    assert [d.message.message_id for d in receiver.receive(DISTRICT)] == [document_id, status_id]
    before = receiver.client.calls
    assert receiver.pending(DISTRICT) == 2
    assert receiver.client.calls - before == 2  # edoc and status: the extension is not tried again


def test_the_server_refuses_an_unknown_kind_and_says_when_it_listed_them_all(http):
    client = AxisClient("http://testserver", "engine", "s3", http=http, retries=0)
    with pytest.raises(AxisCallError) as caught:
        client.call("getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", "edoc"), ("docflow-kinds", "fax")])
    assert caught.value.code == "207" and "fax" in caught.value.description
    items, listed_all = client.received_kinds(["edoc", "dossier"])
    assert (items, listed_all) == ([], True)
