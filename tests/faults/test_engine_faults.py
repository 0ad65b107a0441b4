"""The routing engine under faults: duplicated and shuffled messages, replays, crashes between "persisted"
and "sent" and in the middle of a batch, node outages with back-off, and bytes tampered in transit.

Each faulty run is compared with the same scenario run clean: the same rows in the same states, the same
audit events (nothing applied twice), every outbox row sent.
"""

from __future__ import annotations

import contextlib
import gc
import random
from collections import Counter
from pathlib import Path

import pytest
from engine_fixtures import (
    COMMUNE,
    DISTRICT,
    KEEP_SENT,
    PROVINCE,
    Outcome,
    TamperingTransport,
    answer,
    assert_like_clean,
    delivery_states,
    label,
    make_network,
    outbox_messages,
    scenario,
    send_directive,
    sqlite_url,
    status_counts,
    table_rows,
    unsent_outbox,
)

from docflow.domain.clock import ManualClock
from docflow.domain.events import SendFailed
from docflow.errors import StoreError, TransportError
from docflow.services import Network, Settings
from docflow.store.repos.deliveries import InboundRepo
from docflow.transports.base import Message, Transport
from docflow.transports.memory import FaultPlan, MemoryBroker, MemoryTransport


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    clock = ManualClock()
    net = make_network(sqlite_url(tmp_path_factory.mktemp("clean")), clock=clock)
    ids, activity = scenario(net, clock)
    assert activity.intake.duplicates == 0
    assert unsent_outbox(net) == 0
    return Outcome.of(net, ids)


def test_the_clean_scenario_is_what_the_fault_runs_are_held_to(clean: Outcome) -> None:
    ids, states = clean.ids, clean.states
    delivered = [row for row in states["deliveries"] if row[1] == ids.directive]
    assert len(delivered) == len(ids.recipients) >= 10
    by_state = Counter(row[3] for row in delivered)
    assert by_state == {"completed": 3, "rejected": 1, "arrived": len(ids.recipients) - 4}
    report = [row for row in states["deliveries"] if row[1] == ids.report]
    assert [row[3] for row in report] == ["accepted"]


# -- (a) every message twice, in shuffled order ---------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_duplicated_and_shuffled_messages_change_nothing(
    tmp_path: Path, clean: Outcome, seed: int, engine_db: str
) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time, faults=FaultPlan(duplicate=1.0, reorder=1.0), rng=random.Random(seed))
    net = make_network(engine_db, clock=clock, broker=broker)
    ids, activity = scenario(net, clock)
    assert broker.stats["duplicated"] == broker.stats["sent"] > 0
    assert activity.intake.duplicates == broker.stats["duplicated"]
    copies = Counter((row[0], row[1]) for row in table_rows(net, "documents"))
    assert {copies[(recipient, ids.directive)] for recipient in ids.recipients} == {1}
    assert_like_clean(net, clean)


# -- (b) replaying raw copies of processed messages -----------------------------------------------------


def test_replayed_messages_are_acknowledged_and_change_nothing(tmp_path: Path, clean: Outcome, engine_db: str) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    net = make_network(engine_db, clock=clock, broker=broker, settings=KEEP_SENT)  # sent rows kept to replay them
    scenario(net, clock)
    assert_like_clean(net, clean)

    replay = outbox_messages(net)
    assert len(replay) > 50
    wire = MemoryTransport(broker)  # someone re-sends every message the network ever put on the wire
    for n, message in enumerate(replay):
        wire.send(message)
        # the same content under another transport id (a re-exported file, a second gateway) is the same too
        wire.send(
            Message(f"replay-{n}", message.sender, message.recipient, message.kind, message.body, message.headers)
        )
    clock.advance(600)
    net.recover()
    activity = net.run_until_idle()
    assert activity.intake.received == activity.intake.duplicates == 2 * len(replay)
    assert (activity.intake.applied, activity.intake.forwarded, activity.intake.quarantined) == (0, 0, 0)
    assert_like_clean(net, clean)


# -- (c) a crash between "persisted" and "sent" ---------------------------------------------------------


class PowerCut(Exception):
    """The process dies (not a transport error: nothing in the engine may catch it)."""


class CrashingTransport:
    """Passes messages to ``inner``; the ``at``-th send dies before (``after=False``) or after handing it over."""

    def __init__(self, inner: Transport, at: int, *, after: bool) -> None:
        self.inner, self.at, self.after, self.calls = inner, at, after, 0

    def send(self, message: Message) -> None:
        self.calls += 1
        if self.calls == self.at and not self.after:
            raise PowerCut(f"died before send #{self.at}")
        self.inner.send(message)
        if self.calls == self.at and self.after:
            raise PowerCut(f"died after send #{self.at}")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def restart(db: str, clock: ManualClock, broker: MemoryBroker) -> Network:
    """A new process: a new Network over the same database and the same broker."""
    gc.collect()  # the dead process's transport connection is gone: its claims go back to their queues
    net = make_network(db, clock=clock, broker=broker)
    clock.advance(120)  # past the dead relay's lease
    net.recover()
    return net


def test_a_network_lost_after_send_delivers_everything_once_after_recover(
    tmp_path: Path, clean: Outcome, engine_db: str
) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    db = engine_db
    net = make_network(db, clock=clock, broker=broker)
    ids = send_directive(net)
    del net  # persisted, never relayed
    net = restart(db, clock, broker)
    net.run_until_idle()
    clock.advance(60)
    answer(net, ids)
    net.run_until_idle()
    assert_like_clean(net, clean)


@pytest.mark.parametrize("after", [False, True], ids=["before-hand-over", "after-hand-over"])
@pytest.mark.parametrize("at", [1, 7, 30])
def test_a_relay_dying_mid_send_delivers_everything_once_after_restart(
    tmp_path: Path,
    clean: Outcome,
    at: int,
    after: bool,
    engine_db: str,
) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    db = engine_db
    net = make_network(db, clock=clock, transport=CrashingTransport(MemoryTransport(broker), at, after=after))
    ids = send_directive(net)
    with pytest.raises(PowerCut):
        net.run_until_idle()
    del net
    net = restart(db, clock, broker)
    net.run_until_idle()
    clock.advance(60)
    answer(net, ids)
    net.run_until_idle()
    assert_like_clean(net, clean)


# -- (d) a crash in the middle of a batch ---------------------------------------------------------------


@pytest.mark.parametrize("fail_at", [1, 5])
def test_a_batch_that_fails_half_way_is_redelivered_and_applied_once(
    tmp_path: Path,
    clean: Outcome,
    monkeypatch: pytest.MonkeyPatch,
    fail_at: int,
    engine_db: str,
) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    net = make_network(engine_db, clock=clock, broker=broker)
    real = InboundRepo.add
    calls = Counter[str]()

    def flaky(self: InboundRepo, record):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise StoreError("disk I/O error (injected)")
        return real(self, record)

    monkeypatch.setattr(InboundRepo, "add", flaky)
    ids = send_directive(net)
    # The engine may surface the error or roll that node's batch back alone; either way the process carries
    # on, the failed batch comes back, and the outcome must be the clean one.
    with contextlib.suppress(StoreError):
        net.run_until_idle()
    net.run_until_idle()
    clock.advance(120)  # and anything a failed round left leased falls due
    net.run_until_idle()
    clock.advance(60)
    answer(net, ids)
    net.run_until_idle()
    assert calls["n"] > fail_at
    assert_like_clean(net, clean)


def test_a_process_that_died_half_way_through_a_batch_recovers_on_restart(
    tmp_path: Path,
    clean: Outcome,
    monkeypatch: pytest.MonkeyPatch,
    engine_db: str,
) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    db = engine_db
    net = make_network(db, clock=clock, broker=broker)
    real = InboundRepo.add
    calls = Counter[str]()

    def dying(self: InboundRepo, record):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise PowerCut("killed while applying a batch")
        return real(self, record)

    monkeypatch.setattr(InboundRepo, "add", dying)
    ids = send_directive(net)
    with pytest.raises(PowerCut):
        net.run_until_idle()
    del net
    net = restart(db, clock, broker)
    net.run_until_idle()
    clock.advance(60)
    answer(net, ids)
    net.run_until_idle()
    assert_like_clean(net, clean)


# -- (e) outages pause work; refusals spend a budget of attempts AND time; dead work can be revived ---------


def outage_network(
    tmp_path: Path, node: str, window: tuple[float, float], budget: int, give_up_after: float = 3600.0
) -> tuple[Network, ManualClock]:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time, faults=FaultPlan(outages={node: [window]}))
    settings = Settings(retry_budget=budget, retry_delay=60.0, give_up_after=give_up_after)
    return make_network(sqlite_url(tmp_path), clock=clock, broker=broker, settings=settings), clock


class RefusingTransport(MemoryTransport):
    """A transport that refuses (not: is unavailable for) every message to ``hop`` while ``refusing``."""

    def __init__(self, broker: MemoryBroker, hop: str) -> None:
        super().__init__(broker)
        self.hop, self.refusing = hop, True

    def send(self, message: Message) -> None:
        if self.refusing and message.recipient == self.hop:
            raise TransportError(f"queue of {self.hop} refuses the message (injected)")
        super().send(message)


def test_a_long_outage_pauses_a_send_without_spending_its_budget(tmp_path: Path) -> None:
    net, clock = outage_network(tmp_path, DISTRICT, (0, 10 * 3600), budget=2, give_up_after=600)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code="9/TB-UBND")
    first = net.run_until_idle()
    assert (first.sent, first.send_failures, first.dead, first.unavailable) == (0, 1, 0, 1)
    for _ in range(19):  # far past both budgets, in wall time and in tries (t = 9.5 h)
        clock.advance(1800)
        activity = net.run_until_idle()
        assert activity.dead == 0 and activity.unavailable >= 1  # reported, never raised
    [delivery] = net.node(PROVINCE).deliveries(document_id)
    assert (delivery.state, delivery.attempts) == ("retrying", 0)
    failures = [s.event for s in net.trace(document_id) if isinstance(s.event, SendFailed)]
    assert len(failures) == 20 and all(f.outage and f.attempts == 0 for f in failures)
    clock.advance(1800)  # t = 10 h: the district is back
    net.run_until_idle()
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "arrived"}
    assert unsent_outbox(net) == 0


def test_refusals_give_up_only_once_attempts_and_time_are_spent_and_an_operator_revives(tmp_path: Path) -> None:
    clock = ManualClock()
    wire = RefusingTransport(MemoryBroker(clock=clock.time), DISTRICT)
    settings = Settings(retry_budget=2, retry_delay=60.0, give_up_after=600.0)
    net = make_network(sqlite_url(tmp_path), clock=clock, transport=wire, settings=settings)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code="19/TB-UBND")
    assert net.run_until_idle().send_failures == 1  # t=0, attempt 1
    clock.advance(30)  # before the back-off has run out: nothing is tried
    assert net.run_until_idle().send_failures == 0
    clock.advance(30)
    assert net.run_until_idle().send_failures == 1  # t=60, attempt 2: the attempts are spent, the time is not
    [delivery] = net.node(PROVINCE).deliveries(document_id)
    assert (delivery.state, delivery.attempts) == ("retrying", 2)
    dead = 0
    while dead == 0:
        clock.advance(60)
        assert clock.time() < 3600, "never given up"
        dead += net.run_until_idle().dead
    assert clock.time() >= 600  # both budgets spent
    [delivery] = net.node(PROVINCE).deliveries(document_id)
    assert delivery.state == "dead"
    kinds = [label(s) for s in net.trace(document_id)]
    assert kinds[0] == "sent" and kinds[-2:] == ["delivery:fail", "dead"]
    assert {k for k in kinds[1:-2]} == {"delivery:fail", "send-failed"}
    assert unsent_outbox(net) == 0  # given up is not waiting
    [given_up] = net.dead()
    assert given_up.headers["document"] == document_id
    clock.advance(100_000)
    assert net.run_until_idle().moved == 0  # dead stays dead until an operator acts

    wire.refusing = False
    assert net.retry_dead(document="no such document") == 0
    assert net.retry_dead(node=PROVINCE, document=document_id) == 1
    net.run_until_idle()
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "arrived"}
    assert net.dead() == [] and unsent_outbox(net) == 0
    kinds = [label(s) for s in net.trace(document_id)]
    assert "delivery:revive" in kinds and "revived" in kinds
    assert status_counts(net, PROVINCE, document_id, "01") == {COMMUNE: 1}


def test_purged_dead_work_is_gone_and_its_delivery_stays_dead(tmp_path: Path) -> None:
    clock = ManualClock()
    wire = RefusingTransport(MemoryBroker(clock=clock.time), DISTRICT)
    settings = Settings(retry_budget=1, retry_delay=60.0, give_up_after=0.0)
    net = make_network(sqlite_url(tmp_path), clock=clock, transport=wire, settings=settings)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code="20/TB-UBND")
    assert net.run_until_idle().dead == 1
    assert net.purge_dead(node=PROVINCE) == 1
    assert net.dead() == [] and net.retry_dead() == 0
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "dead"}


def test_a_send_retried_after_the_outage_ends_gets_through(tmp_path: Path) -> None:
    net, clock = outage_network(tmp_path, DISTRICT, (0, 100), budget=5)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code="10/TB-UBND")
    net.run_until_idle()  # t=0: fails, next try at t=60
    clock.advance(60)
    net.run_until_idle()  # t=60: still down, next try at t=180
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "retrying"}
    clock.advance(120)
    net.run_until_idle()  # t=180: up again
    [delivery] = net.node(PROVINCE).deliveries(document_id)
    assert delivery.state == "arrived"
    assert delivery.attempts == 0  # the two failures were an outage: no attempt spent
    failures = [s.event for s in net.trace(document_id) if isinstance(s.event, SendFailed)]
    assert [f.outage for f in failures] == [True, True]
    assert status_counts(net, PROVINCE, document_id, "01") == {COMMUNE: 1}


def test_a_forwarding_node_retries_its_hop_until_the_next_node_is_back(tmp_path: Path) -> None:
    net, clock = outage_network(tmp_path, COMMUNE, (0, 100), budget=5)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code="11/TB-UBND")
    net.run_until_idle()  # province → district works; district → commune fails
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "sent"}
    for _ in range(4):
        clock.advance(120)
        net.run_until_idle()
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "arrived"}
    assert unsent_outbox(net) == 0


# -- (f) bytes tampered in transit ----------------------------------------------------------------------


def malformed(body: bytes) -> bytes:
    return body.replace(b"</edXMLHeader>", b"</edXMLHeader", 1)


def schema_invalid(body: bytes) -> bytes:
    return body.replace(b"<Subject>", b"<Subjekt>", 1).replace(b"</Subject>", b"</Subjekt>", 1)


@pytest.mark.parametrize("corrupt", [malformed, schema_invalid])
@pytest.mark.parametrize("hop", [COMMUNE, DISTRICT], ids=["last-hop", "first-hop"])
def test_a_corrupted_envelope_is_quarantined_where_seen_and_the_sender_gets_02(
    tmp_path: Path,
    hop: str,
    corrupt,
    engine_db: str,
) -> None:  # type: ignore[no-untyped-def]
    """Province → district → commune; the bytes are damaged on the wire into ``hop``."""
    clock = ManualClock()
    wire = TamperingTransport(
        MemoryTransport(MemoryBroker(clock=clock.time)),
        select=lambda m: m.kind == "edoc" and m.recipient == hop,
        corrupt=corrupt,
    )
    net = make_network(engine_db, clock=clock, transport=wire)
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Quyết định", code="21/QĐ-UBND")
    activity = net.run_until_idle()
    assert len(wire.tampered) == 1
    assert activity.intake.quarantined == 1

    [entry] = net.quarantine()
    assert entry.node == hop
    assert entry.body == wire.tampered[0].body
    assert entry.reason
    assert net.quarantine(PROVINCE) == []
    assert net.node(COMMUNE).inbox() == []
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "rejected"}
    [rejection] = [e for e in net.trace(document_id) if label(e) == "delivery:reject" and e.node == PROVINCE]
    assert rejection.status == "02"
    assert net.ctx.store.verify_audit().ok
