"""Catalogue: who may send what (``Settings.authorisation``, docflow.services.trust).  A forged sender or relay,
a status from someone who is not a recipient, a recall or update from someone other than the document's sender:
each refused with its rule, the bytes quarantined, a 02 when a document was refused, the node still serving."""

from __future__ import annotations

from pathlib import Path

from hostile_kit import COMMUNE, GOVERNMENT_OFFICE, OTHER_COMMUNE, PROVINCE, Bench, bench

from docflow.domain.envelope import Business, BusinessDocType
from docflow.domain.events import StatusUnmatched
from docflow.domain.status import StatusCode
from docflow.keys import KeyStore
from docflow.services.trust import Authorisation


def sent_and_arrived(node: Bench) -> str:
    document_id = node.net.node(COMMUNE).send(node.draft())
    node.net.run_until_idle()
    return document_id


def test_catalogue_forged_transport_sender(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)  # a genuine signed document, replayed by another commune as if it were the sender
    node.deliver(envelope, body, sender=OTHER_COMMUNE)
    node.refused(
        GOVERNMENT_OFFICE, body, "transport sender", OTHER_COMMUNE, "forged sender",
        document_id=envelope.document_id, owed_to=COMMUNE,
        rule="transport-identity",
    )  # fmt: skip


def test_catalogue_forged_from_against_the_origin_header(node: Bench) -> None:
    envelope = node.draft(sender=OTHER_COMMUNE)
    body = node.signed(envelope)  # validly signed by OTHER_COMMUNE, but announced as coming from COMMUNE
    headers = node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, envelope.document_id)
    node.inject(body, headers, to=GOVERNMENT_OFFICE, sender=COMMUNE)
    node.refused(
        GOVERNMENT_OFFICE, body, f"From {OTHER_COMMUNE} differs from its origin header {COMMUNE}",
        document_id=envelope.document_id, owed_to=COMMUNE,
        rule="sender-origin",
    )  # fmt: skip


def test_catalogue_relay_without_its_trace_header(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)  # the district passes it on without stamping its TraceHeader
    node.deliver(envelope, body, sender=PROVINCE)
    node.refused(
        GOVERNMENT_OFFICE, body, f"relay {PROVINCE}", "without its TraceHeader",
        document_id=envelope.document_id, owed_to=COMMUNE,
        rule="relay-trace",
    )  # fmt: skip


def test_catalogue_status_for_an_unknown_document(node: Bench) -> None:
    about = f"{COMMUNE},2017/10/02,999/UBND"
    body = node.report(GOVERNMENT_OFFICE, COMMUNE, about, StatusCode.ACCEPTED)
    node.refused(COMMUNE, body, "never sent", document_id=about, owed_to=None, rule="status-document")


def test_catalogue_status_from_a_non_recipient(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    body = node.report(OTHER_COMMUNE, COMMUNE, document_id, StatusCode.COMPLETED)
    node.refused(
        COMMUNE,
        body,
        f"{OTHER_COMMUNE}, which is not a recipient",
        document_id=document_id,
        owed_to=None,
        rule="status-party",
    )
    assert {d.state for d in node.net.node(COMMUNE).deliveries(document_id)} == {"arrived"}


def test_catalogue_rejection_reported_by_a_node_off_the_route(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    body = node.report(OTHER_COMMUNE, COMMUNE, document_id, StatusCode.REJECTED, regarding=GOVERNMENT_OFFICE)
    node.refused(
        COMMUNE, body, "not on that delivery's route", document_id=document_id, owed_to=None, rule="status-party"
    )
    assert {d.state for d in node.net.node(COMMUNE).deliveries(document_id)} == {"arrived"}


def test_catalogue_recall_by_someone_else(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    body = node.status_body(OTHER_COMMUNE, document_id, COMMUNE, StatusCode.RECALLED)
    headers = node.routing("status", OTHER_COMMUNE, GOVERNMENT_OFFICE, document_id, status="13", business="1")
    node.inject(body, headers, to=GOVERNMENT_OFFICE, sender=OTHER_COMMUNE, kind="status")
    node.refused(GOVERNMENT_OFFICE, body, f"from {OTHER_COMMUNE}, but its sender is {COMMUNE}", rule="amendment-sender")
    assert node.net.node(GOVERNMENT_OFFICE).amendments(document_id) == []


def test_catalogue_update_by_someone_else(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    envelope = node.draft(
        sender=OTHER_COMMUNE, business=Business(BusinessDocType.UPDATE, document_id=document_id, reason="Sửa số liệu")
    )
    body = node.signed(envelope)
    node.deliver(envelope, body, business="2")
    node.refused(
        GOVERNMENT_OFFICE, body, f"update of {document_id} from {OTHER_COMMUNE}, but its sender is {COMMUNE}",
        document_id=envelope.document_id, owed_to=OTHER_COMMUNE,
        rule="amendment-sender",
    )  # fmt: skip
    assert node.net.node(GOVERNMENT_OFFICE).amendments(document_id) == []


def test_catalogue_answer_to_a_request_never_made(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    body = node.report(GOVERNMENT_OFFICE, COMMUNE, document_id, StatusCode.AGREED, business="1")
    node.refused(COMMUNE, body, "answer 15", "never made", document_id=document_id, owed_to=None, rule="status-party")


def test_catalogue_contradictory_statuses_are_recorded_not_applied(node: Bench) -> None:
    """A recipient that completed a document and then claims to reject it: the delivery stays completed, the
    refused move is in the audit log (a legitimate party's late or confused status is evidence, not an attack)."""
    document_id = sent_and_arrived(node)
    office = node.net.node(GOVERNMENT_OFFICE)
    office.accept(document_id)
    office.start(document_id)
    office.complete(document_id)
    node.net.run_until_idle()
    node.report(GOVERNMENT_OFFICE, COMMUNE, document_id, StatusCode.REJECTED)
    assert {d.state for d in node.net.node(COMMUNE).deliveries(document_id)} == {"completed"}
    refused = [s for s in node.net.trace(document_id) if s.node == COMMUNE and s.kind == "conflict"]
    assert refused and refused[-1].status == "02"
    assert node.quarantined(COMMUNE) == []
    node.still_serving()


def test_catalogue_replayed_old_package_is_absorbed(node: Bench) -> None:
    document_id = sent_and_arrived(node)
    with node.net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, document_id)
    assert stored is not None
    envelope_headers = node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, document_id)
    for _ in range(3):  # the same package again, each time under a new transport message id
        node.inject(stored.envelope, envelope_headers, to=GOVERNMENT_OFFICE, sender=PROVINCE)
    assert [i.document_id for i in node.net.node(GOVERNMENT_OFFICE).inbox()] == [document_id]
    assert node.quarantined(GOVERNMENT_OFFICE) == []
    assert len(node.rejections(document_id, COMMUNE)) == 0
    node.still_serving()


def test_without_authorisation_a_stray_status_is_recorded_as_unmatched(tmp_path: Path, keys: KeyStore) -> None:
    """The setting is per node: here only the Government Office checks, so the commune records the stray status
    (``StatusUnmatched``) as it always did, while the office still refuses a forged sender."""
    open_bench = bench(tmp_path, keys, authorisation=Authorisation(nodes=frozenset({GOVERNMENT_OFFICE})))
    document_id = sent_and_arrived(open_bench)
    open_bench.report(OTHER_COMMUNE, COMMUNE, document_id, StatusCode.COMPLETED)
    unmatched = [s.event for s in open_bench.net.trace(document_id) if isinstance(s.event, StatusUnmatched)]
    assert open_bench.quarantined(COMMUNE) == [] and [e.reporter for e in unmatched] == [OTHER_COMMUNE]
    envelope = open_bench.draft()
    body = open_bench.signed(envelope)
    open_bench.deliver(envelope, body, sender=OTHER_COMMUNE)
    open_bench.refused(
        GOVERNMENT_OFFICE,
        body,
        "forged sender",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="transport-identity",
    )
