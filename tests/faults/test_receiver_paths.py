"""The receiver's error paths, each driven through the engine: poison messages, statuses that match nothing or
conflict, an amendment whose effect conflicts, bounded columns, a refused copy before the good one, a recall
that overtakes its document, and routes that lead outside the registry.  SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from engine_fixtures import COMMUNE, DISTRICT, PROVINCE, delivery_states, label, make_network

from docflow.domain.clock import ManualClock
from docflow.domain.events import MoveRefused, Quarantined, StatusUnmatched
from docflow.domain.status import StatusCode
from docflow.errors import DuplicateError, RegistryError, StoreError, ValidationError
from docflow.services import Network
from docflow.services.outgoing import document_routing, status_row
from docflow.services.wire import EDOC
from docflow.store.repos.documents import DocumentRepo
from docflow.transports.base import Message
from docflow.transports.memory import MemoryBroker, MemoryTransport
from docflow.xml import write_envelope


def network(db: str, *, policy: str = "hierarchical") -> tuple[Network, MemoryBroker, ManualClock]:
    clock = ManualClock()
    broker = MemoryBroker(clock=clock.time)
    return make_network(db, clock=clock, broker=broker, policy=policy), broker, clock


def inject(net: Network, broker: MemoryBroker, *messages: Message) -> None:
    """Put raw messages on the wire, as a faulty or hostile peer would, and let the network take them."""
    wire = MemoryTransport(broker)
    for message in messages:
        wire.send(message)
    net.notify({m.recipient for m in messages})
    net.run_until_idle()


def document_message(net: Network, sender: str, recipient: str, code: str, **headers: str) -> Message:
    """A document from ``sender`` to ``recipient`` as its first hop would carry it straight to ``recipient``."""
    envelope = net.node(sender).draft([recipient], subject="Công văn", code=code)
    routing = document_routing(net.ctx, sender, recipient, envelope.document_id, 0)
    routed = {**routing.headers(), "route": f"direct:{sender};{recipient}", **headers}
    return Message(f"raw-{code}", sender, recipient, EDOC, write_envelope(envelope), routed)


def events_of(net: Network, kind: type) -> list:
    with net.ctx.store.snapshot() as repo:
        rows = repo.conn.exec_driver_sql("SELECT DISTINCT document_id FROM events").all()
    return [s.event for (document_id,) in rows for s in net.trace(document_id) if isinstance(s.event, kind)]


# -- a message that cannot be applied is quarantined and never blocks the queue ------------------------


def test_a_poison_message_is_quarantined_alone_and_the_rest_of_its_batch_is_applied(
    engine_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, broker, _ = network(engine_db, policy="direct")
    poison = document_message(net, PROVINCE, COMMUNE, "1/CV-UBND")
    good = document_message(net, PROVINCE, COMMUNE, "2/CV-UBND")
    real = DocumentRepo.add

    def refusing(self: DocumentRepo, doc):  # type: ignore[no-untyped-def]
        if doc.document_id.endswith("1/CV-UBND"):
            raise StoreError("value too long for type character varying(255) (injected, every time)")
        return real(self, doc)

    monkeypatch.setattr(DocumentRepo, "add", refusing)
    inject(net, broker, poison, good)
    for _ in range(3):  # redeliveries of the poison message change nothing: it is not on the queue any more
        net.notify([COMMUNE])
        net.run_until_idle()
    assert [r.document_id for r in net.node(COMMUNE).inbox()] == [good.headers["document"]]
    [entry] = net.quarantine(COMMUNE)
    assert entry.reason.startswith("could not be applied: ") and "injected" in entry.reason
    assert entry.body == poison.body and broker.pending(COMMUNE) == 0


# -- bounded columns: refused at the edge, quarantined on receipt, never a stuck queue ---------------------


@pytest.mark.parametrize(
    ("header", "value", "why"),
    [
        ("document", "000.00.00.H58,2017/10/02," + "9" * 320 + "/CV", "longer than 255 characters"),
        ("document", "000.00.00.H58,2017/10/02,1/C\x00V", "control character"),
        ("origin", "000.00.00.H58\x00", "is not an OrganId"),
    ],
    ids=["long-document-id", "nul-in-document-id", "nul-in-origin"],
)
def test_a_header_that_would_not_fit_the_store_is_quarantined_and_the_queue_goes_on(
    engine_db: str, header: str, value: str, why: str
) -> None:
    net, broker, _ = network(engine_db, policy="direct")
    bad = document_message(net, PROVINCE, COMMUNE, "3/CV-UBND", **{header: value})
    good = document_message(net, PROVINCE, COMMUNE, "4/CV-UBND")
    inject(net, broker, bad, good)
    assert [r.document_id for r in net.node(COMMUNE).inbox()] == [good.headers["document"]]
    [entry] = net.quarantine(COMMUNE)
    assert why in entry.reason and entry.body == bad.body
    assert broker.pending(COMMUNE) == 0


def test_a_document_id_too_long_to_store_is_refused_when_sending(engine_db: str) -> None:
    net, _, _ = network(engine_db)
    with pytest.raises(ValidationError, match="more than the 255 docflow stores") as caught:
        net.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="1" * 300 + "/CV-UBND")
    assert caught.value.violations[0].rule == "document-id-length"
    with net.ctx.store.snapshot() as repo:
        assert repo.count("documents") == repo.count("outbox") == 0


# -- only an applied message marks its identity as seen --------------------------------------------------


def test_a_refused_truncated_copy_does_not_hide_the_good_one(engine_db: str) -> None:
    net, broker, _ = network(engine_db, policy="direct")
    good = document_message(net, PROVINCE, COMMUNE, "5/CV-UBND")
    truncated = Message(
        "raw-cut", good.sender, good.recipient, good.kind, good.body[: len(good.body) // 2], good.headers
    )
    inject(net, broker, truncated)
    assert net.node(COMMUNE).inbox() == [] and len(net.quarantine(COMMUNE)) == 1
    inject(net, broker, good)
    [copy] = net.node(COMMUNE).inbox()
    assert copy.document_id == good.headers["document"] and copy.state == "received"
    steps = [label(s) for s in net.trace(copy.document_id) if s.node == COMMUNE]
    assert steps == ["quarantined", "arrived"]


# -- statuses that change nothing are recorded, not lost -------------------------------------------------


def test_a_status_about_a_document_never_sent_is_recorded_as_unmatched(engine_db: str) -> None:
    net, broker, clock = network(engine_db, policy="direct")
    row = status_row(
        net.ctx,
        COMMUNE,
        about=f"{PROVINCE},2017/10/02,99/CV-UBND",
        original_sender=PROVINCE,
        to=PROVINCE,
        code=StatusCode.ACCEPTED,
        now=clock.now(),
    )
    inject(net, broker, Message(row.message_id, COMMUNE, PROVINCE, row.kind, row.body, row.headers))
    [unmatched] = events_of(net, StatusUnmatched)
    assert (unmatched.node, unmatched.reporter, unmatched.status) == (PROVINCE, COMMUNE, "03")


def test_a_status_that_contradicts_the_delivery_is_recorded_as_refused(engine_db: str) -> None:
    net, broker, clock = network(engine_db, policy="direct")
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="6/CV-UBND")
    net.run_until_idle()
    net.node(COMMUNE).reject(document_id, "Không thuộc thẩm quyền")
    net.run_until_idle()
    late = status_row(  # a 03 after the 02: a conflict the lifecycle refuses
        net.ctx,
        COMMUNE,
        about=document_id,
        original_sender=PROVINCE,
        to=PROVINCE,
        code=StatusCode.ACCEPTED,
        now=clock.now(),
    )
    inject(net, broker, Message("late-03", COMMUNE, PROVINCE, late.kind, late.body, late.headers))
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "rejected"}
    [refused] = events_of(net, MoveRefused)
    assert (refused.lifecycle, refused.event, refused.state, refused.status) == ("delivery", "accept", "rejected", "03")


def test_an_agreed_recall_of_a_finished_delivery_is_recorded_as_a_conflict(engine_db: str) -> None:
    net, _, _ = network(engine_db, policy="direct")
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="7/CV-UBND")
    net.run_until_idle()
    commune = net.node(COMMUNE)
    net.node(PROVINCE).recall(document_id, "Ban hành nhầm")
    net.run_until_idle()
    commune.accept(document_id)
    commune.complete(document_id)  # the statuses 03 and 06 reach the province before the 15
    net.run_until_idle()
    assert commune.agree(document_id) == "agreed"  # the answer is recorded and sent back ...
    net.run_until_idle()
    # ... but a completed copy and a completed delivery cannot be revoked: both sides record the conflict
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "completed"}
    assert [r.state for r in commune.inbox()] == ["completed"]
    refused = {(e.node, e.lifecycle, e.event, e.state, e.by) for e in events_of(net, MoveRefused)}
    assert refused == {
        (COMMUNE, "inbound", "revoke", "completed", "amendment"),
        (PROVINCE, "delivery", "revoke", "completed", "amendment"),
    }
    assert [a.state for a in net.node(PROVINCE).amendments(document_id)] == ["agreed"]


# -- a recall that overtakes its document -----------------------------------------------------------------


class HoldingTransport(MemoryTransport):
    """Holds documents for ``recipient`` until ``release`` (a slow link for documents, a fast one for statuses)."""

    def __init__(self, broker: MemoryBroker, recipient: str) -> None:
        super().__init__(broker)
        self.recipient, self.held, self.holding = recipient, list[Message](), True

    def send(self, message: Message) -> None:
        if self.holding and message.kind == EDOC and message.recipient == self.recipient:
            self.held.append(message)
            return
        super().send(message)

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            super().send(message)


def test_a_recall_agreed_before_its_document_arrives_ends_revoked_on_both_sides(engine_db: str) -> None:
    clock = ManualClock()
    wire = HoldingTransport(MemoryBroker(clock=clock.time), COMMUNE)
    net = make_network(engine_db, clock=clock, transport=wire, policy="direct")
    document_id = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Quyết định", code="8/QĐ-UBND")
    net.run_until_idle()
    assert len(wire.held) == 1
    net.node(PROVINCE).recall(document_id, "Ban hành nhầm")
    net.run_until_idle()
    assert net.node(COMMUNE).agree(document_id) == "agreed"  # the 13 came first; the clerk agrees at once
    net.run_until_idle()
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "revoked"}
    wire.release()
    net.notify([COMMUNE])
    net.run_until_idle()
    [copy] = net.node(COMMUNE).inbox()
    assert copy.state == "revoked"  # the agreed recall takes effect when the document lands
    assert delivery_states(net, PROVINCE, document_id) == {COMMUNE: "revoked"}
    assert [a.state for a in net.node(PROVINCE).amendments(document_id)] == ["agreed"]
    assert [a.state for a in net.node(COMMUNE).amendments(document_id)] == ["agreed"]


# -- routes that lead outside the registry ---------------------------------------------------------------


def test_a_direct_send_to_an_agency_outside_the_registry_is_refused(engine_db: str) -> None:
    net, _, _ = network(engine_db, policy="direct")
    with pytest.raises(RegistryError, match="not in the registry"):
        net.node(PROVINCE).send(recipients=["000.00.99.H58"], subject="Công văn", code="9/CV-UBND")
    with net.ctx.store.snapshot() as repo:
        assert repo.count("documents") == repo.count("deliveries") == 0


def test_a_hop_refuses_a_route_header_that_leads_outside_the_registry(engine_db: str) -> None:
    net, broker, _ = network(engine_db)
    message = document_message(net, PROVINCE, COMMUNE, "10/CV-UBND")
    forged = {**message.headers, "route": f"hierarchical:{PROVINCE};{DISTRICT};000.00.99.H77;{COMMUNE}"}
    inject(net, broker, Message("forged-route", PROVINCE, DISTRICT, EDOC, message.body, forged))
    [entry] = net.quarantine(DISTRICT)
    assert "next hop 000.00.99.H77" in entry.reason and "not a known agency" in entry.reason
    assert broker.pending("000.00.99.H77") == 0 and net.node(COMMUNE).inbox() == []
    rejections = [s for s in net.trace(message.headers["document"]) if s.node == DISTRICT]
    assert [label(s) for s in rejections] == ["quarantined"]
    assert isinstance(rejections[0].event, Quarantined)


def test_sending_a_document_id_twice_says_what_to_do(engine_db: str) -> None:
    net, _, _ = network(engine_db)
    first = net.node(PROVINCE).send(recipients=[COMMUNE], subject="Chỉ thị", code="12/CT-UBND")
    net.run_until_idle()
    with pytest.raises(DuplicateError, match=r"already sent .*12/CT-UBND: .* a new document needs its own number"):
        net.node(PROVINCE).send(recipients=[COMMUNE], subject="Chỉ thị", code="12/CT-UBND")
    assert [d.state for d in net.node(PROVINCE).deliveries(first)] == ["arrived"]  # nothing else moved


def test_a_document_its_receivers_would_refuse_is_refused_when_sending(engine_db: str) -> None:
    net, _, _ = network(engine_db)
    with pytest.raises(ValidationError) as caught:
        net.node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn", code="13/CV-UBND", content="x" * 501)
    [violation] = caught.value.violations
    assert violation.path.endswith("/Content") and "13/CV-UBND" in str(caught.value)
    with net.ctx.store.snapshot() as repo:
        assert repo.count("documents") == repo.count("outbox") == 0
