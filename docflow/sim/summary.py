"""What report.json adds for people besides the metrics: the slowest deliveries (to trace), the scenario's
faults in words and on the time axis, and the hierarchy aggregated per tier and kind of agency.

``extras(scenario, registry, records, nodes)`` returns the keys ``office_hours``, ``slowest``, ``faults`` and
``hierarchy``;
the driver adds them to the report (existing keys are never renamed).  Must not import simpy, the engine or
lxml.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind, Registry
from docflow.sim.outcome import DeliveryRecord
from docflow.sim.scenario import Scenario
from docflow.sim.units import human_duration

SLOWEST = 10

#: hierarchy groups, top to bottom: (key, label, tier of the code, kinds)
GROUPS: tuple[tuple[str, str, str, tuple[AgencyKind, ...]], ...] = (
    ("government_office", "Central: Government Office", "central", (AgencyKind.GOVERNMENT_OFFICE,)),
    ("ministry", "Central: ministries and central bodies", "central", (AgencyKind.MINISTRY, AgencyKind.UNIT)),
    ("hub", "Connecting systems (hubs, national axis)", "", (AgencyKind.HUB,)),
    ("province", "Province: people's committees", "province", (AgencyKind.PROVINCE,)),
    ("department", "Province: departments (sở), coded at district level", "district", (AgencyKind.DEPARTMENT,)),
    ("district", "District: people's committees", "district", (AgencyKind.DISTRICT,)),
    ("office", "Offices under departments and districts", "", (AgencyKind.OFFICE,)),
    ("commune", "Commune: people's committees", "commune", (AgencyKind.COMMUNE,)),
)


def slowest(records: Iterable[DeliveryRecord], count: int = SLOWEST) -> list[dict[str, Any]]:
    """The ``count`` deliveries that took longest to complete (or, not completed, to arrive), slowest first."""
    timed = []
    for r in records:
        end = r.completed_at if r.completed_at is not None else r.arrived_at
        if end is not None:
            timed.append((end - r.sent_at, r))
    timed.sort(key=lambda item: (-item[0], item[1].document_id, item[1].recipient))
    return [
        {
            "document_id": r.document_id,
            "sender": r.sender,
            "recipient": r.recipient,
            "document_type": r.document_type,
            "sent_seconds": round(r.sent_at, 3),
            "seconds": round(took, 3),
            "measured_to": "completed" if r.completed_at is not None else "arrived",
            "status": r.status,
        }
        for took, r in timed[:count]
    ]


def faults(scenario: Scenario, registry: Registry) -> dict[str, Any]:
    """The scenario's faults as data and as one sentence each."""
    f = scenario.faults
    outages = []
    words = []
    for o in f.outages:
        name = registry[o.node].name if o.node in registry else str(o.node)
        outages.append(
            {"node": str(o.node), "name": name, "start_hours": o.start / 3600.0, "end_hours": o.end / 3600.0}
        )
        words.append(
            f"{name} ({o.node}) was offline for {human_duration(o.end - o.start)}, from hour {o.start / 3600:g} "
            f"to hour {o.end / 3600:g} of the run: it could neither send nor receive."
        )
    if f.loss_rate:
        how = (
            "the sender saw the failure and retried"
            if f.loss_mode == "retry"
            else "the message vanished silently (counted as lost)"
        )
        words.append(f"Each send failed with probability {f.loss_rate:.1%}; {how}.")
    if f.duplicate_rate:
        words.append(f"Each hop delivered twice with probability {f.duplicate_rate:.1%} (the inboxes absorb it).")
    return {
        "outages": outages,
        "loss_rate": f.loss_rate,
        "loss_mode": f.loss_mode,
        "duplicate_rate": f.duplicate_rate,
        "retry_budget": scenario.network.retry_budget,
        "retry_delay_seconds": scenario.network.retry_delay,
        "described": words or ["The scenario had no faults: no outage, no loss, no duplicates."],
    }


def hierarchy(registry: Registry, nodes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group of agencies (tier and kind): how many there are, what they received, breached and when late."""
    out = []
    by_kind: dict[AgencyKind, list[OrganId]] = {}
    for code in registry.codes:
        by_kind.setdefault(registry[code].kind, []).append(code)
    for key, label, tier, kinds in GROUPS:
        codes = [code for kind in kinds for code in by_kind.get(kind, [])]
        if not codes:
            continue
        figures = [nodes.get(str(code), {}) for code in codes]
        received = sum(f.get("received", 0) for f in figures)
        breaches = sum(f.get("breaches", 0) for f in figures)
        out.append(
            {
                "group": key,
                "label": label,
                "tier": tier or str(OrganId.parse(str(codes[0])).tier.label),
                "agencies": len(codes),
                "receiving": sum(1 for f in figures if f.get("received")),
                "received": received,
                "completed": sum(f.get("completed", 0) for f in figures),
                "breaches": breaches,
                "late_agencies": sum(1 for f in figures if f.get("breaches")),
                "late_hours": round(sum(f.get("late_hours", 0.0) for f in figures), 3),
            }
        )
    return out


def extras(
    scenario: Scenario, registry: Registry, records: Iterable[DeliveryRecord], nodes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The keys this module adds to report.json."""
    cal = scenario.calendar
    return {
        "office_hours": f"{int(cal.open_at // 3600):02d}:{int(cal.open_at % 3600 // 60):02d}-"
        f"{int(cal.close_at // 3600):02d}:{int(cal.close_at % 3600 // 60):02d}",
        "slowest": slowest(records),
        "faults": faults(scenario, registry),
        "hierarchy": hierarchy(registry, nodes),
    }
