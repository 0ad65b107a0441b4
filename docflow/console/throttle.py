"""Failed logins to the operator console slow a guesser down: after too many failures for one operator name or
from one client address within a window, further attempts are refused without checking the password.

``LoginThrottle.wait(keys)`` says how many seconds until an attempt may be made (0: now); ``failed(keys)``
counts a failure against each key; ``succeeded(key)`` forgets an operator's failures.  Each key keeps the times
of its last ``allowed`` failures (a sliding window), and the table is bounded: past ``limit`` keys, those whose
failures have all aged out are dropped, then the oldest.  A refusal costs no scrypt check, so a flood of
guesses costs the server nothing.  Pure standard library.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class LoginThrottle:
    """At most ``allowed`` failures per key within ``window`` seconds."""

    allowed: int = 5
    window: float = 900.0
    clock: Callable[[], float] = time.monotonic
    limit: int = 10_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.allowed < 1 or self.window <= 0:
            raise ValueError(f"a login throttle needs allowed >= 1 and window > 0, not {self.allowed}, {self.window}")

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until an attempt under all ``keys`` may be made (0.0: now)."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            times = self._failures.get(key)
            if times is not None and len(times) >= self.allowed:
                longest = max(longest, times[0] + self.window - now)
        return max(longest, 0.0)

    def failed(self, keys: Iterable[str]) -> None:
        """Count one failed attempt against each key."""
        now = self.clock()
        for key in keys:
            times = self._failures.get(key)
            if times is None:
                if len(self._failures) >= self.limit:
                    self._trim(now)
                times = self._failures[key] = deque(maxlen=self.allowed)
            times.append(now)

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures (the operator got in)."""
        self._failures.pop(key, None)

    def _trim(self, now: float) -> None:
        for key in [k for k, times in self._failures.items() if times[-1] + self.window <= now]:
            del self._failures[key]
        while len(self._failures) >= self.limit:  # all recent: drop the oldest keys (insertion order)
            del self._failures[next(iter(self._failures))]


__all__ = ["LoginThrottle"]
