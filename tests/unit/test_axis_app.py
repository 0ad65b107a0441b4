"""The axis app in process (Starlette's test client, no server): the backend as ``AxisBackend.open`` builds it,
without the background engine pass, answers every call; errors never escape as HTTP errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axis_inprocess import CREDENTIALS, G22, H58, TestClient

from docflow.axis.app import ServerSettings, create_app
from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import parse
from docflow.bootstrap import build_network
from docflow.xml import write_envelope


@pytest.fixture
def clients(tmp_path) -> Iterator[tuple[AxisClient, AxisClient]]:
    backend = AxisBackend.open(db=f"sqlite:///{tmp_path / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(CREDENTIALS))  # fmt: skip
    app = create_app(backend, ServerSettings(base_path="/XrdAdapter/adapter/"))
    with TestClient(app) as http:
        url = "http://testserver/XrdAdapter/adapter"
        yield AxisClient(url, "tg", "s1", http=http, retries=0), AxisClient(url, "vpcp", "s2", http=http, retries=0)
    backend.close()


def test_a_round_trip_in_process(clients):
    tg, gov = clients
    data = write_envelope(build_network(db="sqlite://").node(H58).draft([G22], subject="Tờ trình", code="8/TTr-UBND"))
    doc_id = tg.send(data, sender=H58)
    [item] = gov.received()
    assert gov.get(item["docId"]) == gov.download(item["docId"]) == data
    gov.update(item["docId"], "done")
    assert gov.count() == 0
    [sent] = tg.sent(doc_id)
    assert (sent["toCode"], sent["sendStatus"], sent["receiveStatus"]) == (G22, "DONE", "ARRIVED")


def test_an_unknown_operation_and_a_bad_status_are_fail_answers(clients):
    tg, _ = clients
    with pytest.raises(AxisCallError) as caught:
        tg.call("getEverything")
    assert caught.value.code == "404"
    with pytest.raises(AxisCallError) as caught:
        tg.update("x", "finished")
    assert caught.value.code == "207"
    with pytest.raises(AxisCallError) as caught:
        tg.call("getReceivedEdocList", [("messagetype", "fax")])
    assert caught.value.code == "207"
    with pytest.raises(AxisCallError) as caught:
        tg.call("sendEdoc", [("hash-file", "0"), ("to", "not json")], body=b"<edXML/>\r\n")
    assert caught.value.code in ("202", "207")
