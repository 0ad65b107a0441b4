"""edXML benchmarks: docflow's read and write of a document message against raw lxml doing the same job.

- ``parse_validate_4k`` / ``_1m``: ``read_envelope`` (hardened parse, XSD, mapping, semantic checks) against
  the floor ``etree.fromstring`` + ``XMLSchema.validate`` with the same compiled XSD on the same bytes.
- ``build_serialize_4k`` / ``_1m``: ``write_envelope`` against the floor of hand-written ``SubElement``
  calls building the same tree and ``tostring`` (setup checks the two produce identical bytes).

The envelopes are built with docflow's dataclasses: a ~4 KB message (three recipients, trace, business,
one small attachment) and the same with a ~1 MB base64 attachment.
"""

from __future__ import annotations

import random
from datetime import date, datetime

from harness import Case, benchmark
from lxml import etree

from docflow.domain.envelope import (
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
    Reference,
    SignerInfo,
    StaffInfo,
    SteeringType,
    TraceHeader,
)
from docflow.domain.ids import OrganId
from docflow.xml.edxml import read_envelope, write_envelope
from docflow.xml.hop import read_hop
from docflow.xml.schemas import NS, get_schema

P = "{" + NS + "}"


def organization(code: str, name: str, province: str) -> Organization:
    return Organization(
        organ_id=OrganId.parse(code),
        organ_name=name,
        organization_in_charge=province,
        organ_add=f"Số 1 đường Lý Thường Kiệt, {province}",
        email="vanthu@" + code.replace(".", "").lower() + ".gov.vn",
        telephone="0273 3872 111",
    )


def envelope(attachment_bytes: int) -> Envelope:
    """A real-looking document from the Government Office to three provinces, with one attachment."""
    sent = date(2024, 3, 5)
    code = Code("1234", "VPCP-KGVX")
    sender = OrganId.parse("000.00.00.G22")
    payload = random.Random(102).randbytes(attachment_bytes)
    return Envelope(
        sender=organization("000.00.00.G22", "Văn phòng Chính phủ", "Hà Nội"),
        recipients=(
            organization("000.00.00.H58", "Ủy ban nhân dân tỉnh Tiền Giang", "Tỉnh Tiền Giang"),
            organization("000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh", "Tỉnh Tây Ninh"),
            organization("000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
        ),
        document_id=Envelope.compose_document_id(sender, sent, code),
        code=code,
        subject="Về việc triển khai kết nối, liên thông văn bản điện tử bốn cấp chính quyền",
        promulgation=PromulgationInfo("Hà Nội", sent),
        document_type=DocumentType(type=18, type_name="Công văn"),
        content="Văn phòng Chính phủ đề nghị các địa phương hoàn thành kết nối trục liên thông văn bản quốc gia.",
        signer=SignerInfo("Bộ trưởng, Chủ nhiệm", "Chủ nhiệm", "Nguyễn Văn A"),
        due_date=date(2024, 4, 30),
        other=OtherInfo(
            priority=Priority.URGENT,
            sphere_of_promulgation="Liên thông văn bản quốc gia",
            typer_notation="VT",
            promulgation_amount=3,
            page_amount=4,
            direction=False,
            appendixes=("Phụ lục I: Danh sách đơn vị",),
        ),
        steering_type=SteeringType.STEERING,
        to_places=("Các tỉnh, thành phố trực thuộc Trung ương", "Lưu: VT, KGVX"),
        trace=(TraceHeader(sender, datetime(2024, 3, 5, 8, 30, 0)),),
        business=Business(
            doc_type=BusinessDocType.NEW,
            reason="Văn bản điện tử mới",
            staff=StaffInfo("Văn thư", "Trần Thị B", "vanthu@chinhphu.vn", "0912000001"),
        ),
        references=(Reference("cid:1", "application/zip", "Toàn văn", "1234-VPCP-KGVX.zip"),),
        attachments=(
            Attachment.from_bytes(
                "cid:1", payload, name="1234-VPCP-KGVX.zip", content_type="application/zip", description="Toàn văn"
            ),
        ),
    )


# --- floors ----------------------------------------------------------------------------------------------

_FLOOR_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def parse_validate_floor(data: bytes, *, to_model: bool = False) -> Case:
    """docflow's hardened parse + XSD validation (``read_hop``, what every hop does), or with ``to_model`` the
    whole ``read_envelope`` (plus mapping to dataclasses and semantic checks), against raw lxml parse+validate."""
    schema = get_schema("document")

    def floor() -> object:
        if not schema.validate(etree.fromstring(data, _FLOOR_PARSER)):
            raise AssertionError("the floor's document does not validate")
        return None

    if to_model:
        return Case(subject=lambda: read_envelope(data), floor=floor)
    return Case(subject=lambda: read_hop(data, expect="document"), floor=floor)


def _leaves(parent: etree._Element, pairs: tuple[tuple[str, str], ...]) -> None:
    sub = etree.SubElement
    for name, text in pairs:
        element = sub(parent, P + name)
        if text:
            element.text = text


def raw_build(env: Envelope) -> bytes:
    """What it costs at least to write ``env``: the same elements with bare lxml calls, then ``tostring``."""
    sub = etree.SubElement
    root = etree.Element(P + "edXML", nsmap={None: NS})
    envelope_el = sub(root, P + "edXMLEnvelope")
    header = sub(envelope_el, P + "edXMLHeader")
    mh = sub(header, P + "MessageHeader")
    for tag, org in (("From", env.sender), *(("To", r) for r in env.recipients)):
        _leaves(
            sub(mh, P + tag),
            (
                ("OrganId", str(org.organ_id)),
                ("OrganizationInCharge", org.organization_in_charge),
                ("OrganName", org.organ_name),
                ("OrganAdd", org.organ_add),
                ("Email", org.email),
                ("Telephone", org.telephone),
                ("Fax", org.fax),
                ("Website", org.website),
            ),
        )
    _leaves(mh, (("DocumentId", env.document_id),))
    _leaves(sub(mh, P + "Code"), (("CodeNumber", env.code.number), ("CodeNotation", env.code.notation)))
    promulgated = env.promulgation.date
    _leaves(
        sub(mh, P + "PromulgationInfo"),
        (("Place", env.promulgation.place), ("PromulgationDate", promulgated.strftime("%Y/%m/%d"))),
    )
    _leaves(
        sub(mh, P + "DocumentType"),
        (("Type", str(env.document_type.type)), ("TypeName", env.document_type.type_name)),
    )
    _leaves(mh, (("Subject", env.subject), ("Content", env.content)))
    signer = env.signer
    _leaves(
        sub(mh, P + "SignerInfo"),
        (("Competence", signer.competence), ("Position", signer.position), ("FullName", signer.full_name)),
    )
    _leaves(mh, (("DueDate", env.due_date.strftime("%Y/%m/%d")),))
    other = env.other
    other_el = sub(mh, P + "OtherInfo")
    _leaves(
        other_el,
        (
            ("Priority", str(int(other.priority))),
            ("SphereOfPromulgation", other.sphere_of_promulgation),
            ("TyperNotation", other.typer_notation),
            ("PromulgationAmount", str(other.promulgation_amount)),
            ("PageAmount", str(other.page_amount)),
            ("Direction", "true" if other.direction else "false"),
        ),
    )
    _leaves(sub(other_el, P + "Appendixes"), tuple(("Appendix", a) for a in other.appendixes))
    _leaves(mh, (("SteeringType", str(int(env.steering_type))),))
    _leaves(sub(mh, P + "ToPlaces"), tuple(("Place", place) for place in env.to_places))
    trace = sub(header, P + "TraceHeaderList")
    for hop in env.trace:
        _leaves(
            sub(trace, P + "TraceHeader"),
            (("OrganId", str(hop.organ_id)), ("Timestamp", hop.timestamp.strftime("%Y/%m/%d %H:%M:%S"))),
        )
    business = env.business
    business_el = sub(trace, P + "Bussiness")
    _leaves(
        business_el,
        (
            ("DocumentId", business.document_id),
            ("BussinessDocType", str(int(business.doc_type))),
            ("BussinessDocReason", business.reason),
            ("Paper", "1" if business.paper else "0"),
        ),
    )
    staff = business.staff
    _leaves(
        sub(business_el, P + "StaffInfo"),
        (("Department", staff.department), ("Staff", staff.staff), ("Email", staff.email), ("Mobile", staff.mobile)),
    )
    manifest = sub(sub(envelope_el, P + "edXMLBody"), P + "edXMLManifest", version="1.0")
    for ref in env.references:
        _leaves(
            sub(manifest, P + "Reference"),
            (
                ("ContentId", ref.content_id),
                ("ContentType", ref.content_type),
                ("Description", ref.description),
                ("AttachmentName", ref.attachment_name),
            ),
        )
    encoded = sub(root, P + "AttachmentEncoded")
    for att in env.attachments:
        _leaves(
            sub(encoded, P + "Attachment"),
            (
                ("ContentId", att.content_id),
                ("AttachmentName", att.attachment_name),
                ("Description", att.description),
                ("ContentType", att.content_type),
                ("ContentTransferEncoded", att.encoded),
            ),
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build_serialize_case(env: Envelope) -> Case:
    written = write_envelope(env)
    if raw_build(env) != written:
        raise AssertionError("the floor does not build the same bytes as write_envelope: fix raw_build")
    if read_envelope(written) != env:
        raise AssertionError("write_envelope/read_envelope do not round-trip the benchmark envelope")
    return Case(subject=lambda: write_envelope(env), floor=lambda: raw_build(env))


# --- the benchmarks --------------------------------------------------------------------------------------

SMALL = 400  # attachment bytes: the message is about 4 KB
LARGE = 768 * 1024  # 1 MB of base64


@benchmark("parse_validate_4k", target=1.5)
def parse_validate_4k() -> Case:
    """hardened parse + XSD validate (read_hop) of a ~4 KB message vs lxml parse + XSD validate."""
    return parse_validate_floor(write_envelope(envelope(SMALL)))


@benchmark("read_envelope_4k", target=5.0)
def read_envelope_4k() -> Case:
    """read_envelope (parse, validate, map to dataclasses, semantic checks) of ~4 KB vs lxml parse + validate."""
    return parse_validate_floor(write_envelope(envelope(SMALL)), to_model=True)


@benchmark("parse_validate_1m", target=1.5)
def parse_validate_1m() -> Case:
    """hardened parse + XSD validate (read_hop) of a ~1 MB message vs lxml parse + XSD validate."""
    return parse_validate_floor(write_envelope(envelope(LARGE)))


@benchmark("read_envelope_1m", target=1.5)
def read_envelope_1m() -> Case:
    """read_envelope (parse, validate, map, semantic checks) of ~1 MB vs lxml parse + XSD validate."""
    return parse_validate_floor(write_envelope(envelope(LARGE)), to_model=True)


@benchmark("build_serialize_4k", target=2.0)
def build_serialize_4k() -> Case:
    """write_envelope of a ~4 KB message vs bare SubElement calls + tostring."""
    return build_serialize_case(envelope(SMALL))


@benchmark("build_serialize_1m", target=2.0)
def build_serialize_1m() -> Case:
    """write_envelope of a ~1 MB message vs bare SubElement calls + tostring."""
    return build_serialize_case(envelope(LARGE))
