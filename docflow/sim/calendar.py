"""Working time: office hours on working days, and arithmetic in virtual seconds that skips the rest.

Virtual time is seconds since the scenario's start (a naive local ``datetime``).  Clerks only work inside
the calendar; deadlines are counted in working hours on the same calendar.
Pure: standard library only; must not import simpy or the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DAY = 86_400.0
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Calendar:
    """Office hours ``[open_at, close_at)`` (seconds after midnight) on ``days`` (0 = Monday)."""

    start: datetime
    open_at: float = 8 * 3600.0
    close_at: float = 17 * 3600.0
    days: frozenset[int] = frozenset(range(5))

    def _day(self, t: float) -> tuple[int, float, int]:
        """(day index since the start's midnight, seconds since that midnight at day 0, weekday)."""
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset = (self.start - midnight).total_seconds()
        absolute = t + offset
        day = int(absolute // DAY)
        return day, offset, (midnight.weekday() + day) % 7

    def is_open(self, t: float) -> bool:
        day, offset, weekday = self._day(t)
        within = t + offset - day * DAY
        return weekday in self.days and self.open_at <= within < self.close_at

    def next_open(self, t: float) -> float:
        """The first moment at or after ``t`` inside office hours."""
        if not self.days or self.close_at <= self.open_at:
            raise ValueError("the calendar has no working time")
        day, offset, weekday = self._day(t)
        within = t + offset - day * DAY
        for extra in range(8):
            if (weekday + extra) % 7 in self.days:
                if extra == 0 and within < self.close_at:
                    return t if within >= self.open_at else t + (self.open_at - within)
                if extra > 0:
                    return (day + extra) * DAY + self.open_at - offset
        raise AssertionError("unreachable: some day of the week is a working day")

    def add(self, t: float, seconds: float) -> float:
        """The moment ``seconds`` of working time after ``t`` (counting only office hours)."""
        t = self.next_open(t)
        left = seconds
        while True:
            day, offset, _ = self._day(t)
            closes = day * DAY + self.close_at - offset
            if t + left < closes:
                return t + left
            left -= closes - t
            if left <= 0:
                return closes
            t = self.next_open(closes)

    def at(self, t: float) -> datetime:
        return self.start + timedelta(seconds=t)


def parse_hours(text: str) -> tuple[float, float]:
    """``"08:00-17:00"`` -> (28800.0, 61200.0); ValueError when malformed or empty."""
    first, sep, second = text.partition("-")
    if not sep:
        raise ValueError(f"expected HH:MM-HH:MM, not {text!r}")

    def seconds(part: str) -> float:
        hours, _, minutes = part.strip().partition(":")
        value = int(hours) * 3600 + int(minutes or 0) * 60
        if not 0 <= value <= DAY:
            raise ValueError(f"time of day out of range: {part!r}")
        return float(value)

    opens, closes = seconds(first), seconds(second)
    if closes <= opens:
        raise ValueError(f"office hours close before they open: {text!r}")
    return opens, closes
