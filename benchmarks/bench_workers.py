"""Worker scaling: two ``docflow worker`` processes against one, draining 10,000 deliveries on PostgreSQL.

``workers_two``: the wall time two workers take to drain the same pre-queued work, against the time one worker
takes (the floor).  The harness reads a ratio that must stay at or under its target, so the figure is
``two-worker time / one-worker time`` with target 0.625, which is a speed-up of at least 1.6 (the note prints the
speed-up itself).

The work, queued untimed in a fresh private PostgreSQL schema (``docflow_bench_<random>``, dropped afterwards)
with a fresh file spool: 100 documents, each from one of 50 agencies of the Tiền Giang network (two each) to
the same 100 other agencies under the ``direct`` policy, which leaves 10,000 outbox rows.  Then the workers run
as real processes (``python -m docflow worker --policy direct``) until every one of the 10,000 deliveries is
``arrived`` at its sender: the workers relay the outboxes, each recipient applies its copy and sends its 01
back, the senders apply the 01s.  Both workers serve the *same* 150 agencies (the second in the reverse
order), competing for every outbox row and queue: PostgreSQL's ``SKIP LOCKED`` and the spool's claim by rename
share the work out, and nothing is sent or applied twice.  The senders are many because each agency's events
form one hash chain, appended under a lock on its head: with a single sender, its 10,000 sends and 10,000
01s queue on one chain whatever the number of workers (measured: a speed-up of 1.2 at full size).  The clock
runs from the workers' launch (process start, about a second, is in both figures) to the last arrival, read
by polling the ``deliveries`` table every 0.2 s.  Two runs of each (ABBA order, the minimum of each): other
work on the machine only ever adds time, and one run each swung by a factor of two under load.

The machine has two cores, shared by both workers *and* the PostgreSQL server they talk to, so a speed-up
near 1.6–1.9 is the most that can be had here.  ``--quick`` sends 10 documents (1,000 deliveries) and says so.

Needs ``DOCFLOW_TEST_POSTGRES_URL``; without it the benchmark is not registered and a note says so on stderr.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Timing, measure_fresh, measured
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from docflow.bootstrap import build_network

POSTGRES = os.environ.get("DOCFLOW_TEST_POSTGRES_URL", "")
SENDERS = 50
RECIPIENTS = 100
DOCUMENTS = 100
QUICK_DOCUMENTS = 10
DRAIN_TIMEOUT = 1800.0
RUNS = 2  # pairs of runs (ABBA), minimum of each


def _schema_url(url: str, schema: str) -> str:
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)


class _Run:
    """A fresh schema and spool with ``documents`` x 100 deliveries queued; ``job`` runs ``workers`` processes."""

    def __init__(self, folder: Path, documents: int, workers: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="run-", dir=folder))
        self.schema = f"docflow_bench_{secrets.token_hex(6)}"
        self.admin = create_engine(POSTGRES)
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {self.schema}")
        self.url = _schema_url(POSTGRES, self.schema)
        self.spool = f"file://{self.folder / 'spool'}"
        self.expected = documents * RECIPIENTS
        net = build_network(db=self.url, transport=self.spool, policy="direct")
        try:
            codes = sorted(str(code) for code in net.ctx.registry.codes)
            senders = codes[: min(SENDERS, documents)]
            recipients = codes[SENDERS : SENDERS + RECIPIENTS]
            for number in range(1, documents + 1):
                net.node(senders[number % len(senders)]).send(
                    recipients=recipients, subject=f"Công văn số {number}", code=f"{number}/UBND-VP",
                    content="Về việc triển khai kế hoạch cải cách hành chính năm 2024.",
                )  # fmt: skip
        finally:
            net.ctx.transport.close()
            net.ctx.store.close()
        self.agencies = [*senders, *recipients]
        self.workers = workers

    def _command(self, agencies: list[str]) -> list[str]:
        return [sys.executable, "-m", "docflow", "worker", "--db", self.url, "--transport", self.spool,
                "--policy", "direct", "--poll", "0.05", "--agencies", ",".join(agencies)]  # fmt: skip

    def job(self) -> None:
        orders = [self.agencies, self.agencies[::-1]][: self.workers]
        logs = [open(self.folder / f"worker-{n}.log", "wb") for n in range(len(orders))]  # noqa: SIM115
        processes = [
            subprocess.Popen(self._command(order), stdout=log, stderr=subprocess.STDOUT)
            for order, log in zip(orders, logs, strict=True)
        ]
        watcher = create_engine(self.url)
        try:
            deadline = time.monotonic() + DRAIN_TIMEOUT
            query = text("SELECT count(*) FROM deliveries WHERE state = 'arrived'")
            while True:
                with watcher.connect() as conn:
                    arrived = int(conn.execute(query).scalar_one())
                if arrived >= self.expected:
                    break
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise RuntimeError(f"workers drained {arrived} of {self.expected} deliveries; see {self.folder}")
                time.sleep(0.2)
        finally:
            watcher.dispose()
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=30)
            for log in logs:
                log.close()

    def drop(self) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {self.schema} CASCADE")
        self.admin.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def _prepare(folder: Path, documents: int, workers: int, runs: list[_Run]) -> Callable[[], object]:
    run = _Run(folder, documents, workers)
    runs.append(run)
    return run.job


if POSTGRES:

    @measured("workers_two", target=0.625)
    def workers_two(timing: Timing) -> Figure:
        """time to drain 10,000 deliveries on PostgreSQL: two workers vs one (<= 0.625: a speed-up >= 1.6)."""
        documents = QUICK_DOCUMENTS if timing.quick else DOCUMENTS
        folder = Path(tempfile.mkdtemp(prefix="docflow-bench-workers-"))
        runs: list[_Run] = []
        try:
            two_us, one_us = measure_fresh(
                lambda: _prepare(folder, documents, 2, runs), lambda: _prepare(folder, documents, 1, runs), RUNS
            )
        finally:
            for run in runs:
                run.drop()
            shutil.rmtree(folder, ignore_errors=True)
        count = documents * RECIPIENTS
        note = (
            f"{count:,} deliveries, best of {RUNS} runs each: one worker {one_us / 1e6:.1f} s, "
            f"two {two_us / 1e6:.1f} s, speed-up {one_us / two_us:.2f}; same agencies, SKIP LOCKED"
        )
        if timing.quick:
            note += f"; --quick: {count:,} instead of {DOCUMENTS * RECIPIENTS:,}"
        return Figure(two_us / 1e6, one_us / 1e6, "s", note)

else:
    print("bench_workers: workers_two not run: DOCFLOW_TEST_POSTGRES_URL is unset (needs PostgreSQL)", file=sys.stderr)
