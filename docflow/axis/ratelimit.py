"""A per-system rate limit for ``docflow serve``: a token bucket per authenticated system id.

Each system may make ``rate`` calls per second on average and ``burst`` at once; a call over the limit is
refused before its body is read (so a flood costs the server an HMAC check, never a parse or a write) and the
refusal says when to retry.  The buckets are keyed by the system ids of the credentials file, a bounded set.
Pure standard library; must not import sqlalchemy or lxml.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class RateLimit:
    """``rate`` calls per second per system, ``burst`` at once (at least one)."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # system -> (tokens, at)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"a rate limit must be positive, not {self.rate}")
        self.burst = max(1, self.burst)

    def take(self, system: str) -> float:
        """Spend one call of ``system``: 0.0 when allowed, else the seconds until the next call would be."""
        now = self.clock()
        tokens, at = self._buckets.get(system, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[system] = (tokens - 1.0, now)
            return 0.0
        self._buckets[system] = (tokens, now)
        return (1.0 - tokens) / self.rate
