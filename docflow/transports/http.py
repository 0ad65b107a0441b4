"""``axis+http://`` / ``axis+https://``: the engine's queues through a national-axis endpoint, over httpx.

``axis+http://host:port/base/path?system=ID[&secret_file=F]`` (the secret from the credentials file or
``$DOCFLOW_AXIS_SECRET``).  send = ``sendEdoc`` with ``to`` = the message's recipient and the message id, sender
and docflow headers as signed ``docflow-*`` parameters (a docflow server hands them back with the package, so
the receiving engine gets the message exactly); receive = ``getReceivedEdocList`` (every kind in one call where
the axis is docflow's, ``docflow-kinds``; edoc then status elsewhere) then ``getEdoc``; ack =
``updateStatus done``; nack = leave it (it is listed again), or ``updateStatus fail`` without requeue.  Calls
have timeouts and are retried with exponential back-off and jitter; a resend after a lost answer creates no
second package (the axis recognises the package's identity).  Claims are this connection's: a claim lapses
after ``visibility_timeout`` by the given clock, and closing the transport gives them back, since the axis
still lists every package not acknowledged.  The axis validates every package: edXML documents and statuses,
and docflow's one-stop dossier messages (``messagetype=dossier``, an extension only docflow servers take).
Must not import lxml, sqlalchemy, docflow.xml, docflow.store or docflow.services.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import secret_for
from docflow.errors import ConfigError, TransportError
from docflow.transports.base import Delivery, Message, MessageKind, TransportBase, check_node

KIND_ORDER: tuple[MessageKind, ...] = ("edoc", "status", "dossier")


@dataclass(slots=True)
class _Claim:
    delivery: Delivery
    until: float


class AxisTransport(TransportBase):
    """The transport protocol over one system's client of an axis endpoint."""

    def __init__(
        self,
        client: AxisClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        visibility_timeout: float = 300.0,
    ) -> None:
        self.client = client
        self.visibility_timeout = visibility_timeout
        self._clock = clock
        self._claims: dict[str, _Claim] = {}  # axis docId -> this connection's claim
        self._attempts: dict[str, int] = {}
        self._dead: dict[str, list[Message]] = {}
        self._combined: bool | None = None  # does the axis list every kind in one call? (asked on first use)
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AxisTransport:
        """``axis+http://host:port/path?system=ID&secret_file=F``; ``timeout``, ``retries`` and ``client`` options."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower().removeprefix("axis+")
        if scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"axis URL {url!r}: expected axis+http://host:port/path?system=ID")
        query = parse_qs(parts.query)
        system = (query.get("system") or [""])[0]
        if not system:
            raise ConfigError(f"axis URL {url!r} names no system: add ?system=ID")
        client = options.pop("client", None)
        if client is None:
            secret_file = query.get("secret_file")
            secret = secret_for(system, secret_file[0] if secret_file else None)
            endpoint = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
            client = AxisClient(
                endpoint, system, secret, timeout=options.pop("timeout", 10.0), retries=options.pop("retries", 3)
            )
        known = {"clock", "visibility_timeout"}
        return cls(client, **{k: v for k, v in options.items() if k in known})

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("the axis transport is closed")

    def send(self, message: Message) -> None:
        self._check_open()
        check_node(message.recipient)
        meta = [
            ("docflow-id", message.message_id),
            ("docflow-sender", message.sender),
            ("docflow-headers", json.dumps(dict(message.headers), ensure_ascii=False, separators=(",", ":"))),
        ]
        try:
            self.client.send(message.body, message_type=message.kind, to=[message.recipient], extra=meta)
        except AxisCallError as exc:
            raise TransportError(f"the axis refused {message.message_id}: {exc.code} {exc.description}") from exc

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        self._check_open()
        check_node(node)
        self._check_limit(limit)
        now = self._clock()
        got: list[Delivery] = []
        for kind, item in self._waiting():
            doc_id = str(item["docId"])
            if item.get("to") != node:
                continue
            claim = self._claims.get(doc_id)
            if claim is not None and claim.until > now:
                continue
            if len(got) >= limit:
                break
            delivery = self._delivery(doc_id, node, kind, item)
            self._claims[doc_id] = _Claim(delivery, now + self.visibility_timeout)
            got.append(delivery)
        return got

    def _waiting(self) -> list[tuple[MessageKind, dict[str, Any]]]:
        """Every package waiting for this system, documents first, then statuses, then dossiers (each kind oldest
        first): one call to a docflow axis; to any other (which carries no dossiers) one call a kind, the first
        answer telling which it is."""
        first: list[dict[str, Any]] | None = None
        if self._combined is not False:
            try:
                items, combined = self.client.received_kinds(KIND_ORDER)
            except AxisCallError:
                if self._combined:
                    raise
                items, combined = [], False  # an axis that refuses the extension: ask it one kind at a time
            else:
                first = items
            self._combined = combined
            if combined:
                order = {kind: index for index, kind in enumerate(KIND_ORDER)}
                listed = [(cast(MessageKind, item.get("messageType")), item) for item in items]
                # stable: each kind stays oldest first
                return sorted([p for p in listed if p[0] in order], key=lambda pair: order[pair[0]])
        if first is None:
            first = self.client.received("edoc")
        return [("edoc", item) for item in first] + [("status", item) for item in self.client.received("status")]

    def _delivery(self, doc_id: str, node: str, kind: MessageKind, item: dict[str, Any]) -> Delivery:
        body = self.client.get(doc_id)
        meta = item.get("docflow") or {}
        headers = json.loads(meta["headers"]) if "headers" in meta else {}
        attempt = self._attempts.get(doc_id, 0) + 1
        self._attempts[doc_id] = attempt
        message = Message(
            message_id=str(meta.get("id") or f"axis-{doc_id}"),
            sender=str(meta.get("sender") or item.get("from") or ""),
            recipient=node,
            kind=kind,
            body=body,
            headers=cast(dict[str, str], headers),
        )
        return Delivery(message, doc_id, attempt)

    def _settle(self, delivery: Delivery) -> bool:
        """Whether this connection still holds the claim (a lapsed claim settles nothing)."""
        claim = self._claims.get(delivery.receipt)
        if claim is None or claim.delivery.attempt != delivery.attempt or claim.until <= self._clock():
            return False
        del self._claims[delivery.receipt]
        return True

    def ack(self, delivery: Delivery) -> None:
        self._check_open()
        if self._settle(delivery):
            self.client.update(delivery.receipt, "done")

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        self._check_open()
        if not self._settle(delivery):
            return
        if not requeue:
            self.client.update(delivery.receipt, "fail", "dead-lettered by the receiving engine")
            self._dead.setdefault(delivery.node, []).append(delivery.message)

    def pending(self, node: str) -> int:
        self._check_open()
        return sum(1 for _, item in self._waiting() if item.get("to") == node)

    def dead_letters(self, node: str) -> list[Message]:
        """Messages this connection refused without requeue (the axis keeps them as FAIL)."""
        return list(self._dead.get(node, []))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._claims.clear()
            self.client.close()
