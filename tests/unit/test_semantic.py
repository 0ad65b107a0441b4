"""docflow.xml.semantic: each rule XSD cannot express has a failing case, with its rule name and path."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from docflow.domain.envelope import Attachment, Code, Organization, PromulgationInfo, Reference
from docflow.domain.ids import OrganId
from docflow.errors import ValidationError
from docflow.xml import check_bytes, check_envelope, read_envelope, write_envelope
from tests.strategies import example_envelope

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"


def rules(env, strict=False):
    return [(v.rule, v.severity) for v in check_envelope(env, strict=strict)]


def test_consistent_envelope_has_no_problem():
    assert check_envelope(example_envelope(), strict=True) == []


def test_reference_without_attachment():
    env = example_envelope(attachments=())
    [v] = check_envelope(env)
    assert (
        v.rule == "manifest-attachment" and v.path == "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference/ContentId"
    )


def test_attachment_without_reference():
    env = example_envelope(references=())
    [v] = check_envelope(env)
    assert v.rule == "manifest-attachment" and v.path == "/edXML/AttachmentEncoded/Attachment/ContentId"


def test_duplicate_content_ids():
    env = example_envelope()
    ref, att = env.references[0], env.attachments[0]
    env = replace(env, references=(ref, ref), attachments=(att, att))
    assert rules(env) == [("duplicate-content-id", "error"), ("duplicate-content-id", "error")]
    assert check_envelope(env)[0].path.endswith("/Reference[2]/ContentId")


def test_no_recipient():
    assert rules(example_envelope(recipients=())) == [("to-not-empty", "error")]


def test_duplicate_recipient():
    org = Organization(OrganId.parse("000.00.01.A53"))
    [v] = check_envelope(example_envelope(recipients=(org, org)))
    assert v.rule == "duplicate-recipient" and v.path == f"{HEADER}/To[2]/OrganId"


@pytest.mark.parametrize("bad", ["", "2491/STC-BCTC", "000.00.11.H53,2020/13/45,2491/STC-BCTC", "x,2020/10/30,1/A"])
def test_malformed_document_id(bad):
    assert rules(example_envelope(document_id=bad)) == [("document-id-format", "error")]


def test_document_id_sender_differs_from_from():
    env = example_envelope(document_id="000.00.12.H53,2020/10/30,2491/STC-BCTC")
    assert rules(env) == [("document-id-sender", "error")]


def test_document_id_code_differs_from_code():
    assert rules(example_envelope(code=Code("2492", "STC-BCTC"))) == [("document-id-code", "error")]


def test_document_id_date_differs_from_promulgation_date_warns_unless_strict():
    env = example_envelope(promulgation=PromulgationInfo("Tây Ninh", date(2020, 11, 1)))
    assert rules(env) == [("document-id-promulgation-date", "warning")]
    assert rules(env, strict=True) == [("document-id-promulgation-date", "error")]
    data = write_envelope(env)
    assert read_envelope(data) == env
    with pytest.raises(ValidationError):
        read_envelope(data, strict=True)


def test_semantic_errors_from_bytes_carry_lines():
    env = example_envelope(references=(Reference("cid:9"),), attachments=(Attachment("cid:1", encoded="AAEC"),))
    data = write_envelope(env)
    found = check_bytes(data, "m.edxml")
    assert {v.rule for v in found} == {"manifest-attachment"}
    assert all(v.line == 2 and v.file == "m.edxml" for v in found)
    with pytest.raises(ValidationError) as info:
        read_envelope(data)
    assert len(info.value.violations) == 2


def test_check_envelope_wants_an_envelope():
    with pytest.raises(TypeError):
        check_envelope("not an envelope")  # type: ignore[arg-type]
