"""Store benchmarks: does a batch slow down as the store fills, and how many bytes does one delivery leave on disk.

- ``store_growth``: a batch of 1,000 one-recipient documents (sent, delivered, their 01 statuses back; the
  ``direct`` policy over 1,896 fixed sender → recipient pairs of Tiền Giang) into a SQLite file store already
  holding 100,000 such documents, against the same batch into an empty store.  Each run opens a fresh network
  on its store, so both pay the same cold caches; the runs alternate (ABBA) and the minimum of each counts.  The
  big store is built once through the public API and cached under the temp dir, keyed by a hash of
  ``docflow/store/tables.py`` and the migration head, so a schema change rebuilds it; each run works on a copy.
  ``--quick`` pre-fills 10,000 documents instead and says so.
- ``storage_per_delivery``: bytes on disk per one-recipient delivery, counted with ``docflow.store.stats`` (the
  SQLite ``dbstat`` pages of every table and index, both ends, minus the empty store), against the envelope's own
  size.  The envelope is a realistic one: a 480-character summary (the schema allows 500), the document's text
  (about 3 KB of Vietnamese) as a text attachment and a 6 KB scanned appendix; every delivery is taken through
  arrival, accept, assign, start and complete, and the network runs until idle.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Timing, measure_fresh, measured

import docflow.store
from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.services.network import Network
from docflow.store import head_revision, open_store
from docflow.store.stats import database_stats
from docflow.xml import write_envelope

BATCH = 1_000
PREFILL = 100_000
QUICK_PREFILL = 10_000
PEERS = 8  # recipients per sender in the fixed pairs: 237 agencies x 8 = 1,896 pairs
TEXT = "Báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội, bảo đảm quốc phòng, an ninh. " * 24
ATTACHMENT = bytes(range(256)) * 24  # 6 KB: a small scanned page
DELIVERIES = 200
CLERK_ACTIONS = ("accept", "assign", "start", "complete")


def open_network(path: Path) -> Network:
    return build_network(db=f"sqlite:///{path}", clock=ManualClock(), policy="direct")


def close(net: Network) -> None:
    net.ctx.store.close()
    net.ctx.transport.close()


def pairs(net: Network) -> list[tuple[str, str]]:
    codes = sorted(str(c) for c in net.ctx.registry.codes)
    return [(s, codes[(i + k) % len(codes)]) for i, s in enumerate(codes) for k in range(1, PEERS + 1)]


def send_batch(net: Network, serial: itertools.count[int], size: int = BATCH) -> None:
    """``size`` one-recipient documents over the fixed pairs, then run until idle; checks every receipt."""
    links = pairs(net)
    for _ in range(size):
        number = next(serial)
        sender, recipient = links[number % len(links)]
        net.node(sender).send(
            recipients=[recipient], subject=f"Công văn số {number}", code=f"{number}/UBND-VP", content=TEXT[:480]
        )
    activity = net.run_until_idle()
    if activity.intake.received != 2 * size:  # each document and its 01 status
        raise AssertionError(f"expected {2 * size} receipts, got {activity.intake.received}")


def cache_key() -> str:
    tables = Path(docflow.store.__file__).with_name("tables.py").read_bytes()
    return hashlib.sha256(tables + str(head_revision()).encode()).hexdigest()[:16]


def big_store(documents: int) -> Path:
    """A store holding ``documents`` delivered documents, built once per schema and cached under the temp dir."""
    folder = Path(tempfile.gettempdir()) / "docflow-bench-cache"
    folder.mkdir(exist_ok=True)
    path = folder / f"store-growth-{cache_key()}-{documents}.db"
    if path.exists():
        return path
    building = path.with_suffix(f".building-{os.getpid()}")
    net = open_network(building)
    try:
        serial = itertools.count(1_000_000_000)
        for _ in range(documents // BATCH):
            send_batch(net, serial)
    finally:
        close(net)
    checkpoint = sqlite3.connect(building)  # fold the WAL into the file, so copying the file copies everything
    try:
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        checkpoint.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    os.replace(building, path)  # a build cut short never leaves a cache file behind
    return path


@measured("store_growth", target=1.25)
def store_growth(timing: Timing) -> Figure:
    """a 1,000-document batch into a store holding 100,000 documents vs the first batch into an empty one."""
    documents = QUICK_PREFILL if timing.quick else PREFILL
    source = big_store(documents)
    work = Path(tempfile.mkdtemp(prefix="docflow-bench-growth-"))
    serial = itertools.count(1)
    nets: list[Network] = []

    def prepare(path: Path) -> Callable[[], object]:
        net = open_network(path)
        nets.append(net)
        return lambda: send_batch(net, serial)

    try:
        shutil.copyfile(source, work / "big.db")
        fresh = itertools.count(1)
        value, floor = measure_fresh(
            lambda: prepare(work / "big.db"),
            lambda: prepare(work / f"empty-{next(fresh)}.db"),
            2 if timing.quick else 4,
        )
        for net in nets:
            close(net)
        with open_store(str(work / "big.db"), create=False) as store:
            rows = database_stats(store.engine).table("documents").rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note = f"pre-filled with {documents:,} documents ({rows:,} document rows at the end); ms per batch of {BATCH:,}"
    if timing.quick:
        note += f"; --quick: {QUICK_PREFILL:,} instead of {PREFILL:,}"
    return Figure(value / 1000, floor / 1000, "ms/batch", note)


def deliver_all(net: Network, count: int) -> int:
    """``count`` realistic one-recipient documents, delivered and completed; returns the envelope's size."""
    links = pairs(net)
    size = 0
    for number in range(1, count + 1):
        sender, recipient = links[number * 7 % len(links)]
        node = net.node(sender)
        envelope = node.draft(
            [recipient],
            subject=f"Báo cáo số {number} về tình hình kinh tế - xã hội",
            code=f"{number}/BC-UBND",
            content=TEXT[:480],
            attachments=[
                (f"van-ban-{number}.txt", TEXT.encode(), "text/plain"),
                (f"phu-luc-{number}.pdf", ATTACHMENT, "application/pdf"),
            ],
        )
        size = max(size, len(write_envelope(envelope)))
        document_id = node.send(envelope)
        net.run_until_idle()
        for action in CLERK_ACTIONS:
            getattr(net.node(recipient), action)(document_id)
        net.run_until_idle()
    return size


@measured("storage_per_delivery", target=3.0)
def storage_per_delivery(timing: Timing) -> Figure:
    """bytes on disk per one-recipient delivery (every table, both ends) vs the envelope's own size."""
    work = Path(tempfile.mkdtemp(prefix="docflow-bench-storage-"))
    try:
        net = open_network(work / "storage.db")
        try:
            empty = database_stats(net.ctx.store.engine).bytes
            envelope = deliver_all(net, DELIVERIES)
            stats = database_stats(net.ctx.store.engine)
        finally:
            close(net)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    largest = sorted(stats.tables, key=lambda t: -t.bytes)[:3]
    where = ", ".join(f"{t.name} {t.bytes // DELIVERIES:,}" for t in largest)
    note = (
        f"envelope {envelope:,} bytes (a {len(TEXT.encode()):,}-byte text, a {len(ATTACHMENT):,}-byte appendix); "
        f"{DELIVERIES} deliveries completed; bytes per delivery by table: {where}"
    )
    return Figure((stats.bytes - empty) / DELIVERIES, envelope, "bytes", note)
