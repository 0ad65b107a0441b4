"""The routing engine as a hypothesis state machine: a few Tiền Giang nodes send documents, clerks act
(legally or not), senders recall, receivers answer, the network steps, and messages are delivered again.

After every step: every stored state is a member of its lifecycle Enum, no row leaves a terminal state,
no delivery moves back, no document arrives twice at a node, and every node's audit chain verifies.
An illegal clerk action raises and persists nothing.  After ``run_until_idle`` no outbox row is waiting.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from engine_fixtures import (
    COMMUNE,
    DISTRICT,
    GOVERNMENT_OFFICE,
    KEEP_SENT,
    PROVINCE,
    event_kinds,
    make_network,
    outbox_messages,
    sqlite_url,
    unsent_outbox,
)
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from docflow.domain.clock import ManualClock
from docflow.domain.lifecycle import AMENDMENT, DELIVERY, INBOUND, AmendmentState, DeliveryState, InboundState
from docflow.errors import IllegalTransitionError, RegistryError
from docflow.services import Network
from docflow.store.tables import amendments, deliveries, inbound
from docflow.transports.memory import FaultPlan, MemoryBroker, MemoryTransport

NODES = [PROVINCE, DISTRICT, COMMUNE, "000.21.50.H58", "000.00.51.H58", GOVERNMENT_OFFICE]
ACTIONS = ["accept", "reject", "assign", "start", "complete"]


class EngineMachine(RuleBasedStateMachine):
    net: Network  # set by the initialize rule; invariants are only checked after it ran
    broker: MemoryBroker
    wire: MemoryTransport

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="docflow-engine-"))
        self.clock = ManualClock()
        self.sent: list[tuple[str, str, tuple[str, ...]]] = []  # (document_id, sender, recipients)
        self.recalled: set[str] = set()
        self.seen: dict[tuple[str, tuple], str] = {}  # (table, key) -> last state seen
        self.count = 0

    @initialize(
        policy=st.sampled_from(["hierarchical", "hub", "direct"]), faulty=st.booleans(), seed=st.integers(0, 99)
    )
    def open_network(self, policy: str, faulty: bool, seed: int) -> None:
        """The network, and a wire that may duplicate and reorder what it carries."""
        faults = FaultPlan(duplicate=0.3, reorder=0.7) if faulty else None
        self.broker = MemoryBroker(clock=self.clock.time, faults=faults, rng=random.Random(seed))
        self.net = make_network(
            sqlite_url(self.folder), policy=policy, clock=self.clock, broker=self.broker, settings=KEEP_SENT
        )
        self.wire = MemoryTransport(self.broker)  # a second connection, for re-delivering raw copies

    def teardown(self) -> None:
        try:
            net = getattr(self, "net", None)
            if net is not None:
                net.run_until_idle()
                assert unsent_outbox(net) == 0
                net.ctx.store.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- rules ----------------------------------------------------------------------------------------

    @rule(
        sender=st.sampled_from(NODES),
        recipients=st.lists(st.sampled_from(NODES), min_size=1, max_size=3, unique=True),
    )
    def send(self, sender: str, recipients: list[str]) -> None:
        targets = tuple(r for r in recipients if r != sender)
        if not targets:
            return
        self.count += 1
        document_id = self.net.node(sender).send(
            recipients=list(targets), subject=f"Văn bản số {self.count}", code=f"{self.count}/CV-TEST"
        )
        self.sent.append((document_id, sender, targets))

    @rule()
    def step(self) -> None:
        self.clock.advance(1)
        self.net.step()

    @rule()
    def run(self) -> None:
        self.clock.advance(1)
        self.net.run_until_idle()
        assert unsent_outbox(self.net) == 0

    @precondition(lambda self: self.sent)
    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def clerk(self, data: st.DataObject, action: str) -> None:
        document_id, _, targets = data.draw(st.sampled_from(self.sent))
        node = self.net.node(data.draw(st.sampled_from(targets)))
        before = self._inbound_state(node.code, document_id), self._events()
        call = getattr(node, action)
        try:
            new = call(document_id, "Lý do từ chối") if action == "reject" else call(document_id)
        except (IllegalTransitionError, RegistryError):
            assert (self._inbound_state(node.code, document_id), self._events()) == before
        else:
            assert new == self._inbound_state(node.code, document_id)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def recall(self, data: st.DataObject) -> None:
        document_id, sender, targets = data.draw(st.sampled_from(self.sent))
        if document_id in self.recalled:
            return
        self.recalled.add(document_id)
        assert self.net.node(sender).recall(document_id, "Thu hồi do sai sót") == len(targets)

    @precondition(lambda self: self.recalled)
    @rule(data=st.data(), agree=st.booleans())
    def answer(self, data: st.DataObject, agree: bool) -> None:
        document_id = data.draw(st.sampled_from(sorted(self.recalled)))
        [(_, _, targets)] = [s for s in self.sent if s[0] == document_id]
        node = self.net.node(data.draw(st.sampled_from(targets)))
        before = self._events()
        try:
            (node.agree if agree else node.refuse)(document_id)
        except (IllegalTransitionError, RegistryError):
            assert self._events() == before

    @rule(data=st.data())
    def deliver_again(self, data: st.DataObject) -> None:
        messages = outbox_messages(self.net)
        if not messages:
            return
        message = data.draw(st.sampled_from(messages))
        self.wire.send(message)
        self.net.recover([message.recipient])

    # -- invariants -----------------------------------------------------------------------------------

    @invariant()
    def states_are_members_and_terminal_states_stay(self) -> None:
        for name, table, lifecycle, enum, key in (
            ("delivery", deliveries, DELIVERY, DeliveryState, ("node", "document_id", "recipient")),
            ("inbound", inbound, INBOUND, InboundState, ("node", "document_id", "business_type")),
            ("amendment", amendments, AMENDMENT, AmendmentState, ("node", "document_id", "recipient", "business_type")),
        ):
            for row in self._rows(table, key):
                *ident, state = row
                current = enum(state)  # raises for a value outside the Enum
                seen = self.seen.get((name, tuple(ident)))
                if seen is not None:
                    before = enum(seen)
                    if before in lifecycle.terminal:
                        assert current is before, f"{name} {ident} left terminal {before.value} for {current.value}"
                    assert lifecycle.rank(current) >= lifecycle.rank(before), f"{name} {ident} went back"
                self.seen[(name, tuple(ident))] = state

    @invariant()
    def nothing_arrives_twice(self) -> None:
        for (node, kind, document_id, _recipient, _status), n in event_kinds(self.net).items():
            if kind == "arrived":
                assert n == 1, f"{document_id} arrived {n} times at {node}"

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        report = self.net.ctx.store.verify_audit()
        assert report.ok, str(report)

    # -- helpers --------------------------------------------------------------------------------------

    def _rows(self, table, key: tuple[str, ...]) -> list[tuple]:  # type: ignore[no-untyped-def]
        with self.net.ctx.store.snapshot() as repo:
            return [tuple(r) for r in repo.conn.execute(select(*(table.c[k] for k in key), table.c.state))]

    def _inbound_state(self, node: str, document_id: str) -> str | None:
        found = [r for r in self.net.node(node).inbox() if r.document_id == document_id and r.business_type == 0]
        return str(found[0].state) if found else None

    def _events(self) -> int:
        with self.net.ctx.store.snapshot() as repo:
            return repo.count("events")


EngineMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain" replays
)
TestEngineMachine = EngineMachine.TestCase
