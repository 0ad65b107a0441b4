"""Tiny scenarios for the simulator tests: Tiền Giang's topology, a few documents, seconds to run."""

from __future__ import annotations

import copy
from typing import Any

from docflow.sim import Scenario, parse_scenario

TINY: dict[str, Any] = {
    "scenario": {"name": "tiny", "seed": 7, "duration_hours": 24, "drain_hours": 24},
    "topology": {"name": "tien_giang_2017"},
    "network": {"latency_seconds": 2.0, "jitter_seconds": 3.0},
    "clerks": {"count": 2},
    "deadlines": {"directive": 8, "report": 16},
    "traffic": [
        {"kind": "directive", "from": "province", "to": "district", "rate_per_hour": 0.4},
        {"kind": "report", "from": "commune", "to": "district", "under": "000.00.50.H58", "rate_per_hour": 0.02},
    ],
}


def tiny(**sections: dict[str, Any]) -> Scenario:
    """The tiny scenario with some sections merged in (``faults=...``, ``routing=...``)."""
    data = copy.deepcopy(TINY)
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(data.get(name), dict):
            data[name].update(values)
        else:
            data[name] = values
    return parse_scenario(data)
