"""Fuzzing the whole receive path: hypothesis mutations of a valid signed document and of a valid status, put
on a node's queue and taken by the engine (parse, schema, signature, authorisation, apply).  Whatever the bytes:
the network keeps running (only docflow errors, each turned into a quarantine entry), no message takes over a
second, and nothing is stored outside quarantine unless it is authentic — a document stored at the recipient
verifies against its sender's certificate and a status moves only the delivery it may move."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import COMMUNE, GOVERNMENT_OFFICE, Bench, bench
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docflow.domain.status import StatusCode
from docflow.keys import KeyStore
from docflow.xml.signing import verify_message

SNIPPETS = [b"<!DOCTYPE edXML []>", b"&x;", b"\x00", b"\xff\xfe", b"<", b"]]>", b"</edXML>", b"<Signature/>",
            b"<TraceHeader><OrganId>000.00.00.G22</OrganId></TraceHeader>", b"\r\n", "Ủ".encode()]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one to three byte-level mutations: flips, cuts, insertions, duplicated slices."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if not out:
            break
        at = draw(st.integers(0, 1 << 20)) % len(out)  # drawn apart from the length: examples replay exactly
        kind = draw(st.sampled_from(["flip", "cut", "insert", "duplicate", "snippet"]))
        if kind == "flip":
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del out[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "duplicate":
            out[at:at] = out[at : at + draw(st.integers(1, 200))]
        else:
            out[at:at] = draw(st.sampled_from(SNIPPETS))
    return bytes(out)


@pytest.fixture(scope="module")
def fuzz_bench(tmp_path_factory: pytest.TempPathFactory, keys: KeyStore) -> Iterator[Bench]:
    node = bench(Path(tmp_path_factory.mktemp("fuzz")), keys)
    yield node
    node.net.ctx.store.close()


def timed(action: object) -> float:
    start = time.monotonic()
    action()  # type: ignore[operator]
    return time.monotonic() - start


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(seed=st.data())
def test_a_mutated_signed_document_is_authentic_or_quarantined(fuzz_bench: Bench, seed: st.DataObject) -> None:
    node = fuzz_bench
    envelope = node.draft()
    body = seed.draw(mutated(node.signed(envelope)))
    before = len(node.quarantined(GOVERNMENT_OFFICE))
    assert timed(lambda: node.deliver(envelope, body)) < 1.0
    with node.net.ctx.store.snapshot() as repo:
        stored = repo.documents.get(GOVERNMENT_OFFICE, envelope.document_id)
    entries = node.quarantined(GOVERNMENT_OFFICE)
    if stored is None:
        assert len(entries) == before + 1 and entries[-1].body == body and entries[-1].reason
    else:  # the mutation left the signed content intact (e.g. only whitespace or a trace timestamp)
        assert len(entries) == before
        verified = verify_message(stored.envelope, node.keys.certificate)
        assert verified is not None and verified.signer == COMMUNE


@FUZZ
@given(seed=st.data())
def test_a_mutated_status_moves_nothing_it_may_not(fuzz_bench: Bench, seed: st.DataObject) -> None:
    node = fuzz_bench
    document_id = node.net.node(COMMUNE).send(node.draft())
    node.net.run_until_idle()
    good = node.status_body(GOVERNMENT_OFFICE, document_id, COMMUNE, StatusCode.COMPLETED)
    body = seed.draw(mutated(good))
    headers = node.routing("status", GOVERNMENT_OFFICE, COMMUNE, document_id, status="06")
    before = len(node.quarantined(COMMUNE))
    assert timed(lambda: node.inject(body, headers, to=COMMUNE, sender=GOVERNMENT_OFFICE, kind="status")) < 1.0
    states = {d.state for d in node.net.node(COMMUNE).deliveries(document_id)}
    entries = node.quarantined(COMMUNE)
    if len(entries) == before + 1:
        assert entries[-1].body == body and states == {"arrived"}
    else:  # still a valid 06 from the recipient about this document: applied
        assert len(entries) == before and states <= {"arrived", "completed"}
