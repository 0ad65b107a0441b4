"""docflow.xml.edxml: the canonical writer and the lenient reader of document messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from docflow.domain.envelope import DocumentType, Organization, PromulgationInfo
from docflow.domain.ids import OrganId
from docflow.errors import UnsafeXMLError, ValidationError
from docflow.xml import check_bytes, read_envelope, read_message, write_envelope, write_message, write_status
from docflow.xml.parser import parse_xml
from tests.strategies import NS, SIGNATURE, example_envelope, example_status


def test_write_is_canonical_utf8_default_namespace():
    data = write_envelope(example_envelope())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = parse_xml(data)
    assert root.nsmap == {None: NS}
    assert b"edXML:" not in data
    assert b"<PromulgationDate>2020/10/30</PromulgationDate>" in data
    assert "Báo cáo tài chính tỉnh".encode() in data


def test_written_envelope_reads_back_equal():
    env = example_envelope(signature=SIGNATURE)
    assert read_envelope(write_envelope(env)) == env
    assert read_message(write_message(env)) == env


def test_type_name_is_filled_from_the_official_kinds():
    env = example_envelope(document_type=DocumentType(23, None, ""))
    assert b"<TypeName>Gi\xe1\xba\xa5y m\xe1\xbb\x9di</TypeName>" in write_envelope(env)
    assert read_envelope(write_envelope(env)).document_type.type_name == "Giấy mời"


def test_type_name_cannot_be_guessed_for_an_unknown_type():
    with pytest.raises(ValidationError, match="TypeName is empty"):
        write_envelope(example_envelope(document_type=DocumentType(99, None, "")))


def test_document_id_is_kept_as_given():
    env = example_envelope(document_id="000.00.11.H53,2020/10/30,2491/STC-BCTC ")
    assert read_envelope(write_envelope(env)).document_id == env.document_id


def test_signature_is_reinserted_verbatim():
    env = example_envelope(signature=SIGNATURE)
    data = write_envelope(env)
    assert b"<Signature><SignedInfo>" in data
    assert read_envelope(data).signature == SIGNATURE


def test_signature_must_be_a_signature_element():
    with pytest.raises(ValidationError, match="signature fragment"):
        write_envelope(example_envelope(signature=b"<Other/>"))
    with pytest.raises(ValidationError, match="not a usable XML fragment"):
        write_envelope(example_envelope(signature=b"<Signature>"))


@pytest.mark.parametrize("bad", ["\x00", "\x07bell", "a\x1bb", "\ufffe"])
def test_xml_illegal_characters_raise_a_clear_error(bad):
    with pytest.raises(ValidationError) as info:
        write_envelope(example_envelope(subject="Báo cáo" + bad))
    [v] = info.value.violations
    assert v.rule == "xml-char"
    assert v.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject"


def test_text_is_kept_exactly_including_whitespace_and_markup_characters():
    subject = '  Về việc <liên thông> & "kết nối"\n\tgiai đoạn 2 \r'
    env = example_envelope(subject=subject, content=" ")
    back = read_envelope(write_envelope(env))
    assert back.subject == subject and back.content == " "


def test_reader_accepts_the_prefixed_producer_form():
    text = write_envelope(example_envelope()).decode()
    text = text.replace(f'<edXML xmlns="{NS}">', f'<edXML xmlns="{NS}">\n  <edXML:edXMLEnvelope xmlns:edXML="{NS}">')
    text = text.replace("<edXMLEnvelope>", "", 1).replace("</edXMLEnvelope>", "</edXML:edXMLEnvelope>\n", 1)
    assert read_envelope(text.encode()) == example_envelope()


def test_reader_strips_identifiers_but_not_text():
    text = write_envelope(example_envelope()).decode()
    text = text.replace("<OrganId>000.00.11.H53</OrganId>", "<OrganId> 000.00.11.H53\n</OrganId>", 1)
    text = text.replace("<Place>Tây Ninh</Place>", "<Place> Tây Ninh </Place>")
    env = read_envelope(text.encode())
    assert env.sender.organ_id == OrganId.parse("000.00.11.H53")
    assert env.promulgation.place == " Tây Ninh "


def test_impossible_calendar_date_is_reported_with_location():
    data = write_envelope(example_envelope()).replace(
        b"2020/10/30</PromulgationDate>", b"2014/02/30</PromulgationDate>"
    )
    with pytest.raises(ValidationError) as info:
        read_envelope(data, source="x.edxml")
    [v] = info.value.violations
    assert v.rule == "date-value" and v.line == 2 and v.file == "x.edxml"
    assert v.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/PromulgationInfo/PromulgationDate"


def test_attachment_text_outside_the_base64_alphabet_is_refused():
    env = example_envelope()
    att = replace(env.attachments[0], encoded="**" + env.attachments[0].encoded)
    with pytest.raises(ValidationError) as info:
        read_envelope(write_envelope(replace(env, attachments=(att,))))
    assert info.value.violations[0].rule == "base64"


def test_reading_a_status_as_a_document_says_so():
    with pytest.raises(ValidationError) as info:
        read_envelope(write_status(example_status()))
    assert info.value.violations[0].rule == "message-kind"


def test_unsafe_input_is_refused_before_mapping():
    with pytest.raises(UnsafeXMLError):
        read_envelope(b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x "y">]><edXML xmlns="' + NS.encode() + b'"/>')


def test_write_check_validates_the_output():
    env = example_envelope(subject="x" * 501)
    write_envelope(env)  # unchecked: the caller chose speed
    with pytest.raises(ValidationError) as info:
        write_envelope(env, check=True)
    assert info.value.violations[0].rule == "SCHEMAV_CVC_MAXLENGTH_VALID"


def test_optional_parts_absent_read_as_defaults():
    env = example_envelope(
        promulgation=PromulgationInfo(), due_date=None, references=(), attachments=(), trace=(), signature=None
    )
    data = write_envelope(env)
    assert b"AttachmentEncoded" not in data
    assert read_envelope(data, strict=True) == env
    assert check_bytes(data) == []


def test_many_recipients_keep_their_order():
    recipients = tuple(Organization(OrganId("H", 53, 0, 20 + i, 0), f"Xã {i}") for i in range(50))
    env = example_envelope(recipients=recipients, due_date=date(2021, 1, 2))
    assert read_envelope(write_envelope(env)).recipients == recipients


def test_an_xml_illegal_character_in_an_agency_names_its_element_even_in_a_repeated_block():
    good = example_envelope()
    bad = replace(good.recipients[1], organ_name="UBND\x07")
    with pytest.raises(ValidationError) as info:
        write_envelope(replace(good, recipients=(good.recipients[0], bad)))
    [v] = info.value.violations
    assert (v.rule, v.path) == ("xml-char", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganName")


def test_agency_blocks_written_from_the_cache_read_back_the_same_and_are_not_shared_between_envelopes():
    env = example_envelope()
    first, second = write_envelope(env), write_envelope(env)
    assert first == second and read_envelope(first) == read_envelope(second)
    assert first.count(b"xmlns") == 1  # the root's declaration only: a copied block declares none of its own
    assert read_envelope(first).recipients == env.recipients
