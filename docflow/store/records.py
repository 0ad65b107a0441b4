"""Plain row records the repository takes and returns: frozen, slotted, detached from any session.

A record is built per call and forgotten by the store at once (no identity map, no lazy loading);
``id`` and the chain fields are ``None``/empty on input and filled on output.  Lifecycle states are
stored as text: pass a ``str`` or an ``Enum`` (its ``value`` is stored), read back a ``str``.
Pure: standard library and ``docflow.errors`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum
from operator import attrgetter
from typing import Any, TypeVar

from docflow.errors import Violation

State = str | Enum


R = TypeVar("R")

#: record class -> (its field names, a getter of all of them at once)
_SHAPES: dict[type, tuple[tuple[str, ...], Callable[[Any], Any]]] = {}


def _shape(cls: type) -> tuple[tuple[str, ...], Callable[[Any], Any]]:
    found = _SHAPES.get(cls)
    if found is None:
        names = tuple(f.name for f in fields(cls))
        getter = attrgetter(*names)
        found = _SHAPES[cls] = (names, getter if len(names) > 1 else (lambda record: (getter(record),)))
    return found


def record_values(record: Any) -> dict[str, Any]:
    """A record's fields by name (what ``dataclasses.asdict`` gives without copying the values deeply)."""
    names, values = _shape(type(record))
    return dict(zip(names, values(record), strict=True))


def evolve(record: R, **changes: Any) -> R:
    """``dataclasses.replace`` for the records of the hot path: the same record with ``changes`` (field names
    checked as the constructor checks them), without ``replace``'s scan of every field on every call."""
    values = record_values(record)
    values.update(changes)
    return type(record)(**values)


def state_text(state: State) -> str:
    """The text stored for a lifecycle state (an Enum's value, or the string itself)."""
    if isinstance(state, Enum):
        return str(state.value)
    return state


@dataclass(frozen=True, slots=True)
class Organisation:
    """A directory entry (table ``organisations``)."""

    organ_id: str
    name: str = ""
    kind: str = ""
    parent: str | None = None
    tier: int = 0
    organization_in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document with its exact envelope bytes (``sha256`` is computed when omitted)."""

    node: str
    document_id: str
    sender: str
    envelope: bytes
    created_at: datetime
    business_type: int = 0
    subject: str = ""
    sha256: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The sending node's tracking of one recipient of one document."""

    node: str
    document_id: str
    recipient: str
    state: State
    updated_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    route: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """The receiving node's copy of a document and its state."""

    node: str
    document_id: str
    sender: str
    state: State
    updated_at: datetime
    business_type: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One audit event; ``seq``, ``prev_hash`` and ``hash`` are set by ``append_events``."""

    node: str
    at: datetime
    kind: str
    document_id: str = ""
    recipient: str = ""
    status: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None
    prev_hash: str = ""
    hash: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message for the relay to push; ``kind`` is ``'edoc'`` or ``'status'``.

    A document sent by its origin names the stored document (``document_row``) instead of copying its bytes:
    ``body`` is then filled in when the row is claimed."""

    node: str
    message_id: str
    recipient: str
    kind: str
    body: bytes
    created_at: datetime
    next_attempt_at: datetime | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    id: int | None = None
    document_row: int | None = None
    dead_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Amendment:
    """A recall / update / replacement of ``document_id`` for ``recipient`` and where it stands."""

    node: str
    document_id: str
    recipient: str
    business_type: int
    state: State
    updated_at: datetime
    amending_document_id: str = ""
    reason: str = ""
    round: int = 1
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """An idempotency key a node has applied, and what it answered."""

    node: str
    idempotency_key: str
    received_at: datetime
    result: str = ""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A rejected envelope, kept with why it was rejected."""

    node: str
    received_at: datetime
    reason: str
    body: bytes
    source: str = ""
    violations: tuple[Violation, ...] = ()
    id: int | None = None
