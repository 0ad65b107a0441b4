"""The Vietnamese lunisolar calendar, as far as public holidays need it: a lunar date to its solar date.

Tết (1/1 lunar) and the Hùng Kings' day (10/3 lunar) move every year.  They are computed, not tabulated,
with the published algorithm of Hồ Ngọc Đức ("Âm lịch Việt Nam", the calendar used by Vietnamese
almanacs): new moons from Jean Meeus' *Astronomical Algorithms* (1998, ch. 49, the truncated series),
the sun's longitude from the low-precision formula of ch. 25, both at Vietnam's time zone UTC+7 (since
1968 the Vietnamese and Chinese calendars may differ by a day because China counts at UTC+8).  A lunar
month starts on the day of a new moon; month 11 holds the winter solstice; a year with 13 months repeats
the first month that holds no major solar term.  ``tests/unit/test_dossier_worktime.py`` checks the
results against the Tết and Hùng Kings' days of 2017–2027 as announced.

Pure: standard library only.
"""

from __future__ import annotations

import math
from datetime import date

#: Vietnam's time zone, hours east of UTC.
TIME_ZONE = 7.0
_SYNODIC = 29.530588853
_K0 = 2415021.076998695  # Julian day of the new moon of 1900-01-01 (k = 0)


def _jd_from_date(day: date) -> int:
    return day.toordinal() + 1_721_425  # proleptic Gregorian ordinal 1 is Julian day 1,721,426


def _date_from_jd(jd: int) -> date:
    return date.fromordinal(jd - 1_721_425)


def _new_moon(k: int) -> float:
    """Julian day (TT corrected to UT) of the ``k``-th new moon after 1900-01-01 (Meeus ch. 49, truncated)."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3  # the sun's mean anomaly
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3  # the moon's mean anomaly
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3  # the moon's argument of latitude
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 += -0.4068 * math.sin(mpr * dr) + 0.0161 * math.sin(dr * 2 * mpr) - 0.0004 * math.sin(dr * 3 * mpr)
    c1 += 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 += -0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 += -0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 += 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - delta_t


def _new_moon_day(k: int) -> int:
    """The Julian day number of the local (UTC+7) day of the ``k``-th new moon."""
    return math.floor(_new_moon(k) + 0.5 + TIME_ZONE / 24)


def _sun_sector(day_number: int) -> int:
    """Which twelfth of the ecliptic (0–11, 30° each) the sun is in at the start of the local day."""
    jdn = day_number - 0.5 - TIME_ZONE / 24
    t = (jdn - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    longitude = (l0 + dl) * dr
    longitude -= math.pi * 2 * math.floor(longitude / (math.pi * 2))
    return math.floor(longitude / math.pi * 6)


def _month11(year: int) -> int:
    """Julian day number of the first day of lunar month 11 (the month of the winter solstice) of ``year``."""
    k = math.floor((_jd_from_date(date(year, 12, 31)) - 2415021) / _SYNODIC)
    start = _new_moon_day(k)
    if _sun_sector(start) >= 9:  # the new moon is after the solstice: month 11 began one moon earlier
        start = _new_moon_day(k - 1)
    return start


def _leap_offset(a11: int) -> int:
    """In a 13-month year, the offset after month 11 of the month with no major solar term (the leap month)."""
    k = math.floor((a11 - _K0) / _SYNODIC + 0.5)
    i = 1
    arc = _sun_sector(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            return i - 1


def lunar_to_solar(day: int, month: int, year: int, *, leap: bool = False) -> date:
    """The solar date of lunar ``day``/``month`` of lunar ``year`` (``leap``: the repeated month).

    Raises ``ValueError`` for a day or month out of range, or a leap month the year does not have.
    """
    if not 1 <= day <= 30 or not 1 <= month <= 12:
        raise ValueError(f"no lunar date {day}/{month}")
    if month < 11:
        a11, b11 = _month11(year - 1), _month11(year)
    else:
        a11, b11 = _month11(year), _month11(year + 1)
    k = math.floor(0.5 + (a11 - _K0) / _SYNODIC)
    offset = (month - 11) % 12
    if b11 - a11 > 365:
        leap_offset = _leap_offset(a11)
        leap_month = (leap_offset - 2) % 12
        if leap and month != leap_month:
            raise ValueError(f"lunar year {year} has no leap month {month}")
        if leap or offset >= leap_offset:
            offset += 1
    elif leap:
        raise ValueError(f"lunar year {year} has no leap month")
    return _date_from_jd(_new_moon_day(k + offset) + day - 1)


def lunar_new_year(year: int) -> date:
    """Tết Nguyên Đán: the first day of the first lunar month of ``year``."""
    return lunar_to_solar(1, 1, year)
