"""The ``axis+http://`` transport against a real ``docflow serve`` process: the transport contract's behaviours
with edXML bodies (the axis validates every package, so the contract suite's arbitrary bytes cannot travel),
retries with back-off and jitter, a resend after a lost answer that creates no second package, and two
engines in this process exchanging a document and its 01 through the axis.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from axis_processes import COMMUNE, G22, H58, Served

from docflow.axis.client import AxisClient
from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.errors import ConfigError, TransportError, TransportUnavailableError
from docflow.services import Network, serve_once
from docflow.transports import Message, Transport, open_transport
from docflow.transports.http import AxisTransport
from docflow.xml import write_envelope


@pytest.fixture
def url(served: Served, tmp_path: Path) -> str:
    endpoint = served.url.replace("http://", "axis+http://")
    return f"{endpoint}?system=engine&secret_file={tmp_path / 'axis-credentials.toml'}"


@pytest.fixture(scope="module")
def drafter():
    return build_network(db="sqlite://")


_numbers = iter(range(100, 10_000))


def message(drafter, recipient: str = G22, **headers: str) -> Message:
    body = write_envelope(drafter.node(H58).draft([recipient], subject="Công văn", code=f"{next(_numbers)}/UBND-VP"))
    return Message(f"M-{next(_numbers)}", H58, recipient, "edoc", body, headers)


def test_the_url_opens_the_axis_transport_and_bad_urls_are_refused(url):
    with open_transport(url) as transport:
        assert isinstance(transport, AxisTransport)
        assert isinstance(transport, Transport)
    with pytest.raises(ConfigError, match="names no system"):
        open_transport("axis+http://127.0.0.1:9/x")
    with pytest.raises(ConfigError, match="expected axis"):
        AxisTransport.from_url("axis+ftp://127.0.0.1:9/x?system=a")


def test_round_trip_preserves_body_and_headers_exactly(url, drafter):
    sent = message(drafter, trace="Văn phòng Chính phủ → UBND tỉnh", empty="", origin=H58)
    with open_transport(url) as transport:
        transport.send(sent)
        assert transport.pending(G22) == 1
        [delivery] = transport.receive(G22)
        assert delivery.message == sent
        assert dict(delivery.message.headers) == dict(sent.headers)
        assert delivery.attempt == 1
        transport.ack(delivery)
        assert transport.receive(G22) == []
        assert transport.pending(G22) == 0


def test_fifo_per_recipient_and_recipients_isolated(url, drafter):
    with open_transport(url) as transport:
        to_gov = [message(drafter, G22) for _ in range(5)]
        to_commune = [message(drafter, COMMUNE) for _ in range(2)]
        for sent in (*to_gov[:3], *to_commune, *to_gov[3:]):
            transport.send(sent)
        assert (transport.pending(G22), transport.pending(COMMUNE), transport.pending(H58)) == (5, 2, 0)
        first = transport.receive(G22, limit=2)
        rest = transport.receive(G22, limit=10)
        assert [d.message.message_id for d in first + rest] == [m.message_id for m in to_gov]
        assert [d.message.recipient for d in transport.receive(COMMUNE)] == [COMMUNE, COMMUNE]


def test_nack_requeues_with_the_next_attempt_and_without_requeue_dead_letters(url, drafter):
    with open_transport(url) as transport:
        transport.send(message(drafter))
        transport.send(message(drafter))
        [first, poison] = transport.receive(G22)
        transport.nack(first)
        [again] = transport.receive(G22)
        assert again.message == first.message and again.attempt == 2
        transport.nack(poison, requeue=False)
        assert transport.dead_letters(G22) == [poison.message]  # type: ignore[attr-defined]
        transport.ack(again)
        assert transport.receive(G22) == []
        assert transport.pending(G22) == 0


def test_claims_lapse_after_the_visibility_timeout_and_come_back_on_reopen(url, drafter):
    clock = ManualClock(seconds=1000.0)
    transport = open_transport(url, clock=clock.time, visibility_timeout=10.0)
    sent = message(drafter)
    transport.send(sent)
    [claimed] = transport.receive(G22)
    clock.advance(9.0)
    assert transport.receive(G22) == []
    clock.advance(1.0)
    [again] = transport.receive(G22)
    assert again.attempt == 2
    transport.ack(claimed)  # lapsed: settles nothing
    assert transport.pending(G22) == 1
    transport.close()
    transport.close()
    with pytest.raises(TransportError):
        transport.receive(G22)
    with open_transport(url) as reopened:
        [back] = reopened.receive(G22)
        assert back.message == sent
        reopened.ack(back)
        assert reopened.pending(G22) == 0


def test_bad_arguments_are_transport_errors(url, drafter):
    with open_transport(url) as transport:
        with pytest.raises(TransportError):
            transport.receive(G22, limit=0)
        with pytest.raises(TransportError):
            transport.receive("../etc")
        not_edxml = Message("M-x", H58, G22, "edoc", b"body 1")
        with pytest.raises(TransportError, match="refused"):
            transport.send(not_edxml)


class LosesFirstAnswer(httpx.BaseTransport):
    """Delivers every request, but the answer to the first sendEdoc never reaches the client."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/sendEdoc") and not self.lost:
            response.read()
            self.lost += 1
            raise httpx.ReadError("connection reset while reading the answer", request=request)
        return response


def test_a_resend_after_a_lost_answer_creates_no_second_package(served, drafter):
    sleeps: list[float] = []
    http = httpx.Client(transport=LosesFirstAnswer())
    client = AxisClient(served.url, "engine", "secret-engine", http=http, sleep=sleeps.append, backoff=0.5)
    with AxisTransport(client) as transport:
        transport.send(message(drafter))
        assert client.calls == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5
        assert transport.pending(G22) == 1
    assert served.rows("SELECT count(*) FROM axis_packages") == [(1,)]


def test_retries_back_off_with_jitter_then_give_up(tmp_path):
    sleeps: list[float] = []
    client = AxisClient("http://127.0.0.1:9", "engine", "s", retries=4, backoff=0.1, backoff_cap=0.25,
                        sleep=sleeps.append, timeout=1.0)  # fmt: skip
    with pytest.raises(TransportUnavailableError, match="after 5 tries"):
        client.agencies()
    assert len(sleeps) == 4
    for attempt, slept in enumerate(sleeps, start=1):
        assert 0 <= slept <= min(0.25, 0.1 * 2 ** (attempt - 1))


def test_two_engines_exchange_a_document_and_its_arrival_through_the_axis(url, tmp_path):
    """Each engine serves its own agency (``serve_once``, as ``docflow worker`` does) over the same axis."""
    province = build_network(db=f"sqlite:///{tmp_path / 'h58.db'}", transport=url).ctx
    office = build_network(db=f"sqlite:///{tmp_path / 'g22.db'}", transport=url).ctx
    try:
        document_id = Network(province).node(H58).send(recipients=[G22], subject="Báo cáo quý", code="77/UBND-VP")
        assert serve_once(province, H58).sent == 1
        arrived = serve_once(office, G22)
        assert (arrived.intake.applied, arrived.sent) == (1, 1)  # the document, then its 01 back
        [received] = Network(office).node(G22).inbox()
        assert received.document_id == document_id
        assert serve_once(province, H58).intake.applied == 1
        [delivery] = Network(province).node(H58).deliveries(document_id)
        assert delivery.state == "arrived"
        assert serve_once(office, G22).intake.received == serve_once(province, H58).intake.received == 0
    finally:
        province.transport.close()
        office.transport.close()
