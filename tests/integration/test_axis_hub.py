"""A hub and the axis are the same program one level apart: ``docflow serve`` as the national axis and a second
``docflow serve --upstream … --node 00.58.W00`` as Tiền Giang's hub, both real processes on 127.0.0.1.

Tiền Giang's committee sends one document to another province's committee (Nghệ An, through the axis) and to a
Tiền Giang commune (served by the hub itself); both receivers fetch and acknowledge it and answer 01, 03 and 06;
the six statuses come back to the committee at its hub, and ``getSentEdocList`` shows each recipient completed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axis_processes import COMMUNE, H58, Served, start_server, stop

from docflow.axis.packages import response_for
from docflow.bootstrap import build_network
from docflow.domain.status import StatusCode, StatusMessage
from docflow.xml import read_status, write_envelope, write_status

H41 = "000.00.00.H41"  # Nghệ An's people's committee
HUB = "00.58.W00"  # Tiền Giang's hub, as the axis knows it

AXIS_CREDENTIALS = f"""
[[system]]
id = "{HUB}"
secret = "secret-hub"
agencies = ["*"]

[[system]]
id = "ubnd-h41"
secret = "secret-h41"
agencies = ["{H41}"]
"""


@dataclass
class Pair:
    axis: Served
    hub: Served


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    (tmp_path / "axis-credentials.toml").write_text(AXIS_CREDENTIALS, encoding="utf-8")
    axis = start_server(tmp_path, "--registry", "national", name="axis")
    try:
        hub = start_server(tmp_path, "--upstream", axis.url, "--node", HUB, "--upstream-secret-file",
                           str(tmp_path / "axis-credentials.toml"), "--poll", "0.2", name="hub")  # fmt: skip
        try:
            yield Pair(axis, hub)
        finally:
            stop(hub.process)
    finally:
        stop(axis.process)
    assert (axis.process.returncode, hub.process.returncode) == (0, 0)


def eventually(read: Callable[[], list], want: int, what: str, timeout: float = 30.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if len(found) >= want or time.monotonic() > deadline:
            assert len(found) == want, f"{what}: {len(found)} of {want}"
            return found
        time.sleep(0.1)


def status(drafter, reporter: str, document_id: str, code: str) -> bytes:
    ctx = drafter.ctx
    message = StatusMessage(
        sender=ctx.organization(reporter),
        response_for=response_for(document_id, H58),
        status=StatusCode(code),
        timestamp=ctx.clock.now(),
        description=StatusCode(code).label,
    )
    return write_status(message)


def test_a_document_to_another_province_and_to_a_commune_and_its_statuses_back(pair):
    drafter = build_network(db="sqlite://", registry="national")
    committee = pair.hub.client("tg-ubnd", "secret-h58")
    commune = pair.hub.client("tg-commune", "secret-commune")
    nghe_an = pair.axis.client("ubnd-h41", "secret-h41")

    envelope = drafter.node(H58).draft([H41, COMMUNE], subject="Đề nghị phối hợp", code="21/UBND-VP")
    data = write_envelope(envelope)
    doc_id = committee.send(data, sender=H58)
    assert committee.send(data, sender=H58) == doc_id  # a resend: nothing new here nor upstream

    for receiver, code in ((nghe_an, H41), (commune, COMMUNE)):
        [item] = eventually(receiver.received, 1, f"the document at {code}")
        assert (item["from"], item["to"]) == (H58, code)
        assert receiver.get(item["docId"]) == data
        receiver.update(item["docId"], "done")
        for step in ("01", "03", "06"):
            receiver.send(status(drafter, code, envelope.document_id, step), message_type="status")

    statuses = eventually(lambda: committee.received("status"), 6, "statuses at the committee")
    codes = sorted((item["from"], read_status(committee.get(item["docId"])).status.value) for item in statuses)
    assert codes == sorted((who, step) for who in (H41, COMMUNE) for step in ("01", "03", "06"))
    for item in statuses:
        committee.update(item["docId"], "done")
    assert committee.received("status") == []

    sent = {item["toCode"]: item for item in committee.sent(doc_id)}
    assert set(sent) == {H41, COMMUNE}
    assert sent[COMMUNE]["receiveStatus"] == "COMPLETED"
    assert sent[H41]["receiveStatus"] == "COMPLETED"  # as the upstream axis tracks it
    assert sent[H41]["sendStatus"] == "DONE" and "forwarded upstream" in sent[H41]["sendStatusDesc"]
    assert pair.axis.rows("SELECT count(*) FROM axis_packages WHERE message_type = 'edoc'") == [(1,)]
    assert pair.hub.rows("SELECT count(*) FROM axis_packages WHERE message_type = 'edoc'") == [(2,)]
