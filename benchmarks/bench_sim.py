"""Simulator benchmarks: what full fidelity adds on top of the engine it drives, and what model fidelity saves.

The scenario is one district (Mỹ Tho, ``000.00.50.H58``) and its 17 communes over one working day: reports
up from the communes, directives down from the district, no faults, clerks completing every document within
the two-day drain — 20 documents, 36 deliveries (seed 1).

- ``sim_full_per_delivery``: ``simulate(..., fidelity="full")`` against the same engine work done without the
  simulator: a fresh network built as ``docflow.sim.full.EngineFabric`` builds it (a SQLite file store in a
  temporary folder with fresh audit keys, ``Scratch``; an in-memory broker on the scenario's ``ManualClock``;
  the scenario's registry, policy and retry settings), the same documents sent over the same sender → recipients
  pairs (the scenario's own traffic schedule for the same seed), run until idle, every received document taken
  through accept, assign, start and complete with the ``Node`` API, run until idle.  Both build their own
  network per call; the setup checks that both send the same number of messages and complete every delivery.
  Figures are per delivery.
- ``sim_model_speedup``: ``fidelity="model"`` against ``fidelity="full"`` on the same scenario (about a
  second at full fidelity): the ratio is model / full, so 0.1 means model fidelity is ten times faster.
- ``sim_national_cut``: a cut of ``examples/national_full_day.toml`` (every stream's rate divided by 3,000: the
  whole country's topology and the day's mix of streams in all four tiers, ~65 documents, ~80 deliveries) at
  full fidelity against the same engine work without the simulator (``run_engine``), per delivery, each run
  built afresh (ABBA, minimum of each); the note gives both in deliveries per second.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness import Case, Figure, Timing, benchmark, measure_fresh, measured

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.services import Settings
from docflow.sim import Scenario, parse_scenario, simulate
from docflow.sim.driver import load_registry
from docflow.sim.full import Scratch
from docflow.sim.traffic import Dispatch, schedule

DISTRICT = "000.00.50.H58"
SEED = 1
CLERK_ACTIONS = ("accept", "assign", "start", "complete")

SCENARIO: dict[str, Any] = {
    "scenario": {"name": "bench-district-day", "seed": SEED, "duration_hours": 24, "drain_hours": 48},
    "topology": {"name": "tien_giang_2017"},
    "routing": {"policy": "hierarchical"},
    "network": {"latency_seconds": 1.0},
    "clerks": {"count": 2, "accept_minutes": 5, "assign_minutes": 5, "start_minutes": 10, "complete_minutes": 30},
    "traffic": [
        {"kind": "directive", "from": "district", "to": "commune", "under": DISTRICT, "rate_per_hour": 0.1},
        {"kind": "report", "from": "commune", "to": "district", "under": DISTRICT, "rate_per_hour": 0.1},
    ],
}


def scenario() -> Scenario:
    """The benchmark scenario (parsed afresh: ``Scenario`` values are immutable, but callers may not know)."""
    return parse_scenario(SCENARIO)


def run_engine(scene: Scenario, plan: list[Dispatch]) -> tuple[int, int]:
    """The simulator's engine work without the simulator; returns (messages sent, clerk actions done).

    The store is the one the simulator makes when none is named (``Scratch``: a SQLite file in a temporary
    folder, with fresh audit keys beside it), so the two differ by the simulator alone."""
    with Scratch() as scratch:
        return _run_engine(scene, plan, scratch.db)


def _run_engine(scene: Scenario, plan: list[Dispatch], db: str) -> tuple[int, int]:
    net = build_network(
        db=db,
        transport="memory://",
        registry=load_registry(scene),
        policy=scene.policy,
        clock=ManualClock(scene.calendar.start),
        settings=Settings(retry_budget=scene.network.retry_budget, retry_delay=scene.network.retry_delay),
    )
    try:
        sent: list[tuple[Dispatch, str]] = []
        for dispatch in plan:
            node = net.node(dispatch.sender)
            document_id = node.send(recipients=list(dispatch.recipients), subject=dispatch.subject, code=dispatch.code)
            sent.append((dispatch, document_id))
        messages = net.run_until_idle().sent
        actions = 0
        for dispatch, document_id in sent:
            for recipient in dispatch.recipients:
                node = net.node(recipient)
                for action in CLERK_ACTIONS:
                    getattr(node, action)(document_id)
                    actions += 1
        messages += net.run_until_idle().sent
        return messages, actions
    finally:
        net.ctx.store.close()
        net.ctx.transport.close()


def _full(scene: Scenario) -> dict[str, Any]:
    report = simulate(scene, fidelity="full").report
    if report["completed"] != report["deliveries"]:
        raise AssertionError(f"full run completed {report['completed']} of {report['deliveries']} deliveries")
    return report


@benchmark("sim_full_per_delivery", target=2.0)
def sim_full_per_delivery() -> Case:
    """per delivery: simulate(full) on one district's day vs the same sends + clerk actions on a bare network."""
    scene = scenario()
    plan = schedule(scene, load_registry(scene), SEED)
    deliveries = sum(len(d.recipients) for d in plan)
    report = _full(scene)
    if report["deliveries"] != deliveries or report["documents_sent"] != len(plan):
        raise AssertionError(f"simulator sent {report['documents_sent']} documents, the schedule has {len(plan)}")
    messages, actions = run_engine(scene, plan)
    if messages != report["messages_sent"] or actions != deliveries * len(CLERK_ACTIONS):
        raise AssertionError(f"floor sent {messages} messages, the simulator {report['messages_sent']}")
    return Case(subject=lambda: _full(scene), floor=lambda: run_engine(scene, plan), ops=deliveries)


@benchmark("sim_model_speedup", target=0.1)
def sim_model_speedup() -> Case:
    """model / full fidelity on one district's day (<= 0.1: model is at least ten times faster)."""
    scene = scenario()
    full = _full(scene)
    model = simulate(scene, fidelity="model").report
    for key in ("documents_sent", "deliveries", "delivered", "completed"):
        if model[key] != full[key]:
            raise AssertionError(f"model and full disagree on {key}: {model[key]} != {full[key]}")
    return Case(subject=lambda: simulate(scene, fidelity="model"), floor=lambda: _full(scene))


NATIONAL = Path(__file__).resolve().parents[1] / "examples" / "national_full_day.toml"
CUT = 3_000


def national_cut() -> Scenario:
    """``national_full_day.toml``, every rate divided by ``CUT``, two days to drain (every delivery completes)."""
    data = tomllib.loads(NATIONAL.read_text(encoding="utf-8"))
    for stream in data["traffic"]:
        stream["rate_per_hour"] = stream["rate_per_hour"] / CUT
    data["scenario"]["drain_hours"] = 48
    data["scenario"]["name"] = f"{data['scenario']['name']} (cut: rates / {CUT:,})"
    return parse_scenario(data)


@measured("sim_national_cut", target=2.0)
def sim_national_cut(timing: Timing) -> Figure:
    """per delivery: simulate(full) on a cut of the national day vs the same work on a bare network."""
    scene = national_cut()
    plan = schedule(scene, load_registry(scene), scene.seed)
    deliveries = sum(len(d.recipients) for d in plan)
    reports: list[dict[str, Any]] = []
    floors: list[tuple[int, int]] = []
    value, floor = measure_fresh(
        lambda: lambda: reports.append(_full(scene)),
        lambda: lambda: floors.append(run_engine(scene, plan)),
        1 if timing.quick else 3,
    )
    report = reports[0]
    if report["deliveries"] != deliveries or floors[0][0] != report["messages_sent"]:
        raise AssertionError(f"simulator: {report['deliveries']} deliveries, {report['messages_sent']} messages; "
                             f"floor: {deliveries} deliveries, {floors[0][0]} messages")  # fmt: skip
    note = (
        f"{len(plan)} documents, {deliveries} deliveries over {scene.calendar.start:%Y-%m-%d}; "
        f"simulator {deliveries / value * 1e6:.0f} deliveries/s, engine alone {deliveries / floor * 1e6:.0f}"
    )
    return Figure(value / deliveries, floor / deliveries, "us/delivery", note)
