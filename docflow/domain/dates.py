"""Dates and timestamps as edXML writes them: ``yyyy/MM/dd`` and ``yyyy/MM/dd HH:mm:ss``.

Readers also accept ``dd/MM/yyyy`` (seen in a real PromulgationDate) and ``yyyy-MM-dd``; writers always
emit the canonical forms.  Timestamps are naive local time, as producers send them.
Pure: standard library and ``docflow.errors`` only.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from docflow.errors import IdentifierError

_YMD = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TS = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_date(text: str) -> date:
    """Parse ``yyyy/MM/dd`` (or ``dd/MM/yyyy``, ``yyyy-MM-dd``); raise ``IdentifierError`` otherwise."""
    value = text.strip()
    m = _YMD.match(value)
    parts = (m[1], m[2], m[3]) if m else None
    if parts is None:
        m = _DMY.match(value)
        parts = (m[3], m[2], m[1]) if m else None
    if parts is None:
        raise IdentifierError(
            f"invalid date {text!r}: expected yyyy/MM/dd (or dd/MM/yyyy)", value=text, rule="date-format"
        )
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise IdentifierError(f"invalid date {text!r}: {exc}", value=text, rule="date-value") from exc


def format_date(value: date) -> str:
    """``yyyy/MM/dd`` with a four-digit year."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def parse_timestamp(text: str) -> datetime:
    """Parse ``yyyy/MM/dd HH:mm:ss`` (seconds optional, ``-`` and ``T`` accepted)."""
    m = _TS.match(text.strip())
    if not m:
        raise IdentifierError(
            f"invalid timestamp {text!r}: expected yyyy/MM/dd HH:mm:ss", value=text, rule="timestamp-format"
        )
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError as exc:
        raise IdentifierError(f"invalid timestamp {text!r}: {exc}", value=text, rule="timestamp-value") from exc


def format_timestamp(value: datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss`` (microseconds and time zone dropped)."""
    return f"{format_date(value.date())} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
