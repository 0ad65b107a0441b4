"""Simulation of the four tiers: the real engine (or a fast model of it) under SimPy's virtual clock.

Library API: ``load_scenario(path)`` → ``Scenario``; ``simulate(scenario, seed=..., fidelity="full"|"model")``
→ ``SimResult`` (``.report`` is the dict written as report.json); ``write_reports(result, out_dir)``.
Importing this package imports simpy but opens nothing.
"""

from docflow.sim.driver import FIDELITIES, SimResult, simulate
from docflow.sim.report import to_json, without_run, write_reports
from docflow.sim.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "FIDELITIES",
    "Scenario",
    "SimResult",
    "load_scenario",
    "parse_scenario",
    "simulate",
    "to_json",
    "without_run",
    "write_reports",
]
