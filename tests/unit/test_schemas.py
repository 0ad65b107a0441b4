"""docflow.xml.schemas: XSDs found and compiled once, what they accept and reject, how violations read."""

from __future__ import annotations

import pytest

from docflow.errors import ConfigError, ValidationError
from docflow.xml import message_kind, validate, write_envelope, write_status
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import SCHEMA_FILES, assert_valid, get_schema, schema_dir
from tests.strategies import NS, SIGNATURE, example_envelope, example_status

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"


def doc_bytes(old: str = "", new: str = "", **changes: object) -> bytes:
    text = write_envelope(example_envelope(**changes)).decode()
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode()


def violations(data: bytes, kind: str = "document"):
    return validate(parse_xml(data), kind)


def line_of(data: bytes, needle: str) -> int:
    return data.decode()[: data.decode().index(needle)].count("\n") + 1


def test_schema_files_are_found_and_compiled_once():
    directory = schema_dir()
    for name in [*SCHEMA_FILES.values(), "edxml-common.xsd"]:
        assert (directory / name).is_file(), name
    assert get_schema("document") is get_schema("document")
    assert get_schema("status") is not get_schema("document")


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown message kind"):
        validate(parse_xml(doc_bytes()), "receipt")


def test_built_document_and_status_validate():
    assert violations(doc_bytes()) == []
    assert violations(write_status(example_status()), "status") == []


def test_violation_names_line_path_and_rule():
    data = doc_bytes("<Subject>Báo cáo tài chính tỉnh</Subject>", "<Subject>\n" + "x" * 501 + "</Subject>")
    [v] = violations(data)
    assert v.rule == "SCHEMAV_CVC_MAXLENGTH_VALID"
    assert v.path == f"{HEADER}/Subject"
    assert v.line == line_of(data, "<Subject>")
    assert "Element 'Subject'" in v.message and "500" in v.message


def test_indexed_path_for_repeated_recipient():
    data = doc_bytes("<OrganId>000.00.00.H53</OrganId>", "<OrganId>53</OrganId>")
    [v] = violations(data)
    assert v.path == f"{HEADER}/To[2]/OrganId"
    assert v.rule == "SCHEMAV_CVC_PATTERN_VALID"


def test_unknown_element_is_rejected():
    [v] = violations(doc_bytes("<Subject>", "<Secret>1</Secret><Subject>"))
    assert v.rule == "SCHEMAV_ELEMENT_CONTENT" and v.path == f"{HEADER}/Secret"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<Priority>0</Priority>", "<Priority>9</Priority>"),
        ("<Type>18</Type>", "<Type>công văn</Type>"),
        ("<PromulgationDate>2020/10/30</PromulgationDate>", "<PromulgationDate>30.10.2020</PromulgationDate>"),
        ("<Timestamp>2020/10/30 08:15:00</Timestamp>", "<Timestamp>2020/10/30</Timestamp>"),
        ("<CodeNumber>2491</CodeNumber>", "<CodeNumber>123456789012</CodeNumber>"),
        ("<ContentTransferEncoded>", "<ContentTransferEncoded>A"),
        ("<BussinessDocType>0</BussinessDocType>", "<BussinessDocType>7</BussinessDocType>"),
        ("<OrganId>000.00.11.H53</OrganId>", "<OrganId>000.00.11.h53</OrganId>"),
    ],
)
def test_wrong_values_are_rejected(old, new):
    assert violations(doc_bytes(old, new)), new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<PromulgationDate>2020/10/30</PromulgationDate>", "<PromulgationDate>30/10/2020</PromulgationDate>"),
        ("<DueDate/>", "<DueDate></DueDate>"),
        ("<Bussiness>", '<Bussiness id="b1" version="2.0" mustUnderstand="1" actor="x">'),
        ("<TraceHeaderList>", '<TraceHeaderList id="t" version="1">'),
        ("<Reference>", '<Reference xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:1">'),
        ("<OrganId>000.00.00.H53</OrganId>", "<OrganId>00.53.W00</OrganId>"),
        ("</TraceHeaderList>", "</TraceHeaderList><DigitalSignature/>"),
        (
            "</TraceHeaderList>",
            '</TraceHeaderList><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
            "</ds:Signature>",
        ),
    ],
)
def test_producer_variants_are_accepted(old, new):
    assert violations(doc_bytes(old, new)) == []


def test_business_spelling_and_any_child_order_are_accepted():
    data = doc_bytes("<Bussiness>", "<Business>").decode().replace("</Bussiness>", "</Business>")
    root = parse_xml(data.encode())
    header = root[0][0][0]
    header[:] = list(reversed(header))  # ToPlaces ... From
    organization = header[-1]  # From, its children reversed too
    organization[:] = list(reversed(organization))
    assert validate(root, "document") == []


def test_prefixed_namespace_is_the_same_namespace():
    text = doc_bytes(signature=SIGNATURE).decode()
    text = text.replace(f'<edXML xmlns="{NS}">', f'<edXML xmlns="{NS}" xmlns:edXML="{NS}">')
    text = text.replace("<MessageHeader>", "<edXML:MessageHeader>").replace(
        "</MessageHeader>", "</edXML:MessageHeader>"
    )
    assert violations(text.encode()) == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<Subject>Báo cáo tài chính tỉnh</Subject>", "", "must hold Subject"),
        ("<DocumentId>", "<DocumentId>a</DocumentId><DocumentId>", "DocumentId at most 1"),
        ("<Content/>", "<Content/><Content/>", "Content at most 1"),
        ("</Bussiness>", "</Bussiness><Business><BussinessDocType>0</BussinessDocType></Business>", "both"),
    ],
)
def test_cardinality_of_unordered_groups(old, new, message):
    found = violations(doc_bytes(old, new))
    assert [v.rule for v in found] == ["cardinality"]
    assert message in found[0].message


def test_status_schema_rejects_unknown_code_with_location():
    data = write_status(example_status()).replace(b"<StatusCode>05</StatusCode>", b"<StatusCode>07</StatusCode>")
    [v] = violations(data, "status")
    assert v.rule == "SCHEMAV_CVC_ENUMERATION_VALID"
    assert v.path == f"{HEADER}/StatusCode"
    assert v.line == line_of(data, "<StatusCode>")


def test_message_kind():
    assert message_kind(parse_xml(doc_bytes())) == "document"
    assert message_kind(parse_xml(write_status(example_status()))) == "status"
    with pytest.raises(ValidationError) as info:
        message_kind(parse_xml(b"<html/>"))
    assert info.value.violations[0].rule == "root-element"


def test_assert_valid_carries_every_violation():
    data = doc_bytes("<Priority>0</Priority>", "<Priority>x</Priority>").replace(b"<Type>18</Type>", b"<Type>y</Type>")
    with pytest.raises(ValidationError) as info:
        assert_valid(parse_xml(data), "document", source="bad.edxml")
    assert len(info.value.violations) == 2
    assert all(v.file == "bad.edxml" for v in info.value.violations)
    assert str(info.value).startswith(f"bad.edxml: {line_of(data, '<Type>')}: {HEADER}/DocumentType/Type: ")
    assert str(info.value).endswith("(and 1 more)")


def test_docflow_output_takes_the_canonical_fast_path_and_reordered_input_does_not():
    from docflow.xml.schemas import is_canonical

    root = parse_xml(doc_bytes(signature=SIGNATURE))
    assert is_canonical(root)
    header = root[0][0][0]
    header[:] = list(reversed(header))
    assert not is_canonical(root)
    assert validate(root, "document") == []  # still valid: the order-free schema and the count check accept it


def test_the_real_samples_take_the_canonical_fast_path(samples):
    from docflow.xml.schemas import is_canonical

    for path in sorted(samples.glob("document_*.edxml")):
        assert is_canonical(parse_xml(path.read_bytes())), path.name
