"""Deliberately broken partners for the conformance kit's own tests: an HTTP proxy on 127.0.0.1 in front of a
real ``docflow serve`` that passes every call through and breaks exactly one behaviour of the answers.

Modes: ``accepts-invalid`` (a refused package is answered OK), ``lists-resend-twice`` (every listed package
appears twice), ``reports-unreached-statuses`` (getSentEdocList claims COMPLETED), ``ignores-hmac`` (a wrong
HMAC is answered OK), ``other-key-names`` (``errorCode``/``errorDesc`` instead of ``ErrorCode``/``ErrorDesc``),
``omits-docid-on-fail`` (a FAIL sendEdoc answer without ``DocId``).  Runs uvicorn in a thread; ``stop`` ends it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MODES = (
    "accepts-invalid",
    "lists-resend-twice",
    "reports-unreached-statuses",
    "ignores-hmac",
    "other-key-names",
    "omits-docid-on-fail",
)


def broken(mode: str, operation: str, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with the one behaviour of ``mode`` broken."""
    failed = answer.get("status") == "FAIL"
    if mode == "accepts-invalid" and operation == "sendEdoc" and failed:
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "success", "DocId": "accepted-anyway"}
    if mode == "lists-resend-twice" and operation == "getReceivedEdocList" and not failed:
        return {**answer, "data": [item for item in answer["data"] for _ in (1, 2)]}
    if mode == "reports-unreached-statuses" and operation == "getSentEdocList" and not failed:
        return {**answer, "data": [{**item, "receiveStatus": "COMPLETED"} for item in answer["data"]]}
    if mode == "ignores-hmac" and failed and answer.get("ErrorCode") == "104":
        return {"status": "OK", "ErrorCode": "0", "ErrorDesc": "success", "count": 0}
    if mode == "other-key-names":
        renamed = {"ErrorCode": "errorCode", "ErrorDesc": "errorDesc"}
        return {renamed.get(key, key): value for key, value in answer.items()}
    if mode == "omits-docid-on-fail" and operation == "sendEdoc" and failed:
        return {key: value for key, value in answer.items() if key != "DocId"}
    return answer


@dataclass
class FakePartner:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_fake(mode: str, upstream: str, port: int) -> FakePartner:
    """A broken partner at ``http://127.0.0.1:<port>/<base>`` passing calls through to ``upstream``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    base = "/" + upstream.split("/", 3)[3] if upstream.count("/") >= 3 else ""
    client = httpx.Client(timeout=30.0)

    async def endpoint(request: Request) -> Response:
        operation = request.path_params["operation"]
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in (b"host", b"content-length")]
        body = await request.body()
        reply = client.request(request.method, f"{upstream}/{operation}", headers=headers, content=body)
        if not reply.headers.get("content-type", "").startswith("application/json"):
            return Response(reply.content, status_code=reply.status_code, media_type=reply.headers.get("content-type"))
        answer = broken(mode, operation, json.loads(reply.content))
        return Response(json.dumps(answer).encode(), status_code=reply.status_code, media_type="application/json")

    app = Starlette(routes=[Route(base + "/{operation}", endpoint, methods=["GET", "POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return FakePartner(f"http://127.0.0.1:{port}{base}", server, thread)
