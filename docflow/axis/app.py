"""The axis API as an ASGI application (Starlette): one route per operation name under a base path.

Every call is verified (``docflow.axis.protocol.verify_call``) before its body is read; the body is read up to
a size limit; the operation runs in a worker thread against ``AxisBackend``; the answer is always JSON with
``status``/``ErrorCode``/``ErrorDesc`` (HTTP 200, also on FAIL, as clients read only the JSON), except the raw
bytes of a successful ``downloadEdoc``.  ``sendEdoc`` answers carry ``DocId`` in every case.
Must not import sqlalchemy or lxml (the backend owns the engine); imports starlette.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from docflow.axis.backend import AxisBackend
from docflow.axis.credentials import System
from docflow.axis.protocol import (
    OPERATIONS,
    AxisError,
    ErrorCode,
    SignedCall,
    answer,
    ascii_text,
    check_file_hash,
    encode_answer,
    parse_timestamp,
    raw_headers,
    strip_file_terminator,
    verify_call,
)
from docflow.axis.ratelimit import RateLimit
from docflow.domain.ids import OrganId
from docflow.errors import DocflowError, IdentifierError
from docflow.store import Organisation

log = logging.getLogger("docflow.axis")

SERVICE_TYPE = "eDoc"
#: Signed parameters a docflow engine adds to sendEdoc (its message id and routing headers); relayed as they are.
RELAY_PREFIX = "docflow-"
MESSAGE_TYPES = ("edoc", "status", "dossier")
#: Lists several message types in one getReceivedEdocList (docflow's engines ask so; the answer says it did).
KINDS_PARAMETER = RELAY_PREFIX + "kinds"
_SMUGGLING = b"refused: both Content-Length and Transfer-Encoding\n"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Tunables of ``docflow serve``."""

    base_path: str = ""
    max_body: int = 20 * 1024 * 1024  # bytes of a sendEdoc body
    max_clock_skew: float | None = None  # seconds; None: old timestamps are accepted (SDK clients reuse them)
    rate_limit: float | None = None  # calls per second per system (docflow.axis.ratelimit); None: unlimited
    rate_burst: int = 0  # calls a system may make at once (0: one second's worth)


@dataclass(frozen=True, slots=True)
class Call:
    """One verified call as the operations see it."""

    system: System
    signed: SignedCall
    body: bytes


Handler = Callable[[AxisBackend, Call], "dict[str, Any] | Response"]


def _message_type(call: Call) -> str:
    value = (call.signed.get("messagetype") or "edoc").lower()
    if value not in MESSAGE_TYPES:
        expected = "expected edoc, status or dossier"
        raise AxisError(ErrorCode.BAD_PARAMETER, f"messagetype {ascii_text(value)[:20]!r}: {expected}")
    return value


def _service_type(call: Call) -> None:
    value = call.signed.get("servicetype")
    if value is not None and value.lower() != SERVICE_TYPE.lower():
        raise AxisError(ErrorCode.BAD_PARAMETER, f"servicetype {ascii_text(value)[:20]!r}: expected {SERVICE_TYPE}")


def _recipients(text: str | None) -> list[str] | None:
    """The optional ``to`` header: JSON text ``[{"to":"000.00.00.G22"}]``."""
    if text is None or not text.strip():
        return None
    try:
        items = json.loads(text)
        codes = [item["to"] for item in items]
        if not codes or not all(isinstance(code, str) and code for code in codes):
            raise ValueError(codes)
        return [str(OrganId.parse(code)) for code in codes]
    except (ValueError, TypeError, KeyError, IdentifierError):
        raise AxisError(ErrorCode.BAD_PARAMETER, 'header to must be JSON like [{"to":"000.00.00.G22"}]') from None


def _time(at: datetime) -> str:
    return f"{at:%Y/%m/%d %H:%M:%S}"


def send_edoc(backend: AxisBackend, call: Call) -> dict[str, Any]:
    _service_type(call)
    message_type = _message_type(call)
    data = strip_file_terminator(call.body)
    claimed = call.signed.require("hash-file")
    try:
        check_file_hash(data, claimed)
    except AxisError as exc:
        backend.quarantine(data, f"axis hash_mismatch: {exc.description}", call.system.id)
        raise
    to = _recipients(call.signed.get("to"))
    meta = {k[len(RELAY_PREFIX) :]: v for k, v in call.signed.params.items() if k.lower().startswith(RELAY_PREFIX)}
    doc_id = backend.send(
        call.system, data, message_type=message_type, to=to, from_header=call.signed.get("from"), meta=meta
    )
    return {"DocId": doc_id}


def _kinds(call: Call) -> list[str] | None:
    """docflow's extension of ``getReceivedEdocList``: the signed ``docflow-kinds`` parameter (comma-separated
    message types) lists them all in one call; None without it (the standard call, one message type)."""
    value = call.signed.get(KINDS_PARAMETER)
    if value is None:
        return None
    kinds = list(dict.fromkeys(k.strip().lower() for k in value.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in MESSAGE_TYPES]
    if unknown or not kinds:
        shown = ascii_text(",".join(unknown))[:40]
        raise AxisError(ErrorCode.BAD_PARAMETER, f"{KINDS_PARAMETER} {shown!r}: expected edoc, status or dossier")
    return kinds


def received_list(backend: AxisBackend, call: Call) -> dict[str, Any]:
    _service_type(call)
    kinds = _kinds(call)
    rows = backend.received(call.system, kinds or [_message_type(call)])
    data = [
        {
            "docId": row.doc_id,
            "serviceType": SERVICE_TYPE,
            "messageType": row.message_type,
            "created_time": _time(row.created_at),
            "updated_time": _time(row.updated_at),
            "from": row.sender,
            "to": row.recipient,
            "status": row.state,
            "status_desc": row.description,
            **({"docflow": json.loads(row.meta)} if row.meta else {}),
        }
        for row in rows
    ]
    return {"data": data} if kinds is None else {"data": data, "docflowKinds": kinds}


def _doc_id(call: Call) -> str:
    return call.signed.require("docId")


def get_edoc(backend: AxisBackend, call: Call) -> dict[str, Any]:
    package = backend.fetch(call.system, _doc_id(call))
    return {"data": base64.b64encode(package.body).decode("ascii")}


def download_edoc(backend: AxisBackend, call: Call) -> Response:
    package = backend.fetch(call.system, _doc_id(call))
    return Response(package.body, media_type="application/octet-stream")


def update_status(backend: AxisBackend, call: Call) -> dict[str, Any]:
    backend.update(call.system, _doc_id(call), call.signed.require("status"), call.signed.get("description") or "")
    return {}


def sent_list(backend: AxisBackend, call: Call) -> dict[str, Any]:
    _service_type(call)
    data = []
    for row, receive in backend.sent(call.system, _doc_id(call)):
        data.append(
            {
                "serviceType": SERVICE_TYPE,
                "messageType": row.message_type,
                "senderDocId": row.send_id,
                "receiverDocId": row.doc_id,
                "fromCode": row.sender,
                "toCode": row.recipient,
                "sendStatus": row.state,
                "sendStatusDesc": row.description,
                "receiveStatus": receive,
                "receiveStatusDesc": receive.lower().replace("_", " "),
                "title": row.subject,
                "notation": row.notation,
                "sentTime": _time(row.created_at),
                "receivedTime": _time(row.updated_at) if row.state != "INITIAL" else "",
            }
        )
    return {"data": data}


def count_edoc(backend: AxisBackend, call: Call) -> dict[str, Any]:
    return {"count": backend.count(call.system, "edoc")}


def count_status(backend: AxisBackend, call: Call) -> dict[str, Any]:
    return {"count": backend.count(call.system, "status")}


def _level(code: str) -> int:
    try:
        return OrganId.parse(code).level
    except IdentifierError:
        return 0


def agencies(backend: AxisBackend, call: Call) -> dict[str, Any]:
    rows = backend.agencies()
    return {
        "data": [
            {
                "id": o.organ_id,
                "code": o.organ_id,
                "name": o.name,
                "mail": o.email,
                "pid": o.parent or "",
                "oldCode": "",
            }
            for o in rows
        ]
    }


def agencies_qd20(backend: AxisBackend, call: Call) -> dict[str, Any]:
    level = call.signed.get("level")
    try:
        wanted = int(level) if level else None
    except ValueError:
        raise AxisError(ErrorCode.BAD_PARAMETER, f"level {ascii_text(level or '')[:10]!r} is not a number") from None
    rows = [o for o in backend.agencies() if wanted is None or _level(o.organ_id) == wanted]
    return {
        "data": [
            {"id": o.organ_id, "code": o.organ_id, "name": o.name, "mail": o.email, "code102": o.organ_id} for o in rows
        ]
    }


def synchronize_unit(backend: AxisBackend, call: Call) -> dict[str, Any]:
    rows = backend.agencies()
    return {
        "data": [
            {
                "id": o.organ_id,
                "code": o.organ_id,
                "name": o.name,
                "mail": o.email,
                "pid": o.parent or "",
                "version": 1,
                "centerCode": backend.node,
                "deleted": False,
                "modifyDate": "",
                "isAgency": o.kind != "hub",
            }
            for o in rows
        ]
    }


def register_agency(backend: AxisBackend, call: Call) -> dict[str, Any]:
    try:
        fields = json.loads(call.body.decode("utf-8"))
        if not isinstance(fields, dict):
            raise ValueError(fields)
        code = str(OrganId.parse(str(fields.get("code") or fields.get("id") or "")))
        parent = str(fields.get("pcode") or "") or None
        entry = Organisation(
            organ_id=code,
            name=str(fields.get("name") or ""),
            parent=str(OrganId.parse(parent)) if parent else None,
            email=str(fields.get("mail") or ""),
            telephone=str(fields.get("mobile") or ""),
            fax=str(fields.get("fax") or ""),
        )
    except (UnicodeDecodeError, ValueError, IdentifierError) as exc:
        raise AxisError(
            ErrorCode.BAD_PARAMETER,
            f"registerAgency needs a JSON body {{id, pcode, code, name, mail, mobile, fax}}: {exc}",
        ) from None
    backend.register(entry)
    return {}


def delete_agency(backend: AxisBackend, call: Call) -> dict[str, Any]:
    backend.delete(call.signed.require("AgencyCode"))
    return {}


HANDLERS: dict[str, Handler] = {
    "sendEdoc": send_edoc,
    "getReceivedEdocList": received_list,
    "getEdoc": get_edoc,
    "downloadEdoc": download_edoc,
    "updateStatus": update_status,
    "getSentEdocList": sent_list,
    "countReceiveEdoc": count_edoc,
    "countReceiveStatus": count_status,
    "getAgenciesList": agencies,
    "getAgenciesListQD20": agencies_qd20,
    "getSynchronizeUnit": synchronize_unit,
    "registerAgency": register_agency,
    "deleteAgency": delete_agency,
}
assert set(HANDLERS) == set(OPERATIONS)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise AxisError(ErrorCode.BODY_TOO_LARGE, f"body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise AxisError(ErrorCode.BODY_TOO_LARGE, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    backend: AxisBackend, settings: ServerSettings | None = None, routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI application serving every axis operation at ``<base_path>/<operation>``; ``routes`` (the operator
    console's) are tried first."""
    settings = settings or ServerSettings()
    secrets = backend.credentials.secrets
    limit = settings.rate_limit
    limiter = RateLimit(limit, settings.rate_burst or int(limit)) if limit else None

    async def endpoint(request: Request) -> Response:
        operation = request.path_params["operation"]
        if "transfer-encoding" in request.headers and "content-length" in request.headers:
            # RFC 9112 6.1: a proxy in front may frame this message otherwise (request smuggling); refuse it and
            # close the connection, so nothing the server framed after it is answered.
            return Response(_SMUGGLING, status_code=400, headers={"Connection": "close"}, media_type="text/plain")
        extra: dict[str, Any] = {"DocId": ""} if operation == "sendEdoc" else {}
        try:
            handler = HANDLERS.get(operation)
            if handler is None:
                raise AxisError(ErrorCode.UNKNOWN_OPERATION, f"unknown operation {ascii_text(operation)[:60]!r}")
            signed = verify_call(raw_headers(request.scope["headers"]), secrets)
            if settings.max_clock_skew is not None:
                age = abs((datetime.now() - parse_timestamp(signed.timestamp)).total_seconds())
                if age > settings.max_clock_skew:
                    raise AxisError(ErrorCode.BAD_TIMESTAMP, f"timestamp is {age:.0f} s away from the server's clock")
            wait = limiter.take(signed.system) if limiter is not None else 0.0
            if wait:  # refused before the body is read: a flood costs an HMAC check, never a parse or a write
                raise AxisError(
                    ErrorCode.RATE_LIMITED, f"system over {limit:g} calls per second: retry in {wait:.2f} s"
                )
            system = backend.credentials.systems[signed.system]
            body = await _read_body(request, settings.max_body)
            result = await run_in_threadpool(handler, backend, Call(system, signed, body))
            if isinstance(result, Response):
                return result
            payload = answer(ErrorCode.OK, **{**extra, **result})
        except AxisError as exc:
            payload = answer(exc.code, exc.description, **extra)
        except ClientDisconnect:  # the connection was cut mid-body: nothing was read whole, nothing is stored
            log.info("axis %s: the client went away before its body was read", operation)
            return Response(status_code=400)
        except DocflowError as exc:
            log.warning("axis %s failed: %s", operation, exc)
            payload = answer(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}"[:500], **extra)
        except Exception as exc:  # the server keeps serving; the cause goes to the log
            log.exception("axis %s: unexpected error", operation)
            payload = answer(ErrorCode.INTERNAL, f"internal error ({type(exc).__name__})", **extra)
        return Response(encode_answer(payload), media_type="application/json")

    base = "/" + settings.base_path.strip("/") if settings.base_path.strip("/") else ""
    app = Starlette(routes=[*routes, Route(base + "/{operation}", endpoint, methods=["GET", "POST"])])
    app.state.backend = backend
    return app
