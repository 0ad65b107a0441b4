"""Figures from a run's delivery records: counts, latency percentiles per tier path, deadline breaches, backlog.

The records are folded into a ``Tally`` as the deliveries finish (``Tally.add``), so a run keeps what is in
flight, not what is done; ``compute`` turns the tally into the report's figures.

Latencies are virtual seconds from the sender's ``sent`` to the recipient's ``arrived`` (delivery) and to
its ``complete`` (completion).  A tier path is ``"<sender tier>→<recipient tier>"``.  Percentiles are
nearest-rank (no interpolation: every figure is a time that happened).  Deadlines are counted in working
hours on the scenario's calendar from the moment the document was sent; a delivery is in breach when it was
completed after its due time, or was not completed (nor rejected) by the end of the run while the due time
had passed.  Everything is sorted so the same records always give the same figures, in any order.
Must not import simpy or the engine (services, store, transports).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from docflow.domain.ids import OrganId, Tier
from docflow.sim.clerks import Backlog
from docflow.sim.outcome import OUTCOMES, DeliveryRecord, Outcome
from docflow.sim.scenario import Scenario
from docflow.sim.summary import SLOWEST

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
    late_micros: int = 0  # whole microseconds: a sum that does not depend on the order of the deliveries


class Tally:
    """Every figure the report takes from deliveries, folded in one finished delivery at a time.

    A fabric calls ``add`` when a delivery can no longer change (its last record) and for what is left when the
    run ends; nothing it adds is kept but its latencies (8 bytes each, for exact percentiles) and the slowest
    few.  The figures do not depend on the order of the calls: latencies are sorted before they are summed,
    late time is summed in whole microseconds, the slowest are chosen by a total order."""

    def __init__(self, scenario: Scenario, end: float) -> None:
        self.scenario, self.end = scenario, end
        self.total = self.completed = self.rejected = 0
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.statuses: dict[str, int] = {}
        self.delivery: dict[str, array[float]] = {}
        self.completion: dict[str, array[float]] = {}
        self.breaches = {tier.label: 0 for tier in Tier}
        self.checked = {tier.label: 0 for tier in Tier}
        self.nodes: dict[str, NodeFigures] = {}
        self._slowest: list[tuple[float, str, str, DeliveryRecord]] = []

    def add(self, record: DeliveryRecord) -> None:
        self.total += 1
        self.counts[record.outcome] += 1
        self.statuses[record.status] = self.statuses.get(record.status, 0) + 1
        path = tier_path(record.sender, record.recipient)
        figures = self.nodes.get(record.recipient)
        if figures is None:
            figures = self.nodes[record.recipient] = NodeFigures()
        if record.arrived_at is not None:
            _values(self.delivery, path).append(max(record.arrived_at - record.sent_at, 0.0))
            figures.received += 1
        if record.completed_at is not None:
            _values(self.completion, path).append(max(record.completed_at - record.sent_at, 0.0))
            figures.completed += 1
            self.completed += 1
        if record.rejected_at is not None:
            self.rejected += 1
        self._deadline(record, figures)
        finished = record.completed_at if record.completed_at is not None else record.arrived_at
        if finished is not None:
            self._slowest.append((-(finished - record.sent_at), record.document_id, record.recipient, record))
            if len(self._slowest) > 8 * SLOWEST:
                self._slowest = sorted(self._slowest, key=_rank)[:SLOWEST]

    def slowest(self, count: int = SLOWEST) -> list[DeliveryRecord]:
        """The ``count`` deliveries that took longest to complete (or, not completed, to arrive), slowest first."""
        return [item[3] for item in sorted(self._slowest, key=_rank)[:count]]

    def _deadline(self, record: DeliveryRecord, figures: NodeFigures) -> None:
        allowed = self.scenario.deadline(record.document_type)
        if allowed is None or record.rejected_at is not None:
            return
        due = self.scenario.calendar.add(record.sent_at, allowed)
        finished = record.completed_at
        if finished is None and self.end < due:
            return  # not due yet when the run ended: neither met nor breached
        tier = tier_of(record.recipient).label
        self.checked[tier] += 1
        late = (finished if finished is not None else self.end) - due
        if late > 0:
            self.breaches[tier] += 1
            figures.breaches += 1
            figures.late_micros += round(late * 1_000_000)


def _rank(item: tuple[float, str, str, DeliveryRecord]) -> tuple[float, str, str]:
    """Slowest first, then by document and recipient (records themselves are never compared)."""
    return item[0], item[1], item[2]


def _values(by_path: dict[str, array[float]], path: str) -> array[float]:
    found = by_path.get(path)
    if found is None:
        found = by_path[path] = array("d")
    return found


def compute(scenario: Scenario, outcome: Outcome, tally: Tally, backlog: Backlog) -> dict[str, Any]:
    """Every virtual-time figure of the report (the ``run`` section is added by the driver)."""
    counts, total = tally.counts, tally.total
    delivery = {path: sorted(values) for path, values in sorted(tally.delivery.items())}
    completion = {path: sorted(values) for path, values in sorted(tally.completion.items())}
    return {
        "documents_sent": outcome.documents,
        "deliveries": total,
        "delivered": counts["delivered"],
        "lost": counts["lost"],
        "dead_lettered": counts["dead"],
        "in_flight": counts["in_flight"],
        "accounted": counts["delivered"] + counts["dead"] + counts["lost"] + counts["in_flight"] == total,
        "duplicates": outcome.duplicates,
        "completed": tally.completed,
        "rejected": tally.rejected,
        "messages_sent": outcome.messages_sent,
        "send_failures": outcome.send_failures,
        "lost_messages": outcome.lost_messages,
        "quarantined": outcome.quarantined,
        "statuses": dict(sorted(tally.statuses.items())),
        "latency": {
            "delivery": {path: summarize_latencies(v) for path, v in delivery.items()},
            "completion": {path: summarize_latencies(v) for path, v in completion.items()},
        },
        "histograms": {
            "edges_seconds": list(EDGES),
            "delivery": {path: histogram(v) for path, v in delivery.items()},
            "completion": {path: histogram(v) for path, v in completion.items()},
        },
        "deadline_breaches": tally.breaches,
        "deadlines_checked": tally.checked,
        "backlog_peak": backlog.peak,
        "backlog_hourly": [[hour, value] for hour, value in sorted(backlog.hourly().items())],
        "nodes": {
            code: {
                "received": f.received,
                "completed": f.completed,
                "breaches": f.breaches,
                "late_hours": round(f.late_micros / 3_600_000_000, 3),
                "backlog_peak": backlog.peak_by_node.get(code, 0),
            }
            for code, f in sorted(tally.nodes.items())
        },
    }
