"""The conformance cases: what a partner's axis endpoint must get right, checked over HTTP as a calling system.

A run is one ``Partner`` (URL, system id, secret, the agency it sends as and one it receives as — the system
must own both) and the cases in order; they share what the earlier ones did (the package sent, its DocId).
Each case ends in a ``Verdict``: passed or failed, with the reason (what was asked, what came back).  The
cases: answers carry ``status``/``ErrorCode``/``ErrorDesc``; a wrong HMAC is refused; an invalid and a hostile
package are refused with ``DocId`` in the answer; a valid one is accepted; a resend is listed once; an
acknowledged package leaves the list; a status is routed back to the sender; ``getSentEdocList`` reports what
happened and nothing more.  Must not import lxml, sqlalchemy or the engine: packages are written with
``docflow.xml`` writers only through ``docflow.conformance.packages``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docflow.axis.client import AxisCallError, AxisClient
from docflow.conformance.packages import hostile_document, invalid_document, status_packet, valid_document
from docflow.errors import DocflowError

ANSWER_KEYS = ("status", "ErrorCode", "ErrorDesc")


class CaseFailed(Exception):
    """A case's check did not hold; the message is the reason shown in the table."""


@dataclass(frozen=True, slots=True)
class Partner:
    """The endpoint under test and the calling system (it must own ``sender`` and ``recipient``)."""

    url: str
    system: str
    secret: str
    sender: str
    recipient: str
    timeout: float = 20.0


@dataclass(frozen=True, slots=True)
class Verdict:
    case: str
    passed: bool
    reason: str
    required: bool = True


@dataclass
class Run:
    """What the cases share while they run."""

    partner: Partner
    client: AxisClient
    facts: dict[str, Any] = field(default_factory=dict)

    def raw(self, operation: str, params: list[tuple[str, str]], *, body: bytes = b"{}", secret: str = "") -> dict:
        """The JSON answer of one call, FAIL or not (``secret`` replaces the system's own)."""
        client = self.client
        if secret:
            client = AxisClient(self.partner.url, self.partner.system, secret, timeout=self.partner.timeout, retries=0)
        try:
            response = client.request(operation, params, body=body, content_type="application/octet-stream")
        finally:
            if client is not self.client:
                client.close()
        try:
            answer = json.loads(response.content)
        except ValueError:
            raise CaseFailed(f"{operation}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(answer, dict):
            raise CaseFailed(f"{operation}: answer is not a JSON object")
        return answer

    def send_params(self, data: bytes, message_type: str = "edoc") -> list[tuple[str, str]]:
        from docflow.axis.protocol import file_hash

        return [("from", self.partner.sender), ("servicetype", "eDoc"), ("messagetype", message_type),
                ("hash-file", file_hash(data))]  # fmt: skip


def _keys(answer: dict, operation: str, *extra: str) -> None:
    missing = [k for k in (*ANSWER_KEYS, *extra) if k not in answer]
    if missing:
        raise CaseFailed(f"{operation} answer lacks {', '.join(missing)}: keys are {sorted(answer)}")


def answer_shape(run: Run) -> str:
    answer = run.raw("getAgenciesList", [])
    _keys(answer, "getAgenciesList")
    if answer["status"] != "OK" or str(answer["ErrorCode"]) != "0":
        raise CaseFailed(f"getAgenciesList: {answer['status']} {answer['ErrorCode']} {answer['ErrorDesc']}")
    return "status, ErrorCode, ErrorDesc present; OK with ErrorCode 0"


def hmac_refused(run: Run) -> str:
    answer = run.raw("countReceiveEdoc", [("messagetype", "edoc")], secret=run.partner.secret + "-wrong")
    _keys(answer, "countReceiveEdoc")
    if answer["status"] != "FAIL":
        raise CaseFailed("a call signed with a wrong secret was answered OK")
    return f"wrong HMAC refused with {answer['ErrorCode']}"


def _refused_package(run: Run, data: bytes, what: str) -> str:
    answer = run.raw("sendEdoc", run.send_params(data), body=data + b"\r\n")
    _keys(answer, "sendEdoc", "DocId")
    if answer["status"] != "FAIL":
        raise CaseFailed(f"{what} package accepted (DocId {answer.get('DocId')!r})")
    return f"{what} package refused with {answer['ErrorCode']}, DocId present"


def invalid_refused(run: Run) -> str:
    return _refused_package(run, invalid_document(run.partner.sender), "schema-invalid")


def hostile_refused(run: Run) -> str:
    return _refused_package(run, hostile_document(run.partner.sender, run.partner.recipient), "hostile (DTD)")


def send_accepted(run: Run) -> str:
    data, document_id = valid_document(run.partner.sender, run.partner.recipient)
    answer = run.raw("sendEdoc", run.send_params(data), body=data + b"\r\n")
    _keys(answer, "sendEdoc", "DocId")
    if answer["status"] != "OK" or not answer["DocId"]:
        raise CaseFailed(f"a valid document was refused: {answer['ErrorCode']} {answer['ErrorDesc']}")
    run.facts.update(data=data, document_id=document_id, doc_id=str(answer["DocId"]))
    return f"accepted as {answer['DocId']}"


def _listed(run: Run, message_type: str = "edoc") -> list[dict[str, Any]]:
    return [item for item in run.client.received(message_type) if item.get("from") == run.partner.sender]


def resend_not_duplicated(run: Run) -> str:
    data = _needs(run, "data")
    run.client.send(data, sender=run.partner.sender)
    copies = [i for i in _listed(run) if i.get("to") == run.partner.recipient and _fetched_is(run, i, data)]
    if len(copies) != 1:
        raise CaseFailed(f"the package sent twice is listed {len(copies)} times for {run.partner.recipient}")
    run.facts["received_id"] = str(copies[0]["docId"])
    return "sent twice, listed once"


def _fetched_is(run: Run, item: dict[str, Any], data: bytes) -> bool:
    try:
        return run.client.get(str(item["docId"])).rstrip(b"\r\n") == data.rstrip(b"\r\n")
    except (AxisCallError, KeyError):
        return False


def ack_removes(run: Run) -> str:
    received_id = _needs(run, "received_id")
    run.client.update(received_id, "done")
    if any(str(i.get("docId")) == received_id for i in run.client.received("edoc")):
        raise CaseFailed(f"package {received_id} still listed after updateStatus done")
    return "acknowledged package left the list"


def status_routed_back(run: Run) -> str:
    document_id = _needs(run, "document_id")
    packet = status_packet(run.partner.recipient, document_id, run.partner.sender, "03")
    run.client.send(packet, message_type="status", sender=run.partner.recipient)
    back = [i for i in run.client.received("status") if i.get("from") == run.partner.recipient
            and i.get("to") == run.partner.sender]  # fmt: skip
    if not back:
        raise CaseFailed(f"the 03 from {run.partner.recipient} is not in {run.partner.sender}'s status list")
    for item in back:
        run.client.update(str(item["docId"]), "done")
    return "03 listed for the sender"


def sent_list_true(run: Run) -> str:
    rows = run.client.sent(_needs(run, "doc_id"))
    targets = [r.get("toCode") for r in rows]
    if targets != [run.partner.recipient]:
        raise CaseFailed(f"getSentEdocList names {targets}, expected [{run.partner.recipient!r}]")
    state = str(rows[0].get("receiveStatus", "")).upper()
    if state not in ("ARRIVED", "ACCEPTED"):
        raise CaseFailed(f"receiveStatus {state!r} after a 03 only: it reports what never happened")
    if str(rows[0].get("sendStatus", "")).upper() != "DONE":
        raise CaseFailed(f"sendStatus {rows[0].get('sendStatus')!r} after the package was acknowledged")
    return f"one recipient, sendStatus DONE, receiveStatus {state}"


def _needs(run: Run, fact: str) -> Any:
    if fact not in run.facts:
        raise CaseFailed(f"skipped: an earlier case did not give {fact}")
    return run.facts[fact]


#: (name, required, check) in the order they run.
CASES: list[tuple[str, bool, Callable[[Run], str]]] = [
    ("answer-shape", True, answer_shape),
    ("hmac-refused", True, hmac_refused),
    ("invalid-package-refused", True, invalid_refused),
    ("hostile-package-refused", True, hostile_refused),
    ("send-accepted", True, send_accepted),
    ("resend-not-duplicated", True, resend_not_duplicated),
    ("ack-removes-from-list", True, ack_removes),
    ("status-routed-back", True, status_routed_back),
    ("sent-list-true", True, sent_list_true),
]


def run_cases(partner: Partner, *, only: tuple[str, ...] = ()) -> list[Verdict]:
    """Run every case (or ``only`` those) against ``partner``; one verdict each, in order."""
    verdicts = []
    with AxisClient(partner.url, partner.system, partner.secret, timeout=partner.timeout, retries=0) as client:
        run = Run(partner, client)
        for name, required, check in CASES:
            if only and name not in only:
                continue
            try:
                verdicts.append(Verdict(name, True, check(run), required))
            except CaseFailed as exc:
                verdicts.append(Verdict(name, False, str(exc), required))
            except (AxisCallError, DocflowError, OSError, ValueError, KeyError, TypeError) as exc:
                verdicts.append(Verdict(name, False, f"{type(exc).__name__}: {exc}"[:300], required))
    return verdicts
