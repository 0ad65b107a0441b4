"""What a forwarding node does to an envelope's bytes: check them, stamp its TraceHeader, pass them on.

An intermediate node (a district, a provincial hub, the national axis) does not need the whole message
model: it parses (hardened), validates against the XSD, appends ``TraceHeader(OrganId, Timestamp)`` to the
``TraceHeaderList`` and serializes once.  The final recipient maps the same parsed tree to an ``Envelope``
(``read_hop``) without parsing twice.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from docflow.domain.dates import format_timestamp
from docflow.domain.envelope import Envelope
from docflow.domain.status import StatusMessage
from docflow.errors import ValidationError
from docflow.xml import signature_form as form
from docflow.xml.edxml import FieldError, envelope_from_element, field_violation
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import NS, message_kind, validate, validation_error
from docflow.xml.semantic import check_envelope, locate_violations
from docflow.xml.signing import CertificateLookup, VerifiedMessage, VerifyPolicy, verify_tree
from docflow.xml.status_xml import status_from_element

_P = "{" + NS + "}"
_HEADER_PATH = (_P + "edXMLEnvelope", _P + "edXMLHeader")


@dataclass(slots=True)
class Hop:
    """A parsed, schema-valid message on its way through one node."""

    root: etree._Element
    kind: str  # "document" | "status"
    source: str | None = None

    def stamp(self, organ_id: str, at: datetime) -> None:
        """Append this node's ``TraceHeader`` (documents and statuses alike)."""
        header = self.root
        for tag in _HEADER_PATH:
            found = header.find(tag)
            if found is None:
                raise ValidationError(f"no {tag[len(_P) :]} to stamp", rule="trace-header")
            header = found
        trace_list = header.find(_P + "TraceHeaderList")
        if trace_list is None:
            message_header = header.find(_P + "MessageHeader")
            trace_list = etree.Element(_P + "TraceHeaderList")
            position = header.index(message_header) + 1 if message_header is not None else len(header)
            header.insert(position, trace_list)
        last = None
        for child in trace_list.iterchildren(_P + "TraceHeader"):
            last = child
        entry = etree.Element(_P + "TraceHeader")
        etree.SubElement(entry, _P + "OrganId").text = organ_id
        etree.SubElement(entry, _P + "Timestamp").text = format_timestamp(at)
        if last is None:
            trace_list.insert(0, entry)
        else:
            last.addnext(entry)

    def sender(self) -> str:
        """The OrganId the message names as its sender (``MessageHeader/From/OrganId``), or ``""``."""
        header = self._header()
        return form.sender_of(header) if header is not None else ""

    def last_trace(self) -> str:
        """The OrganId of the last ``TraceHeader`` (the node that passed the message on last), or ``""``."""
        header = self._header()
        trace_list = form.first_child(header, _P + "TraceHeaderList") if header is not None else None
        last = ""
        for entry in trace_list.iterchildren(_P + "TraceHeader") if trace_list is not None else ():
            organ = entry.find(_P + "OrganId")
            last = (organ.text or "").strip() if organ is not None else ""
        return last

    def verify(self, certificates: CertificateLookup, policy: VerifyPolicy) -> VerifiedMessage | None:
        """The message's signature checked against its sender's certificate (``docflow.xml.signing``); the tree
        is left unchanged.  ``SignatureError`` naming the rule broken; None only when unsigned and allowed."""
        return verify_tree(self.root, certificates, policy=policy, source=self.source)

    def _header(self) -> etree._Element | None:
        header: etree._Element | None = self.root
        for tag in _HEADER_PATH:
            header = form.first_child(header, tag) if header is not None else None
        return header

    def to_bytes(self) -> bytes:
        """The message as it leaves this node."""
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")

    def envelope(self, *, strict: bool = False) -> Envelope:
        """The document model, semantic checks included (the tree is already schema-valid)."""
        try:
            envelope = envelope_from_element(self.root)
        except FieldError as exc:
            raise validation_error([field_violation(exc, self.source)], self.source) from None
        return self.checked(envelope, strict=strict)

    def signed_envelope(self, verified: VerifiedMessage, *, strict: bool = False) -> Envelope:
        """The document model read from the bytes ``verified`` says were signed (built once: the unsigned tree's
        own model is not needed), with the same field and semantic checks as ``envelope``."""
        try:
            signed = verified.message()
        except FieldError as exc:
            raise validation_error([field_violation(exc, self.source)], self.source) from None
        if not isinstance(signed, Envelope):
            raise ValidationError("the signed content is not a document", file=self.source, rule="message-kind")
        return self.checked(signed, strict=strict)

    def checked(self, envelope: Envelope, *, strict: bool = False) -> Envelope:
        """``envelope`` once its semantic checks pass; errors are located in this hop's tree."""
        problems = [v for v in check_envelope(envelope, strict=strict) if v.severity == "error"]
        if problems:
            raise validation_error(locate_violations(self.root, problems, self.source), self.source)
        return envelope

    def status(self) -> StatusMessage:
        """The status model (the tree is already schema-valid)."""
        try:
            return status_from_element(self.root)
        except FieldError as exc:
            raise validation_error([field_violation(exc, self.source)], self.source) from None


def read_hop(data: bytes, *, source: str | None = None, expect: str | None = None) -> Hop:
    """Parse (hardened) and validate ``data``; raise ``UnsafeXMLError`` / ``ValidationError`` naming the problem.

    With ``expect`` (the kind the transport headers announce) the tree is validated against that kind's schema
    straight away; the kind is worked out from the tree only to explain a failure.
    """
    root = parse_xml(data, source=source)
    kind = expect if expect is not None else message_kind(root)
    violations = validate(root, kind, source=source)
    if violations:
        actual = message_kind(root)
        if actual != kind:
            raise ValidationError(
                f"expected a {kind} message, got a {actual} message", file=source, rule="message-kind"
            )
        raise validation_error(violations, source)
    return Hop(root, kind, source)
