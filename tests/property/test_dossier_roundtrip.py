"""Properties of the dossier message: every message the builder accepts is written valid and reads back equal;
signed, it verifies after any relays' stamps and reads back from what was signed."""

from __future__ import annotations

import functools
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docflow.domain.dossier import (
    Apology,
    Applicant,
    ApplicantKind,
    Channel,
    Dossier,
    DossierMessage,
    DossierState,
    Fee,
    HistoryRow,
    ResultPaper,
    SubmittedFile,
    Supplement,
    format_portal_time,
    parse_portal_time,
)
from docflow.domain.envelope import TraceHeader
from docflow.keys import KeyPair, self_signed_certificate
from docflow.xml.dossier_xml import dossier_hop, read_dossier, validate_dossier, write_dossier
from docflow.xml.parser import parse_xml
from docflow.xml.signing import sign_message, verify_message
from tests.strategies import organ_ids, text, words

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
maybe_times = st.none() | times

applicants = st.builds(
    Applicant,
    name=text(60),
    kind=st.sampled_from(ApplicantKind),
    id_number=text(12),
    address=text(80),
    phone=text(12),
    email=text(30),
)
files = st.builds(SubmittedFile, file_id=words(), name=text(60), component_code=text(20), url=text(80))
fees = st.builds(
    Fee,
    name=text(60),
    code=text(10),
    amount=st.integers(0, 10**9),
    kind=st.integers(0, 9),
    collection=st.integers(0, 9),
)
supplements = st.builds(
    Supplement,
    supplement_id=words(),
    requested_by=text(),
    content=text(80),
    requested_at=times,
    due_before=maybe_times,
    received_at=maybe_times,
    due_after=maybe_times,
)
results = st.builds(ResultPaper, paper_id=words(), name=text(60), component_code=text(20), url=text(80))
apologies = st.builds(
    Apology,
    at=times,
    agency=organ_ids(),
    due_before=times,
    due_after=times,
    document_id=text(60),
    reason=text(80),
)
rows = st.builds(
    HistoryRow,
    agency=organ_ids(),
    actor=text(),
    at=times,
    content=text(80),
    state=st.sampled_from(DossierState),
    title=text(),
    department=text(),
    started_at=maybe_times,
    step_due=maybe_times,
)
dossiers = st.builds(
    Dossier,
    code=words(40),
    procedure_code=words(30),
    procedure_name=text(80),
    applicant=applicants,
    state=st.sampled_from(DossierState),
    holder=organ_ids(),
    desk=organ_ids(),
    field_code=text(10),
    field_name=text(40),
    level=st.integers(2, 4),
    channel=st.sampled_from(Channel),
    summary=text(120),
    step=st.integers(0, 20),
    submitted_at=maybe_times,
    received_at=maybe_times,
    due_at=maybe_times,
    finished_at=maybe_times,
    returned_at=maybe_times,
    refused_at=maybe_times,
    paused_at=maybe_times,
    files=st.lists(files, max_size=3).map(tuple),
    fees=st.lists(fees, max_size=3).map(tuple),
    supplements=st.lists(supplements, max_size=2).map(tuple),
    results=st.lists(results, max_size=2).map(tuple),
    apologies=st.lists(apologies, max_size=2).map(tuple),
    history=st.lists(rows, max_size=6).map(tuple),
)
messages = st.builds(
    DossierMessage,
    sender=organ_ids(),
    recipient=organ_ids(),
    sent_at=times,
    dossier=dossiers,
    trace=st.lists(st.builds(TraceHeader, organ_id=organ_ids(), timestamp=times), max_size=3).map(tuple),
)


@SETTINGS
@given(messages)
def test_dossier_message_round_trip(message):
    data = write_dossier(message)
    assert validate_dossier(parse_xml(data)) == []
    assert read_dossier(data) == message
    assert write_dossier(read_dossier(data)) == data  # one canonical form


@SETTINGS
@given(messages, organ_ids(), times)
def test_a_forwarding_node_stamps_without_the_model_and_keeps_the_identity(message, node, at):
    hop = dossier_hop(write_dossier(message))
    assert hop.identity == message.identity
    hop.stamp(str(node), at)
    assert read_dossier(hop.to_bytes()) == message.with_trace(TraceHeader(node, at))


@settings(max_examples=200, deadline=None)
@given(times)
def test_portal_time_round_trip(value):
    assert parse_portal_time(format_portal_time(value)) == value


@functools.cache
def signing_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair("000.00.00.G22", key, self_signed_certificate("000.00.00.G22", key))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, st.lists(st.tuples(organ_ids(), times), max_size=3))
def test_a_signed_dossier_verifies_after_any_stamps_and_reads_back_what_was_signed(message, stamps):
    """Whatever the dossier, its signature holds however many relays stamp it on the way, and the message read
    from the signed content is the one written, with the trace as it arrived."""
    pair = signing_pair()
    hop = dossier_hop(sign_message(write_dossier(message), pair.private_key, pair.certificate))
    for node, at in stamps:
        hop.stamp(str(node), at)
    arrived = hop.to_bytes()
    assert validate_dossier(parse_xml(arrived)) == []
    verified = verify_message(arrived, lambda _organ_id: pair.certificate)
    assert verified is not None and verified.signer == str(message.sender)
    expected = message
    for node, at in stamps:
        expected = expected.with_trace(TraceHeader(node, at))
    assert verified.message() == expected
