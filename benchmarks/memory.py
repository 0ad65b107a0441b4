"""Memory under load: N stored documents advanced through the real engine must not need N live Python objects.

    python benchmarks/memory.py [--documents N] [--policy direct] [--batch 1000] [--advance 0.2] [--hold-clock]

Not a harness benchmark (it takes minutes).  It builds a network over a SQLite *file* store in a temp
directory (the Tiền Giang registry, 237 agencies, in-memory broker, ``ManualClock``), sends documents in
batches — every agency sends, each to one of 8 fixed peers, so 1,896 sender → recipient pairs — runs the
network until idle after each batch, takes a share of the batch (``--advance``) through accept, assign,
start and complete at the recipient, runs until idle again and moves the clock a minute on.

One warm-up pass over every pair runs first (so caches that are bounded by the topology — routes, organisation
headers, compiled SQL — are full), then the live objects (``len(gc.get_objects())``) and the current RSS are
taken, then the N measured documents; ``live_objects_growth_with_warmup`` also counts what the warm-up
added (measured from just after ``build_network``).  It prints JSON lines in the harness's shape (``name, value, unit,
floor, ratio, target, meets``); lines that only inform (wall time, throughput, store sizes) carry ``null``
floor, ratio, target and meets.  The types whose live count grew most go to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.lifecycle import InboundState
from docflow.services import Network, Node

PEERS = 8  # recipients per sender
STRIDE = 29  # peer i of sender s is agency (s + 1 + i * STRIDE) mod A: spread over the whole province
CONTENT = "Về việc triển khai thực hiện kế hoạch cải cách hành chính năm 2017 trên địa bàn tỉnh. " * 4
ACTIONS = ("accept", "assign", "start", "complete")
OBJECTS_TARGET = 0.1  # live objects may grow by less than a tenth of the documents stored
RSS_TARGET = 1.5  # peak RSS at most 1.5x the RSS of the process before the documents


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmarks/memory.py", description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000, help="documents to store and advance (100000)")
    parser.add_argument("--policy", default="direct", help="routing policy (direct keeps it fast)")
    parser.add_argument("--batch", type=int, default=1000, help="documents sent between two runs until idle")
    parser.add_argument("--advance", type=float, default=0.2, help="share of each batch taken to complete")
    parser.add_argument("--hold-clock", action="store_true", help="never move the clock (as unit tests do)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory with the database")
    return parser


def current_rss_mib() -> float:
    """Resident set size now (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss_mib()
    return pages * resource.getpagesize() / (1024 * 1024)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def type_counts() -> Counter[str]:
    gc.collect()
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class Load:
    """Sends batches over the fixed pairs and advances a share of each with clerk actions."""

    def __init__(self, net: Network, clock: ManualClock, *, advance: float, hold_clock: bool) -> None:
        self.net, self.clock, self.advance, self.hold_clock = net, clock, advance, hold_clock
        codes = sorted(str(a.code) for a in net.ctx.registry)
        self.nodes: dict[str, Node] = {code: net.node(code) for code in codes}
        count = len(codes)
        self.pairs = [(codes[s], codes[(s + 1 + i * STRIDE) % count]) for s in range(count) for i in range(PEERS)]
        self.numbers: Counter[str] = Counter()
        self.sent = self.advanced = self.messages = 0

    def batch(self, size: int) -> None:
        chosen: list[tuple[str, str]] = []
        every = round(1 / self.advance) if self.advance > 0 else 0
        for _ in range(size):
            sender, recipient = self.pairs[self.sent % len(self.pairs)]
            self.numbers[sender] += 1
            number = self.numbers[sender]
            document_id = self.nodes[sender].send(
                recipients=[recipient], subject=f"Công văn số {number}", code=f"{number}/CV-UBND", content=CONTENT
            )
            if every and self.sent % every == 0:
                chosen.append((recipient, document_id))
            self.sent += 1
        self.messages += self.net.run_until_idle().sent
        for recipient, document_id in chosen:
            node = self.nodes[recipient]
            for action in ACTIONS:
                getattr(node, action)(document_id)
        self.advanced += len(chosen)
        self.messages += self.net.run_until_idle().sent
        if not self.hold_clock:
            self.clock.advance(60.0)


def line(
    name: str, value: float, unit: str, floor: float | None = None, target: float | None = None, **extra: Any
) -> str:
    ratio = value / floor if floor else None
    meets = ratio <= target if ratio is not None and target is not None else None
    record: dict[str, Any] = {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "floor": None if floor is None else round(floor, 3),
        "ratio": None if ratio is None else round(ratio, 4),
        "target": target,
        "meets": meets,
    }
    record.update(extra)
    return json.dumps(record, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.documents <= 0 or args.batch <= 0 or not 0 <= args.advance <= 1:
        print("memory.py: --documents and --batch must be positive, --advance within [0, 1]", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="docflow-memory-"))
    clock = ManualClock()
    net = build_network(db=f"sqlite:///{folder / 'memory.db'}", clock=clock, policy=args.policy)
    load = Load(net, clock, advance=args.advance, hold_clock=args.hold_clock)
    cold_objects = live_objects()
    try:
        warm = len(load.pairs)
        for start in range(0, warm, args.batch):
            load.batch(min(args.batch, warm - start))
        before_types = type_counts()
        before_objects = live_objects()
        rss_before = current_rss_mib()
        began = time.perf_counter()
        batches = math.ceil(args.documents / args.batch)
        for index in range(batches):
            load.batch(min(args.batch, args.documents - index * args.batch))
            if (index + 1) % 10 == 0:
                rate = (index + 1) * args.batch / (time.perf_counter() - began)
                print(f"memory.py: {load.sent - warm} documents, {rate:.0f}/s", file=sys.stderr, flush=True)
        wall = time.perf_counter() - began
        after_objects = live_objects()
        growth = after_objects - before_objects
        peak = peak_rss_mib()
        with net.ctx.store.snapshot() as repo:
            stored = repo.count("documents")
            inbound = repo.count("inbound")
            completed = repo.count("inbound", state=InboundState.COMPLETED)
            events = repo.count("events")
        expected_completed = math.ceil(load.sent / round(1 / args.advance)) if args.advance else 0
        if inbound != load.sent or completed != expected_completed:
            raise AssertionError(f"{inbound} of {load.sent} arrived, {completed} of {expected_completed} completed")
        n = args.documents
        print(
            line(
                "live_objects_growth", growth, "objects", n, OBJECTS_TARGET, before=before_objects, after=after_objects
            )
        )
        print(line("live_objects_growth_with_warmup", after_objects - cold_objects, "objects", n))
        print(line("peak_rss", peak, "MiB", rss_before, RSS_TARGET, rss_before=round(rss_before, 1)))
        print(line("rss_after", current_rss_mib(), "MiB"))
        print(line("wall_time", wall, "s", documents=n, batch=args.batch, policy=args.policy))
        print(line("throughput", n / wall, "documents/s", advanced=load.advanced, messages=load.messages))
        db_mib = sum(p.stat().st_size for p in folder.iterdir()) / (1024 * 1024)
        print(line("store", db_mib, "MiB", documents=stored, completed=completed, events=events))
        grown = type_counts() - before_types
        print(json.dumps({"top_growth": grown.most_common(8)}), file=sys.stderr)
    finally:
        net.ctx.store.close()
        net.ctx.transport.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
