"""Faults with real processes: ``docflow serve`` killed with SIGKILL in the middle of a stream of calls, and
connections cut mid-body or mid-answer by a small TCP proxy.  After the restart and the clients' retries nothing
is lost and nothing is applied twice: one package per recipient, one arrival per document and recipient."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from axis_processes import COMMUNE, G22, H58, Served, start_server, stop

from docflow.axis.client import AxisClient
from docflow.bootstrap import build_network
from docflow.xml import write_envelope


def documents(count: int, first: int = 1) -> list[bytes]:
    drafter = build_network(db="sqlite://").node(H58)
    made = drafter.draft([G22, COMMUNE], subject="Báo cáo", code="99999/UBND-VP")
    template = write_envelope(made)
    return [template.replace(b"99999", str(n).encode()) for n in range(first, first + count)]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def arrivals(served: Served) -> dict[tuple[str, str], int]:
    """(document, recipient) -> arrivals the server's engine recorded, read from its audit log."""
    rows = served.rows("SELECT document_id, node, count(*) FROM events WHERE kind = 'arrived' GROUP BY 1, 2")
    return {(doc, node): n for doc, node, n in rows}


def test_a_server_killed_mid_stream_loses_nothing_and_applies_nothing_twice(tmp_path: Path):
    served = start_server(tmp_path, "--engine-interval", "0.5")
    port = int(served.url.split(":")[2].split("/")[0])
    sent: dict[int, str] = {}
    failures: list[BaseException] = []
    batch = documents(40)

    def sender() -> None:
        client = AxisClient(served.url, "tg-ubnd", "secret-h58", retries=30, backoff=0.2, backoff_cap=1.0)
        try:
            for n, data in enumerate(batch):
                sent[n] = client.send(data, sender=H58)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            client.close()

    thread = threading.Thread(target=sender)
    thread.start()
    restarted = None
    try:
        wait_for(lambda: len(sent) >= 8, "the first sends")
        os.kill(served.process.pid, signal.SIGKILL)  # mid-stream: a call is in flight or about to be
        served.process.wait(timeout=30)
        restarted = start_server(tmp_path, "--engine-interval", "0.5", port=port)
        thread.join(timeout=180)
        assert not thread.is_alive() and failures == []
        assert len(sent) == 40 and len(set(sent.values())) == 40
        assert restarted.rows("SELECT count(*), count(DISTINCT identity) FROM axis_packages") == [(80, 80)]
        wait_for(lambda: len(arrivals(restarted)) == 80, "80 arrivals in the engine")
        assert set(arrivals(restarted).values()) == {1}
        gov = restarted.client("vpcp", "secret-g22")
        assert gov.count() == 40
    finally:
        if thread.is_alive():
            thread.join(timeout=60)
        if restarted is not None:
            stop(restarted.process)
        stop(served.process)
    assert restarted.process.returncode == 0


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that cuts its first ``cuts`` connections: mid-body (``request``: after
    ``after`` bytes from the client) or mid-answer (``answer``: the server's bytes are dropped)."""

    def __init__(self, target: int, *, mode: str, after: int = 0, cuts: int = 1) -> None:
        self.target, self.mode, self.after, self.cuts = target, mode, after, cuts
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.connections <= self.cuts
            server = socket.create_connection(("127.0.0.1", self.target))
            up = threading.Thread(target=self._pipe, args=(client, server, cut and self.mode == "request"))
            down = threading.Thread(target=self._pipe, args=(server, client, cut and self.mode == "answer"))
            for t in (up, down):
                t.daemon = True
                t.start()

    def _pipe(self, source: socket.socket, sink: socket.socket, cut: bool) -> None:
        passed = 0
        try:
            while data := source.recv(65536):
                if cut and passed + len(data) > self.after:
                    sink.sendall(data[: max(0, self.after - passed)])
                    break
                sink.sendall(data)
                passed += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def served(tmp_path: Path):
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        stop(server.process)
    assert server.process.returncode == 0


@pytest.mark.parametrize(("mode", "after"), [("request", 1500), ("answer", 0)])
def test_a_connection_cut_mid_body_or_mid_answer_leaves_one_package(served, tmp_path, mode, after):
    port = int(served.url.split(":")[2].split("/")[0])
    proxy = CuttingProxy(port, mode=mode, after=after)
    try:
        url = served.url.replace(f":{port}/", f":{proxy.port}/")
        client = AxisClient(url, "tg-ubnd", "secret-h58", retries=3, backoff=0.05)
        [data] = documents(1, first=500)
        doc_id = client.send(data, sender=H58)
        assert proxy.connections == 2 and client.calls == 2  # the cut call, then its retry
        assert served.rows("SELECT count(*) FROM axis_packages") == [(2,)]
        assert {r["toCode"] for r in client.sent(doc_id)} == {G22, COMMUNE}
        assert client.send(data, sender=H58) == doc_id
        client.close()
    finally:
        proxy.close()
    assert "Traceback" not in (tmp_path / "axis.log").read_text()
