"""Keyed draws: a number depends on the seed and its key, never on what was drawn before it."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from docflow.sim import draws

keys = st.lists(st.text(min_size=1, max_size=20).filter(lambda t: "\x1f" not in t), min_size=1, max_size=4)


@given(seed=st.integers(0, 2**32), key=keys, others=st.lists(keys, max_size=5))
def test_a_draw_is_the_same_whatever_was_drawn_before(seed: int, key: list[str], others: list[list[str]]) -> None:
    first = draws.unit(seed, *key)
    for other in others:
        draws.unit(seed, *other)
    assert draws.unit(seed, *key) == first
    assert 0.0 <= first < 1.0


@given(seed=st.integers(0, 2**32), key=keys)
def test_a_stream_starts_the_same_for_its_key(seed: int, key: list[str]) -> None:
    a, b = draws.stream(seed, *key), draws.stream(seed, *key)
    assert [a.random() for _ in range(3)] == [b.random() for _ in range(3)]


def test_keys_seeds_and_key_parts_are_told_apart() -> None:
    values = {
        draws.unit(1, "latency", "a", "b"),
        draws.unit(2, "latency", "a", "b"),
        draws.unit(1, "latency", "ab"),  # parts are separated, not concatenated
        draws.unit(1, "latency", "b", "a"),
        draws.unit(1, "loss", "a", "b"),
    }
    assert len(values) == 5


def test_draws_are_spread_like_a_uniform() -> None:
    values = [draws.unit(7, "latency", str(i)) for i in range(20_000)]
    mean = sum(values) / len(values)
    assert abs(mean - 0.5) < 0.01  # the standard error is 0.002
    deciles = [0] * 10
    for value in values:
        deciles[int(value * 10)] += 1
    assert all(1_850 < count < 2_150 for count in deciles)
    assert isinstance(draws.stream(7, "clerk"), random.Random)
