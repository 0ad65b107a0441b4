"""A 60-second outage under load: 600 deliveries from every commune of a district to the Government Office while
the province (every report's second hop) is down for a minute.  Nothing dies, nothing is lost, nothing doubles:
the sends that met the outage wait (spending no attempt) and go out once it ends.  The figures are printed for
the record (``-s``)."""

from __future__ import annotations

from collections import Counter

from engine_fixtures import GOVERNMENT_OFFICE, PROVINCE, make_network, unsent_outbox

from docflow.domain.clock import ManualClock
from docflow.domain.events import DocumentArrived, DomainEvent, GaveUp, SendFailed
from docflow.transports.memory import FaultPlan, MemoryBroker

REPORTS = 600
OUTAGE = (30.0, 90.0)  # the province is down from t=30 s to t=90 s


def test_a_minute_long_outage_delays_600_deliveries_and_loses_none(tmp_path) -> None:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time, faults=FaultPlan(outages={PROVINCE: [OUTAGE]}))
    net = make_network(f"sqlite:///{tmp_path / 'outage.db'}", clock=clock, broker=broker)
    seen: Counter[str] = Counter()
    arrived: set[str] = set()

    def observe(events: list[DomainEvent]) -> None:
        for event in events:
            seen[type(event).__name__] += 1
            if isinstance(event, DocumentArrived) and event.node == GOVERNMENT_OFFICE:
                assert event.document_id not in arrived, "applied twice"
                arrived.add(event.document_id)
            if isinstance(event, SendFailed):
                assert event.outage and event.attempts == 0  # an outage spends no attempt

    net.ctx.bus.subscribe(observe)
    registry = net.ctx.registry
    communes = [str(c) for d in registry.districts_of(PROVINCE) for c in registry.communes_of(d)]
    sent = []
    for second in range(0, 600):  # ten minutes of virtual time, one report a second for the first 600
        if second < REPORTS:
            sender = net.node(communes[second % len(communes)])
            sent.append(sender.send(recipients=[GOVERNMENT_OFFICE], subject="Báo cáo", code=f"{second + 1}/BC-UBND"))
        net.run_until_idle()
        clock.advance(1)
    for _ in range(10):  # the retries of the last sends that met the outage fall due
        clock.advance(60)
        net.run_until_idle()
    figures = {
        "sent": len(sent),
        "delivered": len(arrived),
        "dead": seen["GaveUp"],
        "retried": seen["SendFailed"],
        "lost": len(sent) - len(arrived),
    }
    print("\n60-second outage of the province:", figures)
    assert figures["delivered"] == REPORTS and figures["dead"] == figures["lost"] == 0
    assert figures["retried"] > 0  # the outage was met
    assert unsent_outbox(net) == 0 and not net.dead()
    assert seen[GaveUp.__name__] == 0
