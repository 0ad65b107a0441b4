"""The packages the conformance cases send: a fresh valid document (its DocumentId unique per run), a
schema-invalid one, a hostile one (a DTD with an external entity) and a status packet about a document.

Written with ``docflow.xml``'s writers from ``docflow.domain`` values; no registry is needed, so any partner's
agencies can be named.  Must not import sqlalchemy or the engine.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from docflow.domain.envelope import Code, DocumentType, Envelope, Organization, PromulgationInfo, ResponseFor
from docflow.domain.ids import OrganId
from docflow.domain.status import StatusCode, StatusMessage
from docflow.xml import write_envelope, write_status

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def valid_document(sender: str, recipient: str) -> tuple[bytes, str]:
    """A small valid document from ``sender`` to ``recipient`` and its DocumentId (new every call)."""
    today = date.today()
    code = Code(str(secrets.randbelow(900_000) + 100_000), "KTKN-CONF")
    origin = OrganId.parse(sender)
    envelope = Envelope(
        sender=Organization(origin, "Hệ thống kiểm tra kết nối"),
        recipients=(Organization(OrganId.parse(recipient), "Đơn vị nhận kiểm tra"),),
        document_id=Envelope.compose_document_id(origin, today, code),
        code=code,
        subject="Kiểm tra kết nối trục liên thông văn bản",
        promulgation=PromulgationInfo("Hà Nội", today),
        document_type=DocumentType(18, None, "Công văn"),
        content="Văn bản kiểm tra sự phù hợp của điểm kết nối.",
    )
    return write_envelope(envelope), envelope.document_id


def invalid_document(sender: str) -> bytes:
    """Well-formed edXML that breaks the schema (a MessageHeader with only From)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>'
        f"<From><OrganId>{sender}</OrganId></From></MessageHeader></edXMLHeader><edXMLBody/></edXMLEnvelope></edXML>"
    ).encode()


def hostile_document(sender: str, recipient: str) -> bytes:
    """A valid document with a DTD declaring an external entity to ``/etc/passwd`` used in its subject."""
    data, _ = valid_document(sender, recipient)
    end = data.index(b"?>") + 2
    dtd = b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    return (data[:end] + dtd + data[end:]).replace(b"<Subject>", b"<Subject>&x;", 1)


def status_packet(reporter: str, document_id: str, original_sender: str, code: str) -> bytes:
    """A status ``code`` from ``reporter`` about ``document_id`` sent by ``original_sender``."""
    message = StatusMessage(
        sender=Organization(OrganId.parse(reporter), "Đơn vị nhận kiểm tra"),
        response_for=ResponseFor(organ_id=OrganId.parse(original_sender), document_id=document_id),
        status=StatusCode(code),
        timestamp=datetime.now().replace(microsecond=0),
        description=StatusCode(code).label,
    )
    return write_status(message)
