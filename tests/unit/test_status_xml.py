"""docflow.xml.status_xml: status messages to bytes and back."""

from __future__ import annotations

from datetime import datetime

import pytest

from docflow.domain.envelope import StaffInfo, TraceHeader
from docflow.domain.ids import OrganId
from docflow.domain.status import StatusCode
from docflow.errors import ValidationError
from docflow.xml import check_bytes, read_message, read_status, write_envelope, write_message, write_status
from docflow.xml.parser import parse_xml
from tests.strategies import NS, example_envelope, example_status


def test_status_round_trips_with_staff_and_trace():
    msg = example_status(
        staff=StaffInfo("Phòng hành chính", "Nguyễn Văn A", "a@gov.vn", "0900"),
        trace=(TraceHeader(OrganId.parse("00.53.W00"), datetime(2024, 1, 2, 3, 4, 5)),),
    )
    data = write_status(msg)
    assert parse_xml(data).nsmap == {None: NS}
    assert read_status(data) == msg
    assert read_message(write_message(msg)) == msg
    assert check_bytes(data) == []


@pytest.mark.parametrize("code", list(StatusCode))
def test_every_status_code_round_trips(code):
    msg = example_status(status=code)
    assert read_status(write_status(msg)).status is code


def test_code_14_reads_as_15():
    data = write_status(example_status(status=StatusCode.AGREED)).replace(b">15<", b">14<")
    assert read_status(data).status is StatusCode.AGREED


def test_timestamp_is_written_canonically():
    data = write_status(example_status(timestamp=datetime(2024, 12, 31, 23, 59, 58, 999)))
    assert b"<Timestamp>2024/12/31 23:59:58</Timestamp>" in data


def test_missing_timestamp_is_a_violation_with_path():
    data = write_status(example_status())
    data = data.replace(b"<Timestamp>2015/09/20 11:08:36</Timestamp>", b"")
    with pytest.raises(ValidationError) as info:
        read_status(data)
    v = info.value.violations[0]
    assert v.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader" and "Timestamp" in v.message


def test_reading_a_document_as_a_status_says_so():
    with pytest.raises(ValidationError) as info:
        read_status(write_envelope(example_envelope()))
    assert info.value.violations[0].rule == "message-kind"


def test_xml_illegal_character_in_description_raises():
    with pytest.raises(ValidationError) as info:
        write_status(example_status(description="lỗi\x02"))
    assert info.value.violations[0].rule == "xml-char"
