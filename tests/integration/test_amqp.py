"""RabbitMQ-specific behaviour of the AMQP transport (the shared behaviour is in tests/contract).

Runs only when DOCFLOW_TEST_AMQP_URL is set.  A loopback TCP relay sits between a transport and the broker so
a test can cut the network under a consumer that holds a claim.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest

from docflow.errors import ConfigError, TransportError, TransportUnavailableError
from docflow.transports import Message, open_transport

pika = pytest.importorskip("pika", reason="the AMQP transport needs pika")
from docflow.transports.amqp import AmqpTransport, normalise_url  # noqa: E402  (needs pika)

NODE = "000.00.00.H29"


@pytest.fixture
def prefix(amqp_url: str) -> Iterator[str]:
    name = f"docflow-it-{uuid.uuid4().hex[:10]}."
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(normalise_url(amqp_url)))
    try:
        for queue in (f"{name}{NODE}", f"{name}dead.{NODE}"):
            channel = connection.channel()
            channel.queue_delete(queue)
            channel.close()
    finally:
        connection.close()


class Relay:
    """Forwards loopback connections to the broker until ``cut()`` closes every socket at once."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
                self.sockets += [client, upstream]
                for src, dst in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)

    def cut(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def msg(n: int) -> Message:
    return Message(f"M-{n}", "000.00.00.G22", NODE, "edoc", f"body {n}".encode(), {"n": str(n)})


def test_kombu_style_default_vhost_url_is_accepted(amqp_url: str, prefix: str):
    assert normalise_url("amqp://guest:guest@localhost:5672//") == "amqp://guest:guest@localhost:5672/%2F"
    with open_transport(amqp_url, queue_prefix=prefix) as transport:
        assert isinstance(transport, AmqpTransport)
        transport.send(msg(1))
        assert transport.pending(NODE) == 1


def test_non_amqp_url_is_a_config_error():
    with pytest.raises(ConfigError):
        AmqpTransport("http://localhost/")


def test_unreachable_broker_is_transport_unavailable():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free_port = probe.getsockname()[1]  # closed again below: nobody listens there
    transport = AmqpTransport(f"amqp://guest:guest@127.0.0.1:{free_port}/%2F", connect_timeout=1.0)
    with pytest.raises(TransportUnavailableError) as caught:
        transport.send(msg(1))
    assert caught.value.node == NODE
    assert caught.value.__cause__ is not None


def test_network_cut_under_a_consumer_returns_its_claims(amqp_url: str, prefix: str):
    params = pika.URLParameters(normalise_url(amqp_url))
    relay = Relay((params.host, params.port))
    via_relay = f"amqp://{params.credentials.username}:{params.credentials.password}@127.0.0.1:{relay.port}/%2F"
    with open_transport(amqp_url, queue_prefix=prefix) as sender:
        sender.send(msg(1))
    consumer = AmqpTransport(via_relay, queue_prefix=prefix, connect_timeout=2.0)
    [claimed] = consumer.receive(NODE)
    relay.cut()
    with pytest.raises(TransportUnavailableError):
        consumer.ack(claimed)
        consumer.receive(NODE)  # the cut may only show on the next round trip
    with open_transport(amqp_url, queue_prefix=prefix) as survivor:
        again = []
        for _ in range(300):
            again = survivor.receive(NODE)
            if again:
                break
            threading.Event().wait(0.01)
        assert [d.message for d in again] == [claimed.message]
        assert again[0].attempt == 2
        survivor.ack(again[0])
    consumer.close()


def test_foreign_message_is_dead_lettered_not_fatal(amqp_url: str, prefix: str):
    with open_transport(amqp_url, queue_prefix=prefix) as transport:
        transport.send(msg(1))
        foreign = pika.BlockingConnection(pika.URLParameters(normalise_url(amqp_url)))
        channel = foreign.channel()  # someone else writes into docflow's queue
        channel.basic_publish("", transport.queue_name(NODE), b"hello", pika.BasicProperties(delivery_mode=2))
        foreign.close()
        transport.send(msg(2))
        got = [d.message.message_id for d in transport.receive(NODE)]
        assert got == ["M-1", "M-2"]
        assert transport.pending(NODE) == 2


def test_dead_letters_are_read_without_being_removed(amqp_url: str, prefix: str):
    with open_transport(amqp_url, queue_prefix=prefix) as transport:
        transport.send(msg(1))
        [delivery] = transport.receive(NODE)
        transport.nack(delivery, requeue=False)
        for _ in range(300):  # dead-lettering is asynchronous inside the broker
            if transport.dead_letters(NODE):
                break
            threading.Event().wait(0.01)
        assert transport.dead_letters(NODE) == [delivery.message]
        assert transport.dead_letters(NODE) == [delivery.message]


def test_receipt_from_another_transport_is_refused(amqp_url: str, prefix: str):
    from docflow.transports import Delivery

    with open_transport(amqp_url, queue_prefix=prefix) as transport, pytest.raises(TransportError):
        transport.ack(Delivery(msg(1), "000.00.00.H29/cur-name~1~5", 1))
