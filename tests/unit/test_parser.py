"""The hardened parser on valid input: what must still parse, the limits' edges, and how errors name things."""

from __future__ import annotations

import base64
import threading

import pytest
from lxml import etree

from docflow.errors import DocflowError, MalformedXMLError, UnsafeXMLError, XMLError
from docflow.xml.parser import DEFAULT_LIMITS, ParserLimits, parse_xml

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
Q = f"{{{NS}}}"

DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- produced by a test -->
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.02.H58</edXML:OrganId>
          <edXML:OrganName>Sở Tài chính tỉnh Tiền Giang</edXML:OrganName>
        </edXML:From>
        <edXML:DocumentId>000.00.02.H58,2024/05/17,125/STC-NS</edXML:DocumentId>
        <edXML:Subject><![CDATA[Về việc <dự toán> & "quyết toán" ngân sách năm 2024]]></edXML:Subject>
        <?vendor-hint keep="yes"?>
      </edXML:MessageHeader>
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
      <edXML:AttachmentName>Quyết định số 125.pdf</edXML:AttachmentName>
      <edXML:ContentTransferEncoded>{payload}</edXML:ContentTransferEncoded>
    </edXML:Attachment>
  </edXML:AttachmentEncoded>
</edXML>
<!-- trailing comment -->
<?trailing-pi after the root?>
"""


def document(payload: str = "UEsDBBQAAAAIAA==") -> bytes:
    return DOCUMENT.format(payload=payload).encode("utf-8")


def test_parses_namespaces_cdata_and_vietnamese_text() -> None:
    root = parse_xml(document())
    assert root.tag == f"{Q}edXML"
    assert root[0].tag == f"{Q}edXMLEnvelope"
    assert root.findtext(f".//{Q}OrganName") == "Sở Tài chính tỉnh Tiền Giang"
    assert root.findtext(f".//{Q}Subject") == 'Về việc <dự toán> & "quyết toán" ngân sách năm 2024'
    assert root.find(f".//{Q}edXMLManifest").get("version") == "1.0"


def test_keeps_comments_and_processing_instructions_around_the_root() -> None:
    root = parse_xml(document())
    header = root.find(f".//{Q}MessageHeader")
    pis = [node for node in header if isinstance(node, etree._ProcessingInstruction)]
    assert [pi.target for pi in pis] == ["vendor-hint"]
    after = list(root.itersiblings())
    assert isinstance(after[0], etree._Comment) and after[0].text == " trailing comment "
    assert isinstance(after[1], etree._ProcessingInstruction) and after[1].target == "trailing-pi"
    before = list(root.itersiblings(preceding=True))
    assert isinstance(before[0], etree._Comment)


def test_parses_a_one_megabyte_base64_text_node() -> None:
    blob = bytes(range(256)) * 3000  # 768,000 bytes -> 1,024,000 base64 characters
    payload = base64.b64encode(blob).decode("ascii")
    root = parse_xml(document(payload))
    text = root.findtext(f".//{Q}ContentTransferEncoded")
    assert len(text) == 1_024_000
    assert base64.b64decode(text) == blob


def test_parses_a_text_node_over_libxml2s_ten_megabyte_default() -> None:
    payload = "QUJD" * 2_600_000  # 10.4 MB in one text node; libxml2 refuses this without XML_PARSE_HUGE
    root = parse_xml(document(payload))
    assert len(root.findtext(f".//{Q}ContentTransferEncoded")) == 10_400_000


def test_accepts_bytearray_and_memoryview() -> None:
    data = document()
    assert parse_xml(bytearray(data)).tag == f"{Q}edXML"
    assert parse_xml(memoryview(data)).tag == f"{Q}edXML"


@pytest.mark.parametrize(
    "declaration",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b"<?xml version='1.0' encoding='utf-8'?>",
        b'<?xml version="1.0" encoding = "utf8" standalone="yes"?>',
        b'<?xml version="1.0"?>',
        b"",
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>',
        b"\xef\xbb\xbf",
    ],
)
def test_accepts_every_spelling_of_utf8(declaration: bytes) -> None:
    root = parse_xml(declaration + "\n<Subject>Công văn khẩn</Subject>".encode())
    assert root.text == "Công văn khẩn"


def test_accepts_xsi_attributes_that_are_not_schema_hints() -> None:
    data = b'<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/></a>'
    assert parse_xml(data)[0].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_depth_limit_is_inclusive() -> None:
    limits = ParserLimits(max_depth=10)
    exactly = b"<a>" * 10 + b"</a>" * 10
    assert parse_xml(exactly, limits=limits).tag == "a"
    with pytest.raises(UnsafeXMLError) as caught:
        parse_xml(b"<a>" * 11 + b"</a>" * 11, limits=limits)
    assert caught.value.rule == "max-depth"


def test_default_depth_is_libxml2s_own_limit_enforced_while_parsing() -> None:
    assert DEFAULT_LIMITS.max_depth == 256
    assert parse_xml(b"<a>" * 256 + b"</a>" * 256).tag == "a"
    with pytest.raises(UnsafeXMLError) as caught:
        parse_xml(b"<a>" * 257 + b"</a>" * 257)
    assert caught.value.rule == "max-depth"


def test_size_limit_is_inclusive() -> None:
    data = b"<a>" + b"x" * 993 + b"</a>"
    assert len(data) == 1000
    assert parse_xml(data, limits=ParserLimits(max_bytes=1000)).text == "x" * 993
    with pytest.raises(UnsafeXMLError) as caught:
        parse_xml(data + b" ", limits=ParserLimits(max_bytes=1000))
    assert caught.value.rule == "max-bytes"
    assert "1001 bytes" in str(caught.value)


@pytest.mark.parametrize("kwargs", [{"max_bytes": 0}, {"max_depth": 0}, {"max_depth": 257}, {"max_bytes": -1}])
def test_limits_refuse_nonsense(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ParserLimits(**kwargs)


def test_source_names_the_file_in_errors() -> None:
    with pytest.raises(MalformedXMLError) as caught:
        parse_xml(b"<edXML>\n<Subject>\n</edXML>", source="inbox/000.00.02.H58-125.edxml")
    error = caught.value
    assert error.file == "inbox/000.00.02.H58-125.edxml"
    assert error.line == 3
    assert error.rule == "well-formed"
    assert str(error.violations[0]).startswith("inbox/000.00.02.H58-125.edxml: 3: /: ")
    assert str(error.violations[0]).endswith("[well-formed]")


def test_errors_without_source_say_bytes() -> None:
    with pytest.raises(MalformedXMLError) as caught:
        parse_xml(b"<a>")
    assert caught.value.file is None
    assert str(caught.value.violations[0]).startswith("<bytes>: 1: ")


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_input_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedXMLError, match="empty"):
        parse_xml(data)


def test_text_before_the_root_is_malformed() -> None:
    with pytest.raises(MalformedXMLError) as caught:
        parse_xml(b"hello <a/>")
    assert caught.value.rule == "well-formed"


def test_errors_are_docflow_errors() -> None:
    assert issubclass(MalformedXMLError, UnsafeXMLError)
    assert issubclass(UnsafeXMLError, XMLError)
    assert issubclass(XMLError, DocflowError)


def test_parser_recovers_after_an_error() -> None:
    with pytest.raises(MalformedXMLError):
        parse_xml(b"<a><b></a>")
    assert parse_xml(document()).tag == f"{Q}edXML"


def test_threads_parse_independently() -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(30):
                if (index + round_) % 3 == 0:
                    with pytest.raises(MalformedXMLError):
                        parse_xml(b"<broken>")
                else:
                    results.append(parse_xml(document()).findtext(f".//{Q}CodeNotation") or "ok")
        except BaseException as exc:  # reported below: a failing thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(results) == 80
