"""The edXML document message as frozen dataclasses (QCVN 102:2016 ``edXMLEnvelope`` + attachments).

Field names are English; the edXML element each maps to is named in the comment.  Free-text fields are
``str`` and default to ``""`` (real producers send many empty elements); optional structured fields
default to ``None``.  The model keeps what it reads: ``document_id`` is stored as sent (real producers
do not always make it agree with Code and PromulgationDate — semantic checks report that), and the
signature is an opaque XML fragment re-emitted unchanged.

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import IntEnum

from docflow.domain.dates import format_date
from docflow.domain.ids import DocumentId, OrganId
from docflow.errors import IdentifierError


class Priority(IntEnum):
    """OtherInfo/Priority (độ khẩn)."""

    NORMAL = 0  # Thường
    URGENT = 1  # Khẩn
    VERY_URGENT = 2  # Thượng khẩn
    FLASH = 3  # Hỏa tốc
    FLASH_TIMED = 4  # Hỏa tốc hẹn giờ

    @property
    def label(self) -> str:
        return ("Thường", "Khẩn", "Thượng khẩn", "Hỏa tốc", "Hỏa tốc hẹn giờ")[self.value]


class SteeringType(IntEnum):
    """SteeringType: whether the document steers, or reports on steering."""

    NONE = 0
    STEERING = 1
    REPORT = 2


class BusinessDocType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType."""

    NEW = 0  # văn bản mới
    REVOKE = 1  # thu hồi
    UPDATE = 2  # cập nhật
    REPLACE = 3  # thay thế


#: The official list of administrative document kinds, by index (DocumentType/Type in the "index" style).
DOCUMENT_KINDS: dict[int, str] = {
    1: "Nghị quyết",
    2: "Quyết định",
    3: "Chỉ thị",
    4: "Quy chế",
    5: "Quy định",
    6: "Thông cáo",
    7: "Thông báo",
    8: "Hướng dẫn",
    9: "Chương trình",
    10: "Kế hoạch",
    11: "Phương án",
    12: "Đề án",
    13: "Dự án",
    14: "Báo cáo",
    15: "Biên bản",
    16: "Tờ trình",
    17: "Hợp đồng",
    18: "Công văn",
    19: "Công điện",
    20: "Bản ghi nhớ",
    21: "Bản thỏa thuận",
    22: "Giấy ủy quyền",
    23: "Giấy mời",
    24: "Giấy giới thiệu",
    25: "Giấy nghỉ phép",
    26: "Phiếu gửi",
    27: "Phiếu chuyển",
    28: "Phiếu báo",
    29: "Thư công",
}


@dataclass(frozen=True, slots=True)
class Organization:
    """``From`` / ``To``: an agency as named in a message header."""

    organ_id: OrganId  # OrganId
    organ_name: str = ""  # OrganName
    organization_in_charge: str = ""  # OrganizationInCharge
    organ_add: str = ""  # OrganAdd
    email: str = ""  # Email
    telephone: str = ""  # Telephone
    fax: str = ""  # Fax
    website: str = ""  # Website


@dataclass(frozen=True, slots=True)
class Code:
    """``Code``: CodeNumber / CodeNotation (số và ký hiệu)."""

    number: str
    notation: str

    def __str__(self) -> str:
        return f"{self.number}/{self.notation}"

    @classmethod
    def parse(cls, text: str) -> Code:
        """Parse ``number/notation`` as status messages write it in ResponseFor/Code."""
        number, sep, notation = text.strip().partition("/")
        if not sep or not number:
            raise IdentifierError(f"invalid code {text!r}: expected '<number>/<notation>'", value=text)
        return cls(number, notation)


@dataclass(frozen=True, slots=True)
class PromulgationInfo:
    """``PromulgationInfo``: Place, PromulgationDate."""

    place: str = ""
    date: date | None = None


@dataclass(frozen=True, slots=True)
class DocumentType:
    """``DocumentType``: Type, TypeDetail, TypeName (always filled when built)."""

    type: int = 1
    type_detail: int | None = None
    type_name: str = ""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """``SignerInfo``: Competence, Position, FullName."""

    competence: str = ""
    position: str = ""
    full_name: str = ""


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """``OtherInfo``."""

    priority: Priority = Priority.NORMAL
    sphere_of_promulgation: str = ""
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResponseFor:
    """``ResponseFor``: the document being answered (also the subject of a status message)."""

    organ_id: OrganId
    code: str = ""  # number/notation, as written
    promulgation_date: date | None = None
    document_id: str = ""


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """``TraceHeader``: one system the package passed, and when."""

    organ_id: OrganId
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """``StaffInfo``: the clerk responsible."""

    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""


@dataclass(frozen=True, slots=True)
class Receiver:
    """``ReceiverList/Receiver`` of an update."""

    organ_id: OrganId
    receiver_type: int = 0


@dataclass(frozen=True, slots=True)
class ReplacementInfo:
    """``ReplacementInfoList/ReplacementInfo``: a document replaced, for which agencies."""

    document_id: str
    organ_ids: tuple[OrganId, ...] = ()


@dataclass(frozen=True, slots=True)
class Business:
    """``TraceHeaderList/Bussiness`` (sic): what this message does to which document."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    document_id: str = ""  # the document acted on, as written (may belong to another system)
    reason: str = ""
    paper: bool = False
    document_info: bool | None = None  # BussinessDocumentInfo/DocumentInfo (updates)
    document_receiver: bool | None = None  # BussinessDocumentInfo/DocumentReceiver (updates)
    receivers: tuple[Receiver, ...] = ()
    replacements: tuple[ReplacementInfo, ...] = ()
    staff: StaffInfo | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """``edXMLManifest/Reference``: one attachment announced in the body."""

    content_id: str  # cid:N
    content_type: str = ""
    description: str = ""
    attachment_name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """``AttachmentEncoded/Attachment``; ``encoded`` is the base64 text exactly as carried."""

    content_id: str
    attachment_name: str = ""
    description: str = ""
    content_type: str = ""
    encoded: str = ""

    @classmethod
    def from_bytes(
        cls, content_id: str, data: bytes, *, name: str = "", content_type: str = "", description: str = ""
    ) -> Attachment:
        """Build an attachment from raw bytes (base64-encoded here)."""
        return cls(content_id, name, description, content_type, base64.b64encode(data).decode("ascii"))

    @property
    def data(self) -> bytes:
        """The decoded bytes; raises ``IdentifierError`` when the text is not base64."""
        try:
            return base64.b64decode("".join(self.encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IdentifierError(f"attachment {self.content_id}: not valid base64: {exc}") from exc

    @property
    def size(self) -> int:
        """Decoded size in bytes, computed from the text without decoding."""
        text = "".join(self.encoded.split())
        return len(text) * 3 // 4 - text[-2:].count("=")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A whole edXML document message (``edXML`` root: envelope, manifest and encoded attachments)."""

    sender: Organization  # From
    recipients: tuple[Organization, ...]  # To*
    document_id: str  # DocumentId, as written
    code: Code  # Code
    subject: str  # Subject
    promulgation: PromulgationInfo = field(default_factory=PromulgationInfo)
    document_type: DocumentType = field(default_factory=DocumentType)
    content: str = ""
    signer: SignerInfo = field(default_factory=SignerInfo)
    due_date: date | None = None
    other: OtherInfo = field(default_factory=OtherInfo)
    steering_type: SteeringType | None = None
    to_places: tuple[str, ...] = ()
    response_for: tuple[ResponseFor, ...] = ()
    trace: tuple[TraceHeader, ...] = ()
    business: Business = field(default_factory=Business)
    references: tuple[Reference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    signature: bytes | None = None  # the Signature / DigitalSignature element, serialized, opaque

    @property
    def parsed_document_id(self) -> DocumentId:
        """``document_id`` parsed; raises ``IdentifierError`` if it is malformed."""
        return DocumentId.parse(self.document_id)

    @staticmethod
    def compose_document_id(sender: OrganId, when: date, code: Code) -> str:
        """The DocumentId a sender should write for ``code`` promulgated on ``when``."""
        return f"{sender},{format_date(when)},{code.number}/{code.notation}"

    def with_trace(self, header: TraceHeader) -> Envelope:
        """A copy with one more TraceHeader (what each hop adds)."""
        return replace(self, trace=(*self.trace, header))
