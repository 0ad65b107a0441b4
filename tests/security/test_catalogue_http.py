"""Catalogue: hostile HTTP against a real ``docflow serve`` process on 127.0.0.1 — header injection, request
smuggling, a flood from one system (``--rate-limit``), a hostile package over the axis — each refused with a
precise answer, nothing stored but quarantined bytes, and the server still serving (the other refusals of the
axis API are in tests/integration/test_axis_server.py)."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # the axis tests' process helpers

from axis_processes import BASE, G22, H58, Served, free_port, start_server, stop

from docflow.axis.client import AxisCallError
from docflow.axis.protocol import file_hash, signed_headers
from docflow.bootstrap import build_network
from docflow.xml import write_envelope

RATE, BURST = 5.0, 5


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start_server(tmp_path, "--rate-limit", str(RATE), "--rate-burst", str(BURST), port=free_port())
    try:
        yield server
    finally:
        stop(server.process)
    assert server.process.returncode == 0, (tmp_path / "axis.log").read_text()


def good_document(code: str) -> bytes:
    drafter = build_network(db="sqlite://")
    return write_envelope(drafter.node(H58).draft([G22], subject="Báo cáo", code=code))


def raw_exchange(served: Served, request: bytes, *, wait: float = 3.0) -> bytes:
    """Send ``request`` bytes on one connection and read everything the server answers until it closes or
    goes quiet."""
    port = int(served.url.split(":")[2].split("/")[0])
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def signed_request(path: str, body: bytes, *, extra: bytes = b"", length: bool = True) -> bytes:
    params = [("from", H58), ("servicetype", "eDoc"), ("messagetype", "edoc"), ("hash-file", file_hash(body))]
    headers = signed_headers("tg-ubnd", "secret-h58", params, content_type="application/octet-stream",
                             timestamp="29112026T204808+0607")  # fmt: skip
    lines = [f"POST {BASE}/{path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n" + extra + b"\r\n"
    return head + body


def answers(raw: bytes) -> list[int]:
    """The HTTP status codes of every response in ``raw``."""
    return [int(line.split(b" ")[1]) for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def still_serving(served: Served, code: str) -> None:
    client = served.client("tg-ubnd", "secret-h58")
    time.sleep(BURST / RATE)  # let the bucket refill after a case that spent it
    client.send(good_document(code), sender=H58)
    assert [r["from"] for r in served.client("vpcp", "secret-g22").received()][-1] == H58


def test_catalogue_header_injection_with_a_bare_cr_in_a_header_line(served: Served) -> None:
    body = good_document("20/UBND")
    raw = raw_exchange(served, signed_request("sendEdoc", body, extra=b"X-Note: a\rXroadVnpt-from: 000.00.00.G22\r\n"))
    assert answers(raw) == [400]
    assert served.rows("SELECT count(*) FROM axis_packages") == [(0,)]
    still_serving(served, "21/UBND")


def test_catalogue_header_injection_by_obsolete_line_folding(served: Served) -> None:
    """A folded continuation line stays part of the header it continues: it never becomes a header of its own,
    so the injected ``XroadVnpt-from`` is not read and the package is what the signed headers say."""
    body = good_document("22/UBND")
    folded = b"X-Note: a\r\n XroadVnpt-from: 000.00.00.G22\r\n"
    raw = raw_exchange(served, signed_request("sendEdoc", body, extra=folded))
    assert answers(raw) == [200] and b'"status":"OK"' in raw
    assert served.rows("SELECT sender, recipient FROM axis_packages") == [(H58, G22)]
    still_serving(served, "23/UBND")


def test_catalogue_request_smuggling_content_length_and_transfer_encoding(served: Served) -> None:
    smuggled = f"GET {BASE}/getReceivedEdocList HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    body = b"0\r\n\r\n" + smuggled
    request = signed_request("sendEdoc", body, extra=b"Transfer-Encoding: chunked\r\n")
    raw = raw_exchange(served, request)
    assert answers(raw) == [400] and b"Content-Length and Transfer-Encoding" in raw
    assert b"connection: close" in raw.lower()  # the smuggled request behind it is never answered
    assert served.rows("SELECT count(*) FROM axis_packages") == [(0,)]
    still_serving(served, "24/UBND")


def test_catalogue_request_smuggling_two_content_lengths(served: Served) -> None:
    body = good_document("25/UBND")
    smuggled = f"GET {BASE}/getReceivedEdocList HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    request = signed_request("sendEdoc", body + smuggled, extra=f"Content-Length: {len(body)}\r\n".encode())
    raw = raw_exchange(served, request)
    assert answers(raw) == [400]
    assert served.rows("SELECT count(*) FROM axis_packages") == [(0,)]
    still_serving(served, "26/UBND")


def test_catalogue_flood_from_one_system_is_rate_limited(served: Served) -> None:
    flooder = served.client("tg-ubnd", "secret-h58")
    drafter = build_network(db="sqlite://")
    flood = [
        write_envelope(drafter.node(H58).draft([G22], subject="Lũ", code=f"{100 + n}/UBND")) for n in range(BURST * 3)
    ]
    codes = []
    for document in flood:
        try:
            flooder.send(document, sender=H58)
            codes.append("0")
        except AxisCallError as exc:
            codes.append(exc.code)
            assert "calls per second" in exc.description and "retry in" in exc.description
    assert codes[:BURST] == ["0"] * BURST and codes.count("108") >= BURST  # the burst passes, the flood does not
    assert served.client("vpcp", "secret-g22").count() == codes.count("0")  # another system is not slowed down
    # a refused call was turned away before its body was read: only the accepted ones were stored
    assert served.rows("SELECT count(*) FROM axis_packages") == [(codes.count("0"),)]
    assert served.rows("SELECT count(*) FROM quarantine") == [(0,)]
    still_serving(served, "28/UBND")


def test_catalogue_hostile_package_over_http_is_quarantined(served: Served) -> None:
    hostile = good_document("29/UBND").replace(
        b"?>", b'?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1
    )
    with pytest.raises(AxisCallError) as caught:
        served.client("tg-ubnd", "secret-h58").send(hostile, sender=H58)
    assert caught.value.code == "203" and "DTD" in caught.value.description
    [(reason, body)] = served.rows("SELECT reason, body FROM quarantine")
    assert "DTD" in reason and bytes(body).startswith(hostile)
    still_serving(served, "30/UBND")
