"""``Network.wake`` leaves the rows in the hand-off out of its search: the next step sends them without a claim.

An outbox whose only due rows are in the hand-off is not claimed; a due row the hand-off no longer holds (taken
by another driver, or dropped from the bounded hand-off) is still found and sent.
"""

from __future__ import annotations

import pytest
from store_backends import BACKENDS, T0, backend_store, pg_store_url  # noqa: F401  (fixture)

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.store import OutboxMessage

NODE = "000.00.00.H53"
OTHER = "000.00.01.H53"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A migrated, empty store on SQLite and on PostgreSQL."""
    yield from backend_store(request, tmp_path)


def message(message_id: str, node: str = NODE) -> OutboxMessage:
    return OutboxMessage(node=node, message_id=message_id, recipient=OTHER, kind="edoc", body=b"<x/>", created_at=T0)


def test_nodes_due_besides_leaves_out_only_the_named_messages(store):
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message("a1"), message("a2"), message("b1", node=OTHER)])
    with store.snapshot() as repo:
        assert repo.outbox.nodes_due(T0) == [NODE, OTHER]
        assert repo.outbox.nodes_due(T0, besides=["b1"]) == [NODE]
        assert repo.outbox.nodes_due(T0, besides=["a1"]) == [NODE, OTHER]  # a2 is still due
        assert repo.outbox.nodes_due(T0, besides=["a1", "a2", "b1"]) == []


@pytest.mark.parametrize("count", [1, 2, 3, 63, 64, 65, 200])
def test_any_number_of_messages_besides_gives_the_same_answer(store, count):
    """Short lists go through a statement prepared per size bucket (padded), long ones through an expanding IN."""
    with store.unit_of_work() as repo:
        repo.outbox.enqueue([message(f"a{i}") for i in range(count)] + [message("b1", node=OTHER)])
    ids = [f"a{i}" for i in range(count)]
    with store.snapshot() as repo:
        assert repo.outbox.nodes_due(T0, besides=ids) == [OTHER]
        assert repo.outbox.nodes_due(T0, besides=[*ids[1:], "b1"]) == [NODE]  # a0 is still due
        assert repo.outbox.nodes_due(T0, besides=[*ids, "b1"]) == []
        assert repo.outbox.nodes_due(T0, besides=ids[:-1]) == [NODE, OTHER]  # the last one is still due


def network():
    net = build_network(db="sqlite://", clock=ManualClock(), policy="hierarchical")
    registry = net.ctx.registry
    district = registry.districts_of(registry.provinces()[0])[0]
    return net, net.node(registry.communes_of(district)[0]), registry.root


def test_a_sent_document_in_the_hand_off_is_not_searched_for_and_still_arrives():
    net, commune, root = network()
    commune.send(recipients=[root], subject="Báo cáo", code="1/BC-UBND", content="Báo cáo tháng")
    net.wake()
    assert net._outbox == set()  # the only due row is in the hand-off: no outbox to claim
    activity = net.run_until_idle(wake=False)
    assert activity.intake.received == 6 and activity.intake.applied == 2
    with net.ctx.store.snapshot() as repo:
        assert repo.count("outbox") == 0


def test_a_due_row_the_hand_off_no_longer_holds_is_found_and_sent():
    net, commune, root = network()
    commune.send(recipients=[root], subject="Báo cáo", code="2/BC-UBND", content="Báo cáo tháng")
    assert len(net.ctx.handoff.take()) == 1  # taken elsewhere: only the store knows it now
    net.wake()
    assert net._outbox == {str(commune.code)}
    activity = net.run_until_idle()
    assert activity.intake.received == 6 and activity.intake.applied == 2
