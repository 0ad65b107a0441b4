"""The routing engine on PostgreSQL: a Tiền Giang district end to end, and the duplicate-and-shuffle fault run
held to the clean run, in a private schema per test session (``store_backends.pg_store_url``).

Skipped unless ``DOCFLOW_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from engine_fixtures import (
    COMMUNE,
    DISTRICT,
    GOVERNMENT_OFFICE,
    PROVINCE,
    Outcome,
    assert_like_clean,
    delivery_states,
    make_network,
    scenario,
    status_counts,
    unsent_outbox,
)
from store_backends import empty_postgres_store, pg_store_url  # noqa: F401 - pg_store_url is a fixture

from docflow.domain.clock import ManualClock
from docflow.services import Network
from docflow.transports.memory import FaultPlan, MemoryBroker
from docflow.xml import read_envelope


@pytest.fixture
def pg(pg_store_url: str) -> Iterator[str]:  # noqa: F811 - the imported fixture
    """The session's schema, emptied for this test; every network opened on it is closed afterwards."""
    empty_postgres_store(pg_store_url).close()
    yield pg_store_url


@pytest.fixture
def networks() -> Iterator[list[Network]]:
    opened: list[Network] = []
    yield opened
    for net in opened:
        net.ctx.store.close()


def test_a_district_end_to_end_on_postgres(pg: str, networks: list[Network]) -> None:
    clock = ManualClock()
    net = make_network(pg, clock=clock)
    networks.append(net)
    assert net.ctx.store.engine.dialect.name == "postgresql"
    communes = [str(c) for c in net.ctx.registry.communes_of(DISTRICT)]
    recipients = [DISTRICT, *communes]
    directive = net.node(PROVINCE).send(recipients=recipients, subject="Chỉ thị", code="12/CT-UBND", content="...")
    report = net.node(COMMUNE).send(recipients=[GOVERNMENT_OFFICE], subject="Báo cáo", code="45/BC-UBND")
    net.run_until_idle()
    assert delivery_states(net, PROVINCE, directive) == dict.fromkeys(recipients, "arrived")
    assert status_counts(net, PROVINCE, directive, "01") == dict.fromkeys(recipients, 1)

    clock.advance(3600)
    done, rejecter = communes[1], communes[2]
    for action in ("accept", "assign", "start", "complete"):
        getattr(net.node(done), action)(directive)
    net.node(rejecter).reject(directive, "Sai địa chỉ")
    net.node(GOVERNMENT_OFFICE).accept(report)
    net.run_until_idle()

    states = delivery_states(net, PROVINCE, directive)
    assert (states[done], states[rejecter]) == ("completed", "rejected")
    assert delivery_states(net, COMMUNE, report) == {GOVERNMENT_OFFICE: "accepted"}
    with net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, report)
    assert stored is not None
    assert [str(t.organ_id) for t in read_envelope(stored.envelope).trace] == [COMMUNE, DISTRICT, PROVINCE]
    assert unsent_outbox(net) == 0
    assert net.ctx.store.verify_audit().ok


def test_duplicated_and_shuffled_messages_change_nothing_on_postgres(pg: str, networks: list[Network]) -> None:
    clock = ManualClock()
    clean_net = make_network(pg, clock=clock)
    networks.append(clean_net)
    ids, _ = scenario(clean_net, clock)
    clean = Outcome.of(clean_net, ids)

    empty_postgres_store(pg).close()
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time, faults=FaultPlan(duplicate=1.0, reorder=1.0), rng=random.Random(7))
    net = make_network(pg, clock=clock, broker=broker)
    networks.append(net)
    _, activity = scenario(net, clock)
    assert activity.intake.duplicates == broker.stats["duplicated"] > 0
    assert_like_clean(net, clean)
