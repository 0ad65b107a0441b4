"""The parts of a signature: find it, read it, rebuild it in the XML-DSig namespace, and put the header in the
form a docflow signature covers (trace entries and inter-element whitespace set aside, then put back).

Two message families are signed alike, each described by a ``Shape`` (where its header, its sender and its
trace entries are): edXML documents and statuses (``EDXML``), and docflow's one-stop dossier messages
(``DOSSIER``); ``find_header`` tells them apart by the root element.

Used by ``docflow.xml.signing``; no cryptography here.  Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from docflow.domain.envelope import TraceHeader
from docflow.errors import SignatureError, WrappedSignatureError
from docflow.xml.dossier_xml import DOSSIER_NS, read_trace_entry
from docflow.xml.edxml import FieldError, read_trace
from docflow.xml.schemas import NS

DS = "http://www.w3.org/2000/09/xmldsig#"
_P = "{" + NS + "}"
_DS = "{" + DS + "}"
ENVELOPE, HEADER, TRACE_LIST, TRACE = (
    _P + t for t in ("edXMLEnvelope", "edXMLHeader", "TraceHeaderList", "TraceHeader")
)
_SIGNATURE_TAGS = (_DS + "Signature", _P + "Signature", _P + "DigitalSignature")
_TRACE_FIELDS = frozenset({_P + "OrganId", _P + "Timestamp"})

#: Steps that put a normalised header back, applied in reverse order.
Undo = list[Callable[[], None]]


@dataclass(frozen=True, slots=True)
class Shape:
    """Where one message family keeps what a signature needs, as tags below its root."""

    name: str  # in messages: "edXML", "dossier"
    root: str
    header: tuple[str, ...]  # the header's path below the root: the signature is one of its children
    sender: tuple[str, ...]  # the sender's OrganId below the header: whose certificate verifies
    trace_list: str
    trace: str
    trace_fields: frozenset[str]
    anchors: tuple[str, ...]  # the signature goes after the first of these the header holds
    read_trace: Callable[[etree._Element], TraceHeader]

    @property
    def header_name(self) -> str:
        return etree.QName(self.header[-1]).localname

    @property
    def location(self) -> str:
        """The header as signxml's ``SignatureConfiguration.location`` names it."""
        return "./" + "/".join(self.header) + "/"


_D = "{" + DOSSIER_NS + "}"
EDXML = Shape(
    name="edXML",
    root=_P + "edXML",
    header=(ENVELOPE, HEADER),
    sender=(_P + "MessageHeader", _P + "From", _P + "OrganId"),
    trace_list=TRACE_LIST,
    trace=TRACE,
    trace_fields=_TRACE_FIELDS,
    anchors=(TRACE_LIST, _P + "MessageHeader"),
    read_trace=read_trace,
)
DOSSIER = Shape(
    name="dossier",
    root=_D + "DossierMessage",
    header=(_D + "Header",),
    sender=(_D + "From",),
    trace_list=_D + "TraceList",
    trace=_D + "Trace",
    trace_fields=frozenset({_D + "OrganId", _D + "Timestamp"}),
    anchors=(_D + "TraceList", _D + "SentAt"),
    read_trace=read_trace_entry,
)
_SHAPES = {shape.root: shape for shape in (EDXML, DOSSIER)}


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What a message's signature says about itself, read without verifying anything."""

    namespace: Literal["xmldsig", "edxml"]
    signature_method: str
    digest_methods: tuple[str, ...]
    reference_uris: tuple[str | None, ...]
    transforms: tuple[str, ...]
    certificate_subject: str | None

    @property
    def algorithm(self) -> str:
        """Short name of the signature method, e.g. ``rsa-sha256`` or ``rsa-sha1``."""
        return self.signature_method.rsplit("#", 1)[-1]


def read_signature_info(root: etree._Element) -> SignatureInfo | None:
    """The one signature's algorithms, reference and certificate subject; None when unsigned."""
    found = [s for s in find_signatures(root) if not empty_digital_signature(s)]
    if not found:
        return None
    if len(found) > 1:
        raise WrappedSignatureError(f"{len(found)} signatures in one message", rule="one-signature")
    return signature_info(found[0])


def signature_info(signature: etree._Element) -> SignatureInfo:
    # One walk over the signature's elements: cheaper than a path search per field on every verification.
    ns = signature.tag[: signature.tag.index("}") + 1]
    method_tag, reference_tag, transform_tag, digest_tag, subject_tag = (
        ns + name for name in ("SignatureMethod", "Reference", "Transform", "DigestMethod", "X509SubjectName")
    )
    method, subject = "", None
    digests: list[str] = []
    uris: list[str | None] = []
    transforms: list[str] = []
    for item in signature.iter():
        tag = item.tag
        if tag == transform_tag:
            transforms.append(item.get("Algorithm") or "")
        elif tag == digest_tag:
            digests.append(item.get("Algorithm") or "")
        elif tag == reference_tag:
            uris.append(item.get("URI"))
        elif tag == method_tag:
            method = item.get("Algorithm") or ""
        elif tag == subject_tag:
            subject = item.text
    return SignatureInfo(
        namespace="xmldsig" if ns == _DS else "edxml",
        signature_method=method,
        digest_methods=tuple(digests),
        reference_uris=tuple(uris),
        transforms=tuple(transforms),
        certificate_subject=subject.strip() if subject else None,
    )


def sender_of(header: etree._Element, shape: Shape = EDXML) -> str:
    organ_id = descend(header, *shape.sender)
    return (organ_id.text or "").strip() if organ_id is not None else ""


def first_child(element: etree._Element, tag: str) -> etree._Element | None:
    """The first child named ``tag``: a plain loop over a few children beats ``find`` (ElementPath) here."""
    for child in element:
        if child.tag == tag:
            return child
    return None


def descend(element: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if element is None:
            return None
        element = first_child(element, tag)
    return element


def find_header(root: etree._Element, source: str | None = None) -> tuple[Shape, etree._Element]:
    """The message's family and its header; ``SignatureError`` for anything that is neither."""
    shape = _SHAPES.get(root.tag)
    header = descend(root, *shape.header) if shape is not None else None
    if shape is None or header is None:
        raise SignatureError(
            "not an edXML message (edXML/edXMLEnvelope/edXMLHeader) nor a dossier message (DossierMessage/Header)",
            file=source,
            rule="edxml-root",
        )
    return shape, header


def signature_position(shape: Shape, header: etree._Element) -> int:
    """Where a signature goes in ``header``: after the first anchor it holds (the XSD order), else last."""
    for tag in shape.anchors:
        anchor = first_child(header, tag)
        if anchor is not None:
            return header.index(anchor) + 1
    return len(header)


def find_signatures(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(*_SIGNATURE_TAGS))


def empty_digital_signature(element: etree._Element) -> bool:
    return element.tag == _P + "DigitalSignature" and len(element) == 0 and not (element.text or "").strip()


def display_name(element: etree._Element) -> str:
    qname = etree.QName(element)
    return ("ds:" if qname.namespace == DS else "edXML:") + qname.localname


def to_xmldsig(signature: etree._Element, prefix: str | None) -> etree._Element:
    """Rebuild a ``Signature`` in the XML-DSig namespace under ``prefix`` (None: the default namespace), in place.

    Used for the samples' quirk: an unprefixed ``Signature`` whose XML-DSig declaration was lost, so that it
    landed in the edXML namespace.
    """

    def rebuild(old: etree._Element, parent: etree._Element | None) -> etree._Element:
        qname = etree.QName(old)
        tag = _DS + qname.localname if qname.namespace == NS else old.tag
        new = (
            etree.Element(tag, dict(old.attrib), nsmap={prefix: DS})
            if parent is None
            else etree.SubElement(parent, tag, dict(old.attrib))
        )
        new.text, new.tail = old.text, old.tail
        for child in old:
            if isinstance(child.tag, str):
                rebuild(child, new)
        return new

    converted = rebuild(signature, None)
    signature.getparent().replace(signature, converted)
    return converted


def read_trace_entries(shape: Shape, header: etree._Element, source: str | None) -> tuple[TraceHeader, ...]:
    """The trace entries (left out of the signature), refused when they hide anything but OrganId and Timestamp."""
    entries = []
    trace_list = first_child(header, shape.trace_list)
    for entry in trace_list.iterchildren(shape.trace) if trace_list is not None else ():
        hidden = [
            d
            for d in entry.iterdescendants()
            if isinstance(d.tag, str) and (d.getparent() is not entry or d.tag not in shape.trace_fields)
        ]
        if hidden:
            what = etree.QName(hidden[0]).localname
            raise WrappedSignatureError(
                f"{etree.QName(entry).localname} at line {entry.sourceline} holds {what}: content outside the "
                "signature refused",
                file=source,
                line=entry.sourceline,
                rule="trace-content",
            )
        try:
            entries.append(shape.read_trace(entry))
        except FieldError as exc:
            raise SignatureError(
                f"{etree.QName(entry).localname} at line {entry.sourceline}: {exc}",
                file=source,
                line=entry.sourceline,
                rule="trace-value",
            ) from None
    return tuple(entries)


def normalise(shape: Shape, header: etree._Element) -> Undo:
    """Put ``header`` in the form a docflow signature covers; return the steps that undo it, in order."""
    undo: Undo = []

    def set_text(element: etree._Element, attr: str) -> None:
        old = getattr(element, attr)
        if old is not None and not old.strip():
            setattr(element, attr, None)
            undo.append(lambda: setattr(element, attr, old))

    def remove(element: etree._Element) -> None:
        parent, index, tail = element.getparent(), element.getparent().index(element), element.tail
        parent.remove(element)

        def put_back() -> None:
            parent.insert(index, element)
            element.tail = tail

        undo.append(put_back)

    set_text(header, "text")
    for child in header:
        set_text(child, "tail")
    trace_list = first_child(header, shape.trace_list)
    if trace_list is not None:
        for entry in list(trace_list.iterchildren(shape.trace)):
            remove(entry)
        set_text(trace_list, "text")
        for child in trace_list:
            set_text(child, "tail")
        if not any(isinstance(c.tag, str) for c in trace_list):
            remove(trace_list)
    return undo


def restore(undo: Undo) -> None:
    for step in reversed(undo):
        step()
    undo.clear()
