"""Recall, update and replacement end to end, under each routing policy: the sender's request (13, or a
business type 2/3 envelope), the receiver's answer (15 agree / 16 refuse) and what each side ends with.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from engine_fixtures import COMMUNE, PROVINCE, delivery_states, make_network, status_counts

from docflow.domain.clock import ManualClock
from docflow.domain.envelope import BusinessDocType, Envelope
from docflow.errors import RegistryError
from docflow.services import Network, Node
from docflow.xml import read_envelope

POLICIES = ["direct", "hierarchical", "hub"]


@dataclass
class Pair:
    net: Network
    clock: ManualClock
    sender: Node
    receiver: Node
    document_id: str

    def run(self) -> None:
        self.clock.advance(60)
        self.net.run_until_idle()

    def delivery(self, document_id: str | None = None) -> str:
        return delivery_states(self.net, self.sender.code, document_id or self.document_id)[self.receiver.code]

    def inbound(self, document_id: str | None = None, business: int = 0) -> str:
        wanted = document_id or self.document_id
        [copy] = [r for r in self.receiver.inbox() if r.document_id == wanted and r.business_type == business]
        return str(copy.state)


def open_pair(db: str, policy: str) -> Pair:
    clock = ManualClock()
    net = make_network(db, policy=policy, clock=clock)
    sender, receiver = net.node(PROVINCE), net.node(COMMUNE)
    document_id = sender.send(
        recipients=[COMMUNE], subject="Kế hoạch phòng chống dịch", code="101/KH-UBND", content="Nội dung"
    )
    pair = Pair(net, clock, sender, receiver, document_id)
    pair.run()
    assert pair.delivery() == "arrived"
    return pair


def processing(db: str, policy: str) -> Pair:
    pair = open_pair(db, policy)
    assert pair.receiver.accept(pair.document_id) == "accepted"
    assert pair.receiver.start(pair.document_id) == "processing"
    pair.run()
    assert pair.delivery() == "processing"
    return pair


@pytest.mark.parametrize("policy", POLICIES)
def test_an_agreed_recall_revokes_a_document_being_processed(engine_db: str, policy: str) -> None:
    pair = processing(engine_db, policy)
    assert pair.sender.recall(pair.document_id, "Văn bản ban hành nhầm") == 1
    pair.run()
    [request] = pair.receiver.amendments(pair.document_id)
    assert (request.business_type, request.state, request.reason) == (1, "requested", "Văn bản ban hành nhầm")
    assert pair.inbound() == "processing"  # a request changes nothing until it is answered

    assert pair.receiver.agree(pair.document_id) == "agreed"
    pair.run()
    assert pair.inbound() == "revoked"
    [mine] = pair.sender.amendments(pair.document_id)
    assert (mine.recipient, mine.business_type, mine.state) == (COMMUNE, 1, "agreed")
    assert pair.delivery() == "revoked"
    assert status_counts(pair.net, PROVINCE, pair.document_id, "15") == {COMMUNE: 1}
    assert pair.net.ctx.store.verify_audit().ok


@pytest.mark.parametrize("policy", POLICIES)
def test_a_refused_recall_leaves_the_delivery_where_it_was(engine_db: str, policy: str) -> None:
    pair = processing(engine_db, policy)
    pair.sender.recall(pair.document_id, "Đề nghị thu hồi")
    pair.run()
    assert pair.receiver.refuse(pair.document_id, reason="Đã triển khai") == "refused"
    pair.run()
    assert pair.inbound() == "processing"
    assert pair.delivery() == "processing"
    [mine] = pair.sender.amendments(pair.document_id)
    assert mine.state == "refused"
    [theirs] = pair.receiver.amendments(pair.document_id)
    assert theirs.state == "refused"
    # the receiver carries on, and its statuses still move the delivery
    assert pair.receiver.complete(pair.document_id) == "completed"
    pair.run()
    assert pair.delivery() == "completed"


def test_a_recall_can_be_renewed_after_a_refusal(engine_db: str) -> None:
    """``lifecycle/tables.py``: "A renewed request after a refusal is a new amendment record"."""
    pair = processing(engine_db, "hierarchical")
    pair.sender.recall(pair.document_id, "Lần 1")
    pair.run()
    pair.receiver.refuse(pair.document_id)
    pair.run()
    assert pair.sender.recall(pair.document_id, "Lần 2: văn bản đã bị bãi bỏ") == 1
    pair.run()
    assert pair.receiver.agree(pair.document_id) == "agreed"
    pair.run()
    assert pair.delivery() == "revoked"
    assert pair.inbound() == "revoked"


def amendment_envelope(pair: Pair, code: str, subject: str) -> Envelope:
    return pair.sender.draft([COMMUNE], subject=subject, code=code, content="Nội dung đã sửa")


@pytest.mark.parametrize("policy", POLICIES)
def test_an_update_travels_and_its_agreement_keeps_the_original_open(engine_db: str, policy: str) -> None:
    pair = open_pair(engine_db, policy)
    pair.receiver.accept(pair.document_id)
    pair.run()
    update_id = pair.sender.update(
        pair.document_id, amendment_envelope(pair, "102/KH-UBND", "Kế hoạch (cập nhật)"), "Bổ sung phụ lục"
    )
    assert update_id != pair.document_id
    pair.run()

    with pair.net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(COMMUNE, update_id, int(BusinessDocType.UPDATE))
    assert stored is not None
    envelope = read_envelope(stored.envelope)
    assert envelope.business.doc_type is BusinessDocType.UPDATE
    assert envelope.business.document_id == pair.document_id
    assert envelope.business.reason == "Bổ sung phụ lục"
    assert pair.inbound(update_id, business=2) == "received"
    assert pair.delivery(update_id) == "arrived"
    [request] = pair.receiver.amendments(pair.document_id)
    assert (request.business_type, request.state, request.amending_document_id) == (2, "requested", update_id)

    assert pair.receiver.agree(pair.document_id, kind=BusinessDocType.UPDATE) == "agreed"
    pair.run()
    [mine] = pair.sender.amendments(pair.document_id)
    assert (mine.business_type, mine.state, mine.amending_document_id) == (2, "agreed", update_id)
    assert pair.delivery() == "accepted"  # an update keeps the original where it was
    assert pair.inbound() == "accepted"


@pytest.mark.parametrize("policy", POLICIES)
def test_an_agreed_replacement_closes_the_original(engine_db: str, policy: str) -> None:
    pair = processing(engine_db, policy)
    replacement_id = pair.sender.replace(
        pair.document_id, amendment_envelope(pair, "103/KH-UBND", "Kế hoạch (thay thế)"), "Thay thế toàn bộ"
    )
    pair.run()
    assert pair.delivery(replacement_id) == "arrived"
    assert pair.receiver.agree(pair.document_id, kind=BusinessDocType.REPLACE) == "agreed"
    pair.run()
    assert pair.delivery() == "replaced"
    assert pair.inbound() == "replaced"
    assert pair.inbound(replacement_id, business=3) == "received"
    [mine] = pair.sender.amendments(pair.document_id)
    assert (mine.business_type, mine.state) == (3, "agreed")
    assert pair.net.ctx.store.verify_audit().ok


def test_a_second_update_of_the_same_document_is_delivered_too(engine_db: str) -> None:
    pair = open_pair(engine_db, "hierarchical")
    first = pair.sender.update(pair.document_id, amendment_envelope(pair, "104/KH-UBND", "Cập nhật 1"), "Lần 1")
    pair.run()
    second = pair.sender.update(pair.document_id, amendment_envelope(pair, "105/KH-UBND", "Cập nhật 2"), "Lần 2")
    pair.run()  # must not wedge the receiver's queue
    assert pair.delivery(first) == "arrived"
    assert pair.delivery(second) == "arrived"
    assert pair.inbound(second, business=2) == "received"
    # and whatever the receiver made of it, the next ordinary document still gets through
    later = pair.sender.send(recipients=[COMMUNE], subject="Giấy mời họp", code="106/GM-UBND")
    pair.run()
    assert pair.delivery(later) == "arrived"
    assert pair.net.ctx.transport.pending(COMMUNE) == 0


def test_a_recall_of_a_document_never_sent_is_refused(engine_db: str) -> None:
    pair = open_pair(engine_db, "direct")
    with pytest.raises(RegistryError):
        pair.sender.recall("000.00.00.H58,2017/10/02,999/CV-UBND", "không có")
    with pytest.raises(RegistryError):
        pair.receiver.agree(pair.document_id)  # nothing was asked
