"""The edXML document message: bytes -> ``Envelope`` (parse, XSD, map, semantic checks) and back.

Reading is lenient where producers disagree (child order, ``edXML:`` prefix or default namespace,
``Bussiness``/``Business``, ``dd/MM/yyyy`` dates, empty elements) and maps by local name with one pass
over each parent's children.  Free text is kept exactly as sent (not stripped); identifiers, dates and
numbers are read with surrounding whitespace ignored, as their XSD token types say.  Writing emits one
canonical form: the QCVN namespace as the default namespace (no prefix), children in the order of
STANDARD.md, every Organization/StaffInfo child present (empty when ""), dates ``yyyy/MM/dd``, TypeName
filled from ``DOCUMENT_KINDS`` when empty, the signature fragment re-inserted verbatim.  The helpers for
the parts a status message shares (From, ResponseFor, StaffInfo, TraceHeader, signature) live here too.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from datetime import date
from typing import TypeVar

from lxml import etree

from docflow.domain.dates import format_date, format_timestamp, parse_date, parse_timestamp
from docflow.domain.envelope import (
    DOCUMENT_KINDS,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    Envelope,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    SteeringType,
    TraceHeader,
)
from docflow.domain.ids import OrganId
from docflow.errors import IdentifierError, UnsafeXMLError, ValidationError, Violation
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import NS, element_path, message_kind, validate, validation_error

_P = "{" + NS + "}"
_NSLEN = len(_P)
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_SIGNATURE_TAGS = frozenset({_P + "Signature", _P + "DigitalSignature", "{" + DSIG_NS + "}Signature"})
_ELEMENT = etree.Element
_Sub = etree.SubElement
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n"
T = TypeVar("T")


class FieldError(Exception):
    """A value the XSD let through but the domain refuses (e.g. the calendar date 2014/02/30).

    Internal to ``docflow.xml``: readers turn it into a ``ValidationError`` naming the element
    (``child`` of ``element`` when given).
    """

    def __init__(self, element: etree._Element, error: IdentifierError, child: str = "") -> None:
        super().__init__(str(error))
        self.element = element
        self.error = error
        self.child = child

    @property
    def target(self) -> etree._Element:
        """The element holding the refused value."""
        if self.child:
            for found in self.element.iterchildren(_P + self.child):
                return found
        return self.element


# --- reading helpers --------------------------------------------------------------------------------
# Reading touches each element once: one dict per parent, built by iterating the parent directly (a
# comment among the children makes the slice fail, and the filtered iteration is used instead).


def kids(element: etree._Element | None) -> dict[str, etree._Element]:
    """Local name -> child element (the last one when a name repeats); comments are skipped."""
    if element is None:
        return {}
    try:
        return {child.tag[_NSLEN:]: child for child in element}
    except TypeError:
        return {child.tag[_NSLEN:]: child for child in element.iterchildren(_ELEMENT)}


def values(element: etree._Element | None) -> dict[str, str]:
    """Local name -> text of each child, exactly as sent (``""`` when empty): for parents of leaves."""
    if element is None:
        return {}
    try:
        return {child.tag[_NSLEN:]: child.text or "" for child in element}
    except TypeError:
        return {child.tag[_NSLEN:]: child.text or "" for child in element.iterchildren(_ELEMENT)}


def texts(element: etree._Element | None) -> tuple[str, ...]:
    """The texts of every child element in order (``Place``, ``Appendix`` lists)."""
    if element is None:
        return ()
    return tuple(child.text or "" for child in element.iterchildren(_ELEMENT))


def text(children: dict[str, etree._Element], name: str) -> str:
    """The text of child element ``name`` exactly as sent, ``""`` when it is absent or empty."""
    element = children.get(name)
    return "" if element is None else (element.text or "")


def convert(parent: etree._Element, vals: Mapping[str, str], name: str, parse: Callable[[str], T]) -> T:
    """``parse`` child ``name``'s text; a refusal is tied to that element for reporting."""
    try:
        return parse(vals.get(name, ""))
    except (IdentifierError, ValueError) as exc:
        error = exc if isinstance(exc, IdentifierError) else IdentifierError(str(exc), value=vals.get(name))
        raise FieldError(parent, error, name) from exc


def optional(parent: etree._Element, vals: dict[str, str], name: str, parse: Callable[[str], T]) -> T | None:
    """``parse`` child ``name``'s text, or ``None`` when the child is absent or blank."""
    value = vals.get(name)
    if not value or value.isspace():
        return None
    return convert(parent, vals, name, parse)


def _bit(value: str) -> bool:
    value = value.strip()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise IdentifierError(f"invalid boolean {value!r}: expected 0, 1, true or false", value=value)


#: OrganId values are immutable and repeat across messages: parse each distinct code once.
organ_id = functools.lru_cache(maxsize=8192)(OrganId.parse)


def read_organization(element: etree._Element) -> Organization:
    """``From`` / ``To``."""
    v = values(element)
    get = v.get
    return Organization(
        convert(element, v, "OrganId", organ_id),
        get("OrganName", ""),
        get("OrganizationInCharge", ""),
        get("OrganAdd", ""),
        get("Email", ""),
        get("Telephone", ""),
        get("Fax", ""),
        get("Website", ""),
    )


def read_staff(element: etree._Element | None) -> StaffInfo | None:
    """``StaffInfo``, or ``None`` when absent."""
    if element is None:
        return None
    v = values(element)
    return StaffInfo(v.get("Department", ""), v.get("Staff", ""), v.get("Email", ""), v.get("Mobile", ""))


def read_response_for(element: etree._Element) -> ResponseFor:
    """``ResponseFor``."""
    v = values(element)
    return ResponseFor(
        organ_id=convert(element, v, "OrganId", organ_id),
        code=v.get("Code", ""),
        promulgation_date=optional(element, v, "PromulgationDate", parse_date),
        document_id=v.get("DocumentId", ""),
    )


def read_trace(element: etree._Element) -> TraceHeader:
    """``TraceHeader``."""
    v = values(element)
    return TraceHeader(convert(element, v, "OrganId", organ_id), convert(element, v, "Timestamp", parse_timestamp))


def read_signature(element: etree._Element) -> bytes:
    """The signature element as a standalone fragment: only the namespace declarations it uses."""
    detached = copy.deepcopy(element)
    etree.cleanup_namespaces(detached)
    return etree.tostring(detached, encoding="UTF-8", xml_declaration=False, with_tail=False)


def field_violation(exc: FieldError, source: str | None) -> Violation:
    """The violation for a value the domain refused."""
    rule = exc.error.rule or "value"
    target = exc.target
    return Violation(str(exc.error), target.sourceline, element_path(target), rule, source)


# --- writing helpers --------------------------------------------------------------------------------


def add(parent: etree._Element, name: str, value: str = "") -> etree._Element:
    """Append child ``name`` (in the edXML namespace) with text ``value``."""
    return text_child(parent, _P + name, value)


def text_child(parent: etree._Element, tag: str, value: str = "") -> etree._Element:
    """Append child ``tag`` (a Clark-notation name) with text ``value``; XML-illegal characters raise
    ``ValidationError`` naming the element's path."""
    element = _Sub(parent, tag)
    if value:
        try:
            element.text = value
        except (ValueError, TypeError) as exc:
            path = element_path(element)
            raise ValidationError(
                f"{path}: {value!r} cannot be written as XML text: {exc}",
                violations=[Violation(f"cannot be written as XML text: {exc}", None, path, "xml-char")],
                rule="xml-char",
            ) from None
    return element


def write_organization(parent: etree._Element, name: str, org: Organization) -> None:
    """``From`` / ``To`` with all eight children (an agency's block is built once, then copied: C, not Python)."""
    try:
        block = _organization(name, org)
    except ValidationError:  # written in place instead, so that the error names the element where it sits
        _write_organization(parent, name, org)
        raise
    parent.append(copy.deepcopy(block))


@functools.lru_cache(maxsize=4096)
def _organization(name: str, org: Organization) -> etree._Element:
    # Built under a parent in the edXML namespace, so that its copies declare no namespace of their own.
    return _write_organization(etree.Element(_P + "MessageHeader", nsmap={None: NS}), name, org)


def _write_organization(parent: etree._Element, name: str, org: Organization) -> etree._Element:
    el = _Sub(parent, _P + name)
    add(el, "OrganId", str(org.organ_id))
    add(el, "OrganizationInCharge", org.organization_in_charge)
    add(el, "OrganName", org.organ_name)
    add(el, "OrganAdd", org.organ_add)
    add(el, "Email", org.email)
    add(el, "Telephone", org.telephone)
    add(el, "Fax", org.fax)
    add(el, "Website", org.website)
    return el


def write_staff(parent: etree._Element, staff: StaffInfo) -> None:
    """``StaffInfo`` with all four children."""
    el = _Sub(parent, _P + "StaffInfo")
    add(el, "Department", staff.department)
    add(el, "Staff", staff.staff)
    add(el, "Email", staff.email)
    add(el, "Mobile", staff.mobile)


def write_response_for(parent: etree._Element, response: ResponseFor) -> None:
    """``ResponseFor``."""
    el = _Sub(parent, _P + "ResponseFor")
    add(el, "OrganId", str(response.organ_id))
    add(el, "Code", response.code)
    when = response.promulgation_date
    add(el, "PromulgationDate", format_date(when) if when is not None else "")
    add(el, "DocumentId", response.document_id)


def write_trace(parent: etree._Element, trace: tuple[TraceHeader, ...]) -> etree._Element:
    """``TraceHeaderList`` with one ``TraceHeader`` per hop; returns the list element."""
    el = _Sub(parent, _P + "TraceHeaderList")
    for header in trace:
        th = _Sub(el, _P + "TraceHeader")
        add(th, "OrganId", str(header.organ_id))
        add(th, "Timestamp", format_timestamp(header.timestamp))
    return el


def write_signature(parent: etree._Element, signature: bytes) -> None:
    """Re-insert a signature fragment (Signature, DigitalSignature or ds:Signature) unchanged."""
    try:
        element = parse_xml(signature, source="signature")
    except UnsafeXMLError as exc:
        raise ValidationError(f"signature is not a usable XML fragment: {exc}", rule="signature") from exc
    if element.tag not in _SIGNATURE_TAGS:
        raise ValidationError(
            f"signature fragment is {element.tag!r}: expected Signature or DigitalSignature in the edXML "
            "namespace, or ds:Signature",
            rule="signature",
        )
    parent.append(element)


def _date_text(value: date | None) -> str:
    return format_date(value) if value is not None else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


# --- the document message ---------------------------------------------------------------------------


def envelope_from_element(root: etree._Element) -> Envelope:
    """Map a validated ``edXML`` document tree to an ``Envelope`` (raises ``FieldError`` on bad values)."""
    top = kids(root)
    envelope = kids(top["edXMLEnvelope"])
    header_el = envelope["edXMLHeader"]
    header = kids(header_el)
    recipients: list[Organization] = []
    responses: list[ResponseFor] = []
    mh: dict[str, etree._Element] = {}
    mh_el = header["MessageHeader"]
    for child in mh_el.iterchildren(_ELEMENT):
        name = child.tag[_NSLEN:]
        if name == "To":
            recipients.append(read_organization(child))
        elif name == "ResponseFor":
            responses.append(read_response_for(child))
        else:
            mh[name] = child
    leaves = {name: mh[name].text or "" for name in _HEADER_LEAVES if name in mh}
    code = values(mh["Code"])
    promulgation_el = mh.get("PromulgationInfo")
    promulgation = values(promulgation_el)
    doc_type_el = mh.get("DocumentType")
    doc_type = values(doc_type_el)
    signer = values(mh.get("SignerInfo"))
    trace: list[TraceHeader] = []
    business = Business()
    trace_list = header.get("TraceHeaderList")
    if trace_list is not None:
        for child in trace_list.iterchildren(_ELEMENT):
            if child.tag[_NSLEN:] == "TraceHeader":
                trace.append(read_trace(child))
            else:
                business = _read_business(child)
    signature = None
    for child in header_el.iterchildren(_ELEMENT):
        if child.tag in _SIGNATURE_TAGS:
            signature = read_signature(child)
    manifest = kids(envelope.get("edXMLBody")).get("edXMLManifest")
    attachments = top.get("AttachmentEncoded")
    return Envelope(
        sender=read_organization(mh["From"]),
        recipients=tuple(recipients),
        document_id=leaves.get("DocumentId", ""),
        code=Code(code.get("CodeNumber", ""), code.get("CodeNotation", "")),
        subject=leaves.get("Subject", ""),
        promulgation=PromulgationInfo(
            promulgation.get("Place", ""), optional(promulgation_el, promulgation, "PromulgationDate", parse_date)
        )
        if promulgation_el is not None
        else PromulgationInfo(),
        document_type=DocumentType(
            convert(doc_type_el, doc_type, "Type", int),
            optional(doc_type_el, doc_type, "TypeDetail", int),
            doc_type.get("TypeName", ""),
        )
        if doc_type_el is not None
        else DocumentType(),
        content=leaves.get("Content", ""),
        signer=SignerInfo(signer.get("Competence", ""), signer.get("Position", ""), signer.get("FullName", "")),
        due_date=optional(mh_el, leaves, "DueDate", parse_date),
        other=_read_other(mh.get("OtherInfo")),
        steering_type=optional(mh_el, leaves, "SteeringType", _steering),
        to_places=texts(mh.get("ToPlaces")),
        response_for=tuple(responses),
        trace=tuple(trace),
        business=business,
        references=tuple(_read_reference(r) for r in manifest.iterchildren(_ELEMENT)) if manifest is not None else (),
        attachments=tuple(_read_attachment(a) for a in attachments.iterchildren(_ELEMENT))
        if attachments is not None
        else (),
        signature=signature,
    )


_HEADER_LEAVES = ("DocumentId", "Subject", "Content", "DueDate", "SteeringType")


def _steering(value: str) -> SteeringType:
    return SteeringType(int(value))


def _priority(value: str) -> Priority:
    return Priority(int(value))


def _doc_type(value: str) -> BusinessDocType:
    return BusinessDocType(int(value))


def _read_other(element: etree._Element | None) -> OtherInfo:
    if element is None:
        return OtherInfo()
    c = kids(element)
    v = {name: child.text or "" for name, child in c.items()}
    return OtherInfo(
        priority=optional(element, v, "Priority", _priority) or Priority.NORMAL,
        sphere_of_promulgation=v.get("SphereOfPromulgation", ""),
        typer_notation=v.get("TyperNotation", ""),
        promulgation_amount=optional(element, v, "PromulgationAmount", int),
        page_amount=optional(element, v, "PageAmount", int),
        direction=optional(element, v, "Direction", _bit),
        appendixes=texts(c.get("Appendixes")),
    )


def _read_business(element: etree._Element) -> Business:
    c = kids(element)
    v = {name: child.text or "" for name, child in c.items()}
    info_el = c.get("BussinessDocumentInfo")
    info_kids = kids(info_el)
    info = {name: child.text or "" for name, child in info_kids.items()}
    receivers: tuple[Receiver, ...] = ()
    receiver_list = info_kids.get("ReceiverList")
    if receiver_list is not None:
        receivers = tuple(_read_receiver(r) for r in receiver_list.iterchildren(_ELEMENT))
    replacements: tuple[ReplacementInfo, ...] = ()
    replacement_list = c.get("ReplacementInfoList")
    if replacement_list is not None:
        replacements = tuple(_read_replacement(r) for r in replacement_list.iterchildren(_ELEMENT))
    return Business(
        doc_type=convert(element, v, "BussinessDocType", _doc_type),
        document_id=v.get("DocumentId", ""),
        reason=v.get("BussinessDocReason", ""),
        paper=optional(element, v, "Paper", _bit) or False,
        document_info=optional(info_el, info, "DocumentInfo", _bit) if info_el is not None else None,
        document_receiver=optional(info_el, info, "DocumentReceiver", _bit) if info_el is not None else None,
        receivers=receivers,
        replacements=replacements,
        staff=read_staff(c.get("StaffInfo")),
    )


def _read_receiver(element: etree._Element) -> Receiver:
    v = values(element)
    return Receiver(convert(element, v, "OrganId", organ_id), optional(element, v, "ReceiverType", int) or 0)


def _read_replacement(element: etree._Element) -> ReplacementInfo:
    c = kids(element)
    organs = c.get("OrganIdList")
    ids: tuple[OrganId, ...] = ()
    if organs is not None:
        ids = tuple(convert(organs, {"OrganId": t}, "OrganId", organ_id) for t in texts(organs))
    return ReplacementInfo(text(c, "DocumentId"), ids)


def _read_reference(element: etree._Element) -> Reference:
    v = values(element)
    return Reference(
        v["ContentId"].strip(), v.get("ContentType", ""), v.get("Description", ""), v.get("AttachmentName", "")
    )


def _read_attachment(element: etree._Element) -> Attachment:
    v = values(element)
    encoded = v.get("ContentTransferEncoded", "")
    # libxml2 checked length and padding but skips characters outside the alphabet: refuse them here
    # with one C-speed translate instead of decoding the attachment again.
    try:
        junk = encoded.encode("ascii").translate(None, _BASE64_ALPHABET)
    except UnicodeEncodeError:
        junk = b"?"
    if junk:
        error = IdentifierError(
            f"ContentTransferEncoded holds characters outside the base64 alphabet: {junk[:10]!r}", rule="base64"
        )
        raise FieldError(element, error, "ContentTransferEncoded")
    return Attachment(
        content_id=v["ContentId"].strip(),
        attachment_name=v.get("AttachmentName", ""),
        description=v.get("Description", ""),
        content_type=v.get("ContentType", ""),
        encoded=encoded,
    )


def envelope_from_tree(root: etree._Element, *, source: str | None = None, strict: bool = False) -> Envelope:
    """Validate (XSD), map and check an already parsed document tree; see ``read_envelope``."""
    from docflow.xml.semantic import check_envelope, locate_violations

    violations = validate(root, "document", source=source)
    if violations:
        raise validation_error(violations, source)
    try:
        envelope = envelope_from_element(root)
    except FieldError as exc:
        raise validation_error([field_violation(exc, source)], source) from None
    problems = [v for v in check_envelope(envelope, strict=strict) if v.severity == "error"]
    if problems:
        raise validation_error(locate_violations(root, problems, source), source)
    return envelope


def read_envelope(data: bytes, *, source: str | None = None, strict: bool = False) -> Envelope:
    """Parse (hardened), validate (XSD), map and check ``data`` as a document message.

    Raises ``UnsafeXMLError`` for refused input and ``ValidationError`` naming line, path and rule for a
    schema, value or semantic error (rule ``message-kind`` for a status message); with ``strict`` the
    semantic warnings count as errors too.
    """
    root = parse_xml(data, source=source)
    if message_kind(root) != "document":
        violation = Violation("this is a status message, not a document", root.sourceline, "/edXML", "message-kind")
        raise validation_error([violation], source)
    return envelope_from_tree(root, source=source, strict=strict)


def type_name(document_type: DocumentType) -> str:
    """TypeName as written: the one given, else the official kind for Type (``ValidationError`` if none)."""
    if document_type.type_name:
        return document_type.type_name
    name = DOCUMENT_KINDS.get(document_type.type)
    if name is None:
        raise ValidationError(
            f"DocumentType/TypeName is empty and Type {document_type.type} is not one of the "
            f"{len(DOCUMENT_KINDS)} official document kinds: give type_name",
            rule="type-name",
        )
    return name


def envelope_to_element(envelope: Envelope) -> etree._Element:
    """Build the canonical ``edXML`` tree of ``envelope`` in one pass."""
    root = _ELEMENT(_P + "edXML", nsmap={None: NS})
    env = _Sub(root, _P + "edXMLEnvelope")
    header = _Sub(env, _P + "edXMLHeader")
    mh = _Sub(header, _P + "MessageHeader")
    write_organization(mh, "From", envelope.sender)
    for recipient in envelope.recipients:
        write_organization(mh, "To", recipient)
    add(mh, "DocumentId", envelope.document_id)
    code = _Sub(mh, _P + "Code")
    add(code, "CodeNumber", envelope.code.number)
    add(code, "CodeNotation", envelope.code.notation)
    promulgation = _Sub(mh, _P + "PromulgationInfo")
    add(promulgation, "Place", envelope.promulgation.place)
    add(promulgation, "PromulgationDate", _date_text(envelope.promulgation.date))
    dt = envelope.document_type
    doc_type = _Sub(mh, _P + "DocumentType")
    add(doc_type, "Type", str(dt.type))
    if dt.type_detail is not None:
        add(doc_type, "TypeDetail", str(dt.type_detail))
    add(doc_type, "TypeName", type_name(dt))
    add(mh, "Subject", envelope.subject)
    add(mh, "Content", envelope.content)
    signer = _Sub(mh, _P + "SignerInfo")
    add(signer, "Competence", envelope.signer.competence)
    add(signer, "Position", envelope.signer.position)
    add(signer, "FullName", envelope.signer.full_name)
    add(mh, "DueDate", _date_text(envelope.due_date))
    _write_other(mh, envelope.other)
    for response in envelope.response_for:
        write_response_for(mh, response)
    if envelope.steering_type is not None:
        add(mh, "SteeringType", str(int(envelope.steering_type)))
    places = _Sub(mh, _P + "ToPlaces")
    for place in envelope.to_places:
        add(places, "Place", place)
    trace = write_trace(header, envelope.trace)
    _write_business(trace, envelope.business)
    if envelope.signature is not None:
        write_signature(header, envelope.signature)
    manifest = _Sub(_Sub(env, _P + "edXMLBody"), _P + "edXMLManifest", version="1.0")
    for ref in envelope.references:
        r = _Sub(manifest, _P + "Reference")
        add(r, "ContentId", ref.content_id)
        add(r, "ContentType", ref.content_type)
        add(r, "Description", ref.description)
        add(r, "AttachmentName", ref.attachment_name)
    if envelope.attachments:
        encoded = _Sub(root, _P + "AttachmentEncoded")
        for att in envelope.attachments:
            a = _Sub(encoded, _P + "Attachment")
            add(a, "ContentId", att.content_id)
            add(a, "AttachmentName", att.attachment_name)
            add(a, "Description", att.description)
            add(a, "ContentType", att.content_type)
            add(a, "ContentTransferEncoded", att.encoded)
    return root


def _write_other(parent: etree._Element, other: OtherInfo) -> None:
    el = _Sub(parent, _P + "OtherInfo")
    add(el, "Priority", str(int(other.priority)))
    add(el, "SphereOfPromulgation", other.sphere_of_promulgation)
    add(el, "TyperNotation", other.typer_notation)
    if other.promulgation_amount is not None:
        add(el, "PromulgationAmount", str(other.promulgation_amount))
    if other.page_amount is not None:
        add(el, "PageAmount", str(other.page_amount))
    if other.direction is not None:
        add(el, "Direction", "true" if other.direction else "false")
    appendixes = _Sub(el, _P + "Appendixes")
    for appendix in other.appendixes:
        add(appendixes, "Appendix", appendix)


def _write_business(parent: etree._Element, business: Business) -> None:
    el = _Sub(parent, _P + "Bussiness")
    add(el, "DocumentId", business.document_id)
    add(el, "BussinessDocType", str(int(business.doc_type)))
    add(el, "BussinessDocReason", business.reason)
    add(el, "Paper", "1" if business.paper else "0")
    if business.document_info is not None or business.document_receiver is not None or business.receivers:
        info = _Sub(el, _P + "BussinessDocumentInfo")
        if business.document_info is not None:
            add(info, "DocumentInfo", _flag(business.document_info))
        if business.document_receiver is not None:
            add(info, "DocumentReceiver", _flag(business.document_receiver))
        if business.receivers:
            receivers = _Sub(info, _P + "ReceiverList")
            for receiver in business.receivers:
                r = _Sub(receivers, _P + "Receiver")
                add(r, "OrganId", str(receiver.organ_id))
                add(r, "ReceiverType", str(receiver.receiver_type))
    if business.replacements:
        replacements = _Sub(el, _P + "ReplacementInfoList")
        for replacement in business.replacements:
            ri = _Sub(replacements, _P + "ReplacementInfo")
            add(ri, "DocumentId", replacement.document_id)
            organs = _Sub(ri, _P + "OrganIdList")
            for organ in replacement.organ_ids:
                add(organs, "OrganId", str(organ))
    if business.staff is not None:
        write_staff(el, business.staff)


def write_envelope(envelope: Envelope, *, check: bool = False) -> bytes:
    """Serialize ``envelope`` as UTF-8 edXML with an XML declaration.

    With ``check`` the built tree is validated against the XSD first (``ValidationError`` on failure);
    off by default because the output of valid input always validates and sending is a hot path.
    """
    root = envelope_to_element(envelope)
    if check:
        violations = validate(root, "document")
        if violations:
            raise validation_error(violations)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
