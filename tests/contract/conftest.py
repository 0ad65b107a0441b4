"""The ``backend`` fixture: every transport the contract suite runs against, behind one small factory.

Each backend opens connections to the *same* queues (memory: one broker; file: one directory; amqp: one
queue prefix unique to the test; axis: one ``docflow serve`` process started for the test on a free
127.0.0.1 port and stopped after it), all reading one ``ManualClock`` so visibility timeouts run in virtual
time.  AMQP joins when DOCFLOW_TEST_AMQP_URL is set (the ``amqp_url`` fixture skips otherwise); its queues
are deleted after the test.

Each backend also makes the suite's messages (``Backend.msg``, ``binary_body``, ``large_body``): arbitrary
bytes for the queues that carry any bytes, and a fresh valid edXML document (a new code number each, so no
two are the same package) for the axis, which validates every package it is sent.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from docflow.domain.clock import ManualClock
from docflow.transports import Delivery, Message, Transport, open_transport

#: Recipient nodes used by the suite (OrganId strings: a province, one of its departments, a ministry).
NODES = ("000.00.00.H29", "000.00.01.H29", "000.00.00.G01")
#: The axis serves the Tiền Giang network: the Government Office, a district and a commune of Tiền Giang,
#: all sent to by Tiền Giang's committee (the axis records each package as that agency's send).
AXIS_NODES = ("000.00.00.G22", "000.00.50.H58", "000.20.50.H58")
AXIS_SENDER = "000.00.00.H58"
AXIS_CREDENTIALS = """
[[system]]
id = "engine"
secret = "secret-engine"
agencies = ["*"]
"""
_codes = itertools.count(1)


def raw_body(n: int | str) -> bytes:
    return f"body {n}".encode()


def raw_binary() -> bytes:
    return bytes(range(256)) * 4 + "Công văn số 12/UBND-VP".encode() + b"\x00\r\n"


def raw_large(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + b"tail"


@dataclass
class Backend:
    """Opens connections to one set of queues; every connection is closed at teardown."""

    name: str
    clock: ManualClock
    factory: Callable[..., Transport]
    opened: list[Transport] = field(default_factory=list)
    nodes: tuple[str, ...] = NODES
    sender: str = "000.00.00.G22"
    #: a valid message body: ``body(n, recipient)``; ``binary()`` for the round trip; ``large(size)``
    body: Callable[[int | str, str], bytes] = lambda n, recipient: raw_body(n)
    binary: Callable[[str], bytes] = lambda recipient: raw_binary()
    large: Callable[[str, int], bytes] = lambda recipient, size: raw_large(size)
    #: whether the kind of a message may be ``status`` with the body ``body`` makes (the axis checks it)
    statuses: bool = True
    #: whether a new connection continues the attempt count of a message (a broker's or spool's own count)
    shared_attempts: bool = True

    def msg(self, n: int | str, recipient: str, *, body: bytes | None = None, **headers: str) -> Message:
        """Message ``M-n`` to ``recipient``: an ``edoc`` for even or named ``n``, a ``status`` for odd (where the
        backend carries statuses with such bodies)."""
        kind = "edoc" if isinstance(n, str) or n % 2 == 0 or not self.statuses else "status"
        made = body if body is not None else self.body(n, recipient)
        return Message(f"M-{n}", self.sender, recipient, kind, made, headers)

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


class _Drafts:
    """Fresh valid edXML documents from Tiền Giang's committee (a new code number each)."""

    def __init__(self) -> None:
        from docflow.bootstrap import build_network

        self.network = build_network(db="sqlite://")

    def document(self, recipient: str, *, content: str = "", attachments: list[tuple[str, bytes, str]] | None = None
                 ) -> bytes:  # fmt: skip
        from docflow.xml import write_envelope

        draft = self.network.node(AXIS_SENDER).draft(
            [recipient], subject="Công văn số 12/UBND-VP", code=f"{next(_codes)}/UBND-VP", content=content,
            attachments=attachments or [],
        )  # fmt: skip
        return write_envelope(draft)


@pytest.fixture(scope="session")
def drafts() -> _Drafts:
    return _Drafts()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``docflow serve`` on a free 127.0.0.1 port over a fresh SQLite file; waits until it listens."""
    credentials = folder / "credentials.toml"
    credentials.write_text(AXIS_CREDENTIALS, encoding="utf-8")
    port = _free_port()
    command = [sys.executable, "-m", "docflow", "serve", "--db", f"sqlite:///{folder / 'axis.db'}",
               "--credentials", str(credentials), "--port", str(port)]  # fmt: skip
    log_path = folder / "serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"docflow serve exited {process.returncode}: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"axis+http://127.0.0.1:{port}?system=engine&secret_file={credentials}"
        except OSError:
            time.sleep(0.05)
    _stop(process)
    raise AssertionError(f"docflow serve did not listen within 60 s: {log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _axis_backend(clock: ManualClock, url: str, drafts: _Drafts) -> Backend:
    return Backend(
        "axis",
        clock,
        lambda **o: open_transport(url, clock=clock.time, **o),
        nodes=AXIS_NODES,
        sender=AXIS_SENDER,
        body=lambda n, recipient: drafts.document(recipient, content=f"body {n}"),
        binary=lambda recipient: drafts.document(recipient, content="Văn phòng Chính phủ → UBND tỉnh \u00a0 12/UBND"),
        large=lambda recipient, size: drafts.document(
            recipient, attachments=[("so-lieu.bin", raw_large(size * 3 // 4), "application/octet-stream")]
        ),
        statuses=False,
        shared_attempts=False,
    )


@pytest.fixture(params=["memory", "file", "amqp", "axis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = ManualClock(seconds=1000.0)
    if request.param == "memory":
        from docflow.transports.memory import MemoryBroker

        broker = MemoryBroker(clock=clock.time)
        made = Backend("memory", clock, lambda **o: open_transport("memory://", broker=broker, **o))
    elif request.param == "axis":
        drafts = request.getfixturevalue("drafts")
        server, url = _serve(tmp_path)
        made = _axis_backend(clock, url, drafts)
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
        if made.name == "axis":
            _stop(server)
        if made.name == "amqp":
            _delete_amqp_queues(url, prefix)
