"""Run docflow's benchmarks: one JSON line per figure, each a ratio to a floor measured in the same run.

    python benchmarks/run.py [--quick] [--only NAME ...] [--strict] [--list]

Every ``benchmarks/bench_*.py`` is imported, which registers its benchmarks (see ``harness.py``).  Each line
holds ``name, value, unit, floor, ratio, target, meets``.  The exit code is 0 even when a target is missed
(the run reports); with ``--strict`` a missed target exits 1.  A benchmark that crashes is reported on
stderr and exits 2 after the others have run.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness  # noqa: E402  (importable only once HERE is on the path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter batches (whole run under a minute)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a benchmark misses its target")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their targets, run nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    harness.discover(HERE)
    names = [n for item in args.only or [] for n in item.split(",") if n]
    try:
        selected = list(harness.select(names))
    except KeyError as exc:
        print(f"run.py: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.list:
        for bench in selected:
            print(f"{bench.name}\ttarget {bench.target}\t{bench.description}")
        return 0
    timing = harness.QUICK if args.quick else harness.FULL
    missed = crashed = 0
    for bench in selected:
        try:
            result = harness.run_benchmark(bench, timing)
        except Exception:
            crashed += 1
            print(f"run.py: benchmark {bench.name} crashed:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        print(result.to_json(), flush=True)
        missed += not result.meets
    if crashed:
        return 2
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
