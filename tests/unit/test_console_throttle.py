"""Failed console logins are throttled per operator name and per client address; a success forgets the name."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from docflow.console.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_attempt_after_too_many_failures_waits_for_the_oldest_to_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(allowed=3, window=600, clock=clock)
    for _ in range(2):
        throttle.failed(["op"])
        clock.now += 10
    assert throttle.wait(["op"]) == 0.0  # two failures: a third attempt is still allowed
    throttle.failed(["op"])
    assert throttle.wait(["op"]) == 600 - 20  # the first failure ages out 600 s after it happened
    assert throttle.wait(["someone else"]) == 0.0
    clock.now += 580
    assert throttle.wait(["op"]) == 0.0
    throttle.failed(["op"])  # the window slides: the second failure is now the oldest of the last three
    assert throttle.wait(["op"]) == 10.0


def test_a_success_forgets_the_name_and_the_longest_wait_of_several_keys_counts() -> None:
    clock = Clock()
    throttle = LoginThrottle(allowed=2, window=100, clock=clock)
    throttle.failed(["a", "b"])
    clock.now += 50
    throttle.failed(["a", "b"])
    assert throttle.wait(["a"]) == throttle.wait(["b"]) == 50.0
    throttle.succeeded("a")
    assert throttle.wait(["a"]) == 0.0 and throttle.wait(["a", "b"]) == 50.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=200))
def test_the_table_stays_bounded_whatever_the_names(names: list[str]) -> None:
    clock = Clock()
    throttle = LoginThrottle(allowed=2, window=60, clock=clock, limit=16)
    for name in names:
        throttle.failed([name])
        clock.now += 1
    assert len(throttle._failures) <= 16
    assert throttle.wait([names[-1]]) >= 0.0


def test_limits_must_make_sense() -> None:
    for allowed, window in ((0, 60), (3, 0)):
        try:
            LoginThrottle(allowed=allowed, window=window)
        except ValueError as exc:
            assert "login throttle" in str(exc)
        else:
            raise AssertionError("accepted a throttle that lets nothing through")
