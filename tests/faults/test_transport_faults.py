"""Transports under faults: crashed consumers, duplicates, loss, reordering, outages, latency, races, torn writes."""

from __future__ import annotations

import gc
import os
import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from docflow.domain.clock import ManualClock
from docflow.errors import ConfigError, TransportError, TransportUnavailableError
from docflow.transports import Message
from docflow.transports.filesystem import FilesystemTransport, encode_message
from docflow.transports.memory import FaultPlan, MemoryBroker, MemoryTransport

A = "000.00.00.H29"
B = "000.00.01.H29"


def msg(n: int, recipient: str = A, body: bytes = b"payload") -> Message:
    return Message(f"M-{n}", "000.00.00.G22", recipient, "edoc", body, {"n": str(n)})


def received_ids(transport, node: str = A, limit: int = 1000) -> list[str]:
    return [d.message.message_id for d in transport.receive(node, limit=limit)]


# -- a consumer killed mid-processing ------------------------------------------------------------------


def test_memory_consumer_lost_without_close_gives_its_claims_back():
    broker = MemoryBroker(clock=ManualClock().time)
    MemoryTransport(broker).send(msg(1))
    consumer = MemoryTransport(broker)
    [claimed] = consumer.receive(A)
    del consumer  # the process "dies": no ack, no close
    gc.collect()
    [again] = MemoryTransport(broker).receive(A)
    assert again.message == claimed.message
    assert again.attempt == 2


def test_file_consumer_crash_is_recovered_on_restart(tmp_path: Path):
    clock = ManualClock()
    FilesystemTransport(tmp_path, clock=clock.time, fsync=False).send(msg(1))
    consumer = FilesystemTransport(tmp_path, clock=clock.time, fsync=False)
    [claimed] = consumer.receive(A)
    del consumer  # crash: the claim stays in cur/
    other = FilesystemTransport(tmp_path, clock=clock.time, fsync=False)
    assert other.receive(A) == []  # a live claim is not stolen by a second consumer
    assert other.pending(A) == 1
    restarted = FilesystemTransport(tmp_path, clock=clock.time, fsync=False, reclaim_on_open=True)
    [again] = restarted.receive(A)
    assert again.message == claimed.message
    assert again.attempt == 2


def test_file_consumer_crash_is_recovered_by_any_consumer_after_the_timeout(tmp_path: Path):
    clock = ManualClock()
    crashed = FilesystemTransport(tmp_path, clock=clock.time, fsync=False, visibility_timeout=30)
    crashed.send(msg(1))
    assert len(crashed.receive(A)) == 1
    survivor = FilesystemTransport(tmp_path, clock=clock.time, fsync=False)
    clock.advance(29.9)
    assert survivor.receive(A) == []
    clock.advance(0.1)
    [again] = survivor.receive(A)
    assert again.attempt == 2


# -- memory fault plan ---------------------------------------------------------------------------------


def test_duplicate_every_message():
    transport = MemoryTransport(faults=FaultPlan(duplicate=1.0))
    for n in range(3):
        transport.send(msg(n))
    assert received_ids(transport) == ["M-0", "M-0", "M-1", "M-1", "M-2", "M-2"]
    assert transport.broker.stats["duplicated"] == 3


def test_probabilistic_faults_are_deterministic_for_a_seed():
    def run(seed: int) -> list[str]:
        transport = MemoryTransport(faults=FaultPlan(duplicate=0.3, reorder=0.3), rng=random.Random(seed))
        for n in range(200):
            transport.send(msg(n))
        return received_ids(transport)

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    counts = Counter(first)
    assert set(counts) == {f"M-{n}" for n in range(200)}  # nothing lost
    assert 30 < sum(1 for c in counts.values() if c == 2) < 90  # about 30 % doubled
    assert first != sorted(first, key=lambda i: int(i[2:]))  # and some out of order


def test_drop_fails_the_send_by_default_so_the_sender_retries():
    transport = MemoryTransport(faults=FaultPlan(drop=1.0))
    with pytest.raises(TransportUnavailableError) as caught:
        transport.send(msg(1))
    assert caught.value.node == A
    assert transport.pending(A) == 0
    transport.broker.faults = FaultPlan()  # the network heals: the retry gets through
    transport.send(msg(1))
    assert received_ids(transport) == ["M-1"]


def test_silent_loss_after_hand_off():
    transport = MemoryTransport(faults=FaultPlan(drop=1.0, drop_mode="lose"))
    transport.send(msg(1))  # no error: lost in the network
    assert transport.pending(A) == 0
    assert transport.broker.stats["dropped"] == 1
    assert transport.idle()


def test_faults_can_target_some_messages_only():
    transport = MemoryTransport(faults=FaultPlan(drop=1.0, only=lambda m: m.recipient == B))
    transport.send(msg(1, A))
    with pytest.raises(TransportUnavailableError):
        transport.send(msg(2, B))
    assert received_ids(transport, A) == ["M-1"]


def test_reorder_shuffles_within_a_recipient_queue_and_loses_nothing():
    transport = MemoryTransport(faults=FaultPlan(reorder=1.0), rng=random.Random(3))
    for n in range(50):
        transport.send(msg(n))
    got = received_ids(transport)
    assert got != [f"M-{n}" for n in range(50)]
    assert sorted(got) == sorted(f"M-{n}" for n in range(50))


def test_outage_window_refuses_sends_and_hides_the_queue():
    clock = ManualClock()
    transport = MemoryTransport(clock=clock.time, faults=FaultPlan(outages={A: [(10.0, 20.0)]}))
    transport.send(msg(1))
    clock.advance(10.0)
    with pytest.raises(TransportUnavailableError):
        transport.send(msg(2))
    assert transport.receive(A) == []
    assert transport.pending(A) == 1
    assert transport.next_visible_at() == 20.0  # a driver advances virtual time to the end of the outage
    transport.send(msg(3, B))  # other nodes are up
    clock.set(20.0)
    assert received_ids(transport) == ["M-1"]


def test_node_taken_down_by_hand():
    transport = MemoryTransport()
    transport.broker.set_down(A)
    with pytest.raises(TransportUnavailableError):
        transport.send(msg(1))
    transport.broker.set_down(A, False)
    transport.send(msg(1))
    assert received_ids(transport) == ["M-1"]


def test_latency_makes_messages_visible_later_in_arrival_order():
    clock = ManualClock()
    transport = MemoryTransport(clock=clock.time, faults=FaultPlan(latency=5.0))
    transport.send(msg(1))
    clock.advance(1.0)
    transport.send(msg(2))
    assert transport.receive(A) == []
    assert not transport.idle()
    assert transport.next_visible_at() == 5.0
    clock.set(5.0)
    assert received_ids(transport) == ["M-1"]
    assert transport.next_visible_at() == 6.0
    clock.set(6.0)
    assert received_ids(transport) == ["M-2"]


def test_per_message_latency_can_overtake():
    clock = ManualClock()
    slow_first = FaultPlan(latency=lambda m: 10.0 if m.message_id == "M-1" else 1.0)
    transport = MemoryTransport(clock=clock.time, faults=slow_first)
    transport.send(msg(1))
    transport.send(msg(2))
    clock.set(1.0)
    assert received_ids(transport) == ["M-2"]
    clock.set(10.0)
    assert received_ids(transport) == ["M-1"]


def test_idle_and_next_visible_at_let_a_driver_run_virtual_time():
    clock = ManualClock()
    transport = MemoryTransport(clock=clock.time, visibility_timeout=30.0)
    assert transport.idle()
    assert transport.next_visible_at() is None
    transport.send(msg(1))
    assert not transport.idle()
    [claimed] = transport.receive(A)
    assert not transport.idle()  # claimed but not acked
    assert transport.next_visible_at() == 30.0  # when the claim lapses
    clock.set(30.0)
    [again] = transport.receive(A)
    transport.ack(again)
    assert transport.idle()
    assert transport.next_visible_at() is None
    assert claimed.attempt == 1 and again.attempt == 2


def test_bad_fault_plans_and_options_are_config_errors():
    with pytest.raises(ConfigError):
        FaultPlan(duplicate=1.5)
    with pytest.raises(ConfigError):
        FaultPlan(outages={A: [(5.0, 1.0)]})
    with pytest.raises(ConfigError):
        MemoryTransport(MemoryBroker(), faults=FaultPlan())
    with pytest.raises(ConfigError):
        MemoryTransport(visibility_timeout=0)


def test_brokers_share_nothing():
    first, second = MemoryTransport(), MemoryTransport()
    first.send(msg(1))
    assert second.pending(A) == 0
    assert second.receive(A) == []


# -- filesystem races and torn writes ------------------------------------------------------------------


def test_concurrent_consumers_claim_every_message_exactly_once(tmp_path: Path):
    sender = FilesystemTransport(tmp_path, fsync=False)
    total = 400
    for n in range(total):
        sender.send(msg(n))
    seen: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def consume(slot: int) -> None:
        transport = FilesystemTransport(tmp_path, fsync=False)
        start.wait()
        while batch := transport.receive(A, limit=5):
            for delivery in batch:
                seen[slot].append(delivery.message.message_id)
                transport.ack(delivery)

    threads = [threading.Thread(target=consume, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = seen[0] + seen[1]
    assert len(everything) == total
    assert set(everything) == {f"M-{n}" for n in range(total)}
    assert seen[0] and seen[1]  # both really competed
    assert sender.pending(A) == 0


def test_crash_before_replace_leaves_nothing_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    transport = FilesystemTransport(tmp_path, fsync=False)
    transport.send(msg(0))  # creates the node's directories

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TransportError) as caught:
        transport.send(msg(1))
    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.undo()
    assert os.listdir(tmp_path / A / "tmp") == []
    assert received_ids(transport) == ["M-0"]


def test_torn_temp_file_from_a_crashed_writer_is_invisible_and_swept(tmp_path: Path):
    transport = FilesystemTransport(tmp_path, fsync=False)
    transport.send(msg(0))
    torn = tmp_path / A / "tmp" / "00000000000000000001-00000001-dead-M-1"
    torn.write_bytes(encode_message(msg(1, body=b"x" * 1000))[:300])  # the writer died mid-write
    assert transport.pending(A) == 1
    assert received_ids(transport) == ["M-0"]
    FilesystemTransport(tmp_path, fsync=False)  # a young temp file may still be written: kept
    assert torn.exists()
    FilesystemTransport(tmp_path, fsync=False, tmp_grace=0)
    assert not torn.exists()


def test_unreadable_file_in_new_is_set_aside_not_fatal(tmp_path: Path):
    transport = FilesystemTransport(tmp_path, fsync=False)
    transport.send(msg(1))
    (tmp_path / A / "new" / "00000000000000000000-00000000-feed-junk~0").write_bytes(b"not a message")
    assert received_ids(transport) == ["M-1"]
    assert os.listdir(tmp_path / A / "dead") == ["00000000000000000000-00000000-feed-junk.corrupt"]
    assert transport.dead_letters(A) == []


def test_durable_mode_fsyncs_and_still_delivers(tmp_path: Path):
    with FilesystemTransport(tmp_path) as transport:
        transport.send(msg(1, body="Quyết định".encode()))
    with FilesystemTransport(tmp_path) as reopened:
        [delivery] = reopened.receive(A)
        assert delivery.message.body.decode() == "Quyết định"
