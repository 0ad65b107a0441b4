"""Properties: every message the builder accepts is written valid and reads back equal."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docflow.errors import ValidationError
from docflow.xml import check_bytes, read_envelope, read_message, read_status, validate, write_envelope, write_status
from docflow.xml.parser import parse_xml
from tests.strategies import envelopes, example_envelope, status_messages

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(envelopes())
def test_envelope_round_trip(env):
    data = write_envelope(env)
    assert validate(parse_xml(data), "document") == []
    assert read_envelope(data, strict=True) == env
    assert read_message(data) == env
    assert check_bytes(data) == []


@SETTINGS
@given(status_messages)
def test_status_round_trip(msg):
    data = write_status(msg)
    assert validate(parse_xml(data), "status") == []
    assert read_status(data) == msg
    assert check_bytes(data) == []


ILLEGAL = st.sampled_from([chr(c) for c in range(32) if c not in (9, 10, 13)] + ["\ufffe", "\uffff"])


@settings(max_examples=30, deadline=None)
@given(prefix=st.text(max_size=5, alphabet="abc "), bad=ILLEGAL, field=st.sampled_from(["subject", "content"]))
def test_xml_illegal_characters_are_refused(prefix, bad, field):
    env = replace(example_envelope(), **{field: prefix + bad})
    with pytest.raises(ValidationError) as info:
        write_envelope(env)
    assert info.value.violations[0].rule == "xml-char"
