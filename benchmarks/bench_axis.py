"""Axis benchmarks: ``docflow serve``'s app on uvicorn over loopback HTTP, against the least an HTTP server could do.

``axis_round_trip``: one package's round trip as a partner's system makes it — ``sendEdoc`` (a new ~4 KB
document from Tiền Giang's committee to the Government Office: verified, parsed, validated, recorded by the
engine, carried to the recipient node and its 01 back, queued in the mailbox), ``getReceivedEdocList``,
``getEdoc``, ``updateStatus done`` — four signed calls through ``AxisClient``.  The floor is the same four calls,
signed the same way by the same client, to a bare ASGI app mounted on the same uvicorn server that answers each
with the same bytes the axis answered, with no verification, no validation and no store.  Target ≤ 3.

``axis_hop``: one message through the ``axis+http://`` transport (send = sendEdoc with the engine's headers,
receive = list + getEdoc, ack = updateStatus done) against the same message through ``memory://``: what a hop
costs the engine when its transport is a real axis; reported, with a loose target.

The server runs in a thread of this process on a free 127.0.0.1 port and is stopped when the figure is taken.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from harness import Figure, Timing, measure, measured
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from docflow.axis.app import create_app
from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisClient
from docflow.axis.credentials import parse
from docflow.bootstrap import build_network
from docflow.transports import Message
from docflow.xml import write_envelope

H58, G22 = "000.00.00.H58", "000.00.00.G22"
CONTENT = "Báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội, bảo đảm quốc phòng, an ninh."
ATTACHMENT = ("bao-cao.txt", ("Số liệu quý III. " * 160).encode(), "text/plain")
CREDENTIALS = f"""
[[system]]
id = "tg"
secret = "s-tg"
agencies = ["{H58}"]
[[system]]
id = "vpcp"
secret = "s-vpcp"
agencies = ["{G22}"]
[[system]]
id = "engine"
secret = "s-engine"
agencies = ["*"]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(app: Starlette) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _documents() -> Callable[[], bytes]:
    """New, valid documents at the cost of a byte replacement (a fresh code number each)."""
    template = write_envelope(
        build_network(db="sqlite://")
        .node(H58)
        .draft([G22], subject="Báo cáo", code="99999/UBND-VP", content=CONTENT, attachments=[ATTACHMENT])
    )
    counter = iter(range(10_000, 99_999))
    return lambda: template.replace(b"99999", str(next(counter)).encode())


class _Bare:
    """Answers each axis operation with recorded bytes: what a server does with no checks and no store."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}

    async def answer(self, request: Request) -> Response:
        await request.body()
        return Response(self.answers[request.path_params["operation"]], media_type="application/json")


@measured("axis_round_trip", target=3.0)
def round_trip(timing: Timing) -> Figure:
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-axis-"))
    backend = AxisBackend.open(db=f"sqlite:///{folder / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(CREDENTIALS))  # fmt: skip
    bare = _Bare()
    app = Starlette(
        routes=[
            Mount("/axis", app=create_app(backend)),
            Route("/bare/{operation}", bare.answer, methods=["GET", "POST"]),
        ]
    )
    documents = _documents()
    try:
        with _serving(app) as url:
            axis = (AxisClient(url + "/axis", "tg", "s-tg"), AxisClient(url + "/axis", "vpcp", "s-vpcp"))
            floor = (AxisClient(url + "/bare", "tg", "s-tg"), AxisClient(url + "/bare", "vpcp", "s-vpcp"))
            # record the axis' own answers once, for the bare app to return
            sender, receiver = axis
            sender.send(documents())
            for name, params in (("getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", "edoc")]),):
                bare.answers[name] = receiver.request(name, params).content
            doc_id = receiver.received()[0]["docId"]
            bare.answers["getEdoc"] = receiver.request("getEdoc", [("docId", doc_id)], body=b"{}").content
            bare.answers["updateStatus"] = receiver.request("updateStatus", [("docId", doc_id), ("status", "done")],
                                                            body=b"{}").content  # fmt: skip
            bare.answers["sendEdoc"] = b'{"status":"OK","ErrorCode":"0","ErrorDesc":"success","DocId":"%s"}' % (
                b"0" * 32
            )

            def trip(clients: tuple[AxisClient, AxisClient]) -> Callable[[], object]:
                def run() -> object:
                    sender, receiver = clients
                    sender.send(documents())
                    [item] = receiver.received()
                    receiver.get(item["docId"])
                    receiver.update(item["docId"], "done")
                    return item

                return run

            value, low = measure(trip(axis), trip(floor), timing)
            for client in (*axis, *floor):
                client.close()
    finally:
        backend.close()
    return Figure(value, low, note="send+list+get+ack, loopback HTTP, SQLite store")


@measured("axis_hop", target=1000.0)  # reported: a bound against regressions, not a goal
def hop(timing: Timing) -> Figure:
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-hop-"))
    (folder / "c.toml").write_text(CREDENTIALS, encoding="utf-8")
    backend = AxisBackend.open(db=f"sqlite:///{folder / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(CREDENTIALS))  # fmt: skip
    documents = _documents()
    try:
        with _serving(create_app(backend)) as url:
            over_axis = url.replace("http://", "axis+http://") + f"?system=engine&secret_file={folder / 'c.toml'}"
            nets = {
                "axis": build_network(db=f"sqlite:///{folder / 'a.db'}", transport=over_axis).ctx,
                "memory": build_network(db=f"sqlite:///{folder / 'm.db'}", transport="memory://").ctx,
            }
            counter = iter(range(1, 10**9))

            def one_hop(name: str) -> Callable[[], object]:
                ctx = nets[name]

                def run() -> object:
                    n = next(counter)
                    ctx.transport.send(Message(f"bench-{n}", H58, G22, "edoc", documents(), {"n": str(n)}))
                    [delivery] = ctx.transport.receive(G22)
                    ctx.transport.ack(delivery)
                    return delivery

                return run

            value, low = measure(one_hop("axis"), one_hop("memory"), timing)
            for ctx in nets.values():
                ctx.transport.close()
    finally:
        backend.close()
    return Figure(value, low, note="one message send+receive+ack: axis+http vs memory://")
