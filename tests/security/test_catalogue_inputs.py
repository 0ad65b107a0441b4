"""Catalogue: hostile bytes through the engine's receive path.  Every refusal of the hardened parser
(tests/unit/test_parser_hostile.py proves each one opens no file and makes no request) is shown here as a node
sees it: a document arriving on its queue, quarantined with the parser's rule, answered with a 02 to its sender,
and the node still serving.  Then what the transport headers and the routing refuse, and attachments: an
oversized package and a zip bomb that docflow stores as opaque bytes and never unpacks."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable

import pytest
from hostile_kit import COMMUNE, DISTRICT, GOVERNMENT_OFFICE, OTHER_COMMUNE, Bench

from docflow.domain.status import StatusCode
from docflow.xml import read_envelope
from docflow.xml.parser import ParserLimits

Payload = Callable[[bytes], bytes]
ROOT_NS = b'xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"'


def after_declaration(insert: bytes) -> Payload:
    def build(body: bytes) -> bytes:
        end = body.index(b"?>") + 2
        return body[:end] + b"\n" + insert + body[end:]

    return build


def in_subject(prolog: bytes, reference: bytes) -> Payload:
    return lambda body: after_declaration(prolog)(body).replace(b"<Subject>", b"<Subject>" + reference, 1)


def drop(tag: bytes) -> Payload:
    def build(body: bytes) -> bytes:
        start, end = body.index(b"<" + tag + b">"), body.index(b"</" + tag + b">") + len(tag) + 3
        return body[:start] + body[end:]

    return build


LAUGHS = (
    b'<!DOCTYPE edXML [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)

#: name -> (how the good signed document is turned hostile, the words its quarantine reason must hold)
PARSER_CASES: dict[str, tuple[Payload, tuple[str, ...]]] = {
    "external-entity-file": (
        in_subject(b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;"),
        ("DTD", "never accepted"),
    ),
    "external-entity-http": (
        in_subject(b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', b"&x;"),
        ("DTD",),
    ),
    "parameter-entity": (
        after_declaration(b'<!DOCTYPE edXML [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>'),
        ("DTD",),
    ),
    "billion-laughs": (in_subject(LAUGHS, b"&d;"), ("DTD",)),
    "quadratic-blowup": (
        in_subject(b'<!DOCTYPE edXML [<!ENTITY a "' + b"x" * 50_000 + b'">]>', b"&a;" * 2000),
        ("DTD",),
    ),
    "external-dtd": (after_declaration(b'<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/edxml.dtd">'), ("DTD",)),
    "dtd-after-a-comment": (after_declaration(b'<!-- harmless --><!DOCTYPE edXML [<!ENTITY x "y">]>'), ("DTD",)),
    "dtd-after-a-bom": (
        lambda b: b"\xef\xbb\xbf" + after_declaration(b'<!DOCTYPE edXML [<!ENTITY x "y">]>')(b),
        ("DTD",),
    ),
    "xinclude": (
        lambda b: b.replace(
            b"<Subject>",
            b'<Subject><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>',
            1,
        ),
        ("XInclude", "never processed"),
    ),
    "schema-location-hint": (
        lambda b: b.replace(
            ROOT_NS,
            ROOT_NS + b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            b'xsi:schemaLocation="http://www.mic.gov.vn/TBT/QCVN_102_2016 http://127.0.0.1:9/edxml.xsd"',
            1,
        ),
        ("schemaLocation", "never follo"),
    ),
    "fifty-thousand-deep": (
        lambda b: b.replace(b"<Subject>", b"<Subject>" + b"<a>" * 50_000 + b"</a>" * 50_000, 1),
        ("nesting deeper than 256",),
    ),
    "invalid-utf8": (lambda b: b.replace(b"<Subject>", b"<Subject>\xc3\x28", 1), ("not valid UTF-8",)),
    "latin1-declared": (lambda b: b.replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'", 1), ("only UTF-8",)),
    "utf16": (lambda b: b.replace(b"encoding='UTF-8'", b"encoding='UTF-16'", 1).decode().encode("utf-16"), ("UTF-16",)),
    "truncated": (lambda b: b[: len(b) // 2], ("not well-formed",)),
    "empty": (lambda b: b"", ("empty",)),
    "not-xml": (lambda b: b"%PDF-1.7\n" + b"\x00" * 64, ("not well-formed",)),
    "wrong-namespace-version": (lambda b: b.replace(b"QCVN_102_2016", b"QCVN_102_2018"), ("QCVN_102_2018",)),
    "no-namespace": (lambda b: b.replace(ROOT_NS, b"", 1), ("namespace None",)),
    "schema-invalid-no-document-id": (drop(b"DocumentId"), ("must hold DocumentId",)),
}


#: the rule each parser case is refused under (stored with the quarantined bytes)
RULES = {"xinclude": "no-xinclude", "schema-location-hint": "no-schema-location", "fifty-thousand-deep": "max-depth",
         "invalid-utf8": "utf-8", "latin1-declared": "utf-8", "utf16": "utf-8", "truncated": "well-formed",
         "empty": "well-formed", "not-xml": "well-formed", "wrong-namespace-version": "root-element",
         "no-namespace": "root-element", "schema-invalid-no-document-id": "cardinality"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PARSER_CASES))
def test_catalogue_parser_refusal_through_the_receive_path(node: Bench, name: str) -> None:
    build, words = PARSER_CASES[name]
    envelope = node.draft()
    body = build(node.signed(envelope))
    node.deliver(envelope, body)
    rule = RULES.get(name, "no-dtd")
    node.refused(GOVERNMENT_OFFICE, body, *words, document_id=envelope.document_id, owed_to=COMMUNE, rule=rule)
    assert len(node.net.node(GOVERNMENT_OFFICE).inbox()) == 1  # only the fresh document of still_serving


def test_catalogue_status_announced_as_a_document(node: Bench) -> None:
    about = f"{GOVERNMENT_OFFICE},2017/10/02,5/VPCP"
    body = node.status_body(COMMUNE, about, GOVERNMENT_OFFICE, StatusCode.ACCEPTED)
    node.inject(body, node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, about), to=GOVERNMENT_OFFICE, sender=COMMUNE)
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        "expected a document message, got a status message",
        document_id=about,
        owed_to=COMMUNE,
        rule="message-kind",
    )


def test_catalogue_missing_routing_headers(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    node.inject(body, {"document": envelope.document_id}, to=GOVERNMENT_OFFICE, sender=COMMUNE)
    node.refused(GOVERNMENT_OFFICE, body, "routing header", document_id=envelope.document_id, owed_to=None)


def test_catalogue_header_with_a_control_character(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    headers = node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, envelope.document_id + "\r\nX-Injected: 1")
    node.inject(body, headers, to=GOVERNMENT_OFFICE, sender=COMMUNE)
    node.refused(GOVERNMENT_OFFICE, body, "control character")


def test_catalogue_document_not_addressed_to_the_node(node: Bench) -> None:
    envelope = node.draft(to=OTHER_COMMUNE)
    body = node.signed(envelope)
    node.inject(
        body,
        node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, envelope.document_id),
        to=GOVERNMENT_OFFICE,
        sender=COMMUNE,
    )
    node.refused(
        GOVERNMENT_OFFICE,
        body,
        f"not addressed to {GOVERNMENT_OFFICE}",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="recipient",
    )


def test_catalogue_route_header_to_an_unknown_next_hop(node: Bench) -> None:
    envelope = node.draft()
    body = node.signed(envelope)
    headers = node.routing("edoc", COMMUNE, GOVERNMENT_OFFICE, envelope.document_id)
    headers["route"] = f"hierarchical:{COMMUNE};{DISTRICT};000.00.00.H99;{GOVERNMENT_OFFICE}"
    node.inject(body, headers, to=DISTRICT, sender=COMMUNE)
    node.refused(
        DISTRICT,
        body,
        "000.00.00.H99",
        "not a known agency",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="route",
    )


def zip_bomb(expanded: int = 200 * 1024 * 1024) -> bytes:
    """A zip of one entry of ``expanded`` zero bytes (~200 KB on the wire, 200 MB unpacked)."""
    out = io.BytesIO()
    chunk = b"\x00" * (1 << 20)
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("bao-cao.xlsx", "w", force_zip64=True) as entry,
    ):
        for _ in range(expanded >> 20):
            entry.write(chunk)
    return out.getvalue()


def test_catalogue_zip_bomb_attachment_is_carried_never_unpacked(node: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = zip_bomb()
    assert len(bomb) < 1024 * 1024
    envelope = node.draft(attachments=[("bao-cao.zip", bomb, "application/zip")])
    body = node.signed(envelope)

    def unpacked(*args: object, **kwargs: object) -> None:
        raise AssertionError("docflow unpacked an attachment")

    for module, names in (
        (zlib, ("decompress", "decompressobj")),
        (gzip, ("decompress", "GzipFile")),
        (bz2, ("decompress", "BZ2Decompressor")),
        (lzma, ("decompress", "LZMADecompressor")),
        (zipfile, ("ZipFile",)),
    ):
        for attr in names:
            monkeypatch.setattr(module, attr, unpacked)
    node.deliver(envelope, body)
    monkeypatch.undo()
    assert node.quarantined(GOVERNMENT_OFFICE) == []
    with node.net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, envelope.document_id)
    assert stored is not None and stored.envelope == body
    (attachment,) = read_envelope(stored.envelope).attachments
    assert base64.b64decode(attachment.encoded) == bomb  # carried byte for byte, still packed


def test_catalogue_oversized_attachment_is_refused_before_parsing(node: Bench) -> None:
    envelope = node.draft(attachments=[("phu-luc.bin", b"\x01" * 3, "application/octet-stream")])
    body = node.signed(envelope)
    limit = ParserLimits().max_bytes  # what the receive path's parser allows (100 MB)
    oversized = body.replace(b">AQEB<", b">" + b"AQEB" * (limit // 4 + 1) + b"<", 1)
    assert len(oversized) > limit
    node.deliver(envelope, oversized)
    node.refused(
        GOVERNMENT_OFFICE,
        oversized,
        "over the limit",
        document_id=envelope.document_id,
        owed_to=COMMUNE,
        rule="max-bytes",
    )
