"""The benchmark harness itself: ratio and verdict, the JSON line, the registry, discovery and run.py's exit codes.

No timing is asserted: the callables timed here are trivial and the figures are only checked for shape.
"""

from __future__ import annotations

import json
import sys
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


def test_ratio_and_verdict(harness) -> None:
    result = harness.make_result("x", value=30.0, floor=20.0, target=1.5)
    assert result.ratio == pytest.approx(1.5)
    assert result.meets is True  # the target is inclusive
    assert harness.make_result("x", 30.1, 20.0, 1.5).meets is False
    assert harness.make_result("x", 10.0, 20.0, 1.5).ratio == pytest.approx(0.5)
    assert result.unit == "us/op"


@pytest.mark.parametrize(("value", "floor", "target"), [(1.0, 0.0, 1.5), (-1.0, 1.0, 1.5), (1.0, 1.0, 0.0)])
def test_nonsense_figures_are_refused(harness, value: float, floor: float, target: float) -> None:
    with pytest.raises(ValueError):
        harness.make_result("x", value, floor, target)


def test_json_line_shape(harness) -> None:
    line = harness.make_result("parse_validate_4k", 123.45678, 100.0, 1.5).to_json()
    assert "\n" not in line
    record = json.loads(line)
    assert list(record) == ["name", "value", "unit", "floor", "ratio", "target", "meets"]
    assert record == {
        "name": "parse_validate_4k",
        "value": 123.457,
        "unit": "us/op",
        "floor": 100.0,
        "ratio": 1.235,
        "target": 1.5,
        "meets": True,
    }


def test_registry_decorator(harness) -> None:
    @harness.benchmark("noop", target=2.0)
    def noop():
        """Nothing against nothing."""
        return harness.Case(subject=lambda: None, floor=lambda: None)

    assert noop().subject() is None  # the decorator returns the setup unchanged
    registered = harness.REGISTRY["noop"]
    assert (registered.name, registered.target, registered.description) == ("noop", 2.0, "Nothing against nothing.")
    with pytest.raises(ValueError, match="twice"):
        harness.benchmark("noop", target=2.0)(lambda: harness.Case(lambda: None, lambda: None))
    with pytest.raises(ValueError):
        harness.benchmark("bad", target=0)


def test_select(harness) -> None:
    for name in ("a", "b", "c"):
        harness.benchmark(name, target=1.0)(lambda: harness.Case(lambda: None, lambda: None))
    assert [b.name for b in harness.select(None)] == ["a", "b", "c"]
    assert [b.name for b in harness.select(["c", "a"])] == ["c", "a"]
    with pytest.raises(KeyError, match="nope"):
        list(harness.select(["a", "nope"]))


def test_calibrate_scales_the_loop_to_the_batch_time(harness) -> None:
    timing = harness.Timing(repeats=1, batch_ns=2_000_000, max_loops=10_000_000)
    loops = harness.calibrate(lambda: None, timing)
    assert loops > 100  # a no-op needs many calls to fill 2 ms
    capped = harness.calibrate(lambda: None, harness.Timing(repeats=1, batch_ns=10**12, max_loops=5000))
    assert capped == 5000


def test_measure_and_run_interleave_both_callables(harness) -> None:
    calls = {"subject": 0, "floor": 0}

    def subject() -> None:
        calls["subject"] += 1

    def floor() -> None:
        calls["floor"] += 1

    harness.benchmark("counted", target=100.0)(lambda: harness.Case(subject, floor))
    result = harness.run_benchmark(harness.REGISTRY["counted"], harness.Timing(repeats=3, batch_ns=200_000))
    assert calls["subject"] > 3 and calls["floor"] > 3
    assert result.name == "counted" and result.value > 0 and result.floor > 0
    assert result.ratio == pytest.approx(result.value / result.floor)
    assert result.meets is (result.ratio <= 100.0)


def write_bench(directory: Path, body: str) -> None:
    (directory / "harness.py").write_text((BENCHMARKS / "harness.py").read_text())
    (directory / "run.py").write_text((BENCHMARKS / "run.py").read_text())
    (directory / "bench_fake.py").write_text("from harness import Case, benchmark\n" + body)


def run_main(directory: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a copy of run.py living in ``directory`` (its own harness and registry)."""
    import importlib.util

    for name in ("harness", "benchmarks_bench_fake"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(directory))
    spec = importlib.util.spec_from_file_location("run_under_test", directory / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.harness, "QUICK", module.harness.Timing(repeats=2, batch_ns=100_000))
    try:
        return module.main(argv)
    finally:
        for name in ("harness", "benchmarks_bench_fake"):
            sys.modules.pop(name, None)


FAKE = '''
def slow():
    sum(range(200))

def fast():
    pass

@benchmark("misses", target=1.0)
def misses():
    """A subject far slower than its floor."""
    return Case(subject=slow, floor=fast)

@benchmark("meets", target=1e9)
def meets():
    return Case(subject=fast, floor=fast)
'''


def test_run_prints_one_json_line_per_benchmark_and_reports_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_bench(tmp_path, FAKE)
    assert run_main(tmp_path, ["--quick"], monkeypatch) == 0  # a miss is reported, not fatal
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["name"] for r in records] == ["misses", "meets"]
    assert records[0]["meets"] is False and records[1]["meets"] is True
    assert run_main(tmp_path, ["--quick", "--strict"], monkeypatch) == 1
    capsys.readouterr()
    assert run_main(tmp_path, ["--quick", "--strict", "--only", "meets"], monkeypatch) == 0
    assert [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()] == ["meets"]


def test_run_reports_unknown_names_and_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_bench(tmp_path, FAKE + '\n@benchmark("broken", target=1.0)\ndef broken():\n    raise RuntimeError("no")\n')
    assert run_main(tmp_path, ["--quick", "--only", "nope"], monkeypatch) == 2
    assert "unknown benchmark" in capsys.readouterr().err
    assert run_main(tmp_path, ["--quick", "--only", "broken,meets"], monkeypatch) == 2
    captured = capsys.readouterr()
    assert "broken crashed" in captured.err and "RuntimeError: no" in captured.err
    assert [json.loads(line)["name"] for line in captured.out.splitlines()] == ["meets"]


def test_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_bench(tmp_path, FAKE)
    assert run_main(tmp_path, ["--list"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "misses\ttarget 1.0\tA subject far slower than its floor." in out


def test_the_real_benchmarks_register(harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "benchmarks_bench_xml", raising=False)
    harness.discover(BENCHMARKS)
    names = set(harness.REGISTRY)
    assert {"parse_validate_4k", "parse_validate_1m", "build_serialize_4k", "build_serialize_1m"} <= names
    assert harness.REGISTRY["parse_validate_4k"].target == 1.5
    assert harness.REGISTRY["build_serialize_1m"].target == 2.0
