"""Fan-out benchmark: one document to 5,000 recipients against 5,000 one-recipient sends of the same envelope.

The national topology (13,290 agencies) under the ``direct`` policy on a SQLite file store: the Government
Office sends one envelope (the same subject, a 480-character summary and a 3 KB text attachment) either once to
the first 5,000 agencies in code order, or 5,000 times, once to each of them.  Each run builds a fresh network
(untimed), then times what the *sender* does: the send (one unit of work: the document, a delivery, an outbox
row and an event per recipient) and the relay of its outbox onto the transport (claimed in batches, sent,
recorded).  Two figures from the same pair of runs:

- ``fanout_5000``: microseconds per recipient, the single send against the 5,000 sends (target 1.5);
- ``fanout_5000_bytes``: bytes stored per recipient (``docflow.store.stats``: every table and index, minus the
  empty store) once the outbox is on the transport, the single send against the 5,000 sends (target 1.2).

The recipients' work is left out on purpose: each recipient stores the envelope it receives, and an envelope
addressed to 5,000 agencies lists all of them in ``To`` (about 150 bytes each), so what the recipients store
grows with the square of the fan-out whatever the engine does.  The quadratic cost this benchmark guards
against was the sender's: one copy of the body per recipient in the outbox (3.1 GB for 5,000).
``--quick`` uses 500 recipients and says so.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Timing, measure_fresh, measured

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.services.network import Network
from docflow.services.relay import relay
from docflow.store.stats import database_stats

RECIPIENTS = 5_000
QUICK_RECIPIENTS = 500
SUMMARY = "Thông báo kết luận của Thủ tướng Chính phủ tại hội nghị trực tuyến với các địa phương. " * 6
TEXT = (
    "Nội dung văn bản: triển khai thực hiện các nhiệm vụ, giải pháp chủ yếu phát triển kinh tế - xã hội. " * 30
).encode()

_RESULTS: dict[bool, dict[str, tuple[float, float, str]]] = {}


def _network(path: Path) -> Network:
    return build_network(db=f"sqlite:///{path}", registry="national", clock=ManualClock(), policy="direct")


def _run(folder: Path, count: int, fanout: bool, sizes: dict[str, int]) -> Callable[[], object]:
    """Prepare a fresh network; return the job that sends and runs until idle, recording the bytes it stored."""
    label = "fanout" if fanout else "single"
    net = _network(folder / f"{label}.db")
    root = net.ctx.registry.root
    recipients = sorted(str(c) for c in net.ctx.registry.codes if c != root)[:count]
    sender = net.node(root)
    root_code = str(root)
    empty = database_stats(net.ctx.store.engine).bytes
    attachments = [("noi-dung.txt", TEXT, "text/plain")]

    def job() -> None:
        try:
            if fanout:
                sender.send(recipients=recipients, subject="Thông báo số 1", code="1/TB-VPCP", content=SUMMARY[:480],
                            attachments=attachments)  # fmt: skip
            else:
                for number, recipient in enumerate(recipients, start=1):
                    sender.send(recipients=[recipient], subject="Thông báo số 1", code=f"{number}/TB-VPCP",
                                content=SUMMARY[:480], attachments=attachments)  # fmt: skip
            net.ctx.handoff.take()  # the relay below claims and sends them (the path any worker takes)
            sent = 0
            while pushed := relay(net.ctx, root_code).sent:
                sent += pushed
            if sent != count or net.ctx.transport.pending(recipients[0]) != 1:
                raise AssertionError(f"{label}: expected {count} messages on the transport, sent {sent}")
            sizes[label] = database_stats(net.ctx.store.engine).bytes - empty
        finally:
            net.ctx.store.close()
            net.ctx.transport.close()

    return job


def _measure(quick: bool) -> dict[str, tuple[float, float, str]]:
    """Run both jobs once (the fan-out first) and keep both figures for the two benchmarks."""
    if quick in _RESULTS:
        return _RESULTS[quick]
    count = QUICK_RECIPIENTS if quick else RECIPIENTS
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-fanout-"))
    sizes: dict[str, int] = {}
    try:
        fanout_us, single_us = measure_fresh(
            lambda: _run(folder, count, True, sizes), lambda: _run(folder, count, False, sizes), 1
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    note = f"{count:,} recipients, one run each" + (f"; --quick: {count:,} instead of {RECIPIENTS:,}" if quick else "")
    _RESULTS[quick] = {
        "time": (fanout_us / count, single_us / count, f"{note}; fan-out {fanout_us / 1e6:.1f} s in all"),
        "bytes": (
            sizes["fanout"] / count,
            sizes["single"] / count,
            f"{note}; fan-out {sizes['fanout']:,} bytes stored",
        ),
    }
    return _RESULTS[quick]


@measured("fanout_5000", target=1.5)
def fanout_5000(timing: Timing) -> Figure:
    """per recipient: one send to 5,000 recipients vs 5,000 one-recipient sends, the sender's side."""
    value, floor, note = _measure(timing.quick)["time"]
    return Figure(value, floor, "us/recipient", note)


@measured("fanout_5000_bytes", target=1.2)
def fanout_5000_bytes(timing: Timing) -> Figure:
    """bytes stored per recipient: one send to 5,000 recipients vs 5,000 one-recipient sends."""
    value, floor, note = _measure(timing.quick)["bytes"]
    return Figure(value, floor, "bytes/recipient", note)
