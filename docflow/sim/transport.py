"""The simulated wire: a link model (latency, pull polling, loss, outages) and the engine transport built on it.

``LinkModel`` decides, from keyed randomness (``docflow.sim.draws``) and the scenario, how long a hop takes,
whether a send is lost and whether a node is down; both fidelities use it.  Each draw is named by the
message's identity (``message_key``: what the message is, as the engine's idempotency key says) and the hop,
so a document's hop takes the same time at both fidelities whatever else was sent meanwhile.
``SimTransport`` is a real ``Transport`` over a ``MemoryBroker`` for full fidelity: the broker holds the
queues (latency through ``FaultPlan.latency``, outages through ``FaultPlan.outages``), the wrapper adds loss,
refuses sends *from* a node that is down, and tells the driver when messages become visible.  What the
engine did with them the driver learns from the engine's typed events, not from here.
Must not import simpy, lxml, sqlalchemy or docflow.store.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from docflow.domain.ids import OrganId, Tier
from docflow.errors import TransportUnavailableError
from docflow.services.wire import BUSINESS, DESTINATION, DOCUMENT, EDOC, ORIGIN, REGARDING, ROUND, STATUS
from docflow.sim import draws
from docflow.sim.scenario import Scenario
from docflow.transports.base import Delivery, Message, TransportBase
from docflow.transports.memory import FaultPlan, MemoryBroker, MemoryTransport


def message_key(kind: str, headers: Mapping[str, str]) -> str:
    """What a transport message is, from its routing headers (what the engine's idempotency key is made of):
    the name of its link draws."""
    return "|".join((kind, *(headers.get(name, "") for name in _IDENTITY)))


def document_key(document_id: str, sender: str, recipient: str) -> str:
    """The ``message_key`` of a new document from ``sender`` to ``recipient`` (what the model moves)."""
    return message_key(EDOC, {DOCUMENT: document_id, ORIGIN: sender, DESTINATION: recipient, BUSINESS: "0"})


_IDENTITY = (DOCUMENT, ORIGIN, DESTINATION, BUSINESS, STATUS, REGARDING, ROUND)


@dataclass(slots=True)
class LinkModel:
    """Per-hop behaviour of the network: the same for a seed, a message and a hop, in any order of calls."""

    scenario: Scenario
    seed: str
    outages: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _tiers: dict[str, Tier] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: Scenario, seed: int, stream: str) -> LinkModel:
        outages: dict[str, list[tuple[float, float]]] = {}
        for outage in scenario.faults.outages:
            outages.setdefault(str(outage.node), []).append((outage.start, outage.end))
        return cls(scenario, f"{seed}:{stream}", outages)

    def tier(self, node: str) -> Tier:
        found = self._tiers.get(node)
        if found is None:
            found = self._tiers[node] = OrganId.parse(node).tier
        return found

    def latency(self, sender: str, recipient: str, now: float, key: str) -> float:
        """Seconds until message ``key`` sent now over ``sender → recipient`` can be received."""
        net = self.scenario.network
        delay = net.latency
        if net.jitter:
            delay += draws.unit(self.seed, "latency", key, sender, recipient) * net.jitter
        if self.scenario.pull and self.tier(sender) is Tier.CENTRAL and self.tier(recipient) is Tier.PROVINCE:
            # the provincial side pulls from the central one: the message waits for the next poll
            interval = self.scenario.poll_interval
            ready = now + delay
            ticks = -(-ready // interval)
            delay = ticks * interval - now
        return delay

    def lost(self, key: str, sender: str, recipient: str, now: float) -> bool:
        """Whether the link loses message ``key`` sent now over ``sender → recipient`` (a retry is drawn anew)."""
        rate = self.scenario.faults.loss_rate
        return bool(rate) and draws.unit(self.seed, "loss", key, sender, recipient, repr(now)) < rate

    def duplicated(self, key: str, sender: str, recipient: str, now: float) -> bool:
        rate = self.scenario.faults.duplicate_rate
        return bool(rate) and draws.unit(self.seed, "duplicate", key, sender, recipient, repr(now)) < rate

    def is_down(self, node: str, now: float) -> bool:
        return any(start <= now < end for start, end in self.outages.get(node, ()))

    def up_again(self, node: str, now: float) -> float:
        """When ``node`` is reachable again (``now`` if it is up)."""
        for start, end in self.outages.get(node, ()):
            if start <= now < end:
                return self.up_again(node, end)
        return now

    def outage_ends(self) -> list[tuple[float, str]]:
        return sorted((end, node) for node, windows in self.outages.items() for _, end in windows)


class SimTransport(TransportBase):
    """A ``MemoryTransport`` whose link is a ``LinkModel``, with the bookkeeping a virtual-time driver needs."""

    def __init__(self, link: LinkModel, clock: Callable[[], float]) -> None:
        self.link = link
        self.clock = clock
        plan = FaultPlan(latency=self._latency, outages=link.outages)
        self.broker = MemoryBroker(clock=clock, faults=plan, rng=random.Random(0))
        self.inner = MemoryTransport(self.broker)
        self._due: list[tuple[float, str]] = []  # (visible at, recipient)
        self.lost: set[tuple[str, str]] = set()  # (document, destination) of silently lost documents
        self.lost_messages = 0
        self.duplicated = 0

    def _latency(self, message: Message) -> float:
        now = self.clock()
        delay = self.link.latency(message.sender, message.recipient, now, message_key(message.kind, message.headers))
        heapq.heappush(self._due, (now + delay, message.recipient))
        return delay

    # -- the Transport protocol ------------------------------------------------------------------
    def send(self, message: Message) -> None:
        now = self.clock()
        if self.link.is_down(message.sender, now):
            raise TransportUnavailableError(f"node {message.sender} is down", node=message.sender)
        key = message_key(message.kind, message.headers)
        if self.link.lost(key, message.sender, message.recipient, now):
            self.lost_messages += 1
            if self.link.scenario.faults.loss_mode == "retry":
                raise TransportUnavailableError(f"link {message.sender} → {message.recipient} lost the message")
            if message.kind == EDOC:
                self.lost.add((message.headers.get(DOCUMENT, ""), message.headers.get(DESTINATION, "")))
            return
        self.inner.send(message)
        if self.link.duplicated(key, message.sender, message.recipient, now):
            self.duplicated += 1
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

    # -- for the driver ----------------------------------------------------------------------------
    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def pop_due(self, now: float) -> set[str]:
        """Recipients whose messages have become visible by ``now``."""
        nodes: set[str] = set()
        while self._due and self._due[0][0] <= now:
            nodes.add(heapq.heappop(self._due)[1])
        return nodes
