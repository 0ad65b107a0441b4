"""``AxisClient``: calls any axis endpoint (ours or a partner's) the way the vendor's SDK does, over httpx.

Each call is signed (``docflow.axis.protocol.signed_headers``), sent with timeouts, and retried with
exponential back-off and full jitter when the connection fails or the server answers 5xx; a ``sendEdoc``
resent after a lost answer is harmless because the server recognises the package's identity.  A FAIL answer
raises ``AxisCallError`` carrying its ``ErrorCode``.  Must not import lxml, sqlalchemy, starlette or docflow.store.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from docflow.axis.protocol import USER_AGENT, file_hash, format_timestamp, signed_headers
from docflow.errors import TransportError, TransportUnavailableError

JSON = "application/json"
OCTETS = "application/octet-stream"


class AxisCallError(TransportError):
    """The endpoint answered ``status: FAIL`` (or something that is not an axis answer)."""

    def __init__(self, operation: str, code: str, description: str) -> None:
        super().__init__(f"{operation}: FAIL {code}: {description}")
        self.operation = operation
        self.code = code
        self.description = description


class AxisClient:
    """One system's client of one endpoint (``url`` may carry a base path)."""

    def __init__(
        self,
        url: str,
        system: str,
        secret: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        backoff_cap: float = 5.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.url = url.rstrip("/")
        self.system = system
        self._secret = secret
        self.retries = retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        self._sleep = sleep
        self._now = now
        self.calls = 0  # HTTP requests made, retries included

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AxisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------------

    def request(
        self,
        operation: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        body: bytes = b"",
        content_type: str = JSON,
        method: str = "POST",
    ) -> httpx.Response:
        """Sign and send one call, retrying connection failures and 5xx answers with back-off and jitter."""
        headers = signed_headers(
            self.system, self._secret, params, content_type=content_type, timestamp=format_timestamp(self._now())
        )
        headers["Content-Type"] = content_type
        headers["User-Agent"] = USER_AGENT
        # Values travel as UTF-8 bytes (a description in Vietnamese); the server compares the bytes it got.
        wire = [(name.encode("ascii"), value.encode("utf-8")) for name, value in headers.items()]
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                ceiling = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
                self._sleep(random.uniform(0, ceiling))
            self.calls += 1
            try:
                response = self._http.request(
                    method, f"{self.url}/{operation}", headers=wire, content=body if method == "POST" else None
                )
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code >= 500:
                last = TransportError(f"{operation}: HTTP {response.status_code}")
                continue
            return response
        raise TransportUnavailableError(f"{operation} at {self.url} failed after {self.retries + 1} tries: {last}")

    def call(self, operation: str, params: Sequence[tuple[str, str]] = (), **options: Any) -> dict[str, Any]:
        """A call whose answer is an axis JSON object; ``AxisCallError`` on FAIL."""
        response = self.request(operation, params, **options)
        try:
            answer = json.loads(response.content.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise AxisCallError(operation, "", f"not an axis answer (HTTP {response.status_code})") from None
        if not isinstance(answer, dict) or not {"status", "ErrorCode", "ErrorDesc"} <= set(answer):
            raise AxisCallError(operation, "", "answer lacks status, ErrorCode or ErrorDesc")
        if answer["status"] != "OK":
            raise AxisCallError(operation, str(answer["ErrorCode"]), str(answer["ErrorDesc"]))
        return answer

    # -- operations -----------------------------------------------------------------------------------

    def send(
        self,
        data: bytes,
        *,
        message_type: str = "edoc",
        sender: str | None = None,
        to: Sequence[str] = (),
        extra: Sequence[tuple[str, str]] = (),
    ) -> str:
        """``sendEdoc``: the file's bytes (``\\r\\n`` appended on the wire); returns the axis ``DocId``.
        ``extra`` are further signed parameters (a docflow engine's ``docflow-*`` headers)."""
        params = [("servicetype", "eDoc"), ("messagetype", message_type), ("hash-file", file_hash(data))]
        if sender:
            params.insert(0, ("from", sender))
        if to:
            params.append(("to", json.dumps([{"to": code} for code in to], separators=(",", ":"))))
        params.extend(extra)
        answer = self.call("sendEdoc", params, body=data + b"\r\n", content_type=OCTETS)
        return str(answer["DocId"])

    def received(self, message_type: str = "edoc") -> list[dict[str, Any]]:
        """``getReceivedEdocList``: what waits for this system and is not acknowledged."""
        answer = self.call("getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", message_type)])
        return list(answer["data"])

    def received_kinds(self, kinds: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
        """What waits, of every one of ``kinds``, in one ``getReceivedEdocList`` (docflow's ``docflow-kinds``
        extension), and whether the axis listed them all; an axis that does not know the extension lists the
        first kind alone (``False``)."""
        params = [("servicetype", "eDoc"), ("messagetype", kinds[0]), ("docflow-kinds", ",".join(kinds))]
        answer = self.call("getReceivedEdocList", params)
        return list(answer["data"]), "docflowKinds" in answer

    def get(self, doc_id: str) -> bytes:
        """``getEdoc``: the package's bytes."""
        answer = self.call("getEdoc", [("docId", doc_id)], body=b"{}")
        return base64.b64decode(answer["data"])

    def download(self, doc_id: str) -> bytes:
        """``downloadEdoc`` (GET): the raw bytes; a JSON FAIL answer raises ``AxisCallError``."""
        response = self.request("downloadEdoc", [("docId", doc_id)], method="GET")
        if response.headers.get("content-type", "").startswith(JSON):
            answer = json.loads(response.content)
            raise AxisCallError("downloadEdoc", str(answer.get("ErrorCode")), str(answer.get("ErrorDesc")))
        return response.content

    def update(self, doc_id: str, status: str = "done", description: str = "") -> None:
        """``updateStatus``: ``done`` acknowledges, ``fail`` refuses, ``processing`` marks."""
        params = [("docId", doc_id), ("status", status)]
        if description:
            params.append(("description", description))
        self.call("updateStatus", params, body=b"{}")

    def sent(self, doc_id: str, message_type: str = "edoc") -> list[dict[str, Any]]:
        """``getSentEdocList``: one item per recipient of the package ``sendEdoc`` returned ``doc_id`` for."""
        params = [("servicetype", "eDoc"), ("messagetype", message_type), ("docId", doc_id)]
        return list(self.call("getSentEdocList", params)["data"])

    def count(self, message_type: str = "edoc") -> int:
        operation = "countReceiveEdoc" if message_type == "edoc" else "countReceiveStatus"
        return int(self.call(operation, [("messagetype", message_type)], body=b"{}")["count"])

    def agencies(self) -> list[dict[str, Any]]:
        return list(self.call("getAgenciesList")["data"])
