"""The edXML status message: bytes -> ``StatusMessage`` (parse, XSD, map) and back.

A status message is the document's root and envelope with a header only: MessageHeader holds From,
ResponseFor, StaffInfo, StatusCode, Description and Timestamp; docflow adds a TraceHeaderList with one
TraceHeader per hop.  StatusCode ``14`` (one SDK's 15) reads as 15.  Written in the same canonical form
as documents (default namespace, ``yyyy/MM/dd HH:mm:ss``); text is kept exactly as sent.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from lxml import etree

from docflow.domain.dates import format_timestamp, parse_timestamp
from docflow.domain.envelope import TraceHeader
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import Violation
from docflow.xml.edxml import (
    FieldError,
    add,
    convert,
    field_violation,
    kids,
    read_organization,
    read_response_for,
    read_staff,
    read_trace,
    write_organization,
    write_response_for,
    write_staff,
    write_trace,
)
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import NS, message_kind, validate, validation_error

_P = "{" + NS + "}"
_NSLEN = len(_P)
_ELEMENT = etree.Element


def status_from_element(root: etree._Element) -> StatusMessage:
    """Map a validated status tree to a ``StatusMessage`` (raises ``FieldError`` on bad values)."""
    header = kids(kids(kids(root)["edXMLEnvelope"])["edXMLHeader"])
    mh_el = header["MessageHeader"]
    mh = kids(mh_el)
    leaves: dict[str, str] = {
        name: mh[name].text or "" for name in ("StatusCode", "Timestamp", "Description") if name in mh
    }
    trace: tuple[TraceHeader, ...] = ()
    trace_list = header.get("TraceHeaderList")
    if trace_list is not None:
        trace = tuple(read_trace(t) for t in trace_list.iterchildren(_ELEMENT) if t.tag[_NSLEN:] == "TraceHeader")
    return StatusMessage(
        sender=read_organization(mh["From"]),
        response_for=read_response_for(mh["ResponseFor"]),
        status=convert(mh_el, leaves, "StatusCode", StatusCode.parse),
        timestamp=convert(mh_el, leaves, "Timestamp", parse_timestamp),
        description=leaves.get("Description", ""),
        staff=read_staff(mh.get("StaffInfo")),
        trace=trace,
    )


def status_from_tree(root: etree._Element, *, source: str | None = None) -> StatusMessage:
    """Validate (XSD) and map an already parsed status tree; see ``read_status``."""
    violations = validate(root, "status", source=source)
    if violations:
        raise validation_error(violations, source)
    try:
        return status_from_element(root)
    except FieldError as exc:
        raise validation_error([field_violation(exc, source)], source) from None


def read_status(data: bytes, *, source: str | None = None) -> StatusMessage:
    """Parse (hardened), validate (XSD) and map ``data`` as a status message.

    Raises ``UnsafeXMLError`` for refused input, ``ValidationError`` naming line, path and rule otherwise
    (rule ``message-kind`` for a document).
    """
    root = parse_xml(data, source=source)
    if message_kind(root) != "status":
        violation = Violation("this is a document, not a status message", root.sourceline, "/edXML", "message-kind")
        raise validation_error([violation], source)
    return status_from_tree(root, source=source)


def status_to_element(msg: StatusMessage) -> etree._Element:
    """Build the canonical ``edXML`` status tree of ``msg``."""
    root = _ELEMENT(_P + "edXML", nsmap={None: NS})
    header = etree.SubElement(etree.SubElement(root, _P + "edXMLEnvelope"), _P + "edXMLHeader")
    mh = etree.SubElement(header, _P + "MessageHeader")
    write_organization(mh, "From", msg.sender)
    write_response_for(mh, msg.response_for)
    if msg.staff is not None:
        write_staff(mh, msg.staff)
    add(mh, "StatusCode", msg.status.value)
    add(mh, "Description", msg.description)
    add(mh, "Timestamp", format_timestamp(msg.timestamp))
    if msg.trace:
        write_trace(header, msg.trace)
    return root


def write_status(msg: StatusMessage) -> bytes:
    """Serialize ``msg`` as UTF-8 edXML with an XML declaration."""
    return etree.tostring(status_to_element(msg), xml_declaration=True, encoding="UTF-8")
