"""edXML messages <-> bytes: the public entry points of ``docflow.xml``.

``read_message`` tells a document from a status message (a status message has a StatusCode in its
MessageHeader and no body) and reads it; ``write_message`` writes either; ``check_bytes`` reports every
problem of some bytes (unsafe input, XSD, values, semantic rules, warnings included) without raising.
This package is the only place that imports lxml; it must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from docflow.domain.envelope import Envelope
from docflow.domain.status import StatusMessage
from docflow.errors import MalformedXMLError, UnsafeXMLError, ValidationError, Violation
from docflow.xml.edxml import (
    FieldError,
    envelope_from_element,
    envelope_from_tree,
    field_violation,
    read_envelope,
    write_envelope,
)
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import assert_valid, message_kind, validate
from docflow.xml.semantic import check_envelope, locate_violations
from docflow.xml.status_xml import read_status, status_from_element, status_from_tree, write_status

__all__ = [
    "assert_valid",
    "check_bytes",
    "check_envelope",
    "message_kind",
    "read_envelope",
    "read_message",
    "read_status",
    "validate",
    "write_envelope",
    "write_message",
    "write_status",
]


def read_message(data: bytes, *, source: str | None = None, strict: bool = False) -> Envelope | StatusMessage:
    """Read ``data`` as whichever message it is; errors as ``read_envelope`` / ``read_status`` raise them."""
    root = parse_xml(data, source=source)
    if message_kind(root) == "status":
        return status_from_tree(root, source=source)
    return envelope_from_tree(root, source=source, strict=strict)


def write_message(msg: Envelope | StatusMessage) -> bytes:
    """Serialize a document or a status message."""
    if isinstance(msg, Envelope):
        return write_envelope(msg)
    if isinstance(msg, StatusMessage):
        return write_status(msg)
    raise TypeError(f"write_message expects an Envelope or a StatusMessage, got {type(msg).__name__}")


def check_bytes(data: bytes, source: str | None = None, *, strict: bool = False) -> list[Violation]:
    """Every problem of ``data`` as a message, warnings included; never raises for bad input.

    Unsafe or malformed input gives its one refusal; a schema failure gives every XSD violation; a valid
    document is then mapped and its semantic rules checked (``strict`` turns warnings into errors).
    """
    try:
        root = parse_xml(data, source=source)
    except MalformedXMLError as exc:
        return [_with_file(v, source) for v in exc.violations]
    except UnsafeXMLError as exc:
        return [
            Violation(f"unsafe XML refused: {v.message}", v.line, v.path, v.rule, source, v.severity)
            for v in exc.violations
        ]
    try:
        kind = message_kind(root)
    except ValidationError as exc:
        return [_with_file(v, source) for v in exc.violations]
    violations = validate(root, kind, source=source)
    if violations:
        return violations
    try:
        if kind == "status":
            status_from_element(root)
            return []
        envelope = envelope_from_element(root)
    except FieldError as exc:
        return [field_violation(exc, source)]
    return locate_violations(root, check_envelope(envelope, strict=strict), source)


def _with_file(v: Violation, source: str | None) -> Violation:
    return Violation(v.message, v.line, v.path, v.rule, source, v.severity)
