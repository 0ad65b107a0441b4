"""What a run produced, whatever its fidelity: one ``DeliveryRecord`` per document × recipient, and totals.

Times are virtual seconds since the scenario's start.  ``outcome`` classifies every delivery exactly once:
``delivered`` (it reached its recipient), ``dead`` (a hop gave up after its retry budget), ``lost`` (a
silent link loss swallowed it) or ``in_flight`` (still queued or waiting for a retry when the run ended).
Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
class Outcome:
    """Records plus the totals only the fabric knows."""

    records: list[DeliveryRecord] = field(default_factory=list)
    documents: int = 0
    duplicates: int = 0
    messages_sent: int = 0
    send_failures: int = 0
    lost_messages: int = 0
    quarantined: int = 0
