"""The working calendar of a one-stop desk: when the legal clock of a dossier runs, and arithmetic on it.

Office hours are 07:00–11:30 and 13:30–17:00 (8 hours) Monday to Friday — the hours most provinces set
for their one-stop desks (Tiền Giang's among them); both are settings.  Public holidays follow the Labour
Code: Bộ luật Lao động 2012 (Luật 10/2012/QH13) art. 115 until 2020 and Bộ luật Lao động 2019
(Luật 45/2019/QH14) art. 112 from 2021 — New Year's day (1/1), five days of Tết, the Hùng Kings' day
(10/3 lunar), 30/4, 1/5 and National Day 2/9 (with one day next to it from 2021; docflow takes 3/9, the
choice of 2021, 2024 and 2025).  The five Tết days are the last day of the lunar year and the first four
of the new one, the usual split of the yearly decisions.  A holiday on a Saturday or Sunday gives the next
working day off (art. 115.3 / 112.3).  Lunar dates come from ``docflow.domain.lunar`` (computed).  The
Government's yearly swaps (a bridge day off made up on a Saturday) are not law and change every year:
give them as ``extra_holidays`` and ``extra_working_days``.

Deadlines: a time in working days is ×8 working hours, in calendar days ×24 hours (a deadline that falls
outside office hours moves to the next working moment); a dossier received outside office hours (after
17:00, at lunch, on a holiday) is counted from the next working moment; a procedure of 0 working days is
returned the same day (by 17:00), or the next working day when received after 15:00 (Luật Hộ tịch 2014
art. 16 and Nghị định 123/2015/NĐ-CP for civil status).  Finished on an earlier day than ``NgayHenTra``
is early, on its day on time, later late; still open after it, overdue.

Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum

from docflow.domain.lunar import lunar_new_year, lunar_to_solar

HOURS_PER_DAY = 8.0
SAME_DAY_CUTOFF = time(15, 0)
_HOUR = 3600.0


class TimeUnit(Enum):
    """How a procedure's total time is counted."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class Timeliness(Enum):
    """A returned dossier against its ``NgayHenTra``."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """The public holidays of ``year`` with their compensatory days (see the module docstring)."""
    tet = lunar_new_year(year)
    days = [date(year, 1, 1), *(tet + timedelta(days=n) for n in range(-1, 4))]
    days += [lunar_to_solar(10, 3, year), date(year, 4, 30), date(year, 5, 1), date(year, 9, 2)]
    if year >= 2021:
        days.append(date(year, 9, 3))
    taken = set(days)
    for day in sorted(days):
        if day.weekday() >= 5:  # compensated on the next working day not already off
            extra = day + timedelta(days=1)
            while extra.weekday() >= 5 or extra in taken:
                extra += timedelta(days=1)
            taken.add(extra)
    # the Tết of the next lunar year may begin on this year's last day (never so for 2017–2027, but cheap)
    if lunar_new_year(year + 1) - timedelta(days=1) == date(year, 12, 31):
        taken.add(date(year, 12, 31))
    return frozenset(d for d in taken if d.year == year)


def _hours(text: str) -> tuple[time, time]:
    first, sep, second = text.partition("-")
    if not sep:
        raise ValueError(f"office hours {text!r}: expected HH:MM-HH:MM")
    opens, closes = time.fromisoformat(first.strip()), time.fromisoformat(second.strip())
    if closes <= opens:
        raise ValueError(f"office hours {text!r} close before they open")
    return opens, closes


@dataclass(frozen=True)
class WorkCalendar:
    """Office periods on working days; weekends, public holidays and the extra days given are off."""

    periods: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
    weekend: frozenset[int] = frozenset({5, 6})
    extra_holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    _holidays: dict[int, frozenset[date]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a working calendar needs at least one office period")
        for (_, closes), (opens, _) in zip(self.periods, self.periods[1:], strict=False):
            if opens < closes:
                raise ValueError("office periods must be in order and must not overlap")

    @classmethod
    def from_hours(cls, *periods: str, **options: Iterable[date]) -> WorkCalendar:
        """``WorkCalendar.from_hours("07:00-11:30", "13:30-17:00", extra_holidays=[...])``."""
        return cls(
            tuple(_hours(p) for p in periods) or cls.periods,
            extra_holidays=frozenset(options.get("extra_holidays", ())),
            extra_working_days=frozenset(options.get("extra_working_days", ())),
        )

    @property
    def hours_per_day(self) -> float:
        return sum(_span(a, b) for a, b in self.periods) / _HOUR

    # --- days ----------------------------------------------------------------------------------------
    def holidays(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            found = self._holidays[year] = statutory_holidays(year) | {d for d in self.extra_holidays if d.year == year}
        return found

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays(day.year)

    def _next_working_day(self, day: date) -> date:
        for _ in range(366):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within a year after {day}")

    def _previous_working_day(self, day: date) -> date:
        for _ in range(366):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within a year before {day}")

    # --- moments -------------------------------------------------------------------------------------
    def is_working_time(self, at: datetime) -> bool:
        return self.is_working_day(at.date()) and any(a <= at.time() < b for a, b in self.periods)

    def next_working_moment(self, at: datetime) -> datetime:
        """``at`` itself inside office hours, else the start of the next office period."""
        day = at.date()
        if self.is_working_day(day):
            for opens, closes in self.periods:
                if at.time() < closes:
                    return max(at, datetime.combine(day, opens))
        return datetime.combine(self._next_working_day(day), self.periods[0][0])

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` of office time after ``start`` (counted from its next working moment)."""
        if hours < 0:
            return self.subtract_hours(start, -hours)
        at = self.next_working_moment(start)
        left = hours * _HOUR
        while True:
            closes = self._period_end(at)
            room = (closes - at).total_seconds()
            if left <= room:
                return at + timedelta(seconds=left)
            left -= room
            at = self.next_working_moment(closes)

    def subtract_hours(self, end: datetime, hours: float) -> datetime:
        """The moment ``hours`` of office time before ``end`` (from its last working moment back)."""
        at = self._last_working_moment(end)
        left = hours * _HOUR
        while True:
            opens = self._period_start(at)
            room = (at - opens).total_seconds()
            if left <= room:
                return at - timedelta(seconds=left)
            left -= room
            at = self._last_working_moment(opens - timedelta(microseconds=1))
            if at == opens:  # pragma: no cover - periods never start where the previous ends backwards
                raise AssertionError("office time does not move backwards")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours in ``[start, end)`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for opens, closes in self.periods:
                    lo = max(start, datetime.combine(day, opens))
                    hi = min(end, datetime.combine(day, closes))
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total / _HOUR

    def _period_end(self, at: datetime) -> datetime:
        for opens, closes in self.periods:
            if opens <= at.time() < closes:
                return datetime.combine(at.date(), closes)
        raise AssertionError(f"{at} is not in office hours")

    def _period_start(self, at: datetime) -> datetime:
        for opens, closes in self.periods:
            if opens < at.time() <= closes:
                return datetime.combine(at.date(), opens)
        raise AssertionError(f"{at} does not end office time")

    def _last_working_moment(self, at: datetime) -> datetime:
        """``at`` when office time runs up to it, else the end of the last office period before it."""
        day = at.date()
        if self.is_working_day(day):
            for opens, closes in reversed(self.periods):
                if at.time() > opens:
                    return min(at, datetime.combine(day, closes))
        return datetime.combine(self._previous_working_day(day), self.periods[-1][1])

    # --- deadlines -----------------------------------------------------------------------------------
    def deadline(self, received: datetime, amount: float, unit: TimeUnit = TimeUnit.WORKING_DAYS) -> datetime:
        """``NgayHenTra`` of a dossier received at ``received`` for a procedure of ``amount`` days."""
        start = self.next_working_moment(received)
        if unit is TimeUnit.CALENDAR_DAYS:
            return self.next_working_moment(start + timedelta(days=amount))
        if amount <= 0:  # the same day; after the cut-off, the next working day
            day = start.date() if start.time() < SAME_DAY_CUTOFF else self._next_working_day(start.date())
            return datetime.combine(day, self.periods[-1][1])
        return self.add_hours(start, amount * self.hours_per_day)

    def push_back(self, due: datetime, paused_from: datetime, resumed_at: datetime, unit: TimeUnit) -> datetime:
        """``due`` moved later by the time the clock stood still (office time, or calendar time)."""
        if unit is TimeUnit.CALENDAR_DAYS:
            return self.next_working_moment(due + max(resumed_at - paused_from, timedelta(0)))
        return self.add_hours(due, self.working_hours_between(paused_from, resumed_at))

    @staticmethod
    def timeliness(finished: datetime, due: datetime) -> Timeliness:
        """Early before ``due``'s day, on time on it, late after it."""
        if finished.date() < due.date():
            return Timeliness.EARLY
        return Timeliness.ON_TIME if finished.date() == due.date() else Timeliness.LATE

    @staticmethod
    def is_overdue(now: datetime, due: datetime) -> bool:
        return now > due


def _span(opens: time, closes: time) -> float:
    return (datetime.combine(date.min, closes) - datetime.combine(date.min, opens)).total_seconds()
