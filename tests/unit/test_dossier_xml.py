"""The dossier message on the wire: canonical bytes, violations with line, path and rule, hostile input,
and the apology letter as a real edXML document."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, Fee, SubmittedFile
from docflow.domain.envelope import Code
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import WorkCalendar
from docflow.errors import UnsafeXMLError, ValidationError
from docflow.xml import read_envelope, write_envelope
from docflow.xml.dossier_xml import DOSSIER_NS, dossier_hop, is_dossier, read_dossier, write_dossier
from docflow.xml.parser import parse_xml

CAL = WorkCalendar()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
PROCEDURE = load_catalogue()["1.004227"]
CHAIN = step_agencies(REGISTRY, COMMUNE, PROCEDURE)
CLERK = flow.Clerk("Phạm Thị Ngọc Ánh", "Chuyên viên", "Bộ phận một cửa")


def handed_over():
    d = flow.receive(
        PROCEDURE,
        CAL,
        code="000.20.50.H58-171002-00007",
        desk=COMMUNE,
        at=datetime(2017, 10, 2, 9, 0),
        clerk=CLERK,
        applicant=Applicant("Nguyễn Thị Thu Hương", address="Ấp Bắc, xã Tân Phú"),
        files=(SubmittedFile("TL1", "Hợp đồng chuyển nhượng quyền sử dụng đất"),),
        fees=(Fee("Lệ phí đăng ký biến động", "LP01", 30_000),),
    )
    d = flow.start(d, datetime(2017, 10, 2, 10, 0), CLERK)
    return flow.hand_over(d, PROCEDURE, CAL, datetime(2017, 10, 3, 8, 0), CLERK, CHAIN[1])


def test_the_message_is_canonical_and_reads_back():
    _, message = handed_over()
    data = write_dossier(message, check=True)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<DossierMessage xmlns=\"urn:docflow:dossier:1\"")
    assert "<ChuHoSo>Nguyễn Thị Thu Hương</ChuHoSo>".encode() in data
    assert b"<NgayHenTra>20171016090000</NgayHenTra>" in data and b"<TrangThaiHoSo>4</TrangThaiHoSo>" in data
    assert read_dossier(data) == message
    assert is_dossier(parse_xml(data))


def test_schema_violations_name_line_path_and_rule():
    _, message = handed_over()
    text = write_dossier(message).decode().replace("><", ">\n<")
    broken = text.replace("<TrangThaiHoSo>4<", "<TrangThaiHoSo>11<").replace("<MucDo>2<", "<MucDo>5<")
    with pytest.raises(ValidationError) as caught:
        read_dossier(broken.encode(), source="hoso.xml")
    found = {(v.path, v.rule) for v in caught.value.violations}
    assert ("/DossierMessage/HoSo/TrangThaiHoSo", "SCHEMAV_CVC_MAXINCLUSIVE_VALID") in found
    assert ("/DossierMessage/HoSo/MucDo", "SCHEMAV_CVC_MAXINCLUSIVE_VALID") in found
    line = broken.splitlines().index("<TrangThaiHoSo>11</TrangThaiHoSo>") + 1
    assert line in {v.line for v in caught.value.violations}
    assert all(v.file == "hoso.xml" for v in caught.value.violations)
    assert str(caught.value).startswith("hoso.xml: ")


def test_a_missing_element_and_an_element_out_of_order_are_refused():
    _, message = handed_over()
    text = write_dossier(message).decode()
    with pytest.raises(ValidationError, match="MaHoSo"):
        read_dossier(text.replace(f"<MaHoSo>{message.dossier.code}</MaHoSo>", "").encode())
    swapped = text.replace("<From>", "<X>").replace("</From>", "</X>")
    with pytest.raises(ValidationError) as caught:
        read_dossier(swapped.encode())
    assert caught.value.violations[0].path.startswith("/DossierMessage/Header")


def test_a_value_the_schema_lets_through_but_the_calendar_refuses():
    _, message = handed_over()
    bad = write_dossier(message).replace(b"<SentAt>20171003080000</SentAt>", b"<SentAt>20171332080000</SentAt>")
    with pytest.raises(ValidationError) as caught:
        read_dossier(bad, source="x.xml")
    violation = caught.value.violations[0]
    assert (violation.path, violation.rule) == ("/DossierMessage/Header/SentAt", "portal-time")


def test_other_roots_and_hostile_input_are_refused():
    with pytest.raises(ValidationError) as caught:
        read_dossier(b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>')
    assert caught.value.rule == "root-element"
    with pytest.raises(ValidationError, match="root-element"):
        read_dossier(f'<DossierMessage xmlns="{DOSSIER_NS}x" version="1"/>'.encode())
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><DossierMessage>&a;</DossierMessage>'
    with pytest.raises(UnsafeXMLError) as unsafe:
        read_dossier(bomb)
    assert unsafe.value.rule == "no-dtd"
    with pytest.raises(UnsafeXMLError):
        dossier_hop(b"<DossierMessage")


def test_the_apology_letter_is_a_valid_edxml_document():
    _, message = handed_over()
    district = flow.apply_incoming(None, message, CHAIN[1])
    late = datetime(2017, 10, 11, 9, 0)
    _, letter = flow.apologise(
        district,
        PROCEDURE,
        CAL,
        late,
        CLERK,
        sender=REGISTRY.organization(CHAIN[1]),
        desk=REGISTRY.organization(COMMUNE),
        code=Code("15", "PXL-UBND"),
        reason="chờ ý kiến Sở Tài nguyên và Môi trường",
    )
    data = write_envelope(letter, check=True)
    back = read_envelope(data, strict=True)
    assert back == letter
    assert back.document_type.type_name == "Phiếu xin lỗi và hẹn lại ngày trả kết quả"
    assert back.recipients[0].organ_id == COMMUNE and back.sender.organ_id == CHAIN[1]


def test_text_xml_cannot_carry_is_refused_when_writing():
    _, message = handed_over()
    bad = replace(message, dossier=replace(message.dossier, applicant=Applicant("Nguyễn\x00Văn")))
    with pytest.raises(ValidationError) as caught:
        write_dossier(bad)
    assert caught.value.rule == "xml-char" and caught.value.violations[0].path == "/DossierMessage/HoSo/ChuHoSo"
