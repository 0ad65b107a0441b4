"""The one-stop working calendar: lunar holidays, office hours, after-hours receipt, deadlines, stopped clock."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docflow.domain.lunar import lunar_new_year, lunar_to_solar
from docflow.domain.worktime import Timeliness, TimeUnit, WorkCalendar, statutory_holidays

CAL = WorkCalendar()

# Tết and the Hùng Kings' day as announced each year (government holiday notices).
TET = {
    2017: date(2017, 1, 28), 2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25),
    2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
}  # fmt: skip
HUNG_KINGS = {
    2017: date(2017, 4, 6), 2018: date(2018, 4, 25), 2019: date(2019, 4, 14), 2020: date(2020, 4, 2),
    2021: date(2021, 4, 21), 2022: date(2022, 4, 10), 2023: date(2023, 4, 29), 2024: date(2024, 4, 18),
    2025: date(2025, 4, 7), 2026: date(2026, 4, 26),
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(TET))
def test_lunar_new_year_is_computed_right(year):
    assert lunar_new_year(year) == TET[year]


@pytest.mark.parametrize("year", sorted(HUNG_KINGS))
def test_hung_kings_day_is_computed_right(year):
    assert lunar_to_solar(10, 3, year) == HUNG_KINGS[year]


def test_a_leap_month_the_year_lacks_is_refused():
    with pytest.raises(ValueError, match="leap"):
        lunar_to_solar(1, 1, 2024, leap=True)  # 2023 had a leap 2nd month, 2024 none
    assert lunar_to_solar(1, 2, 2023, leap=True) == date(2023, 3, 22)
    with pytest.raises(ValueError, match="no lunar date"):
        lunar_to_solar(31, 1, 2024)


def test_holidays_of_2017_with_tet_and_compensation():
    days = statutory_holidays(2017)
    assert {date(2017, 1, 27), date(2017, 1, 28), date(2017, 1, 31), date(2017, 4, 6), date(2017, 9, 2)} <= days
    # 1/1 was a Sunday: Monday 2/1 off; Tết's Saturday and Sunday give 1/2 and 2/2; 30/4 Sunday gives 2/5
    assert {date(2017, 1, 2), date(2017, 2, 1), date(2017, 2, 2), date(2017, 5, 2), date(2017, 9, 4)} <= days
    assert not CAL.is_working_day(date(2017, 1, 30)) and CAL.is_working_day(date(2017, 2, 3))


def test_national_day_has_a_second_day_from_2021():
    assert date(2020, 9, 3) not in statutory_holidays(2020)
    assert date(2021, 9, 3) in statutory_holidays(2021)


@pytest.mark.parametrize("year", range(2017, 2028))
def test_every_year_2017_2027_has_its_eleven_statutory_days_or_more(year):
    days = statutory_holidays(year)
    assert len(days) >= (11 if year >= 2021 else 10)
    assert TET[year] in days and date(year, 1, 1) in days


def test_extra_days_swap_a_bridge_day_for_a_saturday():
    cal = WorkCalendar(extra_holidays=frozenset({date(2017, 10, 6)}), extra_working_days=frozenset({date(2017, 10, 7)}))
    assert not cal.is_working_day(date(2017, 10, 6)) and cal.is_working_day(date(2017, 10, 7))


def test_office_hours_and_next_working_moment():
    monday = date(2017, 10, 2)
    assert CAL.hours_per_day == 8.0
    assert CAL.is_working_time(datetime(2017, 10, 2, 7, 0)) and not CAL.is_working_time(datetime(2017, 10, 2, 12))
    assert CAL.next_working_moment(datetime(2017, 10, 2, 6, 0)) == datetime.combine(monday, time(7))
    assert CAL.next_working_moment(datetime(2017, 10, 2, 12, 15)) == datetime(2017, 10, 2, 13, 30)
    assert CAL.next_working_moment(datetime(2017, 10, 2, 17, 0)) == datetime(2017, 10, 3, 7, 0)
    assert CAL.next_working_moment(datetime(2017, 10, 6, 18, 0)) == datetime(2017, 10, 9, 7, 0)  # Friday evening


def test_received_after_17_counts_from_the_next_working_morning():
    late = CAL.deadline(datetime(2017, 10, 2, 17, 30), 1)
    early = CAL.deadline(datetime(2017, 10, 3, 7, 0), 1)
    assert late == early == datetime(2017, 10, 3, 17, 0)


def test_working_day_deadlines_skip_lunch_weekends_and_holidays():
    assert CAL.deadline(datetime(2017, 10, 2, 10, 0), 3) == datetime(2017, 10, 5, 10, 0)
    assert CAL.deadline(datetime(2017, 10, 6, 10, 0), 1) == datetime(2017, 10, 9, 10, 0)
    assert CAL.add_hours(datetime(2017, 10, 2, 11, 0), 1) == datetime(2017, 10, 2, 14, 0)
    # 2018: the Hùng Kings' day 25/4 (Wed), 30/4 and 1/5 are off
    assert CAL.deadline(datetime(2018, 4, 24, 9, 0), 3) == datetime(2018, 5, 2, 9, 0)
    assert CAL.deadline(datetime(2018, 4, 27, 9, 0), 1) == datetime(2018, 5, 2, 9, 0)
    # across Tết 2018: 15/2–21/2 off
    assert CAL.deadline(datetime(2018, 2, 14, 16, 0), 1) == datetime(2018, 2, 22, 16, 0)


def test_same_day_procedures_and_the_15h_cutoff():
    assert CAL.deadline(datetime(2017, 10, 2, 9, 0), 0) == datetime(2017, 10, 2, 17, 0)
    assert CAL.deadline(datetime(2017, 10, 2, 15, 30), 0) == datetime(2017, 10, 3, 17, 0)
    assert CAL.deadline(datetime(2017, 10, 2, 18, 0), 0) == datetime(2017, 10, 3, 17, 0)


def test_calendar_day_deadlines_land_on_a_working_moment():
    due = CAL.deadline(datetime(2017, 10, 2, 9, 0), 30, TimeUnit.CALENDAR_DAYS)
    assert due == datetime(2017, 11, 1, 9, 0)
    weekend = CAL.deadline(datetime(2017, 10, 6, 9, 0), 1, TimeUnit.CALENDAR_DAYS)  # Saturday 9:00 -> Monday 7:00
    assert weekend == datetime(2017, 10, 9, 7, 0)


def test_stopped_clock_pushes_the_deadline_back_by_the_office_time_paused():
    due = datetime(2017, 10, 5, 10, 0)
    # paused Monday 15:00 to Wednesday 9:00 = 2 + 8 + 2 = 12 office hours
    assert CAL.working_hours_between(datetime(2017, 10, 2, 15), datetime(2017, 10, 4, 9)) == 12
    pushed = CAL.push_back(due, datetime(2017, 10, 2, 15), datetime(2017, 10, 4, 9), TimeUnit.WORKING_DAYS)
    assert pushed == datetime(2017, 10, 6, 16, 0)
    calendar = CAL.push_back(due, datetime(2017, 10, 2, 15), datetime(2017, 10, 4, 9), TimeUnit.CALENDAR_DAYS)
    assert calendar == datetime(2017, 10, 9, 7, 0)  # Thursday 10:00 + 42 h = Saturday 4:00


def test_timeliness_and_overdue():
    due = datetime(2017, 10, 5, 10, 0)
    assert CAL.timeliness(datetime(2017, 10, 4, 16), due) is Timeliness.EARLY
    assert CAL.timeliness(datetime(2017, 10, 5, 16), due) is Timeliness.ON_TIME
    assert CAL.timeliness(datetime(2017, 10, 6, 7), due) is Timeliness.LATE
    assert CAL.is_overdue(datetime(2017, 10, 5, 10, 1), due) and not CAL.is_overdue(due, due)


def test_bad_office_hours_are_refused():
    with pytest.raises(ValueError, match="close before"):
        WorkCalendar.from_hours("17:00-07:00")
    with pytest.raises(ValueError, match="overlap"):
        WorkCalendar.from_hours("07:00-12:00", "11:00-17:00")
    assert WorkCalendar.from_hours("07:30-11:30", "13:00-17:00").hours_per_day == 8.0


moments = st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2027, 12, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@settings(max_examples=150, deadline=None)
@given(moments, st.integers(0, 15 * 8 * 4).map(lambda q: q / 4))
def test_adding_hours_is_undone_by_counting_them(start, hours):
    end = CAL.add_hours(start, hours)
    assert end >= start
    assert CAL.working_hours_between(CAL.next_working_moment(start), end) == pytest.approx(hours)


@settings(max_examples=150, deadline=None)
@given(moments, st.integers(1, 15 * 8 * 4).map(lambda q: q / 4))
def test_subtracting_hours_counts_back_exactly(end, hours):
    start = CAL.subtract_hours(end, hours)
    assert start < end
    assert CAL.working_hours_between(start, end) == pytest.approx(hours)
