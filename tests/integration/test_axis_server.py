"""``docflow serve`` in its own process on 127.0.0.1: every operation over real HTTP, and every bad input.

A client written like the vendor's SDK (``AxisClient``: signed headers, ``\\r\\n`` after the file, the unpadded
``hash-file``) sends a document from Tiền Giang's committee to the Government Office and to a commune; each
receiver lists, fetches and acknowledges it and answers with 03 and 06 status packets, which the sender lists
and which move its deliveries in the engine.  Then every refusal of item 5 of the issue, each a FAIL with its
code on HTTP 200, and the server still serving afterwards.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axis_processes import COMMUNE, G22, H58, Served, free_port, start_server, stop

from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import load
from docflow.axis.protocol import file_hash, signed_headers
from docflow.bootstrap import build_network
from docflow.xml import read_status, write_envelope, write_status

MAX_BODY = 300_000


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start_server(tmp_path, "--max-body", str(MAX_BODY))
    try:
        yield server
    finally:
        stop(server.process)
    assert server.process.returncode == 0, (tmp_path / "axis.log").read_text()


@pytest.fixture(scope="module")
def drafter():
    """Drafts envelopes and status packets the way an agency's own system would (an engine of its own)."""
    return build_network(db="sqlite://")


def document(drafter, recipients, code="12/UBND-VP", subject="Báo cáo tình hình kinh tế - xã hội") -> bytes:
    return write_envelope(drafter.node(H58).draft(recipients, subject=subject, code=code))


def status_packet(drafter, reporter: str, document_id: str, code: str, description: str = "") -> bytes:
    from docflow.axis.packages import response_for
    from docflow.domain.status import StatusCode, StatusMessage

    ctx = drafter.ctx
    message = StatusMessage(
        sender=ctx.organization(reporter),
        response_for=response_for(document_id, H58),
        status=StatusCode(code),
        timestamp=ctx.clock.now(),
        description=description or StatusCode(code).label,
    )
    return write_status(message)


def test_a_document_goes_through_the_axis_and_its_statuses_come_back(served, drafter):
    sender = served.client("tg-ubnd", "secret-h58")
    gov = served.client("vpcp", "secret-g22")
    commune = served.client("tg-commune", "secret-commune")
    data = document(drafter, [G22, COMMUNE])
    doc_id = sender.send(data, sender=H58)
    assert doc_id
    assert sender.send(data, sender=H58) == doc_id  # a resend after a lost answer stores nothing new
    assert [i["notation"] for i in sender.sent(doc_id)] == ["12/UBND-VP", "12/UBND-VP"]

    fetched = {}
    for receiver, code in ((gov, G22), (commune, COMMUNE)):
        assert receiver.count() == 1
        [item] = receiver.received()
        assert (item["from"], item["to"], item["status"], item["messageType"]) == (H58, code, "INITIAL", "edoc")
        assert receiver.get(item["docId"]) == data
        assert receiver.download(item["docId"]) == data
        receiver.update(item["docId"], "processing")
        assert receiver.received()[0]["status"] == "PROCESSING"
        receiver.update(item["docId"], "done")
        assert receiver.received() == []
        assert receiver.count() == 0
        fetched[code] = item["docId"]

    items = sender.sent(doc_id)
    assert sorted(i["toCode"] for i in items) == sorted([COMMUNE, G22])
    assert {i["sendStatus"] for i in items} == {"DONE"}
    assert {i["receiveStatus"] for i in items} == {"ARRIVED"}
    assert {i["senderDocId"] for i in items} == {doc_id}
    assert {i["receiverDocId"] for i in items} == set(fetched.values())

    envelope_id = served.rows("SELECT DISTINCT document_id FROM axis_packages")[0][0]
    for code in ("01", "03", "06"):
        gov.send(status_packet(drafter, G22, envelope_id, code), message_type="status")
    commune.send(status_packet(drafter, COMMUNE, envelope_id, "03"), message_type="status")
    statuses = sender.received("status")
    assert sorted((s["from"], s["to"]) for s in statuses) == sorted([(G22, H58)] * 3 + [(COMMUNE, H58)])
    assert sender.count("status") == 4
    for item in statuses:
        assert read_status(sender.get(item["docId"])).response_for.document_id == envelope_id
        sender.update(item["docId"], "done")
    assert sender.received("status") == []
    states = {i["toCode"]: i["receiveStatus"] for i in sender.sent(doc_id)}
    assert states == {G22: "COMPLETED", COMMUNE: "ACCEPTED"}
    assert served.rows("SELECT count(*) FROM axis_packages") == [(6,)]


def test_a_failed_receipt_tells_the_sender(served, drafter):
    sender = served.client("tg-ubnd", "secret-h58")
    gov = served.client("vpcp", "secret-g22")
    doc_id = sender.send(document(drafter, [G22], code="13/UBND-VP"), sender=H58)
    [item] = gov.received()
    gov.update(item["docId"], "fail", "Tệp đính kèm hỏng")
    assert gov.received() == []
    [status] = sender.received("status")
    assert status["from"] == G22
    packet = read_status(sender.get(status["docId"]))
    assert packet.status.value == "02"
    assert packet.description == "Tệp đính kèm hỏng"
    [sent] = sender.sent(doc_id)
    assert (sent["sendStatus"], sent["receiveStatus"]) == ("FAIL", "REJECTED")


def test_the_directory_operations(served):
    gov = served.client("vpcp", "secret-g22")
    listed = gov.agencies()
    assert len(listed) == 237
    by_code = {a["code"]: a for a in listed}
    assert by_code[COMMUNE]["pid"] == "000.00.50.H58"
    assert set(by_code[G22]) == {"id", "code", "name", "mail", "pid", "oldCode"}
    level1 = gov.call("getAgenciesListQD20", [("level", "1")])["data"]
    assert {a["code102"] for a in level1} >= {G22, H58}
    assert all(a["code"].startswith("000.00.00.") for a in level1)
    unit = gov.call("getSynchronizeUnit")["data"][0]
    assert set(unit) == {"id", "code", "name", "mail", "pid", "version", "centerCode", "deleted", "modifyDate",
                         "isAgency"}  # fmt: skip
    new = {"id": "000.00.00.H41", "pcode": G22, "code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An",
           "mail": "ubnd@nghean.gov.vn", "mobile": "", "fax": ""}  # fmt: skip
    gov.call("registerAgency", body=json.dumps(new).encode())
    assert "000.00.00.H41" in {a["code"] for a in gov.agencies()}
    with pytest.raises(AxisCallError) as caught:
        gov.call("registerAgency", body=json.dumps(new).encode())
    assert caught.value.code == "401"
    gov.call("deleteAgency", [("AgencyCode", "000.00.00.H41")], body=b"{}")
    assert "000.00.00.H41" not in {a["code"] for a in gov.agencies()}
    with pytest.raises(AxisCallError) as caught:
        gov.call("deleteAgency", [("AgencyCode", "000.00.00.H41")], body=b"{}")
    assert caught.value.code == "206"


# -- bad input over HTTP --------------------------------------------------------------------------------

DTD = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x "y">]><edXML>&x;</edXML>'
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><edXML>&x;</edXML>'
XINCLUDE = (
    b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:xi="http://www.w3.org/2001/XInclude">'
    b'<xi:include href="file:///etc/passwd"/></edXML>'
)
DEEP = b"<edXML>" + b"<a>" * 400 + b"</a>" * 400 + b"</edXML>"
LATIN1 = b'<?xml version="1.0" encoding="ISO-8859-1"?><edXML>Ti\xe8n Giang</edXML>'
NOT_UTF8 = b"<edXML>Ti\xe8n Giang</edXML>"


def raw_send(
    url: str, data: bytes, *, system="tg-ubnd", secret="secret-h58", params=None, body=None, headers=None
) -> dict:
    """A sendEdoc put together by hand, so each part can be spoiled."""
    params = params if params is not None else [("from", H58), ("servicetype", "eDoc"), ("messagetype", "edoc"),
                                                ("hash-file", file_hash(data))]  # fmt: skip
    sent = signed_headers(system, secret, params, content_type="application/octet-stream",
                          timestamp="29112026T204808+0607")  # fmt: skip
    sent.update(headers or {})
    sent = {name: value for name, value in sent.items() if "\r" not in value and "\n" not in value}  # unsendable
    response = httpx.post(f"{url}/sendEdoc", content=data + b"\r\n" if body is None else body, headers=sent)
    assert response.status_code == 200
    assert response.content.isascii()
    answer = response.json()
    assert set(answer) >= {"status", "ErrorCode", "ErrorDesc", "DocId"}
    assert answer["ErrorDesc"].isascii()
    return answer


def failed(answer: dict, code: str) -> str:
    assert (answer["status"], answer["ErrorCode"], answer["DocId"]) == ("FAIL", code, ""), answer
    return answer["ErrorDesc"]


def test_every_bad_input_is_a_documented_fail_and_the_server_keeps_serving(served, drafter):
    url = served.url
    good = document(drafter, [G22], code="14/UBND-VP")
    assert "HMAC" in failed(raw_send(url, good, secret="wrong"), "104")
    assert "unknown system" in failed(raw_send(url, good, system="nobody"), "103")
    spoiled = raw_send(url, good, headers={"XroadVnpt-from": "000.00.00.G22"})
    assert "differs from the header sent" in failed(spoiled, "105")
    # a CR/LF can only arrive inside the signed JSON (an HTTP client cannot put it in a header line)
    crlf = [("from", H58), ("servicetype", "eDoc"), ("messagetype", "edoc"), ("hash-file", "a\r\nb")]
    assert "CR or LF" in failed(raw_send(url, good, params=crlf), "106")
    as_other = raw_send(url, good, system="vpcp", secret="secret-g22")
    assert "may not send as agency 000.00.00.H58" in failed(as_other, "205")
    mismatch = [("from", H58), ("servicetype", "eDoc"), ("messagetype", "edoc"), ("hash-file", file_hash(b"x"))]
    assert "hash-file" in failed(raw_send(url, good, params=mismatch), "202")
    big = b"<edXML>" + b" " * MAX_BODY + b"</edXML>"
    assert "over the limit" in failed(raw_send(url, big), "201")
    refusals = {}
    for name, hostile in (("dtd", DTD), ("entity", EXTERNAL), ("xinclude", XINCLUDE), ("depth", DEEP),
                          ("latin1", LATIN1), ("not-utf8", NOT_UTF8)):  # fmt: skip
        refusals[name] = failed(raw_send(url, hostile), "203")
    assert "DTD" in refusals["dtd"] and "DTD" in refusals["entity"]
    assert "XInclude" in refusals["xinclude"]
    assert "deep" in refusals["depth"] or "depth" in refusals["depth"]
    assert "UTF-8" in refusals["latin1"] and "UTF-8" in refusals["not-utf8"]
    assert failed(raw_send(url, b"<edXML><nothing/></edXML>"), "204")
    missing = [("from", H58), ("servicetype", "eDoc"), ("messagetype", "edoc")]
    assert "hash-file" in failed(raw_send(url, good, params=missing), "101")

    gov = served.client("vpcp", "secret-g22")
    with pytest.raises(AxisCallError) as caught:
        gov.get("no-such-doc")
    assert caught.value.code == "301"
    with pytest.raises(AxisCallError) as caught:
        served.client("vpcp", "secret-g22").call("frobnicate")
    assert caught.value.code == "404"

    # nothing was stored but quarantined bytes; the readable ones are there with their reasons
    assert served.rows("SELECT count(*) FROM axis_packages") == [(0,)]
    assert served.rows("SELECT count(*) FROM documents") == [(0,)]
    reasons = [r for (r,) in served.rows("SELECT reason FROM quarantine")]
    assert len(reasons) == 1 + 1 + 6 + 1  # not-owner, hash mismatch, six parser refusals, one invalid
    assert any(r.startswith("axis hash_mismatch") for r in reasons)

    # still serving: the good document goes through, and another system cannot take or ack it
    doc_id = served.client("tg-ubnd", "secret-h58").send(good, sender=H58)
    [item] = gov.received()
    commune = served.client("tg-commune", "secret-commune")
    for attempt in (lambda: commune.get(item["docId"]), lambda: commune.update(item["docId"], "done")):
        with pytest.raises(AxisCallError) as caught:
            attempt()
        assert caught.value.code == "302"
    with pytest.raises(AxisCallError) as caught:
        gov.sent(doc_id)
    assert caught.value.code == "302"
    assert gov.received()[0]["status"] == "INITIAL"


def test_the_first_run_writes_credentials_and_says_how_to_call(tmp_path):
    """``docflow serve`` without --credentials or --db: ./docflow.db and ./docflow-credentials.toml in its folder."""
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "docflow", "serve", "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.1)
        systems = load(tmp_path / "docflow-credentials.toml").systems
        assert len(systems) == 237 and systems[H58].agencies == frozenset({H58})
        text = log.read_text()
        assert f"wrote {tmp_path / 'docflow-credentials.toml'}" in text
        assert f"docflow axis http://127.0.0.1:{port} --system" in text
        client = AxisClient(f"http://127.0.0.1:{port}", H58, systems[H58].secret)
        assert len(client.agencies()) == 237
        assert (tmp_path / "docflow.db").exists()
    finally:
        stop(process)
    assert process.returncode == 0
