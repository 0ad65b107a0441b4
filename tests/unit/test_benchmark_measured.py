"""The harness's self-measured benchmarks: ``@measured`` setups get the Timing, return a Figure, and say so.

No timing is asserted: only the shape of the figures, the note in the JSON line and the ABBA order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import harness as module

    saved = dict(module.REGISTRY)
    module.REGISTRY.clear()
    yield module
    module.REGISTRY.clear()
    module.REGISTRY.update(saved)


def test_a_measured_benchmark_gets_the_timing_and_its_note_reaches_the_line(harness) -> None:
    seen = []

    @harness.measured("bytes_per_thing", target=3.0)
    def bytes_per_thing(timing):
        """Bytes against bytes."""
        seen.append(timing.quick)
        return harness.Figure(40.0, 10.0, "bytes", "a 10-byte envelope" + ("; --quick" if timing.quick else ""))

    bench = harness.REGISTRY["bytes_per_thing"]
    assert (bench.measured, bench.description) == (True, "Bytes against bytes.")
    result = harness.run_benchmark(bench, harness.QUICK)
    assert (result.value, result.floor, result.ratio, result.unit, result.meets) == (40.0, 10.0, 4.0, "bytes", False)
    record = json.loads(result.to_json())
    assert list(record)[-1] == "note" and record["note"] == "a 10-byte envelope; --quick"
    assert harness.run_benchmark(bench, harness.FULL).note == "a 10-byte envelope"
    assert seen == [True, False]


def test_a_line_without_a_note_keeps_the_seven_keys(harness) -> None:
    assert "note" not in json.loads(harness.make_result("x", 1.0, 1.0, 1.0).to_json())


def test_a_setup_returning_the_wrong_kind_is_an_error(harness) -> None:
    harness.measured("wrong", target=1.0)(lambda timing: 3.0)
    harness.benchmark("also_wrong", target=1.0)(lambda: harness.Figure(1.0, 1.0))
    with pytest.raises(TypeError, match="must return a Figure"):
        harness.run_benchmark(harness.REGISTRY["wrong"], harness.QUICK)
    with pytest.raises(TypeError, match="must return a Case"):
        harness.run_benchmark(harness.REGISTRY["also_wrong"], harness.QUICK)
    with pytest.raises(ValueError, match="twice"):
        harness.measured("wrong", target=1.0)(lambda timing: harness.Figure(1.0, 1.0))


def test_measure_fresh_prepares_each_run_untimed_in_abba_order(harness) -> None:
    order: list[str] = []

    def prepare(label: str):
        order.append(f"prepare {label}")
        return lambda: order.append(f"run {label}")

    subject, floor = harness.measure_fresh(lambda: prepare("s"), lambda: prepare("f"), 2)
    assert subject > 0 and floor > 0
    assert order == [
        "prepare f", "run f", "prepare s", "run s",  # A B
        "prepare s", "run s", "prepare f", "run f",  # B A
    ]  # fmt: skip
