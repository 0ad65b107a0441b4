"""Properties of signatures: sign -> verify holds for any document; any single-byte change of signed content fails."""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from docflow.errors import DocflowError, SignatureMismatchError
from docflow.keys import KeyPair, self_signed_certificate
from docflow.xml import write_envelope
from docflow.xml.hop import read_hop
from docflow.xml.signing import sign_message, verify_message
from tests.strategies import envelopes, status_messages

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# What the signature leaves out on purpose: the signature itself and the trace entries.
UNSIGNED = re.compile(rb"<ds:Signature\b.*?</ds:Signature>|<TraceHeader>.*?</TraceHeader>", re.S)


@functools.cache
def pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair("000.00.00.G22", key, self_signed_certificate("000.00.00.G22", key))


def lookup(_organ_id: str):
    return pair().certificate


def signed_document(env) -> bytes:
    return sign_message(write_envelope(replace(env, signature=None)), pair().private_key, pair().certificate)


def text_positions(data: bytes) -> list[int]:
    """Offsets of character data (between tags) outside the unsigned spans and the XML declaration."""
    skipped = [m.span() for m in UNSIGNED.finditer(data)]
    positions, inside_tag = [], True  # the declaration counts as a tag
    for index, byte in enumerate(data):
        if byte == 0x3C:  # <
            inside_tag = True
        elif byte == 0x3E:  # >
            inside_tag = False
        elif not inside_tag and not any(start <= index < end for start, end in skipped):
            positions.append(index)
    return positions


@SETTINGS
@given(envelopes())
def test_sign_then_verify_holds_and_reads_back_the_document(env):
    env = replace(env, signature=None)
    verified = verify_message(signed_document(env), lookup)
    assert verified is not None and verified.signer == str(env.sender.organ_id)
    assert verified.message() == env


@SETTINGS
@given(envelopes(), st.lists(st.sampled_from(["000.00.00.H53", "00.53.W00", "000.00.00.G22"]), max_size=3))
def test_trace_entries_added_on_the_way_never_break_the_signature(env, hops):
    hop = read_hop(signed_document(env))
    for number, organ_id in enumerate(hops):
        hop.stamp(organ_id, datetime(2024, 1, 1, 10, number, 0))
    verified = verify_message(hop.to_bytes(), lookup)
    assert verified is not None
    assert [str(t.organ_id) for t in verified.trace][len(env.trace) :] == hops


@SETTINGS
@given(status_messages)
def test_status_messages_sign_and_verify(status):
    from docflow.xml import write_status

    data = sign_message(write_status(status), pair().private_key, pair().certificate)
    verified = verify_message(data, lookup)
    assert verified is not None and verified.message() == status


@SETTINGS
@given(envelopes(), st.data())
def test_any_single_byte_change_of_the_signed_content_fails(env, data):
    signed = signed_document(env)
    index = data.draw(st.sampled_from(text_positions(signed)), label="offset")
    replacement = data.draw(st.sampled_from(b"AZaz09xQ").filter(lambda b: b != signed[index]), label="byte")
    changed = signed[:index] + bytes([replacement]) + signed[index + 1 :]
    try:
        verify_message(changed, lookup)
    except DocflowError as exc:
        event(type(exc).__name__)
        if index not in in_references(signed) and chr(signed[index]).isascii() and chr(signed[index]).isalnum():
            assert isinstance(exc, SignatureMismatchError)  # still well-formed UTF-8: the signature catches it
        return  # a signature mismatch, or bytes no longer UTF-8 / well-formed: refused either way
    raise AssertionError(f"byte {index} changed from {signed[index]!r} to {replacement!r} and still verified")


def in_references(data: bytes) -> set[int]:
    """Offsets inside entity and character references (``&amp;``, ``&#13;``)."""
    return {i for m in re.finditer(rb"&#?\w+;", data) for i in range(*m.span())}
