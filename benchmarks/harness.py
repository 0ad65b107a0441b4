"""The benchmark harness: a registry of benchmarks and a timing method that holds up on a noisy shared machine.

A benchmark is a setup function registered with ``@benchmark(name, target=...)``; it returns a ``Case``: the
``subject`` (docflow doing the job) and the ``floor`` (the least anyone could do for the same job, e.g. raw
lxml).  Both are timed in the same run, interleaved, so machine speed and load cancel out in the ratio
``value / floor``, which must stay at or under ``target``.

Timing: each callable is warmed up, then its inner loop count is scaled until one batch takes ``batch_ns``
(20–50 ms); batches of floor and subject alternate (ABBA order, garbage collector off inside a batch) and
the per-operation time of each is the minimum over the repeats — noise on a shared machine only ever adds
time, so the minimum is the best estimate of the cost itself.

Some figures cannot be timed by repeating one call: bytes on disk, or a job that needs a fresh store each time.
A setup registered with ``@measured(name, target=...)`` takes the ``Timing`` and returns a ``Figure`` it measured
itself (value, floor, unit and a note such as a scaled-down size in ``--quick``); ``measure_fresh`` times such
jobs the same way (each run prepared untimed, ABBA order, minimum of each).

Imports nothing from docflow: benchmark files (``benchmarks/bench_*.py``) do, and ``run.py`` finds them.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

#: Unit of every figure the harness measures itself.
UNIT = "us/op"


@dataclass(frozen=True, slots=True)
class Case:
    """What one benchmark times: docflow's way (``subject``) and the floor it is compared with."""

    subject: Callable[[], object]
    floor: Callable[[], object]
    ops: int = 1  # operations one call performs (e.g. hops in a routed batch): figures are per operation


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure a ``@measured`` benchmark took itself: ``value`` against ``floor`` in ``unit``, with a note."""

    value: float
    floor: float
    unit: str = UNIT
    note: str = ""  # what the line must say besides the figures (sizes used, a scaled-down --quick run)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A registered benchmark: its name, the maximum allowed ratio, and the setup that builds its ``Case``."""

    name: str
    target: float
    setup: Callable[..., Case | Figure]
    description: str = ""
    measured: bool = False  # the setup takes the Timing and returns a Figure


@dataclass(frozen=True, slots=True)
class Result:
    """One figure: subject ``value`` and ``floor`` in ``unit``, their ratio, and whether it meets ``target``."""

    name: str
    value: float
    unit: str
    floor: float
    ratio: float
    target: float
    meets: bool
    note: str = ""

    def to_json(self) -> str:
        """The one JSON line ``run.py`` prints for this figure (``note`` only when there is one)."""
        record: dict[str, object] = {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "floor": round(self.floor, 3),
            "ratio": round(self.ratio, 3),
            "target": self.target,
            "meets": self.meets,
        }
        if self.note:
            record["note"] = self.note
        return json.dumps(record, ensure_ascii=False)


def make_result(name: str, value: float, floor: float, target: float, unit: str = UNIT, note: str = "") -> Result:
    """Build a ``Result``: ratio = value / floor, meets = ratio <= target."""
    if value < 0 or floor <= 0:
        raise ValueError(f"{name}: value must be >= 0 and floor > 0, got value={value} floor={floor}")
    if target <= 0:
        raise ValueError(f"{name}: target must be positive, got {target}")
    ratio = value / floor
    return Result(name, value, unit, floor, ratio, target, ratio <= target, note)


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, *, target: float) -> Callable[[Callable[[], Case]], Callable[[], Case]]:
    """Register the decorated setup function as benchmark ``name`` with the maximum ratio ``target``."""
    if target <= 0:
        raise ValueError(f"benchmark {name!r}: target must be positive")

    def register(setup: Callable[[], Case]) -> Callable[[], Case]:
        _register(name, target, setup, measured=False)
        return setup

    return register


def measured(name: str, *, target: float) -> Callable[[Callable[[Timing], Figure]], Callable[[Timing], Figure]]:
    """Register the decorated ``setup(timing) -> Figure`` as benchmark ``name`` with the maximum ratio ``target``."""
    if target <= 0:
        raise ValueError(f"benchmark {name!r}: target must be positive")

    def register(setup: Callable[[Timing], Figure]) -> Callable[[Timing], Figure]:
        _register(name, target, setup, measured=True)
        return setup

    return register


def _register(name: str, target: float, setup: Callable[..., Case | Figure], *, measured: bool) -> None:
    if name in REGISTRY and REGISTRY[name].setup is not setup:
        raise ValueError(f"benchmark {name!r} is registered twice")
    doc = (setup.__doc__ or "").strip().splitlines()
    REGISTRY[name] = Benchmark(name, target, setup, doc[0] if doc else "", measured)


@dataclass(frozen=True, slots=True)
class Timing:
    """How hard to try: batches per callable, and the wall time each batch should last."""

    repeats: int
    batch_ns: int
    max_loops: int = 1_000_000
    quick: bool = False  # ``--quick``: measured benchmarks may scale their job down (and say so in the note)


FULL = Timing(repeats=25, batch_ns=40_000_000)
QUICK = Timing(repeats=5, batch_ns=20_000_000, quick=True)


def _batch(function: Callable[[], object], loops: int) -> int:
    """Nanoseconds for ``loops`` calls of ``function``, with the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(loops):
            function()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def calibrate(function: Callable[[], object], timing: Timing) -> int:
    """The loop count that makes one batch of ``function`` last about ``timing.batch_ns``."""
    loops = 1
    while True:
        elapsed = _batch(function, loops)
        if elapsed >= timing.batch_ns or loops >= timing.max_loops:
            return loops
        if elapsed <= 0:
            loops *= 10
            continue
        # Aim a little past the target so the next batch usually settles it; grow at most 10x per step.
        loops = min(timing.max_loops, max(loops + 1, min(loops * 10, int(loops * timing.batch_ns * 1.2 / elapsed))))


def measure(subject: Callable[[], object], floor: Callable[[], object], timing: Timing) -> tuple[float, float]:
    """Per-operation microseconds of ``subject`` and ``floor``: interleaved batches, minimum of each."""
    subject()
    floor()  # warm up: first calls may compile schemas, fill caches, import lazily
    subject_loops = calibrate(subject, timing)
    floor_loops = calibrate(floor, timing)
    best_subject = best_floor = float("inf")
    for index in range(timing.repeats):
        order = ((floor, floor_loops), (subject, subject_loops))
        if index % 2:
            order = order[::-1]
        for function, loops in order:
            per_op = _batch(function, loops) / loops
            if function is subject:
                best_subject = min(best_subject, per_op)
            else:
                best_floor = min(best_floor, per_op)
        gc.collect()
    return best_subject / 1000, best_floor / 1000


def measure_fresh(
    subject: Callable[[], Callable[[], object]], floor: Callable[[], Callable[[], object]], repeats: int
) -> tuple[float, float]:
    """Per-run microseconds of jobs that need fresh state each time: ``subject()`` and ``floor()`` prepare a run
    (untimed) and return the callable to time once; ABBA order over ``repeats`` pairs, minimum of each."""
    best = {"subject": float("inf"), "floor": float("inf")}
    for index in range(max(1, repeats)):
        order = (("floor", floor), ("subject", subject))
        for label, prepare in order[::-1] if index % 2 else order:
            run = prepare()
            gc.collect()
            best[label] = min(best[label], _batch(run, 1) / 1000)
    return best["subject"], best["floor"]


def run_benchmark(bench: Benchmark, timing: Timing) -> Result:
    """Set ``bench`` up, time it (or let it measure itself), and return its ``Result``."""
    if bench.measured:
        figure = bench.setup(timing)
        if not isinstance(figure, Figure):
            raise TypeError(f"benchmark {bench.name!r} must return a Figure, not {type(figure).__name__}")
        return make_result(bench.name, figure.value, figure.floor, bench.target, figure.unit, figure.note)
    case = bench.setup()
    if not isinstance(case, Case):
        raise TypeError(f"benchmark {bench.name!r} must return a Case, not {type(case).__name__}")
    value, floor = measure(case.subject, case.floor, timing)
    return make_result(bench.name, value / case.ops, floor / case.ops, bench.target)


def discover(directory: Path) -> list[ModuleType]:
    """Import every ``bench_*.py`` in ``directory`` (which registers its benchmarks); return the modules."""
    modules = []
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))  # benchmark files import this module as ``harness``
    for path in sorted(directory.glob("bench_*.py")):
        name = f"benchmarks_{path.stem}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        modules.append(module)
    return modules


def select(names: list[str] | None) -> Iterator[Benchmark]:
    """The registered benchmarks, in registration order, or only those named (unknown names are an error)."""
    if not names:
        yield from REGISTRY.values()
        return
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    for name in names:
        yield REGISTRY[name]
