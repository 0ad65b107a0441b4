"""The SimPy loop: replay a scenario's traffic into a fabric (the real engine, or the model), let clerks work,
and turn what happened into a report.

``simulate(scenario, seed=..., fidelity=...)`` is the library API behind ``docflow simulate``: it builds
the registry, draws the traffic schedule, runs ``simpy.Environment`` until the scenario's end (traffic
window + drain) and returns a ``SimResult`` whose ``report`` is the JSON-ready dict (virtual-time figures;
wall-clock figures apart under ``run``).  Must not import lxml or sqlalchemy.
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

from docflow.bootstrap import load_topology
from docflow.domain.registry import Registry
from docflow.domain.registry_csv import load_csv
from docflow.domain.routing import RoutingPolicy
from docflow.errors import ConfigError
from docflow.sim.clerks import ClerkPool
from docflow.sim.dossiers import report as dossier_report
from docflow.sim.dossiers import start as start_dossiers
from docflow.sim.metrics import Tally, compute
from docflow.sim.scenario import Scenario
from docflow.sim.summary import extras
from docflow.sim.traffic import Dispatch, dispatches

FIDELITIES = ("full", "model")
SCHEMA = "docflow.sim.report/1"

#: progress(virtual seconds done, virtual seconds in all, documents sent so far)
Progress = Callable[[float, float, int], None]


@dataclass(frozen=True, slots=True)
class SimResult:
    """A finished run: the report dict and the registry it ran over."""

    report: dict[str, Any]
    registry: Registry


def load_registry(scenario: Scenario) -> Registry:
    """The scenario's topology: a built-in name or a CSV file (hubs added for the hub policy)."""
    hubs = scenario.policy is RoutingPolicy.HUB
    if scenario.topology.endswith(".csv"):
        path = Path(scenario.topology)
        try:
            with path.open(encoding="utf-8", newline="") as stream:
                return load_csv(stream, source=str(path))
        except OSError as exc:
            raise ConfigError(f"scenario: topology.file {path}: {exc.strerror or exc}") from None
    return load_topology(scenario.topology, with_hubs=hubs)


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    fidelity: str = "full",
    db: str = "sqlite://",
    progress: Progress | None = None,
    registry: Registry | None = None,
) -> SimResult:
    """Run ``scenario`` (seed: the scenario's unless given) and return its report."""
    if fidelity not in FIDELITIES:
        raise ConfigError(f"unknown fidelity {fidelity!r}: expected one of {', '.join(FIDELITIES)}")
    seed = scenario.seed if seed is None else seed
    wall = time.perf_counter()
    cpu = time.process_time()
    registry = registry or load_registry(scenario)
    check_names(scenario, registry)
    plan = dispatches(scenario, registry, seed)
    env = simpy.Environment()
    tally = Tally(scenario, scenario.end)
    if fidelity == "full":
        from docflow.sim.full import EngineFabric

        fabric: Any = EngineFabric(env, scenario, registry, seed, db, tally)
    else:
        from docflow.sim.model import ModelFabric

        fabric = ModelFabric(env, scenario, registry, seed, tally)
    clerks = ClerkPool(env, scenario, registry, seed, fabric.act)
    dossier_traffic = start_dossiers(env, scenario, registry, seed, fabric)  # None without a [dossiers] section
    fabric.on_arrival = clerks.arrived
    sent = [0]
    env.process(_traffic(env, fabric, plan, sent))
    if progress is not None:
        env.process(_progress(env, scenario, progress, sent))
    built = time.perf_counter()
    try:
        env.run(until=scenario.end)
        outcome = fabric.collect()
    finally:
        fabric.close()
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": scenario.name,
        "seed": seed,
        "fidelity": fidelity,
        "topology": Path(scenario.topology).name,
        "agencies": len(registry),
        "policy": scenario.policy.value,
        "mode": "pull" if scenario.pull else "push",
        "start": scenario.calendar.start.isoformat(),
        "duration_hours": round(scenario.duration / 3600.0, 3),
        "end_hours": round(scenario.end / 3600.0, 3),
        "refused_actions": clerks.refused,
    }
    report.update(compute(scenario, outcome, tally, clerks.backlog))
    report.update(extras(scenario, registry, tally.slowest(), report["nodes"]))
    if dossier_traffic is not None:
        report["dossiers"], report["dossier_late_agencies"] = dossier_report(dossier_traffic)
    done = time.perf_counter()
    report["run"] = {
        "wall_seconds": round(done - wall, 3),
        "setup_seconds": round(built - wall, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "deliveries_per_second": round(report["deliveries"] / max(done - built, 1e-9), 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "python": platform.python_version(),
    }
    return SimResult(report, registry)


def check_names(scenario: Scenario, registry: Registry) -> None:
    """Every agency the scenario names must be in its topology; the error names the entry."""
    for outage in scenario.faults.outages:
        if outage.node not in registry:
            raise ConfigError(f"scenario: faults names {outage.node}, which is not in the topology")
    for index, spec in enumerate(scenario.traffic):
        if spec.under is not None and spec.under not in registry:
            raise ConfigError(
                f"scenario: traffic[{index}] ({spec.name}): under = {spec.under}, which is not in the topology"
                f" {Path(scenario.topology).name}"
            )


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _traffic(
    env: simpy.Environment, fabric: Any, plan: Iterable[Dispatch], sent: list[int]
) -> Generator[Any, Any, None]:
    for dispatch in plan:
        if dispatch.at > env.now:
            yield env.timeout(dispatch.at - env.now)
        fabric.send(dispatch)
        sent[0] += 1


def _progress(
    env: simpy.Environment, scenario: Scenario, report: Progress, sent: list[int]
) -> Generator[Any, Any, None]:
    step = max(scenario.end / 200.0, 60.0)
    while True:
        report(env.now, scenario.end, sent[0])
        yield env.timeout(step)
