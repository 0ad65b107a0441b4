"""``sendEdoc`` with ``messagetype=dossier`` in process: a dossier hand-over from a docflow engine (its
``docflow-*`` parameters) is validated, kept once per hand-over and recipient, and listed under its own message
type; a partner system's dossier (no docflow parameters), one without ``to``, and bytes that are not a dossier
message are refused with the code and reason that say so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from axis_inprocess import CREDENTIALS, TestClient
from engine_fixtures import outbox_messages

from docflow.axis.app import ServerSettings, create_app
from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import parse
from docflow.bootstrap import build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant
from docflow.transports import Message

COMMUNE, DISTRICT = "000.20.50.H58", "000.00.50.H58"
ENGINE = """
[[system]]
id = "engine"
secret = "s3"
agencies = ["*"]
"""
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")


@pytest.fixture
def axis(tmp_path) -> Iterator[tuple[AxisBackend, AxisClient, AxisClient]]:
    """The backend, a docflow engine's system (any agency) and the province's partner system."""
    backend = AxisBackend.open(db=f"sqlite:///{tmp_path / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(CREDENTIALS + ENGINE))  # fmt: skip
    with TestClient(create_app(backend, ServerSettings())) as http:
        url = "http://testserver"
        yield backend, AxisClient(url, "engine", "s3", http=http, retries=0), AxisClient(url, "tg", "s1", http=http,
                                                                                        retries=0)  # fmt: skip
    backend.close()


@pytest.fixture(scope="module")
def hand_over() -> Message:
    """A commune desk's hand-over of a land dossier to its district, as the engine's transport sends it."""
    net = build_network(db="sqlite://", clock=ManualClock(datetime(2017, 10, 2, 8, 0)))
    desk = net.node(COMMUNE).dossiers
    d = desk.receive("1.004227", Applicant("Trần Văn Bình"), CLERK, number=1)
    desk.start(d.code, CLERK)
    desk.hand_over(d.code, CLERK)
    [message] = outbox_messages(net)
    assert message.kind == "dossier"
    return message


def meta(message: Message) -> list[tuple[str, str]]:
    headers = json.dumps(dict(message.headers), ensure_ascii=False, separators=(",", ":"))
    return [("docflow-id", message.message_id), ("docflow-sender", message.sender), ("docflow-headers", headers)]


def test_an_engines_hand_over_is_kept_once_and_listed_as_a_dossier(axis, hand_over):
    _, engine, _ = axis
    send = {"message_type": "dossier", "to": [DISTRICT], "extra": meta(hand_over)}
    doc_id = engine.send(hand_over.body, **send)
    assert engine.send(hand_over.body, **send) == doc_id  # a resend stores nothing new
    [item] = engine.received("dossier")
    assert (item["from"], item["to"], item["messageType"]) == (COMMUNE, DISTRICT, "dossier")
    assert item["docflow"]["id"] == hand_over.message_id
    assert engine.get(item["docId"]) == hand_over.body
    assert engine.received("edoc") == engine.received("status") == []


def test_a_partner_systems_dossier_is_refused_it_travels_between_docflow_engines_only(axis, hand_over):
    _, _, partner = axis
    with pytest.raises(AxisCallError) as caught:
        partner.send(hand_over.body, message_type="dossier", to=[DISTRICT])
    assert caught.value.code == "207" and "docflow engines only" in caught.value.description


def test_a_dossier_without_to_is_refused(axis, hand_over):
    _, engine, _ = axis
    with pytest.raises(AxisCallError) as caught:
        engine.send(hand_over.body, message_type="dossier", extra=meta(hand_over))
    assert caught.value.code == "207" and "header to" in caught.value.description


def test_bytes_that_are_not_a_dossier_message_are_refused_and_quarantined(axis, hand_over):
    backend, engine, _ = axis
    body = hand_over.body.replace(b"<MaHoSo>", b"<MaHoSoX>").replace(b"</MaHoSo>", b"</MaHoSoX>")
    assert body != hand_over.body
    with pytest.raises(AxisCallError) as caught:
        engine.send(body, message_type="dossier", to=[DISTRICT], extra=meta(hand_over))
    assert caught.value.code == "204"
    [entry] = backend.network.quarantine(backend.node)
    assert entry.reason.startswith("axis invalid_edxml: ") and "MaHoSoX" in entry.reason
    assert engine.received("dossier") == []
