"""``docflow worker`` processes over one SQLite store and a filesystem spool: they deliver, answer, stop
cleanly on SIGTERM, and a worker killed with SIGKILL mid-run loses nothing and applies nothing twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docflow.bootstrap import build_network
from docflow.cli.worker import agencies_of
from docflow.domain.topologies import topology
from docflow.errors import ConfigError
from docflow.services import Network

H58, DISTRICT, COMMUNE, G22 = "000.00.00.H58", "000.00.50.H58", "000.20.50.H58", "000.00.00.G22"
TIEN_GIANG_SIDE = f"{H58},{DISTRICT},{COMMUNE}"


@pytest.fixture
def opened() -> Iterator[list[Network]]:
    """Networks a test opens; their stores and spools are closed after it (PostgreSQL connections are few)."""
    made: list[Network] = []
    yield made
    for net in made:
        net.ctx.transport.close()
        net.ctx.store.close()


def network(tmp_path: Path, db: str | None = None, opened: list[Network] | None = None) -> Network:
    net = build_network(db=db or f"sqlite:///{tmp_path / 'shared.db'}", transport=f"file://{tmp_path / 'spool'}")
    if opened is not None:
        opened.append(net)
    return net


def start_worker(tmp_path: Path, agencies: str, name: str, db: str | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "docflow", "worker", "--db", db or f"sqlite:///{tmp_path / 'shared.db'}",
               "--transport", f"file://{tmp_path / 'spool'}", "--agencies", agencies, "--poll", "0.05"]  # fmt: skip
    log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - the process writes to it until it ends
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def terminate(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError("a worker did not stop within 30 s of SIGTERM") from None
    return process.returncode


def states(net: Network, document_id: str) -> dict[str, str]:
    return {d.recipient: d.state for d in net.node(H58).deliveries(document_id)}


def test_workers_deliver_answer_and_stop_on_sigterm(tmp_path, engine_db, opened):
    """Two workers over one store (a SQLite file, and PostgreSQL where DOCFLOW_TEST_POSTGRES_URL is set)."""
    net = network(tmp_path, engine_db, opened)
    document_id = net.node(H58).send(recipients=[G22, COMMUNE], subject="Công văn", code="5/UBND-VP")
    workers = [start_worker(tmp_path, TIEN_GIANG_SIDE, "tg", engine_db), start_worker(tmp_path, G22, "vpcp", engine_db)]
    try:
        wait_for(lambda: states(net, document_id) == {G22: "arrived", COMMUNE: "arrived"}, "both arrivals")
        net.node(COMMUNE).accept(document_id)
        net.node(G22).accept(document_id)
        net.node(G22).complete(document_id)
        wait_for(lambda: states(net, document_id) == {G22: "completed", COMMUNE: "accepted"}, "03 and 06")
    finally:
        codes = [terminate(w) for w in workers]
    assert codes == [0, 0]
    logs = (tmp_path / "tg.log").read_text() + (tmp_path / "vpcp.log").read_text()
    assert logs.count("docflow worker: stopped after") == 2
    assert f"docflow worker: {COMMUNE} received 1 applied 1" in logs


def test_a_worker_killed_mid_run_loses_nothing_and_applies_nothing_twice(tmp_path, opened):
    net = network(tmp_path, opened=opened)
    sent = [net.node(H58).send(recipients=[COMMUNE], subject=f"Văn bản {n}", code=f"{n}/UBND-VP") for n in range(1, 41)]
    first = start_worker(tmp_path, TIEN_GIANG_SIDE, "first")
    try:
        wait_for(lambda: "docflow worker: " + DISTRICT in (tmp_path / "first.log").read_text(), "a first batch")
        first.send_signal(signal.SIGKILL)  # mid-run: some batches done, others claimed, leased or in flight
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    # a restarted worker finds what was left: due outbox rows, spool files claimed by the dead process
    second = start_worker(tmp_path, TIEN_GIANG_SIDE, "second")
    try:
        # serving: its SIGTERM handler is set (a fast first worker may have left it nothing to do)
        wait_for(lambda: "docflow worker: serving" in (tmp_path / "second.log").read_text(), "the second worker")
        # rows the killed worker had leased fall due again when their lease (retry_delay, 60 s) ends
        wait_for(lambda: all(states(net, d) == {COMMUNE: "arrived"} for d in sent), "40 arrivals", timeout=240)
    finally:
        assert terminate(second) == 0
    inbox = net.node(COMMUNE).inbox()
    assert sorted(row.document_id for row in inbox) == sorted(sent)  # each document once at the commune
    assert all(len(net.node(H58).deliveries(d)) == 1 for d in sent)


def test_the_agencies_of_a_worker_are_checked_against_the_registry():
    tree = topology("tien_giang_2017")
    assert agencies_of(tree, f"{H58}, {G22}", None) == [H58, G22]
    under = agencies_of(tree, None, DISTRICT)
    assert under[0] == DISTRICT and COMMUNE in under and H58 not in under
    with pytest.raises(ConfigError, match=r"not in the registry: 000\.00\.00\.H41"):
        agencies_of(tree, "000.00.00.H41", None)
    with pytest.raises(ConfigError, match=r"--under 000\.00\.00\.H41"):
        agencies_of(tree, None, "000.00.00.H41")


def test_two_workers_for_the_same_agencies_send_and_apply_each_message_once(tmp_path, engine_db, opened):
    """Both workers serve the same three agencies and compete for every queue and outbox (SKIP LOCKED on
    PostgreSQL, BEGIN IMMEDIATE on SQLite, claim by rename in the spool): each document arrives once."""
    net = network(tmp_path, engine_db, opened)
    sent = [net.node(H58).send(recipients=[COMMUNE], subject=f"Văn bản {n}", code=f"{n}/UBND-VP") for n in range(30)]
    workers = [start_worker(tmp_path, TIEN_GIANG_SIDE, name, engine_db) for name in ("a", "b")]
    try:
        wait_for(lambda: all(states(net, d) == {COMMUNE: "arrived"} for d in sent), "30 arrivals", timeout=240)
    finally:
        codes = [terminate(w) for w in workers]
    assert codes == [0, 0]
    assert sorted(row.document_id for row in net.node(COMMUNE).inbox()) == sorted(sent)
    for document_id in sent:
        steps = net.trace(document_id)
        assert sum(1 for s in steps if s.kind == "arrived" and s.node == COMMUNE) == 1
        forwarded = sorted(s.recipient for s in steps if s.kind == "forwarded" and s.node == DISTRICT)
        assert forwarded == sorted([COMMUNE, H58])  # the document down, its 01 up: each once
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert logs.count("docflow worker: stopped after") == 2
