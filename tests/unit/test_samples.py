"""The vendor's real messages validate unchanged and read to the values they carry."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from docflow.domain.envelope import BusinessDocType, Envelope, Priority, SteeringType
from docflow.domain.ids import OrganId
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import ValidationError
from docflow.xml import check_bytes, read_envelope, read_message, read_status, write_message


def load(samples, name: str) -> bytes:
    return (samples / name).read_bytes()


@pytest.mark.parametrize("name", ["document_new.edxml", "document_update.edxml", "status_05.edxml"])
def test_sample_validates_unchanged_and_round_trips(samples, name):
    data = load(samples, name)
    assert [v for v in check_bytes(data, name) if v.severity == "error"] == []
    message = read_message(data, source=name)
    assert read_message(write_message(message)) == message


def test_document_new(samples):
    env = read_envelope(load(samples, "document_new.edxml"))
    assert env.sender.organ_id == OrganId.parse("000.00.11.H53")
    assert env.sender.organ_name == "Sở Tính" and env.sender.organ_add == ""
    assert [str(o.organ_id) for o in env.recipients] == ["000.00.01.A53"]
    assert env.document_id == "000.00.11.H53,2020/10/30,2491/STC-BCTC"
    assert (env.code.number, env.code.notation) == ("2491", "STC-BCTC")
    assert env.subject == "Báo cáo tài chính tỉnh"
    assert env.promulgation.date == date(2020, 10, 30)  # written 30/10/2020
    assert env.due_date is None  # <DueDate></DueDate>
    assert (env.document_type.type, env.document_type.type_detail, env.document_type.type_name) == (1, 0, "Công văn")
    assert env.other.priority is Priority.NORMAL and env.other.appendixes == ("",)
    assert env.other.direction is False and env.other.page_amount == 22
    assert env.steering_type is SteeringType.STEERING
    assert env.to_places == ("Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    assert env.business.doc_type is BusinessDocType.NEW
    assert env.business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"  # impossible date, kept
    assert env.business.staff.staff == "Nguyễn Thị Ngọc Trâm"
    assert env.trace[0].timestamp == datetime(2018, 9, 28)
    assert env.signature.startswith(b"<Signature") and b"<SignatureValue>" in env.signature
    [att] = env.attachments
    assert (att.content_id, att.attachment_name, att.content_type) == (
        "cid:209",
        "1896_QD-TTg_m_294779.doc",
        "application/zip",
    )
    assert att.size == 270823 and att.data[:2] == b"PK"
    assert env.references[0].content_id == "cid:209"


def test_document_update(samples):
    env = read_envelope(load(samples, "document_update.edxml"))
    assert isinstance(env, Envelope)
    assert str(env.sender.organ_id) == "000.00.00.G22"
    assert [str(o.organ_id) for o in env.recipients] == ["000.00.00.H53", "000.00.12.H53", "000.00.00.G17"]
    assert env.subject == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert env.due_date == date(2018, 9, 28)
    business = env.business
    assert business.doc_type is BusinessDocType.UPDATE
    assert business.document_info is True and business.document_receiver is True
    assert [(str(r.organ_id), r.receiver_type) for r in business.receivers] == [
        ("000.00.00.H41", 0),
        ("000.00.00.H14", 1),
    ]


def test_document_update_date_mismatch_is_a_warning_unless_strict(samples):
    data = load(samples, "document_update.edxml")
    [warning] = check_bytes(data, "document_update.edxml")
    assert warning.severity == "warning" and warning.rule == "document-id-promulgation-date"
    assert warning.line == 46 and warning.path.endswith("/MessageHeader/DocumentId")
    with pytest.raises(ValidationError) as info:
        read_envelope(data, strict=True)
    assert info.value.violations[0].rule == "document-id-promulgation-date"


def test_status_05(samples):
    msg = read_status(load(samples, "status_05.edxml"))
    assert isinstance(msg, StatusMessage)
    assert msg.status is StatusCode.PROCESSING
    assert str(msg.sender.organ_id) == "000.00.00.H41" and msg.sender.organ_name == "UBND Tỉnh Nghệ An"
    assert str(msg.response_for.organ_id) == "000.00.00.G22"
    assert msg.response_for.code == "7816/VPCP-TTĐT"
    assert msg.response_for.promulgation_date == date(2015, 9, 30)
    assert msg.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert msg.description == "Đang xử lý văn bản đến"
    assert msg.timestamp == datetime(2015, 9, 20, 11, 8, 36)
    assert msg.staff.mobile == "84912000001" and msg.staff.department == "Phong hanh chinh"
    assert msg.trace == ()
