"""Checks of an ``Envelope`` that an XSD cannot express, each with a rule name.

Rules (error unless said otherwise):

- ``manifest-attachment``: every manifest Reference has an Attachment with its ContentId, and back;
- ``duplicate-content-id``: a ContentId appears twice among the References or among the Attachments;
- ``to-not-empty``: at least one recipient; ``duplicate-recipient``: one OrganId named twice in To;
- ``document-id-format``: DocumentId is ``<OrganId>,<yyyy/MM/dd>,<number>/<notation>`` with a real date;
- ``document-id-sender``: its OrganId is From/OrganId; ``document-id-code``: its code is Code;
- ``document-id-promulgation-date``: its date is PromulgationDate — a *warning* by default (a real sample
  disagrees: DocumentId 2015/09/30, PromulgationDate 2018/09/28), an error with ``strict``.

``Bussiness/DocumentId`` names a document that may belong to another system and is not checked.
The checks work on the dataclass; ``locate_violations`` adds line numbers from a parsed tree.
Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from lxml import etree

from docflow.domain.envelope import Envelope
from docflow.domain.ids import DocumentId
from docflow.errors import IdentifierError, Violation

_HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
_MANIFEST = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"
_ATTACHMENTS = "/edXML/AttachmentEncoded"


def _indexed(path: str, name: str, index: int, total: int) -> str:
    return f"{path}/{name}[{index + 1}]" if total > 1 else f"{path}/{name}"


def check_envelope(env: Envelope, strict: bool = False) -> list[Violation]:
    """Every semantic problem of ``env`` (an ``Envelope``); warnings carry ``severity="warning"``."""
    if not isinstance(env, Envelope):
        raise TypeError(f"check_envelope expects an Envelope, got {type(env).__name__}")
    out: list[Violation] = []
    _check_attachments(env, out)
    _check_recipients(env, out)
    _check_document_id(env, strict, out)
    return out


def _check_attachments(env: Envelope, out: list[Violation]) -> None:
    refs = env.references
    atts = env.attachments
    ref_ids = [r.content_id for r in refs]
    att_ids = [a.content_id for a in atts]
    for label, ids, path, name in (
        ("manifest Reference", ref_ids, _MANIFEST, "Reference"),
        ("Attachment", att_ids, _ATTACHMENTS, "Attachment"),
    ):
        seen: set[str] = set()
        for i, cid in enumerate(ids):
            if cid in seen:
                out.append(
                    Violation(
                        f"{label} ContentId {cid!r} appears more than once",
                        path=_indexed(path, name, i, len(ids)) + "/ContentId",
                        rule="duplicate-content-id",
                    )
                )
            seen.add(cid)
    att_set, ref_set = set(att_ids), set(ref_ids)
    for i, cid in enumerate(ref_ids):
        if cid not in att_set:
            out.append(
                Violation(
                    f"manifest Reference {cid!r} has no Attachment with that ContentId",
                    path=_indexed(_MANIFEST, "Reference", i, len(ref_ids)) + "/ContentId",
                    rule="manifest-attachment",
                )
            )
    for i, cid in enumerate(att_ids):
        if cid not in ref_set:
            out.append(
                Violation(
                    f"Attachment {cid!r} is not announced by a manifest Reference",
                    path=_indexed(_ATTACHMENTS, "Attachment", i, len(att_ids)) + "/ContentId",
                    rule="manifest-attachment",
                )
            )


def _check_recipients(env: Envelope, out: list[Violation]) -> None:
    recipients = env.recipients
    if not recipients:
        out.append(Violation("the message names no recipient (To)", path=_HEADER, rule="to-not-empty"))
        return
    seen: set[object] = set()
    for i, org in enumerate(recipients):
        if org.organ_id in seen:
            out.append(
                Violation(
                    f"recipient {org.organ_id} is named more than once in To",
                    path=_indexed(_HEADER, "To", i, len(recipients)) + "/OrganId",
                    rule="duplicate-recipient",
                )
            )
        seen.add(org.organ_id)


def _check_document_id(env: Envelope, strict: bool, out: list[Violation]) -> None:
    path = f"{_HEADER}/DocumentId"
    try:
        parsed = DocumentId.parse(env.document_id)
    except IdentifierError as exc:
        out.append(Violation(str(exc), path=path, rule="document-id-format"))
        return
    sender = env.sender.organ_id
    if parsed.sender != sender:
        out.append(
            Violation(
                f"DocumentId names sender {parsed.sender} but From/OrganId is {sender}",
                path=path,
                rule="document-id-sender",
            )
        )
    code = env.code
    if (parsed.code_number, parsed.code_notation) != (code.number.strip(), code.notation.strip()):
        out.append(
            Violation(
                f"DocumentId names code {parsed.code_number}/{parsed.code_notation} but Code is "
                f"{code.number}/{code.notation}",
                path=path,
                rule="document-id-code",
            )
        )
    promulgated = env.promulgation.date
    if promulgated is not None and promulgated != parsed.date:
        out.append(
            Violation(
                f"DocumentId date {parsed.date:%Y/%m/%d} differs from PromulgationDate {promulgated:%Y/%m/%d}",
                path=path,
                rule="document-id-promulgation-date",
                severity="error" if strict else "warning",
            )
        )


def locate_violations(root: etree._Element, violations: list[Violation], source: str | None) -> list[Violation]:
    """``violations`` with the line of the element each path names in ``root`` and the file set."""
    return [
        Violation(
            v.message, v.line if v.line is not None else _line_of(root, v.path), v.path, v.rule, source, v.severity
        )
        for v in violations
    ]


def _line_of(root: etree._Element, path: str) -> int | None:
    node: etree._Element | None = root
    steps = [s for s in path.split("/") if s][1:]  # the first step is the root itself
    for step in steps:
        if node is None:
            return None
        name, _, index = step.partition("[")
        position = int(index.rstrip("]")) if index else 1
        matches = [c for c in node.iterchildren(etree.Element) if isinstance(c.tag, str) and c.tag.endswith("}" + name)]
        node = matches[position - 1] if len(matches) >= position else None
    return node.sourceline if node is not None else None
