"""The three document lifecycles as data: their states, the order of their stages and their transition tables.

Every rule of the lifecycles is written here, once; ``machine.py`` turns these tables into one shared
``transitions.Machine`` per lifecycle and ``docflow diagram`` draws them.  A row ``Row(event, sources, dest)``
says: firing ``event`` in any of ``sources`` moves to ``dest``; ``dest=STAY`` means the event is *legal but
changes nothing* (a ``transitions`` internal transition: the engine records the message, the state is kept).
An event with no row for the current state is illegal (``IllegalTransitionError``; the caller persists
nothing).

DELIVERY — the sender's view of one document sent to one recipient::

    queued ─send─► sent ─arrive(01)─► arrived ─accept(03)─► accepted ─assign(04)─► assigned ─process(05)─►
    processing ─complete(06)─► completed          arrived ─reject(02)─► rejected
    queued|sent|retrying ─fail─► retrying  while a retry budget is left   retrying ─resend─► sent
    queued|sent|retrying ─fail─► dead      once both budgets are spent    dead ─revive─► retrying (an operator)
    sent … processing ─revoke | replace─► revoked | replaced      sent … processing ─update─► (stays)

  Statuses travel over an unordered at-least-once transport, so the status events are not one-step moves
  but a rule over the stage order ``DELIVERY_ORDER`` (a partial order: rejected and the accepted branch are
  incomparable).  For a status announcing stage *t* received in state *s*:

  * *t* is ahead of *s* (s is behind t)  → move to *t*, skipping stages (05 before 03 goes to processing);
  * *t* is *s* or behind it               → legal, state kept (a duplicate, or 01 after 06);
  * otherwise (a conflict: 03 after 02, 06 after ``revoked``) → illegal.

  ``revoked`` and ``replaced`` sit after ``processing``: a receiver may have sent 01–05 before it agreed,
  and those late statuses are kept as no-ops, while 02 or 06 after an agreed recall are conflicts.  ``retrying``
  and ``dead`` stand level with ``sent`` (an operator may revive a dead delivery), and a status after ``dead``
  moves it forward: the document did get through after all (a later copy, or a 01 that outlived its hop).

  Recall is NOT a DELIVERY state: a recall / update / replacement is its own AMENDMENT record, and the
  delivery keeps moving with the statuses that still arrive meanwhile (a "recall pending" delivery is one
  whose AMENDMENT is ``requested``).  When the amendment is agreed the engine fires
  ``AMENDMENT_EFFECTS[kind]`` (``revoke``, ``update`` or ``replace``) on DELIVERY and INBOUND; when it is
  refused nothing happens to them, so no prior stage has to be remembered.  Progress is therefore monotone:
  no row ever moves a delivery back.

INBOUND — the receiver's own copy; driven by the receiver's own, serialised actions, so it is strict:
one stage at a time until accepted, forward skips after that (a document "for information" goes
accepted → completed), a repeat of the event that led to the current state is an idempotent no-op, a stale
action (``accept`` while processing) is illegal.  ``arrive`` (a duplicate delivery) is a no-op everywhere.

AMENDMENT — one recall (13, business type 1), update (2) or replacement (3) request per document ×
recipient: ``requested`` ─agree(15)─► ``agreed`` | ─refuse(16)─► ``refused``; a repeated 13/15/16 is a no-op,
15 after 16 (or the reverse) is illegal.  ``14`` is already read as 15 by ``StatusCode.parse``.  A renewed
request after a refusal is a new amendment record.

Terminal states (no row leaves them): DELIVERY completed, rejected, revoked, replaced; INBOUND
completed, rejected, revoked, replaced; AMENDMENT agreed, refused.  They only accept the same-or-behind
no-ops listed above.

Pure: standard library and ``docflow.domain`` only; must not import ``transitions`` (``machine.py`` does),
lxml, sqlalchemy or any transport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, NamedTuple, TypeVar

from docflow.domain.envelope import BusinessDocType
from docflow.domain.status import StatusCode

E = TypeVar("E", bound=Enum)


class DeliveryState(Enum):
    """The sender's view of one document sent to one recipient; the value is what the store keeps."""

    QUEUED = "queued"
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"
    ARRIVED = "arrived"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REVOKED = "revoked"
    REPLACED = "replaced"


class InboundState(Enum):
    """The receiver's own copy of an incoming document."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REVOKED = "revoked"
    REPLACED = "replaced"


class AmendmentState(Enum):
    """A recall / update / replacement request and the receiver's answer."""

    REQUESTED = "requested"
    AGREED = "agreed"
    REFUSED = "refused"


#: ``Row.dest`` of an event that is legal but keeps the state.
STAY: Final = None


@dataclass(frozen=True, slots=True)
class Guard:
    """A deterministic condition on the context arguments of ``fire`` (``needs`` names them)."""

    text: str
    needs: tuple[str, ...]
    test: Callable[[Mapping[str, object]], bool]


class Row(NamedTuple):
    """``event`` fired in any of ``sources`` goes to ``dest`` (``STAY``: kept) when ``guard`` passes."""

    event: str
    sources: tuple[Enum, ...]
    dest: Enum | None
    guard: Guard | None = None


def _budget_left(context: Mapping[str, object]) -> bool:
    return not context["spent"]


#: ``spent`` says whether the retry budgets (attempts and time, ``docflow.domain.retry.RetryPolicy.spent``)
#: are used up for the failed message.
WITHIN_BUDGET: Final = Guard("budget left", ("spent",), _budget_left)
BUDGET_SPENT: Final = Guard("budget spent", ("spent",), lambda context: bool(context["spent"]))

#: The event each status code fires when it is received (01–06 on DELIVERY, 13/15/16 on AMENDMENT).
STATUS_EVENTS: Final[Mapping[StatusCode, str]] = {
    StatusCode.ARRIVED: "arrive",
    StatusCode.REJECTED: "reject",
    StatusCode.ACCEPTED: "accept",
    StatusCode.ASSIGNED: "assign",
    StatusCode.PROCESSING: "process",
    StatusCode.COMPLETED: "complete",
    StatusCode.RECALLED: "request",
    StatusCode.AGREED: "agree",
    StatusCode.REFUSED: "refuse",
}

#: A clerk's action on a received document -> (INBOUND event, status code sent back to the sender).
CLERK_ACTIONS: Final[Mapping[str, tuple[str, StatusCode]]] = {
    "accept": ("accept", StatusCode.ACCEPTED),
    "reject": ("reject", StatusCode.REJECTED),
    "assign": ("assign", StatusCode.ASSIGNED),
    "start": ("process", StatusCode.PROCESSING),
    "complete": ("complete", StatusCode.COMPLETED),
}

#: The event fired on DELIVERY and INBOUND once an amendment of this business type is agreed.
AMENDMENT_EFFECTS: Final[Mapping[BusinessDocType, str]] = {
    BusinessDocType.REVOKE: "revoke",
    BusinessDocType.UPDATE: "update",
    BusinessDocType.REPLACE: "replace",
}

# --- DELIVERY ------------------------------------------------------------------------------------------
D = DeliveryState

#: stage -> the stages directly behind it (the transitive closure is the "behind" relation).
DELIVERY_ORDER: Final[Mapping[DeliveryState, tuple[DeliveryState, ...]]] = {
    D.SENT: (D.QUEUED,),
    D.RETRYING: (D.QUEUED,),
    D.DEAD: (D.QUEUED,),
    D.ARRIVED: (D.SENT, D.RETRYING, D.DEAD),
    D.ACCEPTED: (D.ARRIVED,),
    D.REJECTED: (D.ARRIVED,),
    D.ASSIGNED: (D.ACCEPTED,),
    D.PROCESSING: (D.ASSIGNED,),
    D.COMPLETED: (D.PROCESSING,),
    D.REVOKED: (D.PROCESSING,),
    D.REPLACED: (D.PROCESSING,),
}

#: status event -> the stage the status announces.
DELIVERY_STATUS_STAGES: Final[Mapping[str, DeliveryState]] = {
    "arrive": D.ARRIVED,
    "reject": D.REJECTED,
    "accept": D.ACCEPTED,
    "assign": D.ASSIGNED,
    "process": D.PROCESSING,
    "complete": D.COMPLETED,
}

_IN_FLIGHT = (D.QUEUED, D.SENT, D.RETRYING)
_RECALLABLE = (D.SENT, D.RETRYING, D.ARRIVED, D.ACCEPTED, D.ASSIGNED, D.PROCESSING)

#: The rows of DELIVERY that are not status events (those follow from DELIVERY_ORDER, see status_rows).
DELIVERY_ROWS: Final[tuple[Row, ...]] = (
    Row("send", (D.QUEUED,), D.SENT),
    Row("fail", _IN_FLIGHT, D.RETRYING, WITHIN_BUDGET),
    Row("fail", _IN_FLIGHT, D.DEAD, BUDGET_SPENT),
    Row("resend", (D.RETRYING,), D.SENT),
    Row("revive", (D.DEAD,), D.RETRYING),
    Row("revoke", _RECALLABLE, D.REVOKED),
    Row("revoke", (D.REVOKED,), STAY),
    Row("replace", _RECALLABLE, D.REPLACED),
    Row("replace", (D.REPLACED,), STAY),
    Row("update", _RECALLABLE, STAY),
)
DELIVERY_TERMINAL: Final = frozenset({D.COMPLETED, D.REJECTED, D.REVOKED, D.REPLACED})

# --- INBOUND -------------------------------------------------------------------------------------------
I = InboundState  # noqa: E741 - a one-letter table alias, like D and A

INBOUND_ORDER: Final[Mapping[InboundState, tuple[InboundState, ...]]] = {
    I.ACCEPTED: (I.RECEIVED,),
    I.REJECTED: (I.RECEIVED,),
    I.ASSIGNED: (I.ACCEPTED,),
    I.PROCESSING: (I.ASSIGNED,),
    I.COMPLETED: (I.PROCESSING,),
    I.REVOKED: (I.PROCESSING,),
    I.REPLACED: (I.PROCESSING,),
}
_OPEN = (I.RECEIVED, I.ACCEPTED, I.ASSIGNED, I.PROCESSING)

INBOUND_ROWS: Final[tuple[Row, ...]] = (
    Row("arrive", tuple(InboundState), STAY),
    Row("accept", (I.RECEIVED,), I.ACCEPTED),
    Row("accept", (I.ACCEPTED,), STAY),
    Row("reject", (I.RECEIVED,), I.REJECTED),
    Row("reject", (I.REJECTED,), STAY),
    Row("assign", (I.ACCEPTED,), I.ASSIGNED),
    Row("assign", (I.ASSIGNED,), STAY),
    Row("process", (I.ACCEPTED, I.ASSIGNED), I.PROCESSING),
    Row("process", (I.PROCESSING,), STAY),
    Row("complete", (I.ACCEPTED, I.ASSIGNED, I.PROCESSING), I.COMPLETED),
    Row("complete", (I.COMPLETED,), STAY),
    Row("revoke", _OPEN, I.REVOKED),
    Row("revoke", (I.REVOKED,), STAY),
    Row("replace", _OPEN, I.REPLACED),
    Row("replace", (I.REPLACED,), STAY),
    Row("update", _OPEN, STAY),
)
INBOUND_TERMINAL: Final = frozenset({I.COMPLETED, I.REJECTED, I.REVOKED, I.REPLACED})

# --- AMENDMENT -----------------------------------------------------------------------------------------
A = AmendmentState

AMENDMENT_ORDER: Final[Mapping[AmendmentState, tuple[AmendmentState, ...]]] = {
    A.AGREED: (A.REQUESTED,),
    A.REFUSED: (A.REQUESTED,),
}
AMENDMENT_ROWS: Final[tuple[Row, ...]] = (
    Row("request", (A.REQUESTED,), STAY),
    Row("agree", (A.REQUESTED,), A.AGREED),
    Row("agree", (A.AGREED,), STAY),
    Row("refuse", (A.REQUESTED,), A.REFUSED),
    Row("refuse", (A.REFUSED,), STAY),
)
AMENDMENT_TERMINAL: Final = frozenset({A.AGREED, A.REFUSED})


# --- the rules that derive the rest --------------------------------------------------------------------
def behind(order: Mapping[E, Iterable[E]], states: Iterable[E]) -> dict[E, frozenset[E]]:
    """state -> every stage strictly behind it (transitive closure of ``order``)."""
    closure: dict[E, frozenset[E]] = {}

    def walk(state: E) -> frozenset[E]:
        if state not in closure:
            direct = tuple(order.get(state, ()))
            closure[state] = frozenset(direct).union(*(walk(prior) for prior in direct))
        return closure[state]

    for state in states:
        walk(state)
    return closure


def stage_ranks(order: Mapping[E, Iterable[E]], states: Iterable[E]) -> dict[E, int]:
    """state -> length of the longest chain of stages behind it (0 for a first stage)."""
    ranks: dict[E, int] = {}

    def rank(state: E) -> int:
        if state not in ranks:
            ranks[state] = max((rank(prior) + 1 for prior in order.get(state, ())), default=0)
        return ranks[state]

    for state in states:
        rank(state)
    return ranks


def status_rows(stages: Mapping[str, E], order: Mapping[E, Iterable[E]], states: Iterable[E]) -> tuple[Row, ...]:
    """The rows of the out-of-order status rule: forward to a stage ahead, stay at or past it, else illegal."""
    ordered = list(states)
    behind_of = behind(order, ordered)
    rows: list[Row] = []
    for event, stage in stages.items():
        ahead = tuple(s for s in ordered if s in behind_of[stage])
        kept = tuple(s for s in ordered if s is stage or stage in behind_of[s])
        if ahead:
            rows.append(Row(event, ahead, stage))
        if kept:
            rows.append(Row(event, kept, STAY))
    return tuple(rows)


# --- DOSSIER -------------------------------------------------------------------------------------------
class DossierState(Enum):
    """``TrangThaiHoSo`` of a one-stop dossier (hồ sơ TTHC): the value is what the store keeps, ``code`` the
    portal's number (1–10).  DOSSIER — one agency's copy of a dossier; the moves of STANDARD.md::

        submitted(1) ─receive─► received(2) ─start─► processing(4) ─finish─► processed(9) ─return_result─►
        returned(10)         submitted ─decline─► refused(3)          processing ─hand_over─► (stays: next step)
        processing ─request_supplement─► supplement_requested(5) ─receive_supplement─► received
        processing ─request_payment─► payment_requested(6) ─pay─► processing
        processing ─suspend─► suspended(8) ─resume─► processing
        any open state (1, 2, 4, 5, 6, 8) ─withdraw─► withdrawn(7)

    A desk submission starts at ``received``.  The stages in hand (2, 4, 5, 6, 8) share one rank: a dossier
    goes round between them (a supplement brings it back to ``received``), never back to ``submitted`` and
    never out of refused, withdrawn or returned.  The agency's own actions are serialised, so the table is
    strict: a repeated action is illegal, and duplicate messages are absorbed before they reach it.
    """

    SUBMITTED = "submitted"
    RECEIVED = "received"
    REFUSED = "refused"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    WITHDRAWN = "withdrawn"
    SUSPENDED = "suspended"
    PROCESSED = "processed"
    RETURNED = "returned"

    @property
    def code(self) -> int:
        """The portal's TrangThaiHoSo (1–10)."""
        return _DOSSIER_CODES[self]

    @classmethod
    def from_code(cls, code: int | str) -> DossierState:
        """The state of portal code ``code`` (1–10); ``ValueError`` naming the range otherwise."""
        try:
            return _DOSSIER_BY_CODE[int(code)]
        except (KeyError, ValueError):
            raise ValueError(f"TrangThaiHoSo {code!r} is not a dossier state: expected 1–10") from None


_DOSSIER_CODES: Final[dict[DossierState, int]] = {state: n for n, state in enumerate(DossierState, start=1)}
_DOSSIER_BY_CODE: Final[dict[int, DossierState]] = {n: state for state, n in _DOSSIER_CODES.items()}

H = DossierState
_IN_HAND = (H.RECEIVED, H.PROCESSING, H.SUPPLEMENT_REQUESTED, H.PAYMENT_REQUESTED, H.SUSPENDED)
DOSSIER_ORDER: Final[Mapping[DossierState, tuple[DossierState, ...]]] = {
    **{state: (H.SUBMITTED,) for state in (*_IN_HAND, H.REFUSED)},
    H.PROCESSED: (H.PROCESSING,),
    H.RETURNED: (H.PROCESSED,),
    H.WITHDRAWN: (H.SUBMITTED, *_IN_HAND),
}
DOSSIER_ROWS: Final[tuple[Row, ...]] = (
    Row("receive", (H.SUBMITTED,), H.RECEIVED),
    Row("decline", (H.SUBMITTED,), H.REFUSED),
    Row("start", (H.RECEIVED,), H.PROCESSING),
    Row("hand_over", (H.PROCESSING,), STAY),
    Row("request_supplement", (H.PROCESSING,), H.SUPPLEMENT_REQUESTED),
    Row("receive_supplement", (H.SUPPLEMENT_REQUESTED,), H.RECEIVED),
    Row("request_payment", (H.PROCESSING,), H.PAYMENT_REQUESTED),
    Row("pay", (H.PAYMENT_REQUESTED,), H.PROCESSING),
    Row("suspend", (H.PROCESSING,), H.SUSPENDED),
    Row("resume", (H.SUSPENDED,), H.PROCESSING),
    Row("finish", (H.PROCESSING,), H.PROCESSED),
    Row("return_result", (H.PROCESSED,), H.RETURNED),
    Row("withdraw", (H.SUBMITTED, *_IN_HAND), H.WITHDRAWN),
)
DOSSIER_TERMINAL: Final = frozenset({H.REFUSED, H.WITHDRAWN, H.RETURNED})
