"""Durations printed for people: two units at most, rounded, never raw seconds past a minute."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docflow.sim.units import human_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.4, "0.4 s"),
        (5.6, "6 s"),
        (60, "1 min"),
        (130, "2 min 10 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h"),
        (7500, "2 h 05 min"),
        (86399, "1 d"),
        (86400, "1 d"),
        (95452, "1 d 03 h"),
        (604800, "7 d"),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@given(st.floats(min_value=0, max_value=10**8, allow_nan=False))
def test_at_most_two_units_and_never_a_long_number(seconds: float) -> None:
    parts = human_duration(seconds).split()
    assert len(parts) in (2, 4)
    assert parts[1] in ("s", "min", "h", "d") and (len(parts) == 2 or parts[3] in ("s", "min", "h"))
    assert len(parts[0].split(".")[0]) <= 4 and (len(parts) == 2 or len(parts[2]) == 2)
