"""Fuzzing ``docflow serve`` over HTTP: mutated packages sent by a legitimate system.  Every answer is the JSON of
the axis API with a documented code (never ``500 INTERNAL``), each within a second, nothing is stored but what
was accepted or quarantined, and the server keeps serving."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from test_fuzz_receive import mutated

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # the axis tests' process helpers

from axis_processes import G22, H58, Served, free_port, start_server, stop

from docflow.axis.client import AxisCallError
from docflow.axis.protocol import ErrorCode
from docflow.bootstrap import build_network
from docflow.xml import write_envelope

QUARANTINED = {ErrorCode.HASH_MISMATCH.value, ErrorCode.UNSAFE_XML.value, ErrorCode.INVALID_EDXML.value,
               ErrorCode.NOT_OWNER.value}  # fmt: skip
DOCUMENTED = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value, ErrorCode.UPSTREAM.value}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(tmp_path_factory.mktemp("fuzz-http"), port=free_port())
    try:
        yield server
    finally:
        stop(server.process)
    assert server.process.returncode == 0


DRAFTER = build_network(db="sqlite://")
GOOD = write_envelope(DRAFTER.node(H58).draft([G22], subject="Báo cáo", code="77/UBND"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutated(GOOD))
def test_a_mutated_package_gets_a_documented_answer_within_a_second(served: Served, body: bytes) -> None:
    client = served.client("tg-ubnd", "secret-h58")
    before = counts(served)
    start = time.monotonic()
    try:
        client.send(body, sender=H58)
        outcome = "0"
    except AxisCallError as exc:
        outcome = exc.code
    assert time.monotonic() - start < 1.0
    assert outcome == "0" or outcome in DOCUMENTED, outcome
    packages, quarantined = counts(served)
    if outcome in QUARANTINED:  # the refused bytes are kept with their reason, nothing else
        assert (packages, quarantined) == (before[0], before[1] + 1)
    elif outcome == "0":  # accepted (a resend of what was accepted before stores nothing new)
        assert quarantined == before[1] and packages >= before[0]
    else:  # refused before the body counted: nothing stored at all
        assert (packages, quarantined) == before
    assert client.count() >= 0  # still serving


def counts(served: Served) -> tuple[int, int]:
    packages = served.rows("SELECT count(*) FROM axis_packages")[0][0]
    return packages, served.rows("SELECT count(*) FROM quarantine")[0][0]
