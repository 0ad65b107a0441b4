"""A store for the operator console's tests: one message given up (a transport that refuses every send) and
one quarantined entry holding a valid document whose routing headers were lost (retrying it delivers it)."""

from __future__ import annotations

from dataclasses import dataclass

from docflow.bootstrap import build_network
from docflow.console.operators import save_operator
from docflow.domain.clock import ManualClock
from docflow.errors import TransportError
from docflow.services import Network, Settings
from docflow.services.work import unit
from docflow.transports.base import Message
from docflow.transports.memory import MemoryBroker, MemoryTransport
from docflow.xml import write_envelope

PROVINCE, DISTRICT, COMMUNE = "000.00.00.H58", "000.00.50.H58", "000.20.50.H58"
#: Shown on the quarantine page: it must come out escaped.
HOSTILE_REASON = "message lacks docflow routing header 'origin' <script>alert('x')</script>"
OPERATOR, PASSWORD = "lan", "mật khẩu đúng 42"


class Refusing(MemoryTransport):
    def send(self, message: Message) -> None:
        raise TransportError(f"queue of {message.recipient} refuses the message (injected)")


@dataclass
class Seeded:
    dead_document: str
    quarantined_document: str
    quarantine_id: int


def seed(url: str, clock: ManualClock | None = None) -> Seeded:
    """Fill the store at ``url``: a given-up document and a quarantined one; closes what it opened."""
    clock = clock or ManualClock()
    settings = Settings(retry_budget=1, give_up_after=0.0)
    net = build_network(db=url, transport=Refusing(MemoryBroker(clock=clock.time)), clock=clock, settings=settings)
    try:
        dead = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo lịch họp", code="7/TB-UBND")
        assert net.run_until_idle().dead == 1
        envelope = net.node(PROVINCE).draft([COMMUNE], subject="Báo cáo tình hình", code="8/BC-UBND")
        entry = quarantine(net, COMMUNE, write_envelope(envelope))
        return Seeded(dead, envelope.document_id, entry)
    finally:
        net.ctx.store.close()


def quarantine(net: Network, node: str, body: bytes) -> int:
    """Keep ``body`` in ``node``'s quarantine as the receiver does for a message without routing headers."""
    with unit(net.ctx) as work:
        work.at(node).quarantine(HOSTILE_REASON, body, source="transport")
    return net.quarantine(node)[-1].id or 0


def operators_file(path) -> None:
    save_operator(path, OPERATOR, PASSWORD)
