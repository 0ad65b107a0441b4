from datetime import datetime

import pytest

from docflow.sim.calendar import Calendar, parse_hours

MONDAY = datetime(2017, 10, 2)  # a Monday


def test_next_open_moves_to_office_hours_and_over_the_weekend() -> None:
    cal = Calendar(MONDAY)
    assert cal.next_open(0.0) == 8 * 3600
    assert cal.next_open(9 * 3600) == 9 * 3600
    assert cal.next_open(17 * 3600) == 86400 + 8 * 3600  # closed at 17:00 sharp
    friday_evening = 4 * 86400 + 18 * 3600
    assert cal.next_open(friday_evening) == 7 * 86400 + 8 * 3600  # next Monday
    assert cal.is_open(10 * 3600) and not cal.is_open(5 * 86400 + 10 * 3600)


def test_add_counts_working_time_only() -> None:
    cal = Calendar(MONDAY)
    assert cal.add(16 * 3600, 2 * 3600) == 86400 + 9 * 3600  # 1 h on Monday, 1 h on Tuesday
    assert cal.add(4 * 86400 + 16 * 3600, 3600) == 4 * 86400 + 17 * 3600  # ends exactly at closing
    assert cal.add(4 * 86400 + 16 * 3600, 7200) == 7 * 86400 + 9 * 3600  # over the weekend
    assert cal.add(0.0, 9 * 3600 * 5) == 4 * 86400 + 17 * 3600  # one working week


def test_start_in_mid_day_is_respected() -> None:
    cal = Calendar(datetime(2017, 10, 2, 12, 0))  # virtual 0 is Monday noon
    assert cal.next_open(0.0) == 0.0
    assert cal.next_open(6 * 3600) == 20 * 3600  # 18:00 -> Tuesday 08:00


def test_parse_hours() -> None:
    assert parse_hours("07:30-17:00") == (27000.0, 61200.0)
    for bad in ("8-7", "0800", "25:00-26:00"):
        with pytest.raises(ValueError):
            parse_hours(bad)
