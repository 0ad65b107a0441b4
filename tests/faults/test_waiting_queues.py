"""Queues that hold only messages not receivable yet (latency) wait apart instead of being polled every round.

``run_until_idle`` polls them in its first round, a driver that is told when messages become visible
(``poll_waiting=False`` plus ``notify``) never does, and ``step`` alone polls everything as it always did.
Nothing is lost either way: each document arrives once its latency has passed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.services import Network
from docflow.transports.base import Delivery
from docflow.transports.memory import FaultPlan, MemoryTransport

COMMUNE = "000.20.50.H58"
DISTRICT = "000.00.50.H58"
OTHER_COMMUNE = "000.21.50.H58"


class _Counted(MemoryTransport):
    """The in-memory transport, counting the queues it was asked for."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.polled: Counter[str] = Counter()

    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        self.polled[node] += 1
        return super().receive(node, limit=limit)


@pytest.fixture
def slow_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Network, _Counted, ManualClock]:
    monkeypatch.setenv("DOCFLOW_AUDIT_KEYS", str(tmp_path / "keys"))
    clock = ManualClock()
    # the district's queue is slow (60 s); the other commune's is quick (1 s)
    plan = FaultPlan(latency=lambda m: 60.0 if m.recipient == DISTRICT else 1.0)
    transport = _Counted(clock=clock.time, faults=plan)
    net = build_network(db=f"sqlite:///{tmp_path / 'w.db'}", transport=transport, clock=clock, policy="direct")
    yield net, transport, clock
    net.ctx.store.close()


def _send(net: Network, recipient: str, n: int) -> str:
    return net.node(COMMUNE).send(recipients=[recipient], subject=f"Văn bản {n}", code=f"{n}/UBND")


def test_a_queue_with_only_messages_in_flight_is_polled_once_a_call_and_its_message_arrives_later(slow_link):
    net, transport, clock = slow_link
    slow = _send(net, DISTRICT, 1)
    net.run_until_idle()
    assert transport.polled[DISTRICT] == 1  # polled once, gave nothing, and now waits apart
    quick = _send(net, OTHER_COMMUNE, 2)
    net.run_until_idle()  # the quick message goes out (visible in 1 s)
    polled = transport.polled[DISTRICT]
    clock.advance(1.5)
    activity = net.run_until_idle()  # the quick message is applied and its 01 goes back: several rounds
    assert activity.rounds >= 2 and activity.intake.applied == 1
    assert transport.polled[DISTRICT] == polled + 1  # the waiting queue only in the first of them
    clock.advance(2)
    net.run_until_idle()
    assert net.node(COMMUNE).deliveries(quick)[0].state == "arrived"
    assert net.node(COMMUNE).deliveries(slow)[0].state == "sent"
    clock.advance(60)
    net.run_until_idle()
    clock.advance(2)
    net.run_until_idle()
    assert net.node(COMMUNE).deliveries(slow)[0].state == "arrived"  # nothing lost


def test_a_driver_that_is_told_of_visible_messages_never_polls_the_waiting_queue(slow_link):
    net, transport, clock = slow_link
    slow = _send(net, DISTRICT, 1)
    net.run_until_idle(poll_waiting=False)
    polled = transport.polled[DISTRICT]
    for n in range(5):  # other traffic, the clock moving: the waiting queue is left alone
        _send(net, OTHER_COMMUNE, 10 + n)
        clock.advance(2)
        net.run_until_idle(poll_waiting=False)
    assert transport.polled[DISTRICT] == polled
    clock.advance(60)
    net.notify([DISTRICT])  # the driver learns the message became visible
    assert net.run_until_idle(poll_waiting=False).intake.applied >= 1  # the document (and earlier 01s)
    clock.advance(2)
    net.notify([COMMUNE])  # and then that its 01 did
    net.run_until_idle(poll_waiting=False)
    assert net.node(COMMUNE).deliveries(slow)[0].state == "arrived"


def test_step_alone_polls_every_queue_as_before(slow_link):
    net, transport, _clock = slow_link
    _send(net, DISTRICT, 1)
    net.run_until_idle()
    before = transport.polled[DISTRICT]
    for _ in range(3):
        net.step()
    assert transport.polled[DISTRICT] == before + 3
