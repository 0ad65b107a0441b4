"""Shared by the routing-engine tests: building a network on a test database, reading its rows back, and a
transport wrapper that tampers with bytes in transit.

Everything goes through the public API (``build_network``, ``Network``, ``Node``, ``Store``); the only
direct table reads are the whole-table listings used to compare two runs row for row, which no
repository method offers.  Imports docflow, SQLAlchemy Core (for those listings) and the standard library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.events import BY_STATUS, MoveRefused, StateChanged
from docflow.services import Activity, Network, Settings, TraceStep
from docflow.store.tables import amendments, deliveries, documents, events, inbound, outbox
from docflow.transports.base import Delivery, Message, Transport
from docflow.transports.memory import MemoryBroker, MemoryTransport

PROVINCE = "000.00.00.H58"  # UBND tỉnh Tiền Giang
GOVERNMENT_OFFICE = "000.00.00.G22"  # Văn phòng Chính phủ
PROVINCIAL_HUB = "00.58.W00"
NATIONAL_AXIS = "00.00.W00"
DISTRICT = "000.00.50.H58"  # the first district of the topology
COMMUNE = "000.20.50.H58"  # its first commune


def sqlite_url(tmp_path: Path, name: str = "docflow.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def make_network(
    db: str,
    *,
    policy: str = "hierarchical",
    clock: ManualClock | None = None,
    transport: Transport | None = None,
    broker: MemoryBroker | None = None,
    settings: Settings | None = None,
) -> Network:
    """A Tiền Giang network on ``db``: over ``transport``, else a connection to ``broker``, else a private one."""
    clock = clock or ManualClock()
    if transport is None:
        transport = MemoryTransport(broker if broker is not None else MemoryBroker(clock=clock.time))
    return build_network(
        db=db, transport=transport, registry="tien_giang_2017", policy=policy, clock=clock, settings=settings
    )


def districts_and_communes(net: Network, province: str = PROVINCE) -> tuple[list[str], list[str]]:
    registry = net.ctx.registry
    districts = [str(d) for d in registry.districts_of(province)]
    communes = [str(c) for d in districts for c in registry.communes_of(d)]
    return districts, communes


def status_counts(net: Network, node: str, document_id: str, code: str) -> Counter[str]:
    """Per recipient: how many received statuses with ``code`` ``node`` recorded about ``document_id`` (moves
    caused by a status message, refused ones included)."""
    return Counter(
        s.event.party
        for s in net.trace(document_id)
        if s.node == node
        and isinstance(s.event, StateChanged | MoveRefused)
        and s.event.by == BY_STATUS
        and s.status == code
    )


def label(step: TraceStep) -> str:
    """A trace step as ``kind`` (or ``lifecycle:event`` for a lifecycle move), for comparing journeys."""
    event = step.event
    if isinstance(event, StateChanged | MoveRefused):
        return f"{event.lifecycle}:{event.event}"
    return step.kind


def event_counts(net: Network, document_id: str, kind: str) -> Counter[str]:
    """Per node: how many events of ``kind`` were recorded about ``document_id``."""
    with net.ctx.store.snapshot() as repo:
        found = repo.events.of_document(document_id)
    return Counter(e.node for e in found if e.kind == kind)


def delivery_states(net: Network, node: str, document_id: str) -> dict[str, str]:
    return {d.recipient: str(d.state) for d in net.node(node).deliveries(document_id)}


def table_rows(net: Network, table_name: str) -> list[tuple[Any, ...]]:
    """The lasting content of a table (ids, timestamps and hashes left out), sorted, for run-to-run comparison."""
    table = {
        "documents": documents,
        "deliveries": deliveries,
        "inbound": inbound,
        "amendments": amendments,
    }[table_name]
    keep = {
        "documents": ("node", "document_id", "business_type", "sender"),
        "deliveries": ("node", "document_id", "recipient", "state"),
        "inbound": ("node", "document_id", "business_type", "sender", "state"),
        "amendments": ("node", "document_id", "recipient", "business_type", "state"),
    }[table_name]
    with net.ctx.store.snapshot() as repo:
        rows = repo.conn.execute(select(*(table.c[name] for name in keep)))
        return sorted(tuple(row) for row in rows)


def event_kinds(net: Network) -> Counter[tuple[str, str, str, str, str]]:
    """How many times each (node, kind, document, recipient, status) was recorded."""
    with net.ctx.store.snapshot() as repo:
        rows = repo.conn.execute(
            select(events.c.node, events.c.kind, events.c.document_id, events.c.recipient, events.c.status)
        )
        return Counter(tuple(row) for row in rows)


def unsent_outbox(net: Network) -> int:
    """Outbox rows still waiting to be sent (sent rows are deleted; given-up ones are not waiting)."""
    with net.ctx.store.snapshot() as repo:
        return int(
            repo.conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.dead_at.is_(None), outbox.c.sent_at.is_(None))
            ).scalar_one()
        )


#: Settings that keep sent outbox rows (for tests that replay what went over the wire).
KEEP_SENT = Settings(keep_sent=10.0**9)


def outbox_messages(net: Network) -> list[Message]:
    """Every outbox row still stored (a network built with ``KEEP_SENT`` keeps the sent ones) as the transport
    message the relay sends, for replaying raw copies."""
    body = func.coalesce(outbox.c.body, documents.c.envelope).label("bytes")
    stmt = (
        select(outbox, body)
        .select_from(outbox.outerjoin(documents, documents.c.id == outbox.c.document_row))
        .order_by(outbox.c.id)
    )
    with net.ctx.store.snapshot() as repo:
        rows = repo.conn.execute(stmt).all()
    return [
        Message(row.message_id, row.node, row.recipient, row.kind, row.bytes, _headers(row.headers)) for row in rows
    ]


def _headers(text: str) -> dict[str, str]:
    import json

    return dict(json.loads(text or "{}"))


def all_states(net: Network) -> dict[str, list[tuple[Any, ...]]]:
    return {name: table_rows(net, name) for name in ("documents", "deliveries", "inbound", "amendments")}


# -- a shared scenario: a district's directive, clerks' answers, a report to the Government Office ---

REJECT_REASON = "Không thuộc thẩm quyền"


@dataclass
class Ids:
    directive: str
    report: str
    recipients: list[str]  # of the directive


def send_directive(net: Network) -> Ids:
    communes = [str(c) for c in net.ctx.registry.communes_of(DISTRICT)]
    recipients = [DISTRICT, *communes]
    directive = net.node(PROVINCE).send(
        recipients=recipients, subject="Công văn về việc chuẩn bị ứng phó bão", code="7/CV-UBND", content="Khẩn"
    )
    report = net.node(communes[4]).send(
        recipients=[GOVERNMENT_OFFICE], subject="Báo cáo nhanh", code="3/BC-UBND", content="Số liệu"
    )
    return Ids(directive, report, recipients)


def answer(net: Network, ids: Ids) -> None:
    """The clerks' part: three recipients finish the directive, one rejects it, the Government Office accepts."""
    for recipient in ids.recipients[1:4]:
        node = net.node(recipient)
        node.accept(ids.directive)
        node.start(ids.directive)
        node.complete(ids.directive)
    net.node(ids.recipients[5]).reject(ids.directive, REJECT_REASON)
    net.node(GOVERNMENT_OFFICE).accept(ids.report)


def scenario(net: Network, clock: ManualClock) -> tuple[Ids, Activity]:
    ids = send_directive(net)
    first = net.run_until_idle()
    clock.advance(60)
    answer(net, ids)
    second = net.run_until_idle()
    first.intake.add(second.intake)
    return ids, first


@dataclass(frozen=True)
class Outcome:
    """What a scenario left behind: its ids, every table's lasting rows and every audit event, counted."""

    ids: Ids
    states: dict[str, list[tuple[Any, ...]]]
    events: Counter[tuple[str, str, str, str, str]]

    @classmethod
    def of(cls, net: Network, ids: Ids) -> Outcome:
        return cls(ids, all_states(net), event_kinds(net))


def assert_like_clean(net: Network, clean: Outcome) -> None:
    """``net`` ended exactly as the clean run did: same rows, same events (nothing applied twice), all sent."""
    ids = clean.ids
    assert all_states(net) == clean.states
    assert event_kinds(net) == clean.events
    assert unsent_outbox(net) == 0
    recipients = ids.recipients
    assert event_counts(net, ids.directive, "arrived") == dict.fromkeys(recipients, 1)
    assert status_counts(net, PROVINCE, ids.directive, "01") == dict.fromkeys(recipients, 1)
    states_now = delivery_states(net, PROVINCE, ids.directive)
    assert {states_now[r] for r in recipients[1:4]} == {"completed"}
    assert states_now[recipients[5]] == "rejected"
    assert net.ctx.store.verify_audit().ok


class TamperingTransport:
    """A ``Transport`` that corrupts the body of the messages ``select`` picks, once each, then passes them on.

    It is the wire between nodes: what the sender stored is intact, what the next hop receives is not.
    """

    def __init__(self, inner: Transport, select: Callable[[Message], bool], corrupt: Callable[[bytes], bytes]) -> None:
        self.inner = inner
        self.select = select
        self.corrupt = corrupt
        self.tampered: list[Message] = []

    def send(self, message: Message) -> None:
        if self.select(message) and not any(m.message_id == message.message_id for m in self.tampered):
            bad = Message(
                message.message_id,
                message.sender,
                message.recipient,
                message.kind,
                self.corrupt(message.body),
                message.headers,
            )
            self.tampered.append(bad)
            message = bad
        self.inner.send(message)

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        return self.inner.receive(node, limit=limit)

    def ack(self, delivery: Delivery) -> None:
        self.inner.ack(delivery)

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        self.inner.nack(delivery, requeue=requeue)

    def pending(self, node: str) -> int:
        return self.inner.pending(node)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> TamperingTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
