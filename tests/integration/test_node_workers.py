"""One worker per agency: two processes' worth of contexts over one SQLite file and a filesystem spool."""

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.services import serve_once

PROVINCE = "000.00.00.H58"
COMMUNE = "000.20.50.H58"


def worker(tmp_path, clock):
    return build_network(
        db=f"sqlite:///{tmp_path / 'shared.db'}",
        transport=f"file://{tmp_path / 'spool'}",
        registry="tien_giang_2017",
        policy="direct",
        clock=clock,
    )


def test_per_node_workers_deliver_and_answer_over_the_filesystem_transport(tmp_path):
    clock = ManualClock()
    province_side, commune_side = worker(tmp_path, clock), worker(tmp_path, clock)
    document_id = province_side.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="3/UBND-VP")

    assert serve_once(province_side.ctx, PROVINCE).sent == 1  # the relay hands the document to the spool
    taken = serve_once(commune_side.ctx, COMMUNE)  # the commune's worker applies it and answers 01
    assert (taken.intake.applied, taken.sent) == (1, 1)
    assert [row.state for row in commune_side.node(COMMUNE).inbox()] == ["received"]
    assert serve_once(province_side.ctx, PROVINCE).intake.applied == 1
    [delivery] = province_side.node(PROVINCE).deliveries(document_id)
    assert delivery.state == "arrived"

    commune_side.node(COMMUNE).accept(document_id)  # the clerk's status goes out with the next pass
    serve_once(commune_side.ctx, COMMUNE)
    serve_once(province_side.ctx, PROVINCE)
    [delivery] = province_side.node(PROVINCE).deliveries(document_id)
    assert delivery.state == "accepted"
    # nothing is waiting anywhere, and a pass with nothing to do moves nothing
    assert serve_once(commune_side.ctx, COMMUNE).moved == 0
    assert serve_once(province_side.ctx, PROVINCE).moved == 0
    assert province_side.ctx.store.verify_audit().ok


def test_next_due_says_when_a_failed_send_is_tried_again():
    from datetime import timedelta

    from docflow.services import Settings
    from docflow.transports.memory import FaultPlan, MemoryBroker, MemoryTransport

    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time, faults=FaultPlan(outages={COMMUNE: [(0, 1_000)]}))
    net = build_network(
        db="sqlite://",
        transport=MemoryTransport(broker),
        registry="tien_giang_2017",
        policy="direct",
        clock=clock,
        settings=Settings(retry_delay=60.0),
    )
    assert net.next_due() is None
    net.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="4/UBND-VP")
    assert net.run_until_idle().send_failures == 1
    assert net.next_due() == clock.now() + timedelta(seconds=60)
