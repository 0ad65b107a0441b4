"""Typed domain events: what happened at a node, as frozen dataclasses, and the bus that publishes them.

The engine produces one event per thing that happened (a document sent, forwarded or arrived; a lifecycle
move or a move refused; a send that failed, was given up or revived; bytes quarantined).  They are written to
the node's hash-chained audit log in the same unit of work, and published to subscribers after the commit.
The audit log, ``docflow trace`` and the simulator's metrics read these classes, never event-kind strings.

An event maps to one audit row (``record``) and back (``from_record``): ``kind`` names the class, the
``PARTY`` field fills the row's ``recipient`` column, a ``status`` field its ``status`` column, and the other
fields its JSON ``detail``.  Field values are plain ``str``/``int``/``bool``/``float`` so the mapping is exact.
Pure: standard library only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar

#: What caused a lifecycle move (``StateChanged.by``, ``MoveRefused.by``).
BY_STATUS = "status"  # a status message received from the other side
BY_CLERK = "clerk"  # a person at this node (accept, assign …, agree or refuse an amendment)
BY_RELAY = "relay"  # the transport took or failed a send
BY_AMENDMENT = "amendment"  # an agreed recall / update / replacement taking effect
BY_OPERATOR = "operator"  # an operator revived given-up work


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened at ``node`` at ``at`` about ``document_id``."""

    node: str
    at: datetime
    document_id: str

    kind: ClassVar[str] = ""
    #: the field written to the audit row's ``recipient`` column ("" for none, "node" for the node itself)
    PARTY: ClassVar[str] = ""

    @property
    def party(self) -> str:
        """The other agency concerned (recipient, reporter, sender …), or the node itself."""
        return str(getattr(self, self.PARTY)) if self.PARTY else ""

    def __str__(self) -> str:
        return f"{self.at:%Y/%m/%d %H:%M:%S}  {self.node:<14} {self.describe()}"

    def describe(self) -> str:
        """What happened, in a line a person reads (the node and time are printed beside it)."""
        return self.kind


@dataclass(frozen=True, slots=True)
class DocumentSent(DomainEvent):
    """The origin queued a document for one recipient."""

    recipient: str
    business: int = 0
    kind: ClassVar[str] = "sent"
    PARTY: ClassVar[str] = "recipient"

    def describe(self) -> str:
        return f"sent to {self.recipient}"


@dataclass(frozen=True, slots=True)
class DocumentForwarded(DomainEvent):
    """A hop stamped a message and queued it for the next hop towards ``destination``."""

    destination: str
    came_from: str
    carries_document: bool
    status: str = ""
    kind: ClassVar[str] = "forwarded"
    PARTY: ClassVar[str] = "destination"

    def describe(self) -> str:
        what = "document" if self.carries_document else f"status {self.status}"
        return f"forwarded {what} towards {self.destination} (from {self.came_from})"


@dataclass(frozen=True, slots=True)
class DocumentArrived(DomainEvent):
    """The final recipient stored a document and answered 01."""

    sender: str
    business: int = 0
    status: str = "01"
    kind: ClassVar[str] = "arrived"
    PARTY: ClassVar[str] = "node"

    def describe(self) -> str:
        return f"arrived {self.status}, from {self.sender}"


@dataclass(frozen=True, slots=True)
class StateChanged(DomainEvent):
    """A lifecycle row was moved by ``event`` (``old == new``: the event was legal and kept the state)."""

    lifecycle: str
    party_id: str
    event: str
    old: str
    new: str
    by: str
    status: str = ""
    business: int = 0
    round: int = 0
    description: str = ""
    kind: ClassVar[str] = "moved"
    PARTY: ClassVar[str] = "party_id"

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def describe(self) -> str:
        arrow = f"{self.old} → {self.new}" if self.changed else f"{self.new} (kept)"
        words = f" ({self.description})" if self.description else ""
        if self.by == BY_STATUS:
            return f"status {self.status}{words} from {self.party_id}: {self.lifecycle} {arrow}"
        if self.by == BY_CLERK:
            code = f", {self.status} sent" if self.status else ""
            return f"clerk: {self.event}{code}: {self.lifecycle} {arrow}"
        return f"{self.by}: {self.event}: {self.lifecycle} of {self.party_id} {arrow}"


@dataclass(frozen=True, slots=True)
class MoveRefused(DomainEvent):
    """A status or action that the lifecycle does not allow in the row's state: recorded, nothing moved."""

    lifecycle: str
    party_id: str
    event: str
    state: str
    error: str
    by: str
    status: str = ""
    business: int = 0
    kind: ClassVar[str] = "conflict"
    PARTY: ClassVar[str] = "party_id"

    def describe(self) -> str:
        code = f" {self.status}" if self.status else ""
        return f"{self.event}{code} from {self.party_id} refused: {self.lifecycle} is {self.state}"


@dataclass(frozen=True, slots=True)
class StatusUnmatched(DomainEvent):
    """A status about a delivery or amendment this node does not have: recorded, nothing moved."""

    reporter: str
    status: str
    business: int = 0
    description: str = ""
    kind: ClassVar[str] = "unmatched"
    PARTY: ClassVar[str] = "reporter"

    def describe(self) -> str:
        return f"status {self.status} from {self.reporter} matches nothing here"


@dataclass(frozen=True, slots=True)
class AmendmentRequested(DomainEvent):
    """A recall / update / replacement round was opened (at the sender for ``party_id``, or at the receiver)."""

    party_id: str
    business: int
    round: int
    reason: str = ""
    amending: str = ""
    kind: ClassVar[str] = "amendment-requested"
    PARTY: ClassVar[str] = "party_id"

    def describe(self) -> str:
        kind = {1: "recall", 2: "update", 3: "replacement"}.get(self.business, f"amendment {self.business}")
        return f"{kind} requested (round {self.round}) for {self.party_id}"


@dataclass(frozen=True, slots=True)
class SendFailed(DomainEvent):
    """The transport did not take a message; it waits ``retry_in`` seconds (an outage spends no attempt)."""

    destination: str
    hop: str
    message_id: str
    carries_document: bool
    error: str
    attempts: int
    outage: bool
    retry_in: float
    kind: ClassVar[str] = "send-failed"
    PARTY: ClassVar[str] = "destination"

    def describe(self) -> str:
        why = "transport unavailable" if self.outage else f"attempt {self.attempts} refused"
        return f"send to {self.hop} failed ({why}), retry in {self.retry_in:.0f} s (for {self.destination})"


@dataclass(frozen=True, slots=True)
class GaveUp(DomainEvent):
    """A message was given up after both retry budgets were spent (``Network.retry_dead`` revives it)."""

    destination: str
    hop: str
    message_id: str
    carries_document: bool
    error: str
    attempts: int
    kind: ClassVar[str] = "dead"
    PARTY: ClassVar[str] = "destination"

    def describe(self) -> str:
        return f"given up after {self.attempts} attempts: {self.error[:80]} (for {self.destination})"


@dataclass(frozen=True, slots=True)
class Revived(DomainEvent):
    """A given-up message was queued again by an operator."""

    destination: str
    message_id: str
    carries_document: bool
    kind: ClassVar[str] = "revived"
    PARTY: ClassVar[str] = "destination"

    def describe(self) -> str:
        return f"revived by an operator (for {self.destination})"


@dataclass(frozen=True, slots=True)
class Quarantined(DomainEvent):
    """Bytes refused at this node, kept in quarantine with the reason."""

    reason: str
    source: str = ""
    destination: str = ""
    kind: ClassVar[str] = "quarantined"
    PARTY: ClassVar[str] = "destination"

    def describe(self) -> str:
        return f"quarantined: {self.reason[:120]}"


@dataclass(frozen=True, slots=True)
class DossierOpened(DomainEvent):
    """A desk took in a new one-stop dossier (``document_id`` is its MaHoSo) with its return date."""

    procedure: str
    channel: int
    state: str
    due_at: str = ""
    kind: ClassVar[str] = "dossier-opened"
    PARTY: ClassVar[str] = "node"

    def describe(self) -> str:
        due = f", due {self.due_at}" if self.due_at else ""
        return f"dossier opened ({self.procedure}), {self.state}{due}"


@dataclass(frozen=True, slots=True)
class DossierHandedOver(DomainEvent):
    """This agency handed a dossier to the agency of the next step (liên thông); ``rows`` is the length of
    the history handed over, which names the hand-over."""

    recipient: str
    rows: int
    step: int
    kind: ClassVar[str] = "dossier-handed-over"
    PARTY: ClassVar[str] = "recipient"

    def describe(self) -> str:
        return f"dossier handed over to {self.recipient} (step {self.step + 1}, {self.rows} history rows)"


@dataclass(frozen=True, slots=True)
class DossierReceived(DomainEvent):
    """The agency a dossier was handed to stored its copy (a duplicate or older copy records nothing)."""

    sender: str
    rows: int
    state: str
    kind: ClassVar[str] = "dossier-received"
    PARTY: ClassVar[str] = "sender"

    def describe(self) -> str:
        return f"dossier received from {self.sender} ({self.rows} history rows, {self.state})"


@dataclass(frozen=True, slots=True)
class DossierApologised(DomainEvent):
    """The holder of a late dossier apologised with a new return date; ``letter`` is the DocumentId of the
    apology letter sent to the desk ("" when the desk itself is late)."""

    desk: str
    new_due: str
    letter: str = ""
    kind: ClassVar[str] = "dossier-apologised"
    PARTY: ClassVar[str] = "desk"

    def describe(self) -> str:
        sent = f", letter {self.letter} to {self.desk}" if self.letter else ""
        return f"apology for a late dossier, new return date {self.new_due}{sent}"


@dataclass(frozen=True, slots=True)
class OperatorActed(DomainEvent):
    """An operator acted from the console at this node: ``action`` (retry, release, purge …) on ``target``
    (``quarantine:<id>`` or ``dead:<message id>``), with what came of it."""

    operator: str
    action: str
    target: str
    outcome: str = ""
    kind: ClassVar[str] = "operator-acted"
    PARTY: ClassVar[str] = "node"

    def describe(self) -> str:
        outcome = f": {self.outcome[:120]}" if self.outcome else ""
        return f"operator {self.operator} {self.action} {self.target}{outcome}"


#: kind -> class: the one place where audit rows' kind text is read.
KINDS: Mapping[str, type[DomainEvent]] = {
    cls.kind: cls
    for cls in (
        DocumentSent,
        DocumentForwarded,
        DocumentArrived,
        StateChanged,
        MoveRefused,
        StatusUnmatched,
        AmendmentRequested,
        SendFailed,
        GaveUp,
        Revived,
        Quarantined,
        DossierOpened,
        DossierHandedOver,
        DossierReceived,
        DossierApologised,
        OperatorActed,
    )
}
_BASE = frozenset({"node", "at", "document_id"})


def record(event: DomainEvent) -> tuple[str, str, str, dict[str, Any]]:
    """``(kind, party column, status column, detail)`` of the audit row for ``event``."""
    names, values, has_status = _shape(type(event))
    detail = dict(zip(names, values(event), strict=True)) if names else {}
    return event.kind, event.party, event.status if has_status else "", detail  # type: ignore[attr-defined]


#: event class -> (its detail fields, a getter of all of them at once, whether it has a status column)
_SHAPES: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], bool]] = {}


def _shape(cls: type[DomainEvent]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], bool]:
    found = _SHAPES.get(cls)
    if found is None:
        own = [f.name for f in dataclasses.fields(cls) if f.name not in _BASE and f.name != cls.PARTY]
        names = tuple(name for name in own if name != "status")
        values: Callable[[Any], tuple[Any, ...]]
        if len(names) > 1:
            values = attrgetter(*names)
        else:  # attrgetter of one name gives the value itself, of none is not allowed
            one = attrgetter(*names) if names else None
            values = (lambda event: (one(event),)) if one is not None else (lambda event: ())
        found = _SHAPES[cls] = (names, values, "status" in own)
    return found


def from_record(
    node: str, at: datetime, kind: str, document_id: str, party: str, status: str, detail: Mapping[str, Any]
) -> DomainEvent:
    """The typed event of an audit row (``ValueError`` for a kind docflow never writes)."""
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    fields: dict[str, Any] = {k: v for k, v in detail.items() if k in names}
    if cls.PARTY and cls.PARTY != "node":
        fields[cls.PARTY] = party
    if "status" in names:
        fields["status"] = status
    return cls(node=node, at=at, document_id=document_id, **fields)


Subscriber = Callable[[list[DomainEvent]], None]


class EventBus:
    """Subscribers get each unit of work's events, in order, once it has committed."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, events: Iterable[DomainEvent]) -> None:
        batch = list(events)
        if batch:
            for subscriber in tuple(self._subscribers):
                subscriber(batch)

    def __bool__(self) -> bool:
        return bool(self._subscribers)
