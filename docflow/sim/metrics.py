"""Figures from a run's delivery records: counts, latency percentiles per tier path, deadline breaches, backlog.

Latencies are virtual seconds from the sender's ``sent`` to the recipient's ``arrived`` (delivery) and to
its ``complete`` (completion).  A tier path is ``"<sender tier>→<recipient tier>"``.  Percentiles are
nearest-rank (no interpolation: every figure is a time that happened).  Deadlines are counted in working
hours on the scenario's calendar from the moment the document was sent; a delivery is in breach when it was
completed after its due time, or was not completed (nor rejected) by the end of the run while the due time
had passed.  Everything is sorted so the same records always give the same figures.
Must not import simpy or the engine (services, store, transports).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from docflow.domain.ids import OrganId, Tier
from docflow.sim.clerks import Backlog
from docflow.sim.outcome import OUTCOMES, DeliveryRecord, Outcome
from docflow.sim.scenario import Scenario

PERCENTILES = (50, 95, 99)
#: histogram bin edges in seconds (log-spaced: 1 s … 4 weeks)
EDGES = tuple(round(10 ** (k / 4), 3) for k in range(0, 26))


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (which must not be empty)."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def tier_of(code: str) -> Tier:
    return OrganId.parse(code).tier


def tier_path(sender: str, recipient: str) -> str:
    return f"{tier_of(sender).label}→{tier_of(recipient).label}"


def summarize_latencies(values: Iterable[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    out: dict[str, float | int] = {"count": len(ordered)}
    for p in PERCENTILES:
        out[f"p{p}"] = round(percentile(ordered, p), 3)
    out["max"] = round(ordered[-1], 3)
    out["mean"] = round(sum(ordered) / len(ordered), 3)
    return out


def histogram(values: Iterable[float]) -> list[int]:
    """Counts per bin: ``[0, EDGES[0])``, ``[EDGES[i-1], EDGES[i])`` …, ``[EDGES[-1], ∞)``."""
    counts = [0] * (len(EDGES) + 1)
    for value in values:
        index = 0
        while index < len(EDGES) and value >= EDGES[index]:
            index += 1
        counts[index] += 1
    return counts


@dataclass(slots=True)
class NodeFigures:
    received: int = 0
    completed: int = 0
    breaches: int = 0
    late_seconds: float = 0.0
    samples: list[float] = field(default_factory=list)


def compute(scenario: Scenario, outcome: Outcome, backlog: Backlog, end: float) -> dict[str, Any]:
    """Every virtual-time figure of the report (the ``run`` section is added by the driver)."""
    records = sorted(outcome.records, key=lambda r: (r.sent_at, r.document_id, r.recipient))
    counts = dict.fromkeys(OUTCOMES, 0)
    delivery: dict[str, list[float]] = {}
    completion: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    breaches = {tier.label: 0 for tier in Tier}
    checked = {tier.label: 0 for tier in Tier}
    nodes: dict[str, NodeFigures] = {}
    calendar = scenario.calendar
    for record in records:
        counts[record.outcome] += 1
        statuses[record.status] = statuses.get(record.status, 0) + 1
        path = tier_path(record.sender, record.recipient)
        figures = nodes.setdefault(record.recipient, NodeFigures())
        if record.arrived_at is not None:
            delivery.setdefault(path, []).append(max(record.arrived_at - record.sent_at, 0.0))
            figures.received += 1
        if record.completed_at is not None:
            completion.setdefault(path, []).append(max(record.completed_at - record.sent_at, 0.0))
            figures.completed += 1
        _deadline(scenario, calendar, record, end, breaches, checked, figures)
    hourly: dict[int, int] = {}
    for t, value in backlog.points:
        hour = int(t // 3600)
        hourly[hour] = max(hourly.get(hour, 0), value)
    total = len(records)
    return {
        "documents_sent": outcome.documents,
        "deliveries": total,
        "delivered": counts["delivered"],
        "lost": counts["lost"],
        "dead_lettered": counts["dead"],
        "in_flight": counts["in_flight"],
        "accounted": counts["delivered"] + counts["dead"] + counts["lost"] + counts["in_flight"] == total,
        "duplicates": outcome.duplicates,
        "completed": sum(1 for r in records if r.completed_at is not None),
        "rejected": sum(1 for r in records if r.rejected_at is not None),
        "messages_sent": outcome.messages_sent,
        "send_failures": outcome.send_failures,
        "lost_messages": outcome.lost_messages,
        "quarantined": outcome.quarantined,
        "statuses": dict(sorted(statuses.items())),
        "latency": {
            "delivery": {path: summarize_latencies(v) for path, v in sorted(delivery.items())},
            "completion": {path: summarize_latencies(v) for path, v in sorted(completion.items())},
        },
        "histograms": {
            "edges_seconds": list(EDGES),
            "delivery": {path: histogram(v) for path, v in sorted(delivery.items())},
            "completion": {path: histogram(v) for path, v in sorted(completion.items())},
        },
        "deadline_breaches": breaches,
        "deadlines_checked": checked,
        "backlog_peak": backlog.peak,
        "backlog_hourly": [[hour, value] for hour, value in sorted(hourly.items())],
        "nodes": {
            code: {
                "received": f.received,
                "completed": f.completed,
                "breaches": f.breaches,
                "late_hours": round(f.late_seconds / 3600.0, 3),
                "backlog_peak": backlog.peak_by_node.get(code, 0),
            }
            for code, f in sorted(nodes.items())
        },
    }


def _deadline(
    scenario: Scenario,
    calendar: Any,
    record: DeliveryRecord,
    end: float,
    breaches: dict[str, int],
    checked: dict[str, int],
    figures: NodeFigures,
) -> None:
    allowed = scenario.deadline(record.document_type)
    if allowed is None or record.rejected_at is not None:
        return
    due = calendar.add(record.sent_at, allowed)
    finished = record.completed_at
    if finished is None and end < due:
        return  # not due yet when the run ended: neither met nor breached
    tier = tier_of(record.recipient).label
    checked[tier] += 1
    late = (finished if finished is not None else end) - due
    if late > 0:
        breaches[tier] += 1
        figures.breaches += 1
        figures.late_seconds += late
