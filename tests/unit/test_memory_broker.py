"""The in-memory broker stays bounded when its clock never moves (tests, a frozen simulation)."""

from docflow.transports.base import Message
from docflow.transports.memory import MemoryBroker, MemoryTransport


def test_settled_claims_do_not_pile_up_under_a_frozen_clock():
    broker = MemoryBroker(clock=lambda: 0.0)
    transport = MemoryTransport(broker)
    for n in range(5_000):
        transport.send(Message(f"m{n}", "000.00.00.H58", "000.00.50.H58", "edoc", b"<x/>"))
        for delivery in transport.receive("000.00.50.H58"):
            transport.ack(delivery)
    assert transport.pending("000.00.50.H58") == 0
    # white-box: the deadline heap only keeps what live claims need (plus a fixed slack)
    assert len(broker._deadlines) <= 1024
