"""The transport contract: what the engine may ask of anything that moves message bytes between nodes.

A transport is a set of durable queues, one per recipient node.  ``send`` hands a ``Message`` over
(at-least-once: when it returns the transport has it); ``receive`` claims up to ``limit`` deliveries without
blocking; each claim ends in ``ack`` (done, never delivered again) or ``nack`` (deliver again later, or
dead-letter).  A claim that is neither acked nor nacked comes back after the visibility timeout or when the
transport that claimed it is closed or lost (a consumer "restart"); its ``attempt`` then grows by one.  A
message is never lost by the transport, but may be delivered more than once: receivers deduplicate by
``message_id`` (the idempotent inbox).

Acking or nacking a delivery whose claim has lapsed -- its visibility timeout ran out by the transport's
clock, or the connection that claimed it was closed -- does nothing: the message goes (or went) back to its
queue and will be processed again, and the inbox absorbs the repeat.  The deadline is strict, so every
transport behaves the same whether or not anybody looked at the queue in between.

This module is the protocol and its value types only; it must not import lxml, sqlalchemy, docflow.store,
docflow.xml or any concrete transport.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

from docflow.errors import TransportError

MessageKind = Literal["edoc", "status", "dossier"]
KINDS: frozenset[str] = frozenset({"edoc", "status", "dossier"})

#: Node names become queue and directory names: no separators, no dot-only names.
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_node(node: str) -> str:
    """Return ``node`` if it is usable as a queue name, else raise ``TransportError``."""
    if not isinstance(node, str) or not _NODE_NAME.match(node):
        raise TransportError(f"invalid node name {node!r}: letters, digits, '.', '_' and '-' only", node=str(node))
    return node


_STR = frozenset({str})


@dataclass(frozen=True, slots=True)
class Message:
    """One unit moved between two hop endpoints; ``message_id`` is the sender's idempotency handle."""

    message_id: str
    sender: str
    recipient: str
    kind: MessageKind
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.message_id or not isinstance(self.message_id, str):
            raise TransportError("a message needs a non-empty message_id")
        if self.kind not in KINDS:
            raise TransportError(f"unknown message kind {self.kind!r}: expected one of {sorted(KINDS)}")
        if not isinstance(self.body, bytes):
            raise TransportError(f"message body must be bytes, not {type(self.body).__name__}")
        check_node(self.recipient)
        headers = dict(self.headers)
        if not _STR.issuperset(map(type, headers)) or not _STR.issuperset(map(type, headers.values())):
            for key, value in headers.items():  # (str subclasses pass here; the offender is named)
                if not isinstance(key, str) or not isinstance(value, str):
                    raise TransportError(f"message headers must map str to str: {key!r}={value!r}")
        # A read-only copy: the caller's dict can change afterwards without changing the message.
        object.__setattr__(self, "headers", MappingProxyType(headers))

    def __hash__(self) -> int:
        return hash((self.message_id, self.sender, self.recipient, self.kind, self.body))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed message: ``receipt`` is the transport's handle for ack/nack, ``attempt`` counts from 1."""

    message: Message
    receipt: str
    attempt: int = 1

    @property
    def node(self) -> str:
        """The queue the delivery came from (the message's recipient)."""
        return self.message.recipient


@runtime_checkable
class Transport(Protocol):
    """Durable, at-least-once queues, one per recipient node."""

    def send(self, message: Message) -> None:
        """Hand ``message`` to the queue of ``message.recipient``; raise ``TransportError`` if it was not taken."""
        ...

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        """Claim up to ``limit`` visible messages for ``node``, oldest first; never blocks, may return []."""
        ...

    def ack(self, delivery: Delivery) -> None:
        """The delivery is done: it is never delivered again."""
        ...

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        """Give the delivery back: deliver it again later, or move it to the dead letters (``requeue=False``)."""
        ...

    def pending(self, node: str) -> int:
        """Messages for ``node`` neither acked nor dead-lettered yet (waiting or claimed)."""
        ...

    def close(self) -> None:
        """Release the transport; unacked claims go back to their queues.  Calling it twice is harmless."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class TransportBase(ABC):
    """Context-manager plumbing and argument checks shared by the concrete transports."""

    @abstractmethod
    def close(self) -> None:
        """Release the transport (each concrete transport says how)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def _check_limit(limit: int) -> int:
        if not isinstance(limit, int) or limit < 1:
            raise TransportError(f"receive limit must be a positive integer, not {limit!r}")
        return limit
