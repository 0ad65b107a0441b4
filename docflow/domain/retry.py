"""When a failed send is tried again and when it is given up: the one back-off formula of docflow.

A send can fail for two reasons.  The transport may be *unavailable* (the broker or the link is down): that
says nothing about the message, so it pauses the message without spending an attempt.  Or the transport may
*refuse* the message: that spends an attempt.  A message is given up only when both budgets are spent: the
attempts (``budget``) and the time since it was first queued (``give_up_after``, a working day by default),
so a long outage delays work instead of killing it.  The engine (``docflow.services``) and the simulator's
fast model both use this class; neither keeps a copy of the formula.
Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Eight office hours: how long docflow keeps trying before it gives a message up, unless told otherwise.
WORKING_DAY = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off and give-up rules of failed sends."""

    budget: int = 5  # attempts refused by the transport before a message may be given up
    delay: float = 60.0  # seconds before the first retry; doubled per attempt
    cap: float = 3600.0  # the longest wait between two attempts
    give_up_after: float = WORKING_DAY  # seconds since queued before a message may be given up

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ValueError(f"retry budget must be at least 1 attempt, not {self.budget}")
        if self.delay <= 0 or self.cap <= 0:
            raise ValueError("retry delays must be positive")
        if self.give_up_after < 0:
            raise ValueError("give_up_after must not be negative")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts (1 → ``delay``, doubled each time, capped)."""
        return min(self.delay * (2 ** max(attempts - 1, 0)), self.cap)

    def spent(self, attempts: int, age: float) -> bool:
        """True when a message refused ``attempts`` times and queued ``age`` seconds ago may be given up."""
        return attempts >= self.budget and age >= self.give_up_after

    def pause(self) -> float:
        """Seconds to wait after the transport was unavailable (no attempt spent): the first back-off step."""
        return min(self.delay, self.cap)
