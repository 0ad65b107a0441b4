"""XML-DSig signatures over edXML: sign on send, verify on receipt, and every way a signature is refused."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import pytest
import signxml
from lxml import etree

from docflow.errors import (
    MissingSignatureError,
    SignatureAlgorithmError,
    SignatureError,
    SignatureMismatchError,
    UnknownSignerError,
    WrappedSignatureError,
    XMLError,
)
from docflow.keys import KeyStore
from docflow.xml import check_bytes, write_envelope, write_status
from docflow.xml.hop import read_hop
from docflow.xml.parser import parse_xml
from docflow.xml.signing import (
    DS,
    VerifyPolicy,
    read_signature_info,
    sign_message,
    verify_message,
    verify_tree,
)
from tests.strategies import NS, example_envelope, example_status

P = "{" + NS + "}"
SENDER = "000.00.11.H53"
LEGACY = VerifyPolicy(allow_legacy_sha1=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyStore:
    store = KeyStore(tmp_path_factory.mktemp("keys"))
    for organ_id in (SENDER, "000.00.00.H41", "000.00.00.G22"):
        store.generate(organ_id)
    return store


@pytest.fixture
def signed(keys) -> bytes:
    pair = keys.key_pair(SENDER)
    return sign_message(write_envelope(example_envelope()), pair.private_key, pair.certificate)


def header_of(data: bytes) -> etree._Element:
    return parse_xml(data).find(f"{P}edXMLEnvelope/{P}edXMLHeader")


def test_round_trip_signs_with_rsa_sha256_in_the_header_and_reads_back_what_was_signed(keys, signed):
    header = header_of(signed)
    assert [etree.QName(c).localname for c in header] == ["MessageHeader", "TraceHeaderList", "Signature"]
    assert header[-1].tag == "{" + DS + "}Signature"
    assert check_bytes(signed, "signed") == []  # the XSD takes the ds:Signature
    verified = verify_message(signed, keys.certificate)
    assert verified is not None
    assert (verified.signer, verified.algorithm, verified.coverage, verified.legacy) == (
        SENDER,
        "rsa-sha256",
        "without-trace",
        False,
    )
    assert verified.message() == example_envelope()


def test_the_message_is_read_from_signxml_s_tree_of_the_signed_bytes_as_it_would_be_from_the_bytes(keys, signed):
    verified = verify_message(signed, keys.certificate)
    assert verified is not None and verified.signed_tree is not None
    assert etree.tostring(verified.signed_tree, method="c14n") == verified.signed_data
    from_bytes = dataclasses.replace(verified, signed_tree=None)  # what a VerifiedMessage made elsewhere does
    assert from_bytes.message() == verified.message() == example_envelope()
    assert from_bytes == verified  # the tree is a reading aid, not part of the verdict


def test_a_status_message_is_signed_and_verified_the_same_way(keys):
    pair = keys.key_pair("000.00.00.H41")
    data = sign_message(write_status(example_status()), pair.private_key, pair.certificate)
    verified = verify_message(data, keys.certificate)
    assert verified is not None and verified.signer == "000.00.00.H41"
    assert verified.message() == example_status()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"UEsDBCB6aXA=", b"UEsDBCB6aXB="),  # the attachment's base64 content
        (b"<AttachmentName>bao-cao.zip</AttachmentName>", b"<AttachmentName>bao-cao.rar</AttachmentName>"),
        (b"<Reference><ContentId>cid:1</ContentId>", b"<Reference><ContentId>cid:2</ContentId>"),  # manifest
    ],
)
def test_a_changed_body_or_attachment_fails(keys, signed, before, after):
    head, found, tail = signed.rpartition(before)  # the last one: in AttachmentEncoded where there are two
    assert found
    with pytest.raises(SignatureMismatchError, match=r"changed after 000.00.11.H53 signed it") as caught:
        verify_message(head + after + tail, keys.certificate)
    assert caught.value.rule == "signature-digest"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Báo cáo tài chính tỉnh".encode(), "Báo cáo tài chính huyện".encode()),  # Subject
        (b"<OrganId>000.00.01.A53</OrganId>", b"<OrganId>000.00.02.A53</OrganId>"),  # a recipient
        (b"<BussinessDocType>0</BussinessDocType>", b"<BussinessDocType>1</BussinessDocType>"),  # new -> recall
    ],
)
def test_a_changed_header_or_business_block_fails(keys, signed, before, after):
    assert signed.count(before) == 1
    with pytest.raises(SignatureMismatchError):
        verify_message(signed.replace(before, after), keys.certificate)


def test_trace_headers_added_by_forwarding_nodes_keep_the_signature_valid(keys, signed):
    hop = read_hop(signed)
    hop.stamp("000.00.00.H53", datetime(2024, 1, 1, 10, 0, 0))
    hop.stamp("000.00.00.G22", datetime(2024, 1, 1, 10, 5, 0))
    forwarded = hop.to_bytes()
    assert forwarded.count(b"<TraceHeader>") == 3
    verified = verify_message(forwarded, keys.certificate)
    assert verified is not None and verified.coverage == "without-trace"
    assert [str(t.organ_id) for t in verified.trace] == [SENDER, "000.00.00.H53", "000.00.00.G22"]
    assert verified.message().trace == verified.trace
    assert b"000.00.00.G22" not in verified.signed_data  # the trace is not part of what was signed


def test_a_trace_list_created_on_the_way_and_pretty_printing_keep_the_signature_valid(keys):
    pair = keys.key_pair("000.00.00.H41")
    data = sign_message(write_status(example_status()), pair.private_key, pair.certificate)
    assert b"TraceHeaderList" not in data
    hop = read_hop(data)
    hop.stamp("000.00.00.G22", datetime(2024, 1, 1, 10, 0, 0))  # creates the TraceHeaderList
    root = parse_xml(hop.to_bytes())
    etree.indent(root.find(f"{P}edXMLEnvelope/{P}edXMLHeader/{P}TraceHeaderList"), level=3)
    verified = verify_message(etree.tostring(root), keys.certificate)
    assert verified is not None and [str(t.organ_id) for t in verified.trace] == ["000.00.00.G22"]


def test_a_trace_entry_hiding_content_is_refused_as_wrapping(keys, signed):
    forged = signed.replace(
        b"</Timestamp></TraceHeader>",
        b"</Timestamp><MessageHeader><Subject>forged</Subject></MessageHeader></TraceHeader>",
    )
    with pytest.raises(WrappedSignatureError, match=r"TraceHeader at line .* holds MessageHeader") as caught:
        verify_message(forged, keys.certificate)
    assert caught.value.rule == "trace-content"


def test_a_signature_checked_with_another_organisations_certificate_fails(keys, signed):
    other = keys.certificate("000.00.00.G22")
    with pytest.raises(SignatureMismatchError, match=r"does not verify with the certificate of 000") as caught:
        verify_message(signed, lambda _organ_id: other)
    assert caught.value.rule == "signature-value"


def test_a_message_signed_with_another_key_than_the_senders_fails(keys):
    impostor = keys.key_pair("000.00.00.G22")
    data = sign_message(write_envelope(example_envelope()), impostor.private_key, impostor.certificate)
    with pytest.raises(SignatureMismatchError):
        verify_message(data, keys.certificate)  # From says 000.00.11.H53: its certificate is used


def test_a_sender_without_a_certificate_is_refused(signed):
    with pytest.raises(UnknownSignerError, match=r"no certificate known for the sender 000.00.11.H53"):
        verify_message(signed, lambda _organ_id: None)


def test_a_missing_signature_is_refused_when_required_and_passes_when_not(keys):
    data = write_envelope(example_envelope())
    with pytest.raises(MissingSignatureError, match=r"no signature; a signature is required") as caught:
        verify_message(data, keys.certificate)
    assert caught.value.rule == "signature-required"
    assert verify_message(data, keys.certificate, policy=VerifyPolicy(require_signature=False)) is None


def test_an_empty_digital_signature_counts_as_none(keys):
    data = write_envelope(example_envelope()).replace(b"</TraceHeaderList>", b"</TraceHeaderList><DigitalSignature/>")
    assert check_bytes(data, "x") == []
    with pytest.raises(MissingSignatureError, match=r"only an empty DigitalSignature"):
        verify_message(data, keys.certificate)


def signature_bytes(data: bytes) -> bytes:
    found = re.search(rb"<ds:Signature .*</ds:Signature>", data, re.S)
    assert found is not None
    return found.group(0)


def test_a_duplicated_signature_is_refused(keys, signed):
    doubled = signed.replace(b"</edXMLHeader>", signature_bytes(signed) + b"</edXMLHeader>")
    with pytest.raises(WrappedSignatureError, match=r"2 signatures in one message") as caught:
        verify_message(doubled, keys.certificate)
    assert caught.value.rule == "one-signature"


def test_a_signature_moved_out_of_the_header_is_refused(keys, signed):
    signature = signature_bytes(signed)
    moved = signed.replace(signature, b"").replace(b"</edXMLManifest>", b"</edXMLManifest>" + signature)
    with pytest.raises(WrappedSignatureError, match=r"not a child of edXMLHeader") as caught:
        verify_message(moved, keys.certificate)
    assert caught.value.rule == "signature-location"


def test_a_signature_over_part_of_the_message_is_refused_as_wrapping(keys):
    """The classic wrap: sign one element by Id, then the reader looks at another."""
    pair = keys.key_pair(SENDER)
    root = parse_xml(write_envelope(example_envelope()))
    root.find(f"{P}edXMLEnvelope/{P}edXMLBody").set("Id", "body")
    header = root.find(f"{P}edXMLEnvelope/{P}edXMLHeader")
    etree.SubElement(header, "{" + DS + "}Signature", Id="placeholder", nsmap={"ds": DS})
    signer = signxml.XMLSigner(c14n_algorithm=signxml.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    data = etree.tostring(signer.sign(root, key=pair.private_key, cert=[pair.certificate], reference_uri="#body"))
    with pytest.raises(WrappedSignatureError, match=r"exactly one Reference URI=\"\"") as caught:
        verify_message(data, keys.certificate)
    assert caught.value.rule == "signature-reference"


def test_an_xpath_transform_is_refused(keys, signed):
    xpath = b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>'
    data = signed.replace(b"</ds:Transforms>", xpath + b"</ds:Transforms>")
    with pytest.raises(SignatureAlgorithmError, match=r"transform refused: http://www.w3.org/TR/1999/REC-xpath"):
        verify_message(data, keys.certificate)


def test_signing_twice_is_refused(keys, signed):
    pair = keys.key_pair(SENDER)
    with pytest.raises(WrappedSignatureError, match=r"already signed"):
        sign_message(signed, pair.private_key, pair.certificate)


def test_an_unknown_signing_algorithm_is_refused(keys):
    pair = keys.key_pair(SENDER)
    with pytest.raises(SignatureAlgorithmError, match=r"cannot sign with 'rsa-sha1'"):
        sign_message(write_envelope(example_envelope()), pair.private_key, pair.certificate, algorithm="rsa-sha1")


@pytest.mark.parametrize("algorithm", ["rsa-sha384", "rsa-sha512"])
def test_stronger_algorithms_sign_and_verify(keys, algorithm):
    pair = keys.key_pair(SENDER)
    data = sign_message(write_envelope(example_envelope()), pair.private_key, pair.certificate, algorithm=algorithm)
    verified = verify_message(data, keys.certificate)
    assert verified is not None and verified.algorithm == algorithm


def test_verify_tree_leaves_the_callers_tree_unchanged(keys, signed):
    hop = read_hop(signed)
    hop.stamp("000.00.00.G22", datetime(2024, 1, 1, 10, 0, 0))
    before = etree.tostring(hop.root)
    assert verify_tree(hop.root, keys.certificate) is not None
    assert etree.tostring(hop.root) == before


def test_not_an_edxml_message_is_refused(keys):
    with pytest.raises(SignatureError, match=r"not an edXML message"):
        verify_message(b"<a/>", keys.certificate)


class _LegacySigner(signxml.XMLSigner):
    """Produces RSA-SHA1 as the vendor's samples carry it (signxml refuses SHA-1 unless told otherwise)."""

    def check_deprecated_methods(self) -> None:
        return None


def legacy_signed(keys, prefix: str | None, c14n: signxml.CanonicalizationMethod) -> bytes:
    """A whole-message RSA-SHA1 signature whose XML-DSig namespace declaration is then lost (the samples' quirk)."""
    pair = keys.key_pair(SENDER)
    signer = _LegacySigner(
        signature_algorithm=signxml.SignatureMethod.RSA_SHA1,
        digest_algorithm=signxml.DigestAlgorithm.SHA1,
        c14n_algorithm=c14n,
    )
    signer.namespaces = {prefix: DS}  # type: ignore[dict-item]
    root = parse_xml(write_envelope(example_envelope()))
    header = root.find(f"{P}edXMLEnvelope/{P}edXMLHeader")
    etree.SubElement(header, "{" + DS + "}Signature", Id="placeholder", nsmap={prefix: DS})
    data = etree.tostring(signer.sign(root, key=pair.private_key, cert=[pair.certificate]), encoding="UTF-8")
    if prefix:
        data = data.replace(b' xmlns:ds="' + DS.encode() + b'"', b"").replace(b"<ds:", b"<").replace(b"</ds:", b"</")
    else:
        data = data.replace(b' xmlns="' + DS.encode() + b'"', b"")
    return data


@pytest.mark.parametrize(
    ("prefix", "c14n"),
    [
        (None, signxml.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0),
        ("ds", signxml.CanonicalizationMethod.CANONICAL_XML_1_0),
    ],
)
def test_legacy_sha1_in_the_edxml_namespace_is_refused_by_default_and_verified_when_allowed(keys, prefix, c14n):
    data = legacy_signed(keys, prefix, c14n)
    info = read_signature_info(parse_xml(data))
    assert info is not None and (info.namespace, info.algorithm) == ("edxml", "rsa-sha1")
    with pytest.raises(SignatureAlgorithmError, match=r"rsa-sha1, sha1 .*allow_legacy_sha1") as caught:
        verify_message(data, keys.certificate)
    assert caught.value.rule == "signature-algorithm"
    verified = verify_message(data, keys.certificate, policy=LEGACY)
    assert verified is not None
    assert (verified.algorithm, verified.legacy, verified.coverage) == ("rsa-sha1", True, "whole-message")
    assert verified.message() == example_envelope()
    with pytest.raises(SignatureMismatchError):
        changed = data.replace("tài chính tỉnh".encode(), "tài chính xã".encode())
        verify_message(changed, keys.certificate, policy=LEGACY)


@pytest.mark.parametrize("name", ["document_new.edxml", "document_update.edxml"])
def test_the_real_samples_signature_is_read_and_refused_by_default(samples, keys, name):
    data = (samples / name).read_bytes()
    info = read_signature_info(parse_xml(data))
    assert info is not None
    assert info.namespace == "edxml"  # unprefixed Signature in the edXML default namespace
    assert info.algorithm == "rsa-sha1"
    assert info.digest_methods == ("http://www.w3.org/2000/09/xmldsig#sha1",)
    assert info.reference_uris == ("",)
    assert info.certificate_subject == "CN=user05"
    with pytest.raises(SignatureAlgorithmError, match=r"rsa-sha1"):
        verify_message(data, keys.certificate, source=name)


@pytest.mark.parametrize("name", ["document_new.edxml", "document_update.edxml"])
def test_the_real_samples_signature_allowed_fails_cleanly_on_its_truncated_certificate(samples, keys, name):
    """With SHA-1 allowed, checking goes on; the sample's KeyInfo certificate is cut short (11 characters)."""
    data = (samples / name).read_bytes()
    with pytest.raises(XMLError) as caught:
        verify_message(data, lambda _organ_id: keys.certificate(SENDER), policy=LEGACY, source=name)
    assert isinstance(caught.value, SignatureError)
    assert "MIIFqTCCBJG" in str(caught.value) and caught.value.rule == "signature-format"


def test_a_single_changed_trace_timestamp_is_not_covered_but_must_stay_well_formed(keys, signed):
    """The trace is advisory: changing it keeps the signature, but a bad value is still a precise error."""
    changed = signed.replace(b"2020/10/30 08:15:00", b"2020/10/30 08:16:00")
    verified = verify_message(changed, keys.certificate)
    assert verified is not None and verified.trace[0].timestamp.minute == 16
    with pytest.raises(SignatureError, match=r"TraceHeader at line") as caught:
        verify_message(signed.replace(b"2020/10/30 08:15:00", b"2020/13/30 08:15:00"), keys.certificate)
    assert caught.value.rule == "trace-value"


def test_signing_changes_nothing_but_adding_the_signature(keys):
    pair = keys.key_pair(SENDER)
    data = write_envelope(example_envelope())
    signed = sign_message(data, pair.private_key, pair.certificate)
    stripped = signed.replace(signature_bytes(signed), b"")
    assert etree.tostring(parse_xml(stripped), method="c14n") == etree.tostring(parse_xml(data), method="c14n")


def test_an_expired_certificate_is_refused(keys, signed):
    from datetime import UTC

    from docflow.keys import self_signed_certificate

    pair = keys.key_pair(SENDER)
    expired = self_signed_certificate(SENDER, pair.private_key, valid_days=1, now=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(SignatureMismatchError, match=r"certificate of 000\.00\.11\.H53 refused") as caught:
        verify_message(signed, lambda _organ_id: expired)
    assert caught.value.rule == "signer-certificate"


def test_an_ec_key_signs_with_ecdsa(keys):
    from cryptography.hazmat.primitives.asymmetric import ec

    from docflow.keys import self_signed_certificate

    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_certificate(SENDER, key)
    data = sign_message(write_envelope(example_envelope()), key, certificate, algorithm="ecdsa-sha256")
    verified = verify_message(data, lambda _organ_id: certificate)
    assert verified is not None and verified.algorithm == "ecdsa-sha256"
