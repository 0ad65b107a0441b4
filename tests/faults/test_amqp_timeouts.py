"""The AMQP transport against a broker that hangs or dies: every call fails within its timeout with a docflow
error, and work goes on once the broker answers again.

The broker is reached through a proxy running in its own process (``proxy.ProxyProcess``), frozen for real with
SIGSTOP, thawed with SIGCONT and killed with SIGKILL.  Runs only when DOCFLOW_TEST_AMQP_URL is set.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from proxy import ProxyProcess

from docflow.config import Timeouts
from docflow.errors import DocflowError, TransportTimeoutError, TransportUnavailableError
from docflow.transports import Message

pika = pytest.importorskip("pika", reason="the AMQP transport needs pika")
from docflow.transports.amqp import AmqpTransport, normalise_url  # noqa: E402  (needs pika)

NODE = "000.00.00.H29"
FAST = Timeouts(connect=2.0, send=2.0)
#: What a frozen call may take beyond its timeout (scheduling on a busy 2-core machine).
SLACK = 1.5


def msg(n: int) -> Message:
    return Message(f"T-{n}", "000.00.00.G22", NODE, "edoc", b"body %d" % n, {"n": str(n)})


def through(url: str, port: int) -> str:
    parts = urlsplit(normalise_url(url))
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}"))


@pytest.fixture
def broker(amqp_url: str) -> tuple[str, int]:
    parts = urlsplit(amqp_url)
    return (parts.hostname or "127.0.0.1", parts.port or 5672)


@pytest.fixture
def prefix(amqp_url: str) -> Iterator[str]:
    name = f"docflow-fault-{uuid.uuid4().hex[:10]}."
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(normalise_url(amqp_url)))
    try:
        for queue in (f"{name}{NODE}", f"{name}dead.{NODE}"):
            channel = connection.channel()
            channel.queue_delete(queue)
            channel.close()
    finally:
        connection.close()


def timed(call: object) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except BaseException as exc:
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


def test_a_send_on_a_frozen_connection_fails_within_the_send_timeout(amqp_url, broker, prefix):
    with ProxyProcess(broker) as proxy:
        transport = AmqpTransport(through(amqp_url, proxy.port), queue_prefix=prefix, timeouts=FAST)
        transport.send(msg(1))  # connected, queues declared
        proxy.freeze()
        error, took = timed(lambda: transport.send(msg(2)))
        assert isinstance(error, TransportTimeoutError), error
        assert isinstance(error, TransportUnavailableError)  # the relay retries it later
        assert "did not answer" in str(error) and error.node == NODE
        assert FAST.send - 0.1 <= took <= FAST.send + SLACK
        proxy.resume()
        transport.send(msg(3))  # a new connection, once the broker answers again
        got = sorted(d.message.message_id for d in transport.receive(NODE))
        assert "T-1" in got and "T-3" in got
        transport.close()


def test_connecting_through_a_frozen_proxy_fails_within_the_connect_timeout(amqp_url, broker, prefix):
    with ProxyProcess(broker) as proxy:
        transport = AmqpTransport(through(amqp_url, proxy.port), queue_prefix=prefix, timeouts=FAST)
        proxy.freeze()
        error, took = timed(lambda: transport.send(msg(1)))
        # pika's AMQPConnectorStackTimeout is no AMQPError: it used to escape the relay unwrapped
        assert isinstance(error, TransportTimeoutError), error
        assert took <= FAST.connect + SLACK
        proxy.resume()
        transport.send(msg(2))
        assert [d.message.message_id for d in transport.receive(NODE)] == ["T-2"]
        transport.close()


def test_receive_and_pending_on_a_frozen_connection_fail_within_the_timeout(amqp_url, broker, prefix):
    with ProxyProcess(broker) as proxy:
        transport = AmqpTransport(through(amqp_url, proxy.port), queue_prefix=prefix, timeouts=FAST)
        transport.send(msg(1))
        proxy.freeze()
        for call in (lambda: transport.receive(NODE), lambda: transport.pending(NODE)):
            error, took = timed(call)
            assert isinstance(error, TransportUnavailableError), error
            assert took <= max(FAST.send, FAST.connect) + SLACK
        proxy.resume()
        assert [d.message.message_id for d in transport.receive(NODE)] == ["T-1"]
        transport.close()


def test_a_killed_proxy_is_an_unavailable_broker_at_once(amqp_url, broker, prefix):
    proxy = ProxyProcess(broker)
    try:
        transport = AmqpTransport(through(amqp_url, proxy.port), queue_prefix=prefix, timeouts=FAST)
        transport.send(msg(1))
    finally:
        proxy.kill()  # SIGKILL: the kernel closes its sockets
    error, took = timed(lambda: transport.send(msg(2)))
    assert isinstance(error, TransportUnavailableError), error
    assert took <= FAST.connect + SLACK
    error, _ = timed(lambda: transport.send(msg(3)))  # nothing listens any more: refused, still ours
    assert isinstance(error, DocflowError), error
    transport.close()


def test_a_broker_freezing_just_after_the_connection_opened_is_still_bounded(amqp_url, broker, prefix, monkeypatch):
    with ProxyProcess(broker) as proxy:
        transport = AmqpTransport(through(amqp_url, proxy.port), queue_prefix=prefix, timeouts=FAST)
        declare = transport._declare

        def freeze_then_declare(channel: object, node: str) -> object:
            proxy.freeze()  # the call that opened the connection goes on to declare the queue: it must not hang
            return declare(channel, node)

        monkeypatch.setattr(transport, "_declare", freeze_then_declare)
        error, took = timed(lambda: transport.send(msg(1)))
        assert isinstance(error, TransportTimeoutError), error
        assert took <= FAST.connect + FAST.send + SLACK
        proxy.resume()
        monkeypatch.undo()
        transport.send(msg(2))
        assert [d.message.message_id for d in transport.receive(NODE)] == ["T-2"]
        transport.close()
