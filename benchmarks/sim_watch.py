"""Watch a simulation run: wall time, virtual time reached, documents sent and resident memory as it goes.

    .venv/bin/python benchmarks/sim_watch.py examples/national_full_day.toml [--fidelity full|model]
        [--set KEY=VALUE ...] [--max-seconds 600] [--every 30] [--db URL] [--out DIR]

A standalone script (not part of ``run.py``): it prints one JSON line every ``--every`` wall seconds
(``wall_s``, ``virtual_h``, ``sent`` documents, ``rss_mib`` now, ``peak_rss_mib``) and, when the run ends, the
report's figures (documents, deliveries, delivered, completed, wall seconds, deliveries per second, peak RSS);
with ``--out`` it writes report.json and report.html there, and with a SQLite ``--db`` it adds the bytes of
the database file the run left (``docflow db stats --db URL`` tells them per table).
With ``--max-seconds`` it stops a run that would take longer and says how far it got, so the memory growth of a
run too slow to finish can still be measured.  Reads ``/proc/self/status`` (Linux).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from docflow.sim import load_scenario, simulate, write_reports


class _Stop(Exception):
    """Raised from the progress callback when the run has used its wall-time allowance."""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--fidelity", default="full", choices=("full", "model"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--every", type=float, default=30.0)
    parser.add_argument("--db", default="sqlite://", help="the simulator's store (default: a temporary file)")
    parser.add_argument("--out", type=Path, help="write report.json and report.html in this folder")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, overrides=tuple(args.set))
    start = time.perf_counter()
    last = [start]
    state = {"virtual_h": 0.0, "sent": 0}

    def progress(done: float, total: float, sent: int) -> None:
        now = time.perf_counter()
        state.update(virtual_h=round(done / 3600, 2), sent=sent)
        if now - last[0] >= args.every:
            last[0] = now
            line = {"wall_s": round(now - start, 1), **state, "rss_mib": round(rss_mib(), 1)}
            print(json.dumps({**line, "peak_rss_mib": round(peak_mib(), 1)}), flush=True)
        if now - start > args.max_seconds:
            raise _Stop

    try:
        result = simulate(scenario, fidelity=args.fidelity, progress=progress, db=args.db)
    except _Stop:
        wall = time.perf_counter() - start
        print(json.dumps({"stopped_after_s": round(wall, 1), **state, "peak_rss_mib": round(peak_mib(), 1)}))
        return 1
    report = result.report
    if args.out is not None:
        write_reports(result, args.out)
    keys = ("documents_sent", "deliveries", "delivered", "completed", "messages_sent")
    stored = {}
    if args.db.startswith("sqlite:///") and Path(args.db[len("sqlite:///") :]).exists():
        path = Path(args.db[len("sqlite:///") :])
        stored["db_bytes"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal, -shm
    print(json.dumps({**{k: report[k] for k in keys}, **report["run"], **stored}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
