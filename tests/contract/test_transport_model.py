"""Property: under any sequence of send/receive/ack/nack/timeout/restart, nothing vanishes, nothing appears.

A hypothesis ``RuleBasedStateMachine`` drives a transport and a plain model side by side.  Every message sent
is at every step either waiting, claimed, acked or dead-lettered; ``pending`` agrees with the model; a receive
returns only messages that were sent and are not claimed, oldest first, with the right attempt count.  Run
against the memory transport and the filesystem transport (the broker-backed one is covered by the suite).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from docflow.domain.clock import ManualClock
from docflow.transports import Delivery, Message, Transport
from docflow.transports.filesystem import FilesystemTransport
from docflow.transports.memory import MemoryBroker, MemoryTransport

NODES = ("000.00.00.H29", "000.00.01.H29")
TIMEOUT = 10.0


class TransportModel(RuleBasedStateMachine):
    """Subclasses say how to open a connection to the same queues."""

    def open(self) -> Transport:
        raise NotImplementedError

    @initialize()
    def start(self) -> None:
        self.clock = ManualClock()
        self.setup()
        self.sender = self.open()  # the sender never restarts: its send order is the FIFO order
        self.consumer = self.open()
        self.next_id = 0
        self.order: dict[str, int] = {}  # message id -> send position
        self.node_of: dict[str, str] = {}
        self.state: dict[str, str] = {}  # waiting | claimed | acked | dead
        self.deliveries: dict[str, int] = {}
        self.claims: list[Delivery] = []  # live claims, in the model's view
        self.stale: list[Delivery] = []  # lapsed claims: acking them must change nothing

    def setup(self) -> None:
        pass

    @rule(node=st.sampled_from(NODES), size=st.integers(0, 64))
    def send(self, node: str, size: int) -> None:
        mid = f"M-{self.next_id}"
        body = bytes((self.next_id + i) % 256 for i in range(size))
        self.sender.send(Message(mid, "000.00.00.G22", node, "edoc", body, {"i": str(self.next_id)}))
        self.order[mid], self.node_of[mid], self.state[mid], self.deliveries[mid] = self.next_id, node, "waiting", 0
        self.next_id += 1

    @rule(node=st.sampled_from(NODES), limit=st.integers(1, 4))
    def receive(self, node: str, limit: int) -> None:
        got = self.consumer.receive(node, limit=limit)
        waiting = sorted(
            (m for m, s in self.state.items() if s == "waiting" and self.node_of[m] == node), key=self.order.get
        )
        assert [d.message.message_id for d in got] == waiting[:limit]
        for delivery in got:
            mid = delivery.message.message_id
            assert delivery.message.body == bytes(
                (self.order[mid] + i) % 256 for i in range(len(delivery.message.body))
            )
            self.deliveries[mid] += 1
            assert delivery.attempt == self.deliveries[mid]
            self.state[mid] = "claimed"
            self.claims.append(delivery)

    @precondition(lambda self: self.claims)
    @rule(pick=st.integers(0, 1000))
    def ack(self, pick: int) -> None:
        delivery = self.claims.pop(pick % len(self.claims))
        self.consumer.ack(delivery)
        self.state[delivery.message.message_id] = "acked"

    @precondition(lambda self: self.claims)
    @rule(pick=st.integers(0, 1000), requeue=st.booleans())
    def nack(self, pick: int, requeue: bool) -> None:
        delivery = self.claims.pop(pick % len(self.claims))
        self.consumer.nack(delivery, requeue=requeue)
        self.state[delivery.message.message_id] = "waiting" if requeue else "dead"

    @rule()
    def claims_lapse(self) -> None:
        self.clock.advance(TIMEOUT)
        self._all_claims_return()

    @rule()
    def consumer_restarts(self) -> None:
        self.consumer.close()
        self.consumer = self.open()
        self._all_claims_return()

    @precondition(lambda self: self.stale)
    @rule()
    def late_ack_changes_nothing(self) -> None:
        self.consumer.ack(self.stale.pop())

    def _all_claims_return(self) -> None:
        for delivery in self.claims:
            self.state[delivery.message.message_id] = "waiting"
        self.stale.extend(self.claims)
        self.claims = []

    @invariant()
    def nothing_vanishes_nothing_appears(self) -> None:
        if not hasattr(self, "consumer"):
            return
        for node in NODES:
            live = sum(1 for m, s in self.state.items() if self.node_of[m] == node and s in ("waiting", "claimed"))
            assert self.consumer.pending(node) == live

    def teardown(self) -> None:
        if hasattr(self, "consumer"):
            self.consumer.close()
            self.sender.close()
        self.cleanup()

    def cleanup(self) -> None:
        pass


class MemoryModel(TransportModel):
    def setup(self) -> None:
        self.broker = MemoryBroker(clock=self.clock.time)

    def open(self) -> Transport:
        return MemoryTransport(self.broker, visibility_timeout=TIMEOUT)


class FilesystemModel(TransportModel):
    def setup(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="docflow-fs-model-"))

    def open(self) -> Transport:
        return FilesystemTransport(self.root, clock=self.clock.time, visibility_timeout=TIMEOUT, fsync=False)

    def cleanup(self) -> None:
        if hasattr(self, "root"):
            shutil.rmtree(self.root, ignore_errors=True)


TestMemoryTransportModel = MemoryModel.TestCase
TestMemoryTransportModel.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestFilesystemTransportModel = FilesystemModel.TestCase
TestFilesystemTransportModel.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
