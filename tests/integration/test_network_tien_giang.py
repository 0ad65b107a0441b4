"""Tiền Giang end to end: a provincial directive to all 11 districts and 173 communes, the clerks' answers
flowing back, and a commune's report climbing to the Government Office under both multi-hop policies.

One module-scoped scenario (the broadcast is the expensive part) on a SQLite file; each test checks one
aspect of its outcome through the public API and the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from engine_fixtures import (
    COMMUNE,
    DISTRICT,
    GOVERNMENT_OFFICE,
    NATIONAL_AXIS,
    PROVINCE,
    PROVINCIAL_HUB,
    delivery_states,
    districts_and_communes,
    event_counts,
    label,
    make_network,
    sqlite_url,
    status_counts,
    unsent_outbox,
)

from docflow.domain.clock import ManualClock
from docflow.domain.events import StateChanged
from docflow.services import Activity, Network
from docflow.xml import read_envelope

REJECT_REASON = "Văn bản gửi sai thẩm quyền xử lý"


@dataclass
class Directive:
    net: Network
    document_id: str
    districts: list[str]
    communes: list[str]
    broadcast: Activity
    after_broadcast: dict[str, str]  # recipient -> delivery state once the broadcast settled
    inbound_after_broadcast: dict[str, str]  # recipient -> its inbound state then
    processed: list[str]  # recipients whose clerks went 03 → 04 → 05 → 06
    rejecter: str


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def directive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Directive:
    """The broadcast, run once per backend: a SQLite file, and the private PostgreSQL schema (skipped where
    DOCFLOW_TEST_POSTGRES_URL is unset)."""
    if request.param == "sqlite":
        db = sqlite_url(tmp_path_factory.mktemp("tien_giang"))
    else:
        from store_backends import empty_postgres_store

        db = request.getfixturevalue("pg_store_url")
        empty_postgres_store(db).close()
    clock = ManualClock()
    net = make_network(db, clock=clock)
    districts, communes = districts_and_communes(net)
    province = net.node(PROVINCE)
    document_id = province.send(
        recipients=[*districts, *communes],
        subject="Chỉ thị về tăng cường công tác phòng, chống thiên tai năm 2017",
        code="12/CT-UBND",
        content="Yêu cầu các huyện, xã triển khai ngay.",
    )
    broadcast = net.run_until_idle()
    after = delivery_states(net, PROVINCE, document_id)
    inbound_after = {}
    for recipient in [*districts, *communes]:
        [copy] = [r for r in net.node(recipient).inbox() if r.document_id == document_id]
        inbound_after[recipient] = str(copy.state)

    clock.advance(3600)
    # one district and a commune of three different districts do the whole job
    processed = [districts[0], *(net.ctx.registry.communes_of(d)[0] for d in districts[1:4])]
    processed = [str(r) for r in processed]
    for recipient in processed:
        node = net.node(recipient)
        assert node.accept(document_id) == "accepted"
        assert node.assign(document_id, "Phòng Nội vụ") == "assigned"
        assert node.start(document_id) == "processing"
        assert node.complete(document_id) == "completed"
    rejecter = communes[-1]
    assert net.node(rejecter).reject(document_id, REJECT_REASON) == "rejected"
    net.run_until_idle()
    return Directive(net, document_id, districts, communes, broadcast, after, inbound_after, processed, rejecter)


def test_the_directive_reaches_all_184_recipients_once(directive: Directive) -> None:
    recipients = [*directive.districts, *directive.communes]
    assert len(directive.districts) == 11
    assert len(directive.communes) == 173
    assert len(set(recipients)) == 184
    assert directive.after_broadcast == dict.fromkeys(recipients, "arrived")
    assert directive.inbound_after_broadcast == dict.fromkeys(recipients, "received")
    intake = directive.broadcast.intake
    assert (intake.duplicates, intake.quarantined, intake.conflicts) == (0, 0, 0)
    with directive.net.ctx.store.snapshot() as repo:
        assert repo.count("deliveries", node=PROVINCE) == 184
        for recipient in recipients:
            stored = repo.documents.get(recipient, directive.document_id)
            assert stored is not None and stored.sender == PROVINCE
    assert event_counts(directive.net, directive.document_id, "arrived") == dict.fromkeys(recipients, 1)


def test_exactly_one_arrival_status_per_recipient_is_recorded_at_the_province(directive: Directive) -> None:
    counts = status_counts(directive.net, PROVINCE, directive.document_id, "01")
    assert counts == dict.fromkeys([*directive.districts, *directive.communes], 1)


def test_the_clerks_path_03_to_06_completes_the_delivery(directive: Directive) -> None:
    states = delivery_states(directive.net, PROVINCE, directive.document_id)
    for recipient in directive.processed:
        assert states[recipient] == "completed"
        [copy] = [r for r in directive.net.node(recipient).inbox() if r.document_id == directive.document_id]
        assert copy.state == "completed"
    for code in ("03", "04", "05", "06"):
        counts = status_counts(directive.net, PROVINCE, directive.document_id, code)
        assert counts == dict.fromkeys(directive.processed, 1), code
    untouched = set(states) - set(directive.processed) - {directive.rejecter}
    assert {states[r] for r in untouched} == {"arrived"}


def test_a_reject_carries_its_reason_back_to_the_sender(directive: Directive) -> None:
    net, document_id = directive.net, directive.document_id
    assert delivery_states(net, PROVINCE, document_id)[directive.rejecter] == "rejected"
    found = [
        s.event
        for s in net.trace(document_id)
        if s.node == PROVINCE
        and isinstance(s.event, StateChanged)
        and s.status == "02"
        and s.event.party == directive.rejecter
    ]
    assert len(found) == 1
    assert found[0].description == REJECT_REASON
    assert (found[0].old, found[0].new) == ("arrived", "rejected")


def test_trace_lists_a_communes_hops_and_statuses_in_order(directive: Directive) -> None:
    net, document_id = directive.net, directive.document_id
    commune = directive.processed[1]
    district = str(net.ctx.registry.parent(commune))
    # a forwarded status names its destination (the province); its first hop names the commune as "from"
    steps = [
        s
        for s in net.trace(document_id)
        if (s.recipient == commune and s.node in (PROVINCE, district, commune) and s.kind != "moved")
        or (s.kind == "moved" and s.node == PROVINCE and s.recipient == commune)
        or (s.kind == "moved" and s.node == commune)
        or (s.kind == "forwarded" and s.detail.get("came_from") == commune)
    ]
    assert [(s.node, label(s), s.status) for s in steps] == [
        (PROVINCE, "sent", ""),
        (district, "forwarded", ""),
        (commune, "arrived", "01"),
        (district, "forwarded", "01"),
        (PROVINCE, "delivery:arrive", "01"),
        (commune, "inbound:accept", "03"),
        (commune, "inbound:assign", "04"),
        (commune, "inbound:process", "05"),
        (commune, "inbound:complete", "06"),
        (district, "forwarded", "03"),
        (district, "forwarded", "04"),
        (district, "forwarded", "05"),
        (district, "forwarded", "06"),
        (PROVINCE, "delivery:accept", "03"),
        (PROVINCE, "delivery:assign", "04"),
        (PROVINCE, "delivery:process", "05"),
        (PROVINCE, "delivery:complete", "06"),
    ]
    times = [s.at for s in net.trace(document_id)]
    assert times == sorted(times)


def test_everything_was_sent_and_the_audit_chain_verifies(directive: Directive) -> None:
    assert unsent_outbox(directive.net) == 0
    report = directive.net.ctx.store.verify_audit()
    assert report.ok, str(report)
    assert report.chains_checked >= 185  # the province and every recipient (districts forward too)


# -- a commune reports to the Government Office --------------------------------------------------------

ROUTES = {
    "hierarchical": [COMMUNE, DISTRICT, PROVINCE],
    "hub": [COMMUNE, PROVINCIAL_HUB, NATIONAL_AXIS],
}


@pytest.mark.parametrize("policy", sorted(ROUTES))
def test_a_communes_report_reaches_the_government_office_with_one_trace_header_per_hop(
    engine_db: str, policy: str
) -> None:
    clock = ManualClock()
    net = make_network(engine_db, policy=policy, clock=clock)
    commune = net.node(COMMUNE)
    document_id = commune.send(
        recipients=[GOVERNMENT_OFFICE],
        subject="Báo cáo tình hình thiệt hại do bão số 10",
        code="45/BC-UBND",
        content="Kính gửi Văn phòng Chính phủ.",
    )
    net.run_until_idle()
    clock.advance(60)
    assert net.node(GOVERNMENT_OFFICE).accept(document_id) == "accepted"
    net.run_until_idle()

    with net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, document_id)
    assert stored is not None
    envelope = read_envelope(stored.envelope)
    assert [str(t.organ_id) for t in envelope.trace] == ROUTES[policy]
    stamps = [t.timestamp for t in envelope.trace]
    assert stamps == sorted(stamps)

    assert delivery_states(net, COMMUNE, document_id) == {GOVERNMENT_OFFICE: "accepted"}
    via = ROUTES[policy][1:]
    steps = [(s.node, label(s), s.status) for s in net.trace(document_id)]
    assert steps == [
        (COMMUNE, "sent", ""),
        *((hop, "forwarded", "") for hop in via),
        (GOVERNMENT_OFFICE, "arrived", "01"),
        *((hop, "forwarded", "01") for hop in reversed(via)),
        (COMMUNE, "delivery:arrive", "01"),
        (GOVERNMENT_OFFICE, "inbound:accept", "03"),
        *((hop, "forwarded", "03") for hop in reversed(via)),
        (COMMUNE, "delivery:accept", "03"),
    ]
    assert net.ctx.store.verify_audit().ok
