"""``memory://``: in-process queues with fault injection, for tests and the simulator.

A ``MemoryBroker`` plays the network and the broker: one FIFO queue per recipient node, a clock, a
random generator and a ``FaultPlan``.  A ``MemoryTransport`` is one connection to it; several connections
may share a broker (a sender and a receiver, or a consumer that "restarts").  Claims belong to the
connection that made them: closing it, or losing it (the object is garbage-collected without ``close``),
puts its unacked deliveries back at the head of their queues, as a broker does when a consumer's
connection drops.  Unacked claims also come back after the visibility timeout.

State lives in the broker instance (nothing is class-level), so two brokers never see each other's
messages.  Everything is deterministic for a given clock, random seed and call sequence.

Loss, decided here: a dropped message (``FaultPlan.drop``) by default makes ``send`` raise
``TransportUnavailableError`` with nothing enqueued -- the hand-off failed, so the sender's outbox keeps the
message and retries; the transport contract (a message ``send`` accepted is never lost) holds.  With
``drop_mode="lose"`` the message vanishes *after* ``send`` returned, silently, like a lossy link behind an
acknowledging proxy: only an end-to-end re-send (no status came back in time) recovers it.

Must not import lxml, sqlalchemy, docflow.store or docflow.xml.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from docflow.errors import ConfigError, TransportError, TransportUnavailableError
from docflow.transports.base import Delivery, Message, TransportBase, check_node

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What the network does wrong.  Probabilities are per ``send``; ``only`` limits them to some messages.

    ``outages`` maps a node to ``(start, end)`` windows in clock time: while one is open the node is down,
    ``send`` to it raises ``TransportUnavailableError`` and ``receive`` for it returns nothing.  Outages apply
    to every message; ``only`` filters the other faults.
    """

    duplicate: float = 0.0
    drop: float = 0.0
    drop_mode: Literal["fail", "lose"] = "fail"
    reorder: float = 0.0
    latency: float | Callable[[Message], float] = 0.0
    jitter: float = 0.0
    outages: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)
    only: Callable[[Message], bool] | None = None

    def __post_init__(self) -> None:
        for name in ("duplicate", "drop", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"FaultPlan.{name} is a probability in [0, 1], not {value!r}")
        if self.drop_mode not in ("fail", "lose"):
            raise ConfigError(f"FaultPlan.drop_mode must be 'fail' or 'lose', not {self.drop_mode!r}")
        if self.jitter < 0 or (not callable(self.latency) and self.latency < 0):
            raise ConfigError("FaultPlan latency and jitter cannot be negative")
        for node, windows in self.outages.items():
            for start, end in windows:
                if end < start:
                    raise ConfigError(f"outage window for {node} ends before it starts: ({start}, {end})")


NO_FAULTS = FaultPlan()


@dataclass(slots=True)
class _Entry:
    message: Message
    node: str
    rank: float  # position in the queue: send order, unless a reorder fault moved it forward
    seq: int
    deliveries: int = 0


@dataclass(slots=True)
class _Claim:
    entry: _Entry
    deadline: float
    owner: int


@dataclass(slots=True)
class _Queue:
    ready: list[tuple[float, int, _Entry]] = field(default_factory=list)
    delayed: int = 0
    inflight: int = 0
    dead: list[Message] = field(default_factory=list)


class MemoryBroker:
    """The shared state behind ``MemoryTransport`` connections: queues, clock, randomness and faults."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        faults: FaultPlan | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults or NO_FAULTS
        self.rng = rng if rng is not None else random.Random(0)
        self.stats: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._queues: dict[str, _Queue] = {}
        self._delayed: list[tuple[float, int, _Entry]] = []  # (visible_at, seq, entry), all nodes
        self._claims: dict[str, _Claim] = {}
        self._deadlines: list[tuple[float, str]] = []  # lazily pruned: acked receipts stay until popped
        self._down: set[str] = set()
        self._seq = itertools.count()
        self._receipts = itertools.count(1)
        self._owners = itertools.count(1)

    # -- outages -------------------------------------------------------------------------------------
    def set_down(self, node: str, down: bool = True) -> None:
        """Take ``node`` down (or bring it back) until told otherwise, besides the planned windows."""
        with self._lock:
            (self._down.add if down else self._down.discard)(node)

    def is_down(self, node: str, now: float | None = None) -> bool:
        """Whether ``node`` is unreachable at ``now`` (default: the clock's current time)."""
        now = self.clock() if now is None else now
        if node in self._down:
            return True
        return any(start <= now < end for start, end in self.faults.outages.get(node, ()))

    # -- the operations behind MemoryTransport ---------------------------------------------------------
    def send(self, message: Message) -> None:
        with self._lock:
            now = self.clock()
            node = message.recipient
            if self.is_down(node, now):
                self.stats["refused"] += 1
                raise TransportUnavailableError(f"node {node} is down", node=node)
            plan = self.faults
            faulty = plan is not NO_FAULTS and (plan.only is None or plan.only(message))
            copies = 1
            if faulty and plan.drop and self.rng.random() < plan.drop:
                self.stats["dropped"] += 1
                if plan.drop_mode == "fail":
                    raise TransportUnavailableError(f"message {message.message_id} to {node} was lost", node=node)
                return
            if faulty and plan.duplicate and self.rng.random() < plan.duplicate:
                copies = 2
                self.stats["duplicated"] += 1
            queue = self._queues.setdefault(node, _Queue())
            for _ in range(copies):
                seq = next(self._seq)
                rank = float(seq)
                if faulty and plan.reorder and queue.ready and self.rng.random() < plan.reorder:
                    head = queue.ready[0][0]  # lands anywhere between the head of the queue and its tail
                    rank = head + self.rng.random() * (seq - head)
                entry = _Entry(message, node, rank, seq)
                delay = self._delay(message) if faulty else 0.0
                if delay > 0:
                    heapq.heappush(self._delayed, (now + delay, seq, entry))
                    queue.delayed += 1
                else:
                    heapq.heappush(queue.ready, (rank, seq, entry))
            self.stats["sent"] += 1

    def _delay(self, message: Message) -> float:
        plan = self.faults
        base = plan.latency(message) if callable(plan.latency) else plan.latency
        return max(0.0, base + (self.rng.random() * plan.jitter if plan.jitter else 0.0))

    def receive(self, node: str, limit: int, owner: int, visibility_timeout: float) -> list[Delivery]:
        with self._lock:
            now = self.clock()
            self._maintain(now)
            queue = self._queues.get(node)
            if queue is None or not queue.ready or self.is_down(node, now):
                return []
            out: list[Delivery] = []
            while queue.ready and len(out) < limit:
                _, _, entry = heapq.heappop(queue.ready)
                entry.deliveries += 1
                receipt = f"{node}#{next(self._receipts)}"
                deadline = now + visibility_timeout
                self._claims[receipt] = _Claim(entry, deadline, owner)
                heapq.heappush(self._deadlines, (deadline, receipt))
                queue.inflight += 1
                out.append(Delivery(entry.message, receipt, entry.deliveries))
            self.stats["delivered"] += len(out)
            return out

    def settle(self, receipt: str, outcome: Literal["ack", "requeue", "dead"]) -> None:
        with self._lock:
            self._maintain(self.clock())  # a claim past its deadline has lapsed, even if nobody looked yet
            self._settle(receipt, outcome)

    def _settle(self, receipt: str, outcome: Literal["ack", "requeue", "dead"]) -> None:
        claim = self._claims.pop(receipt, None)  # the caller holds the lock
        if claim is None:
            return  # the claim lapsed and the message went back to its queue: nothing to settle
        queue = self._queues[claim.entry.node]
        queue.inflight -= 1
        if outcome == "requeue":
            heapq.heappush(queue.ready, (claim.entry.rank, claim.entry.seq, claim.entry))
        elif outcome == "dead":
            queue.dead.append(claim.entry.message)
        self.stats[{"ack": "acked", "requeue": "requeued", "dead": "dead"}[outcome]] += 1

    def release(self, owner: int) -> None:
        """Put every claim held by connection ``owner`` back at the head of its queue."""
        with self._lock:
            for receipt in [r for r, c in self._claims.items() if c.owner == owner]:
                self._settle(receipt, "requeue")

    def _maintain(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            _, _, entry = heapq.heappop(self._delayed)
            queue = self._queues[entry.node]
            queue.delayed -= 1
            heapq.heappush(queue.ready, (entry.rank, entry.seq, entry))
        while self._deadlines and self._deadlines[0][0] <= now:
            _, receipt = heapq.heappop(self._deadlines)
            if receipt in self._claims:
                self.stats["expired"] += 1
                self._settle(receipt, "requeue")
        if len(self._deadlines) > 2 * len(self._claims) + 1024:
            # Settled claims leave their deadline behind; under a clock that does not move (tests, a frozen
            # simulation) nothing would ever pop them, so rebuild the heap from the live claims.
            self._deadlines = [(claim.deadline, receipt) for receipt, claim in self._claims.items()]
            heapq.heapify(self._deadlines)

    def pending(self, node: str) -> int:
        with self._lock:
            self._maintain(self.clock())
            queue = self._queues.get(node)
            return 0 if queue is None else len(queue.ready) + queue.delayed + queue.inflight

    def dead_letters(self, node: str) -> list[Message]:
        """Messages for ``node`` that were nacked with ``requeue=False``, oldest first."""
        with self._lock:
            queue = self._queues.get(node)
            return [] if queue is None else list(queue.dead)

    # -- helpers for a virtual-time driver -------------------------------------------------------------
    def idle(self) -> bool:
        """True when no message is waiting, delayed or claimed anywhere (dead letters do not count)."""
        with self._lock:
            self._maintain(self.clock())
            return not self._delayed and not self._claims and not any(q.ready for q in self._queues.values())

    def next_visible_at(self) -> float | None:
        """The earliest future clock time at which something becomes receivable, or None if nothing is due.

        That is a delayed message arriving, a claim's visibility timeout running out, or an outage window
        closing on a node that has messages waiting.
        """
        with self._lock:
            now = self.clock()
            self._maintain(now)
            while self._deadlines and self._deadlines[0][1] not in self._claims:
                heapq.heappop(self._deadlines)
            times = [self._delayed[0][0]] if self._delayed else []
            if self._deadlines:
                times.append(self._deadlines[0][0])
            for node, queue in self._queues.items():
                if queue.ready and node not in self._down:
                    ends = [end for start, end in self.faults.outages.get(node, ()) if start <= now < end]
                    times.extend(ends)
            return min(times) if times else None


class MemoryTransport(TransportBase):
    """One connection to a ``MemoryBroker`` (a new private broker unless one is given)."""

    def __init__(
        self,
        broker: MemoryBroker | None = None,
        *,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        rng: random.Random | None = None,
        visibility_timeout: float = 30.0,
    ) -> None:
        if broker is not None and (clock is not None or faults is not None or rng is not None):
            raise ConfigError("clock, faults and rng belong to the broker: set them there, not per connection")
        if visibility_timeout <= 0:
            raise ConfigError(f"visibility_timeout must be positive, not {visibility_timeout!r}")
        self.broker = broker or MemoryBroker(clock=clock or time.monotonic, faults=faults, rng=rng)
        self.visibility_timeout = float(visibility_timeout)
        self._owner = next(self.broker._owners)
        self._closed = False
        # A connection lost without close() gives its claims back, as a broker does on a dropped socket.
        self._finalizer = weakref.finalize(self, self.broker.release, self._owner)

    @classmethod
    def from_url(cls, url: str, **options: object) -> MemoryTransport:
        """``memory://`` (options are passed to the constructor; no host or path is meaningful)."""
        return cls(**options)  # type: ignore[arg-type]

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("memory transport is closed")

    def send(self, message: Message) -> None:
        self._check_open()
        self.broker.send(message)

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        self._check_open()
        return self.broker.receive(check_node(node), self._check_limit(limit), self._owner, self.visibility_timeout)

    def ack(self, delivery: Delivery) -> None:
        self._check_open()
        self.broker.settle(delivery.receipt, "ack")

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        self._check_open()
        self.broker.settle(delivery.receipt, "requeue" if requeue else "dead")

    def pending(self, node: str) -> int:
        return self.broker.pending(node)

    def dead_letters(self, node: str) -> list[Message]:
        """Messages for ``node`` that were dead-lettered, oldest first."""
        return self.broker.dead_letters(node)

    def idle(self) -> bool:
        """See ``MemoryBroker.idle``."""
        return self.broker.idle()

    def next_visible_at(self) -> float | None:
        """See ``MemoryBroker.next_visible_at``."""
        return self.broker.next_visible_at()

    def close(self) -> None:
        self._closed = True
        self._finalizer()  # runs release() once; later calls do nothing
