"""A client-side deadline for database calls: a connection whose server stays silent is shut down.

PostgreSQL's own ``statement_timeout`` is enforced by the server, and its answer has to reach the client: a
server (or a network path) that hangs sends nothing, and libpq waits for ever.  ``Watchdog`` keeps one deadline
per busy connection; a single daemon thread (started on first use, never at import) shuts the socket of a
connection past its deadline, so the call blocked on it returns an error at once (``shutdown`` on the
socket wakes the waiting thread; the descriptor itself is left to its owner).

``arm``/``disarm`` cost a dictionary write under a lock.  Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

FileNo = Callable[[], int]


class Watchdog:
    """Deadlines of busy connections; the ones that pass are shut down and remembered as timed out."""

    def __init__(self, *, tick: float = 0.1, linger: float = 5.0) -> None:
        self.tick = tick
        self.linger = linger  # an idle thread waits this long for new deadlines before it ends
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, Any, FileNo]] = {}
        self._fired: set[int] = set()
        self._thread: threading.Thread | None = None

    def arm(self, connection: Any, seconds: float, fileno: FileNo) -> None:
        """Give ``connection`` ``seconds`` to answer; ``fileno`` returns its socket (read when it fires)."""
        deadline = time.monotonic() + seconds
        with self._lock:
            self._deadlines[id(connection)] = (deadline, connection, fileno)
            self._fired.discard(id(connection))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="docflow-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, connection: Any) -> None:
        with self._lock:
            self._deadlines.pop(id(connection), None)

    def fired(self, connection: Any) -> bool:
        """Whether ``connection`` was shut down for missing its deadline (asked once: the mark is cleared)."""
        with self._lock:
            if id(connection) in self._fired:
                self._fired.discard(id(connection))
                return True
            return False

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                late = [(key, entry) for key, entry in self._deadlines.items() if entry[0] <= now]
                for key, _ in late:
                    del self._deadlines[key]
                    self._fired.add(key)
                if self._deadlines or late:
                    idle_since = now
                elif now - idle_since >= self.linger:
                    self._thread = None
                    return  # idle for a while: the next arm starts a new thread
            for _key, (_deadline, _connection, fileno) in late:
                _shut(fileno)


def _shut(fileno: FileNo) -> None:
    """Shut the socket down in both directions without closing its descriptor (its owner still holds it)."""
    with contextlib.suppress(Exception):
        fd = fileno()
        if fd < 0:
            return
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()  # leave the descriptor open: libpq closes it
