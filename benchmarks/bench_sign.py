"""Signature benchmarks: docflow's sign and verify of an edXML document against raw signxml on the same bytes.

- ``sign_4k`` / ``sign_1m``: ``sign_message`` (hardened parse, trace normalisation, signxml RSA-SHA256 with
  exclusive C14N, signature placed in ``edXMLHeader``, serialize) against the floor ``etree.fromstring`` +
  ``XMLSigner.sign`` with the same algorithms, key and certificate + ``tostring``.
- ``verify_4k`` / ``verify_1m``: ``verify_message`` (hardened parse, one-signature / location / reference /
  algorithm checks, certificate lookup, trace normalisation, signxml verify, signed-content check) against the
  floor ``XMLVerifier.verify`` with the same certificate on the same signed bytes.

The messages are a ~4 KB and a ~1 MB document (as in bench_xml) without trace entries (so raw signxml, which knows no
trace normalisation, verifies the very bytes docflow signed); one RSA-2048 key pair made at setup.
"""

from __future__ import annotations

import random
from datetime import date

import signxml
from harness import Case, benchmark
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod

from docflow.domain.envelope import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    Envelope,
    Organization,
    PromulgationInfo,
    Reference,
)
from docflow.domain.ids import OrganId
from docflow.keys import KeyPair, self_signed_certificate
from docflow.xml.edxml import write_envelope
from docflow.xml.signing import sign_message, verify_message

_PAIR: list[KeyPair] = []


def key_pair() -> KeyPair:
    """One RSA-2048 key and its self-signed certificate, made once per run."""
    if not _PAIR:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _PAIR.append(KeyPair("000.00.00.G22", key, self_signed_certificate("000.00.00.G22", key)))
    return _PAIR[0]


SMALL = 400  # attachment bytes: the message is about 4 KB
LARGE = 768 * 1024  # 1 MB of base64


def document(attachment_bytes: int) -> bytes:
    """A document from the Government Office to three provinces with one attachment, no trace entries."""
    sender = Organization(OrganId.parse("000.00.00.G22"), "Văn phòng Chính phủ", "Hà Nội", email="vpcp@chinhphu.vn")
    code, sent = Code("1234", "VPCP-KGVX"), date(2024, 3, 5)
    payload = random.Random(102).randbytes(attachment_bytes)
    attachment = Attachment.from_bytes("cid:1", payload, name="cong-van.zip", content_type="application/zip")
    return write_envelope(
        Envelope(
            sender=sender,
            recipients=tuple(
                Organization(OrganId.parse(number), name)
                for number, name in (
                    ("000.00.00.H58", "Ủy ban nhân dân tỉnh Tiền Giang"),
                    ("000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh"),
                    ("000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh"),
                )
            ),
            document_id=Envelope.compose_document_id(sender.organ_id, sent, code),
            code=code,
            subject="Về việc triển khai kết nối, liên thông văn bản điện tử bốn cấp chính quyền",
            promulgation=PromulgationInfo("Hà Nội", sent),
            document_type=DocumentType(18, None, "Công văn"),
            content="Văn phòng Chính phủ đề nghị các địa phương hoàn thành kết nối trục liên thông văn bản quốc gia.",
            business=Business(BusinessDocType.NEW, reason="Văn bản điện tử mới"),
            references=(Reference("cid:1", "application/zip", "Công văn", "cong-van.zip"),),
            attachments=(attachment,),
        )
    )


def sign_case(data: bytes) -> Case:
    pair = key_pair()

    def floor() -> object:
        signer = signxml.XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed = signer.sign(etree.fromstring(data), key=pair.private_key, cert=[pair.certificate])
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    def subject() -> object:
        return sign_message(data, pair.private_key, pair.certificate)

    # both produce a signature that the other side's verifier accepts
    verify_message(subject(), lambda _organ_id: pair.certificate)  # type: ignore[arg-type]
    signxml.XMLVerifier().verify(floor(), x509_cert=pair.certificate)
    return Case(subject=subject, floor=floor)


def verify_case(data: bytes) -> Case:
    pair = key_pair()
    signed = sign_message(data, pair.private_key, pair.certificate)
    config = SignatureConfiguration(expect_references=1)

    def lookup(_organ_id: str) -> object:
        return pair.certificate

    def floor() -> object:
        return signxml.XMLVerifier().verify(signed, x509_cert=pair.certificate, expect_config=config)

    def subject() -> object:
        return verify_message(signed, lookup)  # type: ignore[arg-type]

    result = subject()
    assert result is not None and result.signed_data == floor().signed_data  # type: ignore[union-attr]
    return Case(subject=subject, floor=floor)


@benchmark("sign_4k", target=1.2)
def sign_4k() -> Case:
    """sign_message of a ~4 KB document vs raw signxml XMLSigner.sign (same key, algorithms) + tostring."""
    return sign_case(document(SMALL))


@benchmark("verify_4k", target=1.2)
def verify_4k() -> Case:
    """verify_message of a signed ~4 KB document vs raw signxml XMLVerifier.verify on the same bytes."""
    return verify_case(document(SMALL))


@benchmark("sign_1m", target=1.2)
def sign_1m() -> Case:
    """sign_message of a ~1 MB document vs raw signxml XMLSigner.sign (same key, algorithms) + tostring."""
    return sign_case(document(LARGE))


@benchmark("verify_1m", target=1.2)
def verify_1m() -> Case:
    """verify_message of a signed ~1 MB document vs raw signxml XMLVerifier.verify on the same bytes."""
    return verify_case(document(LARGE))
