"""Fuzzing the hardened parser: whatever the bytes, ``parse_xml`` returns an element or raises a DocflowError.

Never a bare lxml or Python error, and every refusal names one of the parser's rules.  Inputs are random bytes
and mutations (byte flips, truncations, hostile insertions) of a real-looking edXML message built here; a
separate test mutates the vendor's samples when they are present.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from docflow.errors import DocflowError, XMLError
from docflow.xml.parser import ParserLimits, parse_xml

RULES = {
    "bytes-input",
    "max-bytes",
    "utf-8",
    "no-dtd",
    "no-xinclude",
    "no-schema-location",
    "max-depth",
    "resource-limit",
    "well-formed",
}

DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.30.H58</edXML:OrganId>
          <edXML:OrganName>Ủy ban nhân dân huyện Cái Bè</edXML:OrganName>
          <edXML:Email>ubnd.caibe@tiengiang.gov.vn</edXML:Email>
        </edXML:From>
        <edXML:To>
          <edXML:OrganId>000.20.30.H58</edXML:OrganId>
          <edXML:OrganName>Ủy ban nhân dân xã Hậu Thành</edXML:OrganName>
        </edXML:To>
        <edXML:DocumentId>000.00.30.H58,2024/11/02,88/UBND-VP</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>88</edXML:CodeNumber><edXML:CodeNotation>UBND-VP</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>Cái Bè</edXML:Place>
          <edXML:PromulgationDate>2024/11/02</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:Subject><![CDATA[Về việc phòng, chống hạn & xâm nhập mặn]]></edXML:Subject>
        <edXML:OtherInfo><edXML:Priority>1</edXML:Priority><edXML:Direction>false</edXML:Direction></edXML:OtherInfo>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>000.00.30.H58</edXML:OrganId>
          <edXML:Timestamp>2024/11/02 14:05:09</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType></edXML:Bussiness>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <edXML:AttachmentEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:Attachment>
      <edXML:ContentId>cid:1</edXML:ContentId>
      <edXML:ContentTransferEncoded>UEsDBBQAAAAIAHx0YlnV2Q0mJgAAACgAAAAIAAAAdm4udHh0</edXML:ContentTransferEncoded>
    </edXML:Attachment>
  </edXML:AttachmentEncoded>
</edXML>
""".encode()

INSERTIONS = [
    b"<!DOCTYPE edXML>",
    b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b"&",
    b"&x;",
    b"&#0;",
    b"&#x1F600;",
    b"<",
    b">",
    b"\x00",
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe1\xbb",
    b"]]>",
    b"<![CDATA[",
    b"<?pi ",
    b"<!--",
    b"-->",
    b'"',
    b"<a>" * 300,
    b"</a>" * 3,
    b' xmlns:xi="http://www.w3.org/2001/XInclude"',
    b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>',
    b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="a b"',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b"\xef\xbb\xbf",
    b"\xff\xfe",
]

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(DOCUMENT) - 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, len(DOCUMENT)), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(DOCUMENT)), st.integers(0, len(INSERTIONS) - 1)),
    st.tuples(st.just("delete"), st.integers(0, len(DOCUMENT) - 1), st.integers(1, 40)),
)


def mutate(data: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    for kind, where, arg in steps:
        where = min(where, len(data))
        if kind == "flip" and where < len(data):
            data = data[:where] + bytes([arg]) + data[where + 1 :]
        elif kind == "truncate":
            data = data[:where]
        elif kind == "insert":
            data = data[:where] + INSERTIONS[arg] + data[where:]
        elif kind == "delete":
            data = data[:where] + data[where + arg :]
    return data


def check(data: bytes, limits: ParserLimits | None = None) -> None:
    """The property: an element, or a DocflowError that names a known rule; nothing else."""
    try:
        root = parse_xml(data) if limits is None else parse_xml(data, limits=limits)
    except XMLError as exc:
        assert exc.rule in RULES, exc
        assert str(exc)
        return
    except DocflowError:
        return
    assert isinstance(root, etree._Element)
    # Whatever was accepted serializes to something that is accepted again.
    again = parse_xml(etree.tostring(root.getroottree(), encoding="UTF-8"), limits=limits or ParserLimits())
    assert again.tag == root.tag


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_seed_document_parses() -> None:
    assert parse_xml(DOCUMENT).tag == "{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXML"


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
    check(data)


@FAST
@given(st.binary(max_size=200).map(lambda tail: b"<?xml version='1.0'?><edXML>" + tail))
def test_random_bytes_after_a_plausible_start(data: bytes) -> None:
    check(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_edxml(steps: list[tuple[str, int, int]]) -> None:
    check(mutate(DOCUMENT, steps))


@FAST
@given(st.lists(mutation, min_size=1, max_size=3), st.integers(1, 12), st.integers(200, 4000))
def test_mutated_edxml_under_tight_limits(steps: list[tuple[str, int, int]], depth: int, size: int) -> None:
    check(mutate(DOCUMENT, steps), ParserLimits(max_bytes=size, max_depth=depth))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_vendor_samples(samples: Path, data: st.DataObject) -> None:
    files = sorted(samples.glob("*.edxml"))
    original = data.draw(st.sampled_from(files)).read_bytes()
    steps = data.draw(st.lists(mutation, min_size=1, max_size=3))
    # Positions were drawn for the seed document; stretch them over the sample.
    scale = len(original) / len(DOCUMENT)
    check(mutate(original, [(kind, int(where * scale), arg) for kind, where, arg in steps]))


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.98])
def test_truncated_vendor_samples(samples: Path, fraction: float) -> None:
    for path in sorted(samples.glob("*.edxml")):
        original = path.read_bytes()
        assert parse_xml(original, source=path.name) is not None
        with pytest.raises(XMLError) as caught:
            parse_xml(original[: int(len(original) * fraction)], source=path.name)
        assert caught.value.file == path.name
