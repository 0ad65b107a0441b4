"""``amqp://`` / ``amqps://``: queues on a RabbitMQ broker, through ``pika`` (blocking adapter).

One durable **quorum** queue per recipient node, ``<prefix><node>``, dead-lettering to a durable classic queue
``<prefix>dead.<node>``.  ``send`` publishes persistent messages on a channel with publisher confirms, with
``mandatory`` set: when it returns the broker has stored the message.  ``receive`` pulls with ``basic.get``
(non-blocking).  The quorum queue counts failed deliveries (``x-delivery-count``), which gives ``attempt``.

Visibility timeout: RabbitMQ holds an unacked delivery for as long as the connection lives, so this class keeps
the deadline of each claim itself and nacks (requeues) the lapsed ones on the next call.  A connection that is
closed or lost makes the broker requeue all its claims.

``pending(node)`` counts the messages ready in the queue plus the claims held by *this* connection; claims held
by other connections are invisible to AMQP 0-9-1 and not counted.  One instance per thread: pika's blocking
connection is not thread-safe.  The connection is opened on first use, not in the constructor.

Timeouts (``docflow.config.Timeouts``): opening a connection (TCP and AMQP handshake) is bounded by ``connect``;
every call on an open connection (a publish until its confirm, a get, an ack) by ``send``, through a timer on
pika's I/O loop that aborts the connection when the broker stays silent (what pika's own heartbeat checker does,
only sooner); a broker that blocks publishers (memory or disk alarm) is given ``send`` too.  A timeout raises
``TransportTimeoutError`` and drops the connection; every pika error, the connection workflow's included, is
mapped to ``TransportError`` / ``TransportUnavailableError``.

The kombu-style URL ``amqp://user:pass@host:5672//`` (vhost ``/``) is accepted besides pika's ``/%2F``.
Must not import lxml, sqlalchemy, docflow.store or docflow.xml.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pika  # type: ignore[import-untyped]
import pika.exceptions as pex  # type: ignore[import-untyped]
from pika.adapters.blocking_connection import BlockingChannel  # type: ignore[import-untyped]
from pika.adapters.utils.connection_workflow import (  # type: ignore[import-untyped]
    AMQPConnectorException,
    AMQPConnectorStackTimeout,
)

from docflow.config import DEFAULT_TIMEOUTS, Timeouts
from docflow.errors import ConfigError, TransportError, TransportTimeoutError, TransportUnavailableError
from docflow.transports.base import KINDS, Delivery, Message, TransportBase, check_node

_SENDER = "docflow-sender"
_RECIPIENT = "docflow-recipient"
_HEADERS = "docflow-headers"


def normalise_url(url: str) -> str:
    """Accept kombu's ``//`` spelling of the default vhost ``/``; pika wants ``/%2F``."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ConfigError(f"not an AMQP URL: {url!r}")
    if parts.path == "//":
        parts = parts._replace(path="/%2F")
    return urlunsplit(parts)


class AmqpTransport(TransportBase):
    """Durable queues on RabbitMQ; claims are released when the connection closes or is lost."""

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/%2F",
        *,
        clock: Callable[[], float] = time.monotonic,
        visibility_timeout: float = 30.0,
        queue_prefix: str = "docflow.",
        timeouts: Timeouts | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        if visibility_timeout <= 0:
            raise ConfigError(f"visibility_timeout must be positive, not {visibility_timeout!r}")
        chosen = timeouts or DEFAULT_TIMEOUTS
        if connect_timeout is not None:  # the older keyword still wins over the settings object
            chosen = replace(chosen, connect=connect_timeout)
        self.timeouts = chosen
        self.url = normalise_url(url)
        self.clock = clock
        self.visibility_timeout = float(visibility_timeout)
        self.queue_prefix = queue_prefix
        self._params = pika.URLParameters(self.url)
        self._params.socket_timeout = chosen.connect
        self._params.stack_timeout = chosen.connect
        self._params.blocked_connection_timeout = chosen.send
        if self._params.tcp_options is None:
            self._params.tcp_options = {
                "TCP_KEEPIDLE": max(int(chosen.keepalive), 1),
                "TCP_KEEPINTVL": max(int(chosen.keepalive) // 3, 1),
                "TCP_KEEPCNT": 3,
                "TCP_USER_TIMEOUT": int(max(chosen.send, chosen.keepalive) * 1000),
            }
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._generation = 0  # receipts of an older connection are stale
        self._declared: set[str] = set()
        self._held: dict[int, tuple[str, float]] = {}  # delivery tag -> (node, deadline)
        self._cancels: list[Callable[[], None]] = []  # the deadlines armed for the call in progress
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AmqpTransport:
        """``amqp://user:password@host:port/vhost`` (options go to the constructor)."""
        return cls(url, **options)

    def queue_name(self, node: str) -> str:
        return f"{self.queue_prefix}{check_node(node)}"

    def dead_queue_name(self, node: str) -> str:
        return f"{self.queue_prefix}dead.{check_node(node)}"

    # -- connection ------------------------------------------------------------------------------------
    def _chan(self) -> BlockingChannel:
        if self._closed:
            raise TransportError("AMQP transport is closed")
        if self._channel is None or not self._channel.is_open:
            self._drop()
            connection = pika.BlockingConnection(self._params)  # bounded by socket_timeout and stack_timeout
            self._connection = connection
            self._cancels.append(_set_deadline(connection, self.timeouts.send))  # the rest of this call too
            channel = connection.channel()
            channel.confirm_delivery()
            self._channel = channel
            self._generation += 1
        return self._channel

    def _drop(self) -> None:
        """Forget the connection (the broker requeues whatever it still held for us)."""
        connection, self._connection, self._channel = self._connection, None, None
        self._declared.clear()
        self._held.clear()
        if connection is not None and connection.is_open:
            with suppress(Exception), _deadline(connection, self.timeouts.send):
                connection.close()

    @contextmanager
    def _mapped(self, doing: str, node: str | None = None) -> Iterator[None]:
        """Map pika's errors to docflow's, bound the call by the send timeout, and reconnect on the next call
        after any error."""
        self._cancels.append(_set_deadline(self._connection, self.timeouts.send))
        try:
            yield
        except (_CallTimeout, pex.ConnectionBlockedTimeout, AMQPConnectorStackTimeout) as exc:
            self._drop()
            raise TransportTimeoutError(f"AMQP broker did not answer while {doing}: {exc}", node=node) from exc
        except AMQPConnectorException as exc:  # not an AMQPError: the connection workflow's own tree
            self._drop()
            raise TransportUnavailableError(f"AMQP broker unreachable while {doing}: {exc!r}", node=node) from exc
        except (pex.AMQPConnectionError, pex.ConnectionWrongStateError, OSError) as exc:
            self._drop()
            raise TransportUnavailableError(f"AMQP broker unreachable while {doing}: {exc!r}", node=node) from exc
        except pex.AMQPError as exc:
            self._drop()
            raise TransportError(f"AMQP error while {doing}: {exc!r}", node=node) from exc
        finally:
            cancels, self._cancels = self._cancels, []
            for cancel in cancels:
                cancel()

    def _declare(self, channel: BlockingChannel, node: str) -> Any:
        name, dead = self.queue_name(node), self.dead_queue_name(node)
        if dead not in self._declared:
            channel.queue_declare(dead, durable=True)
            self._declared.add(dead)
        frame = channel.queue_declare(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead,
            },
        )
        self._declared.add(name)
        return frame

    # -- operations ------------------------------------------------------------------------------------
    def send(self, message: Message) -> None:
        node = message.recipient
        with self._mapped(f"sending {message.message_id}", node):
            channel = self._chan()
            if self.queue_name(node) not in self._declared:
                self._declare(channel, node)
            properties = pika.BasicProperties(
                message_id=message.message_id,
                type=message.kind,
                delivery_mode=2,
                content_type="application/octet-stream",
                headers={_SENDER: message.sender, _RECIPIENT: node, _HEADERS: dict(message.headers)},
            )
            channel.basic_publish("", self.queue_name(node), message.body, properties, mandatory=True)

    def _expire(self, channel: BlockingChannel) -> None:
        now = self.clock()
        for tag in [tag for tag, (_, deadline) in self._held.items() if deadline <= now]:
            del self._held[tag]
            channel.basic_nack(tag, requeue=True)

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        self._check_limit(limit)
        out: list[Delivery] = []
        with self._mapped(f"receiving for {node}", node):
            channel = self._chan()
            self._expire(channel)
            name = self.queue_name(node)
            if name not in self._declared:
                self._declare(channel, node)
            deadline = self.clock() + self.visibility_timeout
            while len(out) < limit:
                method, properties, body = channel.basic_get(name, auto_ack=False)
                if method is None:
                    break
                try:
                    message = _to_message(properties, body, node)
                except TransportError:
                    channel.basic_nack(method.delivery_tag, requeue=False)  # foreign or broken: dead-letter it
                    continue
                count = int((properties.headers or {}).get("x-delivery-count", 0))
                self._held[method.delivery_tag] = (node, deadline)
                out.append(Delivery(message, f"{self._generation}:{method.delivery_tag}", count + 1))
        return out

    def _tag(self, delivery: Delivery) -> int | None:
        generation, _, tag = delivery.receipt.partition(":")
        if not tag.isdigit() or not generation.isdigit():
            raise TransportError(f"not a receipt of this transport: {delivery.receipt!r}")
        if int(generation) == self._generation and self._channel is not None:
            with self._mapped("requeueing lapsed claims", delivery.node):
                self._expire(self._channel)
        if int(generation) != self._generation or int(tag) not in self._held:
            return None  # from a lost connection, or lapsed and requeued: the broker redelivers it
        return int(tag)

    def ack(self, delivery: Delivery) -> None:
        tag = self._tag(delivery)
        if tag is None:
            return
        with self._mapped(f"acking {delivery.message.message_id}", delivery.node):
            self._chan().basic_ack(tag)
            del self._held[tag]

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        tag = self._tag(delivery)
        if tag is None:
            return
        with self._mapped(f"nacking {delivery.message.message_id}", delivery.node):
            self._chan().basic_nack(tag, requeue=requeue)
            del self._held[tag]

    def pending(self, node: str) -> int:
        with self._mapped(f"counting the queue of {node}", node):
            channel = self._chan()
            self._expire(channel)
            frame = self._declare(channel, node)
            held = sum(1 for held_node, _ in self._held.values() if held_node == node)
            return int(frame.method.message_count) + held

    def dead_letters(self, node: str) -> list[Message]:
        """Read the dead letters of ``node`` without removing them (they stay for an operator)."""
        out: list[Message] = []
        with self._mapped(f"reading the dead letters of {node}", node):
            channel = self._chan()
            self._declare(channel, node)
            last = None
            while True:
                method, properties, body = channel.basic_get(self.dead_queue_name(node), auto_ack=False)
                if method is None:
                    break
                last = method.delivery_tag
                with suppress(TransportError):
                    out.append(_to_message(properties, body, node))
            if last is not None:
                channel.basic_nack(last, multiple=True, requeue=True)
        return out

    def close(self) -> None:
        if not self._closed:
            self._drop()
            self._closed = True


class _CallTimeout(pex.AMQPConnectionError):  # type: ignore[misc]
    """The broker did not answer a call within its deadline; the connection was aborted."""


def _set_deadline(connection: pika.BlockingConnection | None, seconds: float) -> Callable[[], None]:
    """Abort ``connection`` unless the returned canceller is called within ``seconds``.

    The blocking adapter's public ``call_later`` fires only inside ``process_data_events``, never while a
    publish waits for its confirm; so the timer is set on the I/O loop underneath (``_adapter_call_later``)
    and aborts the stream as pika's heartbeat checker does (``_terminate_stream``).  The waiting call then
    raises ``_CallTimeout``.  Only these private calls of pika are used, here and nowhere else.
    """
    impl = getattr(connection, "_impl", None)
    if connection is None or impl is None or not connection.is_open:
        return _nothing

    def abort() -> None:
        if impl.is_open:
            impl._terminate_stream(_CallTimeout(f"no answer from the broker within {seconds:g} s"))

    timer = impl._adapter_call_later(seconds, abort)

    def cancel() -> None:
        with suppress(Exception):
            impl._adapter_remove_timeout(timer)

    return cancel


def _nothing() -> None:
    return None


@contextmanager
def _deadline(connection: pika.BlockingConnection | None, seconds: float) -> Iterator[None]:
    """Abort ``connection`` if the block has not finished within ``seconds`` (see ``_set_deadline``)."""
    cancel = _set_deadline(connection, seconds)
    try:
        yield
    finally:
        cancel()


def _to_message(properties: pika.BasicProperties, body: bytes, node: str) -> Message:
    headers = properties.headers or {}
    kind = properties.type
    user = headers.get(_HEADERS, {})
    if not properties.message_id or kind not in KINDS or not isinstance(user, dict):
        raise TransportError(f"message in the queue of {node} was not sent by docflow", node=node)
    sender = headers.get(_SENDER, "")
    return Message(
        properties.message_id,
        sender.decode() if isinstance(sender, bytes) else str(sender),
        node,
        kind,
        bytes(body),
        {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in user.items()},
    )
