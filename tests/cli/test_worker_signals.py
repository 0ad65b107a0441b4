"""``docflow worker``'s stop flag: a SIGTERM during a pause ends it within a slice, and the handler takes no lock
(a ``threading.Event`` set from a handler can deadlock the loop waiting on it, CPython issue 126434)."""

from __future__ import annotations

import os
import signal
import threading
import time

from docflow.cli.worker import _on_signals, _Stop


def test_a_sigterm_during_a_pause_ends_it_at_once_and_the_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = _Stop()
    restore = _on_signals(stop)
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        stop.pause(30.0)
        assert stop.requested and time.monotonic() - started < 0.2 + 5 * _Stop.SLICE
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before


def test_signals_arriving_at_any_moment_of_many_pauses_never_hang_them() -> None:
    stop = _Stop()
    restore = _on_signals(stop)
    done = threading.Event()

    def storm() -> None:  # a signal every millisecond or so, landing anywhere in the loop below
        while not done.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.001)

    sender = threading.Thread(target=storm)
    sender.start()
    try:
        started = time.monotonic()
        for _ in range(300):
            stop.requested = False
            stop.pause(0.002)
        assert time.monotonic() - started < 30  # a deadlock would never get here
    finally:
        done.set()
        sender.join()
        restore()
