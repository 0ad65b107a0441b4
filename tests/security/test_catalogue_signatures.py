"""Catalogue: signatures in the engine.  Senders sign on send, forwarding hops only stamp TraceHeaders (the
signature stays valid), the final recipient verifies; a missing, bad, wrapped, legacy or unknown signature is
quarantined with its rule and the sender hears a 02 (docs/security.md, "Hostile-input catalogue")."""

from __future__ import annotations

from datetime import datetime

from hostile_kit import COMMUNE, GOVERNMENT_OFFICE, OTHER_COMMUNE, Bench
from lxml import etree

from docflow.errors import SignatureMismatchError
from docflow.keys import KeyStore
from docflow.xml import write_envelope
from docflow.xml.hop import read_hop
from docflow.xml.signing import VerifyPolicy, verify_message

DS = "http://www.w3.org/2000/09/xmldsig#"


def test_a_signed_document_crosses_three_hops_and_is_verified_at_the_recipient(node: Bench) -> None:
    document_id = node.net.node(COMMUNE).send(node.draft())
    node.net.run_until_idle()
    with node.net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, document_id)
    assert stored is not None
    assert b"<ds:Signature" in stored.envelope and stored.envelope.count(b"<TraceHeader>") == 3  # sender + 2 hops
    verified = verify_message(stored.envelope, node.keys.certificate)
    assert verified is not None and verified.signer == COMMUNE and len(verified.trace) == 3
    assert node.quarantined(GOVERNMENT_OFFICE) == []
    assert {d.state for d in node.net.node(COMMUNE).deliveries(document_id)} == {"arrived"}


def test_stamping_a_trace_header_and_serialising_keeps_the_signature_valid(node: Bench, keys: KeyStore) -> None:
    body = node.signed(node.draft())
    hop = read_hop(body, expect="document")
    for organ in ("000.00.50.H58", "000.00.00.H58"):
        hop.stamp(organ, datetime(2026, 11, 29, 9, 30))
        hop = read_hop(hop.to_bytes(), expect="document")
    verified = hop.verify(keys.certificate, VerifyPolicy())
    assert verified is not None and [str(t.organ_id) for t in verified.trace][-2:] == ["000.00.50.H58", "000.00.00.H58"]


def test_keys_are_read_once_and_cached(node: Bench, keys: KeyStore) -> None:
    signing = node.net.ctx.signing
    assert signing is not None and signing.keys is keys
    node.net.node(COMMUNE).send(node.draft())
    first = keys.key_pair(COMMUNE)
    node.net.node(COMMUNE).send(node.draft())
    assert keys.key_pair(COMMUNE) is first and signing.can_sign(COMMUNE)


def test_catalogue_missing_signature(node: Bench) -> None:
    envelope = node.draft()
    body = write_envelope(envelope)
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "no signature",
        "required",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="signature-required",
    )


def test_catalogue_body_changed_after_signing(node: Bench) -> None:
    envelope = node.draft(content="Số liệu đúng")
    body = node.signed(envelope).replace("Số liệu đúng".encode(), "Số liệu sai".encode())
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "changed after",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="signature-digest",
    )


def test_catalogue_signed_with_another_organisations_key(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope, signer=OTHER_COMMUNE)  # the certificate in KeyInfo is not the one verified against
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "does not verify",
        COMMUNE,
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="signature-value",
    )


def test_catalogue_wrapped_two_signatures(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    root = etree.fromstring(body)
    signature = root.find(f".//{{{DS}}}Signature")
    assert signature is not None
    signature.addnext(etree.fromstring(etree.tostring(signature)))
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE, body, "Signature[2]", "not expected", document_id=envelope.document_id, owed_to=COMMUNE
    )


def test_catalogue_wrapped_signature_over_another_element(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    reference = b'<ds:Reference URI="">'
    assert reference in body
    body = body.replace(reference, b'<ds:Reference URI="#other">')
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "wrapping",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="signature-reference",
    )


def test_catalogue_content_hidden_in_a_trace_entry(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    root = etree.fromstring(body)
    ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    entry = root.find(f".//{{{ns}}}TraceHeader/{{{ns}}}OrganId")
    assert entry is not None
    etree.SubElement(entry, f"{{{ns}}}Subject").text = "Nội dung giả"
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    node.deliver(envelope, body)
    node.refused(GOVERNMENT_OFFICE, body, "TraceHeader/OrganId", document_id=envelope.document_id, owed_to=COMMUNE)


def test_catalogue_legacy_sha1_signature_refused_by_default(node: Bench, keys: KeyStore) -> None:
    import signxml

    envelope = node.draft()
    pair = keys.key_pair(COMMUNE)
    root = etree.fromstring(write_envelope(envelope))

    class Legacy(signxml.XMLSigner):
        def check_deprecated_methods(self) -> None:  # signxml refuses to *make* SHA-1 signatures otherwise
            pass

    signer = Legacy(signature_algorithm="rsa-sha1", digest_algorithm="sha1")
    signed = signer.sign(root, key=pair.private_key, cert=[pair.certificate])
    header = signed.find(".//{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXMLHeader")
    signature = signed.find(f"{{{DS}}}Signature")
    assert header is not None and signature is not None
    header.append(signature)
    body = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    node.deliver(envelope, body)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "rsa-sha1",
        "allow_legacy_sha1",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="signature-algorithm",
    )


def test_catalogue_sender_without_a_certificate(node: Bench) -> None:
    stranger = "000.22.50.H58"  # a commune of the registry that the key store holds nothing for
    envelope = node.draft(sender=stranger)
    body = write_envelope(envelope)
    node.deliver(envelope, body)  # unsigned: refused before any certificate is needed
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "signature",
        document_id=envelope.document_id,
        owed_to=stranger,
        rule="signature-required",
    )


def test_a_signature_mismatch_is_a_signature_error_before_the_engine(node: Bench, keys: KeyStore) -> None:
    body = node.signed(node.draft(content="A")).replace(b"<Content>A</Content>", b"<Content>B</Content>")
    try:
        verify_message(body, keys.certificate)
    except SignatureMismatchError as exc:
        assert exc.rule == "signature-digest"
    else:  # pragma: no cover - the check above must fail
        raise AssertionError("altered content verified")
