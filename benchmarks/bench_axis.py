"""Axis benchmarks: ``docflow serve``'s app on uvicorn over loopback HTTP, against the least an HTTP server could do.

``axis_round_trip``: one package's round trip as a partner's system makes it — ``sendEdoc`` (a new ~4 KB
document from Tiền Giang's committee to the Government Office: verified, parsed, validated, recorded by the
engine, carried to the recipient node and its 01 back, queued in the mailbox), ``getReceivedEdocList``,
``getEdoc``, ``updateStatus done`` — four signed calls through ``AxisClient``.  The floor is the same four calls,
signed the same way by the same client, to a bare ASGI app mounted on the same uvicorn server that answers each
with the same bytes the axis answered, with no verification, no validation and no store.  The server runs in its
own process as ``docflow serve`` does (SQLite store, file spool, the engine passing every second in the
background, competing with the calls for that process).  Target ≤ 3.

``axis_hop``: one message through the ``axis+http://`` transport (send = sendEdoc with the engine's headers,
receive = list + getEdoc, ack = updateStatus done) against the same message through ``memory://``: what a hop
costs the engine when its transport is a real axis; reported, with a loose target.

Servers listen on free 127.0.0.1 ports and are stopped when the figure is taken.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
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


def _server_app(folder: Path) -> Starlette:
    """What the server process serves: the axis at /axis (its engine passing every second, as docflow serve
    runs it) and the bare app at /bare, whose answers the benchmark sets from the axis' own (POST /set/NAME)."""
    backend = AxisBackend.open(db=f"sqlite:///{folder / 'axis.db'}", registry="tien_giang_2017",
                               credentials=parse(CREDENTIALS), spool=str(folder / "spool"))  # fmt: skip
    backend.start_pump(1.0)
    bare = _Bare()

    async def record(request: Request) -> Response:
        bare.answers[request.path_params["operation"]] = await request.body()
        return Response(b"")

    return Starlette(
        routes=[
            Mount("/axis", app=create_app(backend)),
            Route("/bare/{operation}", bare.answer, methods=["GET", "POST"]),
            Route("/set/{operation}", record, methods=["POST"]),
        ]
    )


@contextmanager
def _server_process(folder: Path) -> Iterator[str]:
    """The server in its own process (as in production: the client's work does not share its interpreter)."""
    port = _free_port()
    command = [sys.executable, __file__, "--serve", str(folder), str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the benchmark's server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@measured("axis_round_trip", target=3.0)
def round_trip(timing: Timing) -> Figure:
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-axis-"))
    documents = _documents()
    with _server_process(folder) as url:
        axis = (AxisClient(url + "/axis", "tg", "s-tg"), AxisClient(url + "/axis", "vpcp", "s-vpcp"))
        floor = (AxisClient(url + "/bare", "tg", "s-tg"), AxisClient(url + "/bare", "vpcp", "s-vpcp"))
        # the bare app answers with the axis' own bytes
        sender, receiver = axis
        answers = {"sendEdoc": b'{"status":"OK","ErrorCode":"0","ErrorDesc":"success","DocId":"%s"}' % (b"0" * 32)}
        sender.send(documents())
        answers["getReceivedEdocList"] = receiver.request(
            "getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", "edoc")]
        ).content
        doc_id = receiver.received()[0]["docId"]
        answers["getEdoc"] = receiver.request("getEdoc", [("docId", doc_id)], body=b"{}").content
        answers["updateStatus"] = receiver.request(
            "updateStatus", [("docId", doc_id), ("status", "done")], body=b"{}"
        ).content
        with httpx.Client() as http:
            for name, body in answers.items():
                http.post(f"{url}/set/{name}", content=body).raise_for_status()

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
    return Figure(value, low, note="send+list+get+ack, loopback HTTP, server process with SQLite store and spool")


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


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--serve":
    folder, port = Path(sys.argv[2]), int(sys.argv[3])
    uvicorn.run(_server_app(folder), host="127.0.0.1", port=port, log_level="error", lifespan="off")
