"""A loopback TCP proxy for fault tests: forwards to a service and can cut, freeze and resume its connections.

Two ways to use it:

* ``Proxy(target)`` runs in a thread of the test process: ``freeze()`` stops forwarding (bytes wait in the
  kernel buffers, new connections wait in the backlog, exactly like a hung peer), ``resume()`` goes on,
  ``cut()`` closes every connection at once (an RST-like loss), ``close()`` stops it.
* ``ProxyProcess(target)`` runs the same proxy as a separate process (``python proxy.py HOST PORT``), so a test
  can freeze it for real with ``SIGSTOP`` / ``SIGCONT`` and kill it with ``SIGKILL``.

Listens on 127.0.0.1 only and connects only to a loopback target.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

CHUNK = 65536


def _check_loopback(target: tuple[str, int]) -> None:
    host = "127.0.0.1" if target[0] == "localhost" else target[0]
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the fault proxy forwards to loopback only, not {target!r}")


class Proxy:
    """A threaded forwarder ``127.0.0.1:<port>`` → ``target`` with freeze, resume and cut."""

    def __init__(self, target: tuple[str, int], *, port: int = 0) -> None:
        _check_loopback(target)
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self._peers: dict[socket.socket, socket.socket] = {}
        self._running = threading.Event()  # set: forwarding; clear: frozen
        self._running.set()
        self._stop = False
        self._cut = False
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def freeze(self) -> None:
        """Stop forwarding and accepting: every peer sees a connection that hangs."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cut(self) -> None:
        """Close every open connection (new ones are still accepted)."""
        with self._lock:
            self._cut = True
        self._running.set()

    def close(self) -> None:
        self._stop = True
        self._running.set()
        self._thread.join(5.0)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._stop:
                if not self._running.wait(0.05):
                    continue
                with self._lock:
                    cut, self._cut = self._cut, False
                if cut:
                    self._drop_all()
                for key, _ in self._selector.select(0.05):
                    if not self._running.is_set() or self._stop:
                        break
                    sock = key.fileobj
                    if sock is self.listener:
                        self._accept()
                    else:
                        self._forward(sock)  # type: ignore[arg-type]
        finally:
            self._drop_all()
            self._selector.close()
            self.listener.close()

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5.0)
        except OSError:
            client.close()
            return
        self.accepted += 1
        for sock in (client, upstream):
            sock.setblocking(False)
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(upstream, selectors.EVENT_READ)

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(CHUNK)
            if data:
                peer.setblocking(True)
                peer.sendall(data)
                peer.setblocking(False)
                return
        except OSError:
            pass
        self._drop_pair(sock)

    def _drop_pair(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for one in (sock, peer):
            if one is None:
                continue
            self._peers.pop(one, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(one)
            with contextlib.suppress(OSError):
                one.close()

    def _drop_all(self) -> None:
        for sock in list(self._peers):
            self._drop_pair(sock)


class ProxyProcess:
    """The proxy in its own process, to be frozen with SIGSTOP, thawed with SIGCONT and killed with SIGKILL."""

    def __init__(self, target: tuple[str, int]) -> None:
        _check_loopback(target)
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), target[0], str(target[1])],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            self.process.wait(5.0)
            raise RuntimeError(f"the proxy process did not start: {line!r}")
        self.port = int(line)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def freeze(self) -> None:
        """Stop the proxy, and return only once it is stopped: a signal is delivered when the kernel gets to it,
        and a client busy on the other core could get its next bytes through meanwhile (seen under load)."""
        os.kill(self.process.pid, signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + 5.0
        while stat.exists() and time.monotonic() < deadline:
            # the state follows the command name, which is in parentheses: "pid (name) T ..."
            if stat.read_text().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                return
            time.sleep(0.001)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a stopped process dies only once it runs again
            self.process.kill()
        self.process.wait(5.0)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def main(argv: list[str]) -> int:
    host, port = argv[0], int(argv[1])
    proxy = Proxy((host, port))
    print(proxy.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: proxy.close())
    proxy._thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
