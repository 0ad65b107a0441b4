"""The ``backend`` fixture: every transport the contract suite runs against, behind one small factory.

Each backend opens connections to the *same* queues (memory: one broker; file: one directory; amqp: one
queue prefix unique to the test), all reading one ``ManualClock`` so visibility timeouts run in virtual time.
AMQP joins when DOCFLOW_TEST_AMQP_URL is set (the ``amqp_url`` fixture skips otherwise); its queues are
deleted after the test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from docflow.domain.clock import ManualClock
from docflow.transports import Delivery, Transport, open_transport

#: Recipient nodes used by the suite (OrganId strings: a province, one of its departments, a ministry).
NODES = ("000.00.00.H29", "000.00.01.H29", "000.00.00.G01")


@dataclass
class Backend:
    """Opens connections to one set of queues; every connection is closed at teardown."""

    name: str
    clock: ManualClock
    factory: Callable[..., Transport]
    opened: list[Transport] = field(default_factory=list)
    nodes: tuple[str, ...] = NODES

    def open(self, **options: Any) -> Transport:
        transport = self.factory(**options)
        self.opened.append(transport)
        return transport

    def close_all(self) -> None:
        for transport in self.opened:
            transport.close()

    @staticmethod
    def receive_eventually(
        transport: Transport,
        node: str,
        *,
        want: int = 1,
        timeout: float = 3.0,
    ) -> list[Delivery]:
        """Receive until ``want`` deliveries arrived or ``timeout`` real seconds passed.

        A broker requeues a dropped connection's claims asynchronously; memory and file return at once.
        """
        got: list[Delivery] = []
        end = time.monotonic() + timeout
        while len(got) < want:
            got.extend(transport.receive(node, limit=want - len(got)))
            if len(got) >= want or time.monotonic() > end:
                break
            time.sleep(0.01)
        return got


def _delete_amqp_queues(url: str, prefix: str) -> None:
    import pika

    from docflow.transports.amqp import normalise_url

    connection = pika.BlockingConnection(pika.URLParameters(normalise_url(url)))
    try:
        for node in NODES:
            for name in (f"{prefix}{node}", f"{prefix}dead.{node}"):
                channel = connection.channel()
                channel.queue_delete(name)
                channel.close()
    finally:
        connection.close()


@pytest.fixture(params=["memory", "file", "amqp"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = ManualClock(seconds=1000.0)
    if request.param == "memory":
        from docflow.transports.memory import MemoryBroker

        broker = MemoryBroker(clock=clock.time)
        made = Backend("memory", clock, lambda **o: open_transport("memory://", broker=broker, **o))
    elif request.param == "file":
        root = tmp_path / "queues"
        made = Backend("file", clock, lambda **o: open_transport(f"file://{root}", clock=clock.time, fsync=False, **o))
    else:
        url = request.getfixturevalue("amqp_url")
        prefix = f"docflow-test-{uuid.uuid4().hex[:10]}."
        made = Backend("amqp", clock, lambda **o: open_transport(url, clock=clock.time, queue_prefix=prefix, **o))
    try:
        yield made
    finally:
        made.close_all()
        if made.name == "amqp":
            _delete_amqp_queues(url, prefix)
