"""The Clock seam: docflow code never reads the system time directly.

The engine asks a ``Clock`` for ``now()`` (naive local timestamps, as edXML writes them) and for ``time()``
(seconds as a float, for timeouts and scheduling).  ``WallClock`` reads the system; ``ManualClock`` is moved
by hand (tests) or by a discrete-event simulator, so a whole province can run in virtual time.
Pure: standard library only.
"""

from __future__ import annotations

import time as _time
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What docflow needs of time."""

    def now(self) -> datetime:
        """The current local time (naive)."""
        ...

    def time(self) -> float:
        """Seconds since an arbitrary epoch; only differences matter."""
        ...


class WallClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)

    def time(self) -> float:
        return _time.monotonic()


class ManualClock:
    """A clock that only moves when told: ``advance(seconds)`` or ``set(seconds)``."""

    def __init__(self, start: datetime | None = None, seconds: float = 0.0) -> None:
        self._epoch = start or datetime(2017, 10, 2, 8, 0, 0)
        self._seconds = float(seconds)

    def now(self) -> datetime:
        return (self._epoch + timedelta(seconds=self._seconds)).replace(microsecond=0)

    def time(self) -> float:
        return self._seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._seconds += seconds

    def set(self, seconds: float) -> None:
        if seconds < self._seconds:
            raise ValueError("a clock never goes back")
        self._seconds = float(seconds)
