"""The axis wire protocol: the worked HMAC example, the SDK's quirks, every refusal with its code."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docflow.axis.protocol import (
    SIGN_HASH,
    SIGN_JSON,
    AxisError,
    ErrorCode,
    answer,
    ascii_text,
    check_file_hash,
    encode_answer,
    file_hash,
    format_timestamp,
    parse_timestamp,
    raw_headers,
    sign,
    signed_headers,
    strip_file_terminator,
    verify_call,
)

SECRETS = {"000.00.00.H41": "testsecret"}
STAMP = "29112026T204808+0607"


def wire(headers: dict[str, str], **extra: str) -> dict[str, list[bytes]]:
    """Headers as a server sees them: lowercase names, every value sent under each name."""
    pairs = [(k.encode(), v.encode("utf-8")) for k, v in {**headers, **extra}.items()]
    return raw_headers(pairs)


def call(params=(), system="000.00.00.H41", secret="testsecret") -> dict[str, str]:
    return signed_headers(system, secret, list(params), content_type="application/json", timestamp=STAMP)


def refusal(headers) -> ErrorCode:
    with pytest.raises(AxisError) as caught:
        verify_call(headers, SECRETS)
    assert caught.value.description.isascii()
    return caught.value.code


def test_the_worked_example_of_the_standard():
    text = (
        '{"XroadVnpt-systemid":"000.00.00.H41","XroadVnpt-timestamp":"29112026T204808+0607",'
        '"XroadVnpt-Content-Type":"application/json"}'
    )
    assert sign("testsecret", text) == "610d27ebb0f9b1f7159d1ac52bfd276e776935f97eedd3380e56abf8e60896e6"
    headers = call()
    assert headers[SIGN_JSON] == text
    assert headers[SIGN_HASH] == "610d27ebb0f9b1f7159d1ac52bfd276e776935f97eedd3380e56abf8e60896e6"
    assert headers["XroadVnpt-sign-header-key"] == "systemid;timestamp;Content-Type"


def test_a_signed_call_is_accepted_and_its_parameters_read():
    signed = verify_call(wire(call([("docId", "abc"), ("messagetype", "edoc")])), SECRETS)
    assert signed.system == "000.00.00.H41"
    assert signed.get("docId") == "abc"
    assert signed.get("DOCID") == "abc"  # names are read case-insensitively
    assert signed.require("messagetype") == "edoc"
    with pytest.raises(AxisError) as caught:
        signed.require("status")
    assert caught.value.code is ErrorCode.MISSING_PARAMETER


def test_the_exact_spelling_is_preferred_and_a_stale_docid_beside_it_is_harmless():
    # The SDK carries an earlier call's ``docid`` along next to this call's ``docId``.
    headers = call([("docid", "old"), ("docId", "new")])
    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]
    signed = verify_call(raw_headers(pairs), SECRETS)
    assert signed.get("docId") == "new"
    assert signed.get("docid") == "old"


def test_the_same_timestamp_reused_for_hours_is_accepted():
    first = verify_call(wire(call([("docId", "1")])), SECRETS)
    again = verify_call(wire(call([("docId", "2")])), SECRETS)
    assert first.timestamp == again.timestamp == STAMP


def test_unsigned_extra_headers_are_ignored():
    headers = call()
    signed = verify_call(wire(headers, **{"XroadVnpt-hash-file": "stale", "User-Agent": "vnpt-sdk"}), SECRETS)
    assert signed.get("hash-file") is None


def test_wrong_hmac_unknown_system_and_mismatched_values_are_refused():
    assert refusal(wire(call(secret="other"))) is ErrorCode.BAD_HMAC
    assert refusal(wire(call(system="000.00.00.H99"))) is ErrorCode.UNKNOWN_SYSTEM
    headers = call([("docId", "abc")])
    assert refusal(wire(headers, **{"XroadVnpt-docId": "xyz"})) is ErrorCode.SIGNED_VALUE_MISMATCH
    missing = dict(headers)
    del missing["XroadVnpt-docId"]
    assert refusal(wire(missing)) is ErrorCode.SIGNED_VALUE_MISMATCH
    del missing[SIGN_JSON]
    assert refusal(wire(missing)) is ErrorCode.MISSING_PARAMETER


def test_a_tampered_signed_json_is_refused():
    headers = call([("docId", "abc")])
    headers[SIGN_JSON] = headers[SIGN_JSON].replace("abc", "abd")
    headers["XroadVnpt-docId"] = "abd"
    assert refusal(wire(headers)) is ErrorCode.BAD_HMAC


def test_cr_or_lf_inside_a_signed_value_is_refused():
    headers = call([("docId", "abc\r\nX-Injected: 1")])
    assert refusal(wire(headers)) is ErrorCode.HEADER_CRLF


def test_a_signature_header_that_is_not_a_json_object_of_strings_is_refused():
    for text in ("not json", "[1,2]", '{"XroadVnpt-systemid": 5}', '{"systemid":"000.00.00.H41"}'):
        headers = call()
        headers[SIGN_JSON] = text
        assert refusal(wire(headers)) is ErrorCode.BAD_SIGNATURE_HEADER


def test_hash_file_in_the_sdk_form_and_the_ordinary_form():
    data = b"<edXML/>"
    sdk, full = file_hash(data), file_hash(data, sdk_form=False)
    assert len(full) == 64
    check_file_hash(data, sdk)
    check_file_hash(data, full)
    check_file_hash(data, full.upper())
    with pytest.raises(AxisError) as caught:
        check_file_hash(data + b" ", sdk)
    assert caught.value.code is ErrorCode.HASH_MISMATCH


def test_the_sdk_form_drops_zero_padding_byte_by_byte():
    data = next(bytes([n]) for n in range(256) if any(b < 16 for b in hashlib.sha256(bytes([n])).digest()))
    digest = hashlib.sha256(data).digest()
    assert file_hash(data) == "".join(format(b, "x") for b in digest)
    assert len(file_hash(data)) < 64


@given(st.binary(max_size=300))
def test_hash_file_accepts_its_own_forms_for_any_bytes(data):
    check_file_hash(data, file_hash(data))
    check_file_hash(data, file_hash(data, sdk_form=False))


def test_the_body_terminator_is_stripped_once():
    assert strip_file_terminator(b"<x/>\r\n") == b"<x/>"
    assert strip_file_terminator(b"<x/>\r\n\r\n") == b"<x/>\r\n"
    assert strip_file_terminator(b"<x/>") == b"<x/>"


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)))
def test_timestamps_round_trip_to_the_millisecond(at):
    text = format_timestamp(at)
    assert parse_timestamp(text) == at.replace(microsecond=at.microsecond // 1000 * 1000)


def test_timestamp_form_and_refusals():
    assert format_timestamp(datetime(2026, 11, 29, 20, 48, 8, 607_000)) == STAMP
    for bad in ("29112026T204808", "29112026T204808+607", "2026-11-29", "29112026T204808+1000"):
        with pytest.raises(AxisError) as caught:
            parse_timestamp(bad)
        assert caught.value.code is ErrorCode.BAD_TIMESTAMP


@given(st.text(max_size=200))
def test_answers_are_ascii_json_with_the_three_keys(description):
    for code in (ErrorCode.OK, ErrorCode.BAD_HMAC):
        raw = encode_answer(answer(code, description, DocId=""))
        assert raw.isascii()
        body = json.loads(raw)
        assert body["status"] == ("OK" if code is ErrorCode.OK else "FAIL")
        assert body["ErrorCode"] == code.value
        assert body["ErrorDesc"].isascii()
        assert body["DocId"] == ""


def test_vietnamese_descriptions_keep_their_letters_without_marks():
    assert ascii_text("Văn bản không hợp lệ: Đồng Tháp") == "Van ban khong hop le: Dong Thap"
    assert ascii_text("a\r\nb") == "a  b"
