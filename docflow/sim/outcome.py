"""What a run produced, whatever its fidelity: one ``DeliveryRecord`` per document × recipient, and totals.

A fabric keeps a ``Pending`` per delivery while it can still change and turns it into a ``DeliveryRecord``
for the metrics' tally (``docflow.sim.metrics.Tally``) once it cannot, so finished deliveries are not kept.
Times are virtual seconds since the scenario's start.  ``outcome`` classifies every delivery exactly once:
``delivered`` (it reached its recipient), ``dead`` (a hop gave up after its retry budget), ``lost`` (a
silent link loss swallowed it) or ``in_flight`` (still queued or waiting for a retry when the run ended).
Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.sim.traffic import Dispatch

OUTCOMES = ("delivered", "dead", "lost", "in_flight")


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One document sent to one recipient."""

    document_id: str
    sender: str
    recipient: str
    kind: str
    document_type: str
    sent_at: float
    arrived_at: float | None
    completed_at: float | None  # the recipient completed it (status 06)
    rejected_at: float | None  # the recipient rejected it (status 02)
    outcome: str
    status: str  # the sender's view of the delivery when the run ended


@dataclass(slots=True)
class Pending:
    """What a fabric knows of one delivery until it can no longer change."""

    dispatch: Dispatch | None = None  # None: a document the traffic did not send (the metrics leave it out)
    sent_at: float | None = None
    arrived_at: float | None = None
    completed_at: float | None = None
    rejected_at: float | None = None
    dead: bool = False

    def outcome(self, *, lost: bool) -> str:
        if self.arrived_at is not None:
            return "delivered"
        if self.dead:
            return "dead"
        return "lost" if lost else "in_flight"

    def record(self, document_id: str, recipient: str, outcome: str, status: str) -> DeliveryRecord:
        dispatch = self.dispatch
        if dispatch is None:
            raise ValueError(f"no dispatch for {document_id} to {recipient}: only sent documents are recorded")
        return DeliveryRecord(
            document_id,
            dispatch.sender,
            recipient,
            dispatch.kind,
            dispatch.document_type,
            self.sent_at if self.sent_at is not None else dispatch.at,
            self.arrived_at,
            self.completed_at,
            self.rejected_at,
            outcome,
            status,
        )


@dataclass(slots=True)
class Outcome:
    """The totals only the fabric knows."""

    documents: int = 0
    duplicates: int = 0
    messages_sent: int = 0
    send_failures: int = 0
    lost_messages: int = 0
    quarantined: int = 0
