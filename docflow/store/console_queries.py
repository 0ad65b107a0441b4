"""The few reads and deletions the operator console needs that no repository offers: waiting work per agency
with its oldest age, deliveries left unfinished too long, one quarantine entry, its deletion, and the
operators' recorded actions.

Each function takes a ``Repository`` (a snapshot or a unit of work); none commits.
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from docflow.errors import Violation
from docflow.store.records import Delivery, Event, QuarantineEntry
from docflow.store.repository import Repository
from docflow.store.tables import deliveries, events, inbound, outbox, quarantine

#: The audit-row kind of an operator's action (``docflow.domain.events.OperatorActed.kind``).
OPERATOR_KIND = "operator-acted"


@dataclass(frozen=True, slots=True)
class AgencyQueues:
    """What waits at one agency: outbox rows not sent yet, given-up rows, received documents not finished,
    quarantined entries; ``oldest_*`` is the creation time of the oldest waiting row (``None``: nothing waits)."""

    node: str
    outbox_waiting: int = 0
    oldest_outbox: datetime | None = None
    dead: int = 0
    inbound_open: int = 0
    oldest_inbound: datetime | None = None
    quarantined: int = 0


def agency_queues(repo: Repository, open_inbound: Collection[str]) -> list[AgencyQueues]:
    """Per agency with anything waiting; ``open_inbound`` are the inbound states that still await a clerk."""
    found: dict[str, dict[str, object]] = {}

    def at(node: str) -> dict[str, object]:
        return found.setdefault(node, {"node": node})

    waiting = (
        select(outbox.c.node, func.count(), func.min(outbox.c.created_at))
        .where(outbox.c.sent_at.is_(None), outbox.c.dead_at.is_(None))
        .group_by(outbox.c.node)
    )
    for node, count, oldest in repo.conn.execute(waiting):
        at(node).update(outbox_waiting=int(count), oldest_outbox=oldest)
    dead = select(outbox.c.node, func.count()).where(outbox.c.dead_at.is_not(None)).group_by(outbox.c.node)
    for node, count in repo.conn.execute(dead):
        at(node)["dead"] = int(count)
    if open_inbound:
        received = (
            select(inbound.c.node, func.count(), func.min(inbound.c.updated_at))
            .where(inbound.c.state.in_(list(open_inbound)))
            .group_by(inbound.c.node)
        )
        for node, count, oldest in repo.conn.execute(received):
            at(node).update(inbound_open=int(count), oldest_inbound=oldest)
    kept = select(quarantine.c.node, func.count()).group_by(quarantine.c.node)
    for node, count in repo.conn.execute(kept):
        at(node)["quarantined"] = int(count)
    return [AgencyQueues(**fields) for _, fields in sorted(found.items())]  # type: ignore[arg-type]


def overdue_deliveries(
    repo: Repository, before: datetime, finished: Collection[str], *, limit: int = 500
) -> list[Delivery]:
    """Deliveries not in a ``finished`` state whose last move is older than ``before``, oldest first."""
    query = (
        select(deliveries)
        .where(deliveries.c.updated_at < before, deliveries.c.state.not_in(list(finished)))
        .order_by(deliveries.c.updated_at, deliveries.c.id)
        .limit(limit)
    )
    return [Delivery(**dict(row._mapping)) for row in repo.conn.execute(query)]


def quarantine_entry(repo: Repository, entry_id: int) -> QuarantineEntry | None:
    """One quarantine entry with its bytes, or ``None``."""
    row = repo.conn.execute(select(quarantine).where(quarantine.c.id == entry_id)).first()
    if row is None:
        return None
    fields = dict(row._mapping)
    fields["violations"] = tuple(Violation(**v) for v in json.loads(fields["violations"]))
    return QuarantineEntry(**fields)


def delete_quarantine(repo: Repository, entry_id: int) -> int:
    """Delete one quarantine entry; returns how many rows went (0 or 1)."""
    return int(repo.conn.execute(delete(quarantine).where(quarantine.c.id == entry_id)).rowcount or 0)


def operator_actions(repo: Repository, *, limit: int = 200) -> list[Event]:
    """The operators' recorded actions, newest first."""
    query = select(events).where(events.c.kind == OPERATOR_KIND).order_by(events.c.id.desc()).limit(limit)
    return [
        Event(r.node, r.at, r.kind, r.document_id, r.recipient, r.status, json.loads(r.detail), id=r.id)
        for r in repo.conn.execute(query)
    ]
