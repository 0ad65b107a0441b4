"""The national axis wire protocol: signed headers, ``hash-file``, and the JSON answers with their error codes.

Pure functions shared by the server (``docflow.axis.app``) and the client (``docflow.transports.http``,
``docflow axis``): building the ``XroadVnpt-*`` headers of a call and signing them, verifying a received
call exactly as STANDARD.md pins it (HMAC over the signed JSON as received, every signed value equal to a
header actually sent, CR/LF refused, names read case-insensitively preferring the exact spelling), the SDK's
unpadded ``hash-file``, and answers that are always ``status``/``ErrorCode``/``ErrorDesc`` with an ASCII
``ErrorDesc``.  Standard library only: must not import lxml, sqlalchemy, httpx, starlette or docflow.store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

PREFIX = "XroadVnpt-"
SIGN_KEY = PREFIX + "sign-header-key"
SIGN_JSON = PREFIX + "sign-header"
SIGN_HASH = PREFIX + "hash-header"
VERSION_HEADER = PREFIX + "version"
SDK_VERSION = "3.0.201608"
USER_AGENT = f"docflow-axis-client/{SDK_VERSION}"

#: Every operation of the axis API (the last path segment of the URL).
OPERATIONS: tuple[str, ...] = (
    "sendEdoc",
    "getReceivedEdocList",
    "getEdoc",
    "downloadEdoc",
    "updateStatus",
    "getSentEdocList",
    "countReceiveEdoc",
    "countReceiveStatus",
    "getAgenciesList",
    "getAgenciesListQD20",
    "getSynchronizeUnit",
    "registerAgency",
    "deleteAgency",
)


class ErrorCode(StrEnum):
    """docflow's error codes (the standard leaves them open); every answer carries one as a string."""

    OK = "0"
    MISSING_PARAMETER = "101"
    BAD_SIGNATURE_HEADER = "102"
    UNKNOWN_SYSTEM = "103"
    BAD_HMAC = "104"
    SIGNED_VALUE_MISMATCH = "105"
    HEADER_CRLF = "106"
    BAD_TIMESTAMP = "107"
    RATE_LIMITED = "108"
    BODY_TOO_LARGE = "201"
    HASH_MISMATCH = "202"
    UNSAFE_XML = "203"
    INVALID_EDXML = "204"
    NOT_OWNER = "205"
    UNKNOWN_AGENCY = "206"
    BAD_PARAMETER = "207"
    DUPLICATE_DOCUMENT = "208"
    UNTRUSTED_SIGNATURE = "209"
    UNKNOWN_DOCUMENT = "301"
    NOT_YOURS = "302"
    AGENCY_EXISTS = "401"
    UNKNOWN_OPERATION = "404"
    INTERNAL = "500"
    UPSTREAM = "502"


class AxisError(Exception):
    """A call refused with a documented code; ``description`` becomes the ASCII ``ErrorDesc``."""

    def __init__(self, code: ErrorCode, description: str) -> None:
        super().__init__(f"{code.value} {description}")
        self.code = code
        self.description = description


def ascii_text(text: str) -> str:
    """``text`` in plain ASCII: Vietnamese letters lose their marks (``đ`` -> ``d``), anything else is dropped."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("\r", " ").replace("\n", " ")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded


def answer(code: ErrorCode = ErrorCode.OK, description: str = "", **extra: Any) -> dict[str, Any]:
    """An answer object: ``status``, ``ErrorCode``, ``ErrorDesc`` (ASCII), then the operation's own keys."""
    body: dict[str, Any] = {
        "status": "OK" if code is ErrorCode.OK else "FAIL",
        "ErrorCode": code.value,
        "ErrorDesc": ascii_text(description or ("success" if code is ErrorCode.OK else code.name.lower())),
    }
    body.update(extra)
    return body


def encode_answer(body: Mapping[str, Any]) -> bytes:
    """The answer's bytes: compact JSON with every non-ASCII character escaped (clients read US-ASCII)."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


# -- timestamps, hash-file -------------------------------------------------------------------------------


def format_timestamp(at: datetime) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS``: ``SSSS`` is the milliseconds padded to four digits (not a time zone)."""
    return f"{at:%d%m%Y}T{at:%H%M%S}+{at.microsecond // 1000:04d}"


def parse_timestamp(text: str) -> datetime:
    """Read a timestamp written by ``format_timestamp``; ``AxisError`` naming the expected form otherwise."""
    try:
        stamp, millis = text.split("+", 1)
        parsed = datetime.strptime(stamp, "%d%m%YT%H%M%S")
        if len(millis) != 4 or not millis.isdigit() or int(millis) > 999:
            raise ValueError(millis)
    except ValueError:
        raise AxisError(ErrorCode.BAD_TIMESTAMP, f"timestamp {text!r} is not ddMMyyyyTHHmmss+SSSS") from None
    return parsed.replace(microsecond=int(millis) * 1000)


def file_hash(data: bytes, *, sdk_form: bool = True) -> str:
    """SHA-256 of ``data`` in hex; the SDK's form writes each byte without zero padding (``0x0a`` -> ``a``)."""
    digest = hashlib.sha256(data).digest()
    if sdk_form:
        return "".join(format(byte, "x") for byte in digest)
    return digest.hex()


def strip_file_terminator(body: bytes) -> bytes:
    """A ``sendEdoc`` body is the file followed by ``\\r\\n``; the file is the body without it."""
    return body[:-2] if body.endswith(b"\r\n") else body


def check_file_hash(data: bytes, claimed: str) -> None:
    """Accept the SDK's unpadded form and the ordinary 64-digit one; ``AxisError`` on a mismatch."""
    wanted = claimed.strip().lower()
    if wanted not in (file_hash(data, sdk_form=True), file_hash(data, sdk_form=False)):
        raise AxisError(
            ErrorCode.HASH_MISMATCH,
            f"hash-file {ascii_text(claimed)[:80]!r} is not the SHA-256 of the {len(data)}-byte file",
        )


# -- signing ---------------------------------------------------------------------------------------------


def sign(secret: str, signed_json: str) -> str:
    """Lowercase hex HMAC-SHA256 of the UTF-8 bytes of ``signed_json`` keyed with ``secret``."""
    return hmac.new(secret.encode("utf-8"), signed_json.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_headers(
    system: str,
    secret: str,
    params: Sequence[tuple[str, str]],
    *,
    content_type: str,
    timestamp: str,
) -> dict[str, str]:
    """The HTTP headers of one call: every logical header as ``XroadVnpt-<name>``, signed as the SDK does.

    ``params`` are the call's own parameters (``from``, ``messagetype``, ``docId`` ...) in order; their values
    must be strings (``to`` already JSON text).
    """
    logical = [("systemid", system), ("timestamp", timestamp), ("Content-Type", content_type), *params]
    mapping = {PREFIX + name: value for name, value in logical}
    signed_json = json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))
    headers = dict(mapping)
    headers[SIGN_KEY] = ";".join(name for name, _ in logical)
    headers[SIGN_JSON] = signed_json
    headers[SIGN_HASH] = sign(secret, signed_json)
    headers[VERSION_HEADER] = SDK_VERSION
    return headers


@dataclass(frozen=True, slots=True)
class SignedCall:
    """A call whose signature was checked: the system and its signed parameters (names without the prefix)."""

    system: str
    timestamp: str
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A parameter by name: the exact spelling first, then any spelling of the same letters."""
        if name in self.params:
            return self.params[name]
        lowered = name.lower()
        for key, value in self.params.items():
            if key.lower() == lowered:
                return value
        return default

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise AxisError(ErrorCode.MISSING_PARAMETER, f"header {PREFIX}{name} is missing (it must be signed)")
        return value


def _one(headers: Mapping[str, Sequence[bytes]], name: str) -> bytes:
    values = headers.get(name.lower(), ())
    if not values:
        raise AxisError(ErrorCode.MISSING_PARAMETER, f"header {name} is missing")
    return values[0]


def verify_call(headers: Mapping[str, Sequence[bytes]], secrets: Mapping[str, str]) -> SignedCall:
    """Check a received call; ``headers`` maps lowercase names to every raw value sent under that name.

    The HMAC is computed over the signed JSON exactly as received; each signed value must be free of CR/LF
    and equal to one of the values actually sent under that header name; unsigned extras are ignored.
    """
    raw_json = _one(headers, SIGN_JSON)
    raw_hash = _one(headers, SIGN_HASH)
    try:
        text = raw_json.decode("utf-8")
        mapping = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise AxisError(ErrorCode.BAD_SIGNATURE_HEADER, f"{SIGN_JSON} is not UTF-8 JSON") from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise AxisError(ErrorCode.BAD_SIGNATURE_HEADER, f"{SIGN_JSON} must be a JSON object of strings")
    params: dict[str, str] = {}
    for key, value in mapping.items():
        if not key.lower().startswith(PREFIX.lower()):
            raise AxisError(ErrorCode.BAD_SIGNATURE_HEADER, f"signed name {ascii_text(key)!r} lacks {PREFIX}")
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
            raise AxisError(ErrorCode.HEADER_CRLF, f"signed header {ascii_text(key)} holds CR or LF")
        params[key[len(PREFIX) :]] = value
    system = params.get("systemid") or next((v for k, v in params.items() if k.lower() == "systemid"), "")
    if not system:
        raise AxisError(ErrorCode.MISSING_PARAMETER, f"{PREFIX}systemid is not signed")
    secret = secrets.get(system)
    if secret is None:
        raise AxisError(ErrorCode.UNKNOWN_SYSTEM, f"unknown system {ascii_text(system)!r}")
    expected = sign(secret, text).encode("ascii")
    if not hmac.compare_digest(expected, raw_hash.strip().lower()):
        raise AxisError(ErrorCode.BAD_HMAC, f"{SIGN_HASH} does not match the HMAC-SHA256 of {SIGN_JSON}")
    for key, value in mapping.items():
        sent = headers.get(key.lower(), ())
        if value.encode("utf-8") not in sent and value.encode("latin-1", "replace") not in sent:
            raise AxisError(
                ErrorCode.SIGNED_VALUE_MISMATCH,
                f"signed value of {ascii_text(key)} differs from the header sent"
                if sent
                else f"signed header {ascii_text(key)} was not sent",
            )
    stamp = params.get("timestamp") or ""
    return SignedCall(system=system, timestamp=stamp, params=params)


def raw_headers(pairs: Sequence[tuple[bytes, bytes]]) -> dict[str, list[bytes]]:
    """ASGI ``scope['headers']`` (or any byte pairs) as lowercase name -> every value sent."""
    found: dict[str, list[bytes]] = {}
    for name, value in pairs:
        found.setdefault(name.decode("latin-1").lower(), []).append(value)
    return found
