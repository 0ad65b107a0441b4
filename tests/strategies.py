"""Hypothesis strategies for edXML messages (``Envelope``, ``StatusMessage``) and their parts.

Generated values are what the builder accepts and the XSD allows: XML-legal text (Vietnamese letters,
ASCII, spaces, tabs and newlines; no control characters), within the length limits of STANDARD.md,
dates as ``date``, naive timestamps without microseconds, every business type, optional fields None,
TypeName filled.  Documents are consistent (DocumentId agrees with From, Code and PromulgationDate;
manifest and attachments match) unless a test breaks them on purpose.  Reused by other test suites.
"""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import strategies as st

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
from docflow.domain.status import StatusCode, StatusMessage

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
ALPHABET = VIETNAMESE + VIETNAMESE.upper() + "0123456789 .,;:-/()&<>\"'\t\n"


def text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Free text the builder and XSD accept (may be empty)."""
    return st.text(alphabet=ALPHABET, max_size=max_size)


def words(max_size: int = 20) -> st.SearchStrategy[str]:
    """Non-empty text without separators, for code numbers and notations."""
    return st.text(alphabet="0123456789ABCDĐHTPQ-", min_size=1, max_size=max_size)


def organ_ids() -> st.SearchStrategy[OrganId]:
    """Both written forms: ``CCC.BB.AA.XNN`` and the short hub form ``BB.AA.W00``."""
    full = st.builds(
        OrganId,
        prefix=st.sampled_from("GHAW"),
        level1=st.integers(0, 99),
        level2=st.integers(0, 99),
        level3=st.integers(0, 99),
        level4=st.integers(0, 999),
    )
    hub = st.builds(
        lambda l1, l2, l3: OrganId("W", l1, l2, l3, 0, short=True),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
    )
    return st.one_of(full, hub)


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
timestamps = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


def organizations(organ_id: st.SearchStrategy[OrganId] | None = None) -> st.SearchStrategy[Organization]:
    return st.builds(
        Organization,
        organ_id=organ_id or organ_ids(),
        organ_name=text(60),
        organization_in_charge=text(60),
        organ_add=text(80),
        email=text(30),
        telephone=text(15),
        fax=text(15),
        website=text(30),
    )


staff_infos = st.builds(StaffInfo, department=text(), staff=text(), email=text(30), mobile=text(15))
trace_headers = st.builds(TraceHeader, organ_id=organ_ids(), timestamp=timestamps)
response_fors = st.builds(
    ResponseFor,
    organ_id=organ_ids(),
    code=text(30),
    promulgation_date=st.none() | dates,
    document_id=text(60),
)


@st.composite
def businesses(draw: st.DrawFn) -> Business:
    """Every BussinessDocType, with update and replacement details where they belong (or not)."""
    doc_type = draw(st.sampled_from(BusinessDocType))
    return Business(
        doc_type=doc_type,
        document_id=draw(text(60)),
        reason=draw(text()),
        paper=draw(st.booleans()),
        document_info=draw(st.none() | st.booleans()),
        document_receiver=draw(st.none() | st.booleans()),
        receivers=tuple(draw(st.lists(st.builds(Receiver, organ_ids(), st.integers(0, 9)), max_size=3))),
        replacements=tuple(
            draw(
                st.lists(st.builds(ReplacementInfo, text(60), st.lists(organ_ids(), max_size=3).map(tuple)), max_size=2)
            )
        ),
        staff=draw(st.none() | staff_infos),
    )


@st.composite
def document_types(draw: st.DrawFn) -> DocumentType:
    kind = draw(st.sampled_from(sorted(DOCUMENT_KINDS)))
    name = draw(st.sampled_from([DOCUMENT_KINDS[kind], "Công văn", "Văn bản khác"]))
    return DocumentType(kind, draw(st.none() | st.integers(0, 99)), name)


@st.composite
def attachments(draw: st.DrawFn, count: int) -> tuple[Attachment, ...]:
    return tuple(
        Attachment.from_bytes(
            f"cid:{i + 1}",
            draw(st.binary(max_size=64)),
            name=draw(text(30)),
            content_type=draw(st.sampled_from(["application/zip", "application/pdf", ""])),
            description=draw(text(30)),
        )
        for i in range(count)
    )


SIGNATURE = (
    f'<Signature xmlns="{NS}"><SignedInfo><SignatureMethod Algorithm="http://www.w3.org/2001/04/'
    'xmldsig-more#rsa-sha256"/></SignedInfo><SignatureValue>AAEC</SignatureValue></Signature>'
).encode()


@st.composite
def envelopes(draw: st.DrawFn, max_recipients: int = 6) -> Envelope:
    """A consistent document message."""
    sender = draw(organizations())
    recipients = draw(st.lists(organizations(), min_size=1, max_size=max_recipients, unique_by=lambda o: o.organ_id))
    code = Code(draw(words(11)), draw(words(30)))
    promulgated = draw(dates)
    atts = draw(attachments(draw(st.integers(0, 3))))
    refs = tuple(Reference(a.content_id, a.content_type, a.description, a.attachment_name) for a in atts)
    return Envelope(
        sender=sender,
        recipients=tuple(recipients),
        document_id=Envelope.compose_document_id(sender.organ_id, promulgated, code),
        code=code,
        subject=draw(text(120)),
        promulgation=PromulgationInfo(draw(text(30)), promulgated),
        document_type=draw(document_types()),
        content=draw(text(120)),
        signer=SignerInfo(draw(text()), draw(text()), draw(text())),
        due_date=draw(st.none() | dates),
        other=OtherInfo(
            priority=draw(st.sampled_from(Priority)),
            sphere_of_promulgation=draw(text()),
            typer_notation=draw(text(10)),
            promulgation_amount=draw(st.none() | st.integers(0, 10_000)),
            page_amount=draw(st.none() | st.integers(0, 10_000)),
            direction=draw(st.none() | st.booleans()),
            appendixes=tuple(draw(st.lists(text(), max_size=3))),
        ),
        steering_type=draw(st.none() | st.sampled_from(SteeringType)),
        to_places=tuple(draw(st.lists(text(), max_size=3))),
        response_for=tuple(draw(st.lists(response_fors, max_size=2))),
        trace=tuple(draw(st.lists(trace_headers, max_size=4))),
        business=draw(businesses()),
        references=refs,
        attachments=atts,
        signature=draw(st.sampled_from([None, SIGNATURE])),
    )


status_messages = st.builds(
    StatusMessage,
    sender=organizations(),
    response_for=response_fors,
    status=st.sampled_from(StatusCode),
    timestamp=timestamps,
    description=text(120),
    staff=st.none() | staff_infos,
    trace=st.lists(trace_headers, max_size=4).map(tuple),
)


def example_envelope(**changes: object) -> Envelope:
    """A small, valid, consistent document (two recipients, one attachment); ``changes`` replace fields."""
    sender = Organization(OrganId.parse("000.00.11.H53"), "Sở Tài chính", "Tỉnh Tây Ninh", email="stc@tayninh.gov.vn")
    code = Code("2491", "STC-BCTC")
    when = date(2020, 10, 30)
    attachment = Attachment.from_bytes("cid:1", b"PK\x03\x04 zip", name="bao-cao.zip", content_type="application/zip")
    fields: dict[str, object] = {
        "sender": sender,
        "recipients": (
            Organization(OrganId.parse("000.00.01.A53"), "Văn phòng tỉnh ủy", "Tỉnh Tây Ninh"),
            Organization(OrganId.parse("000.00.00.H53"), "UBND tỉnh Tây Ninh"),
        ),
        "document_id": Envelope.compose_document_id(sender.organ_id, when, code),
        "code": code,
        "subject": "Báo cáo tài chính tỉnh",
        "promulgation": PromulgationInfo("Tây Ninh", when),
        "document_type": DocumentType(18, None, "Công văn"),
        "trace": (TraceHeader(sender.organ_id, datetime(2020, 10, 30, 8, 15, 0)),),
        "references": (Reference("cid:1", "application/zip", "", "bao-cao.zip"),),
        "attachments": (attachment,),
    }
    fields.update(changes)
    return Envelope(**fields)  # type: ignore[arg-type]


def example_status(**changes: object) -> StatusMessage:
    """A small, valid status message (05 being processed); ``changes`` replace fields."""
    fields: dict[str, object] = {
        "sender": Organization(OrganId.parse("000.00.00.H41"), "UBND Tỉnh Nghệ An"),
        "response_for": ResponseFor(
            OrganId.parse("000.00.00.G22"),
            "7816/VPCP-TTĐT",
            date(2015, 9, 30),
            "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
        ),
        "status": StatusCode.PROCESSING,
        "timestamp": datetime(2015, 9, 20, 11, 8, 36),
        "description": "Đang xử lý văn bản đến",
    }
    fields.update(changes)
    return StatusMessage(**fields)  # type: ignore[arg-type]
