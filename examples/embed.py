"""Use the simulator as a library: build a scenario in code, run it at both fidelities, compare.

.venv/bin/python examples/embed.py [OUT_DIR]
"""

from __future__ import annotations

import sys

from docflow.sim import parse_scenario, simulate, write_reports

SCENARIO = {
    "scenario": {"name": "embedded: a district and its communes", "seed": 1, "duration_hours": 24, "drain_hours": 24},
    "topology": {"name": "tien_giang_2017"},
    "network": {"latency_seconds": 2.0, "jitter_seconds": 2.0},
    "deadlines": {"directive": 8, "report": 8},
    "traffic": [
        {"kind": "directive", "from": "district", "to": "commune", "under": "000.00.50.H58", "rate_per_hour": 0.5},
        {"kind": "report", "from": "commune", "to": "district", "under": "000.00.50.H58", "rate_per_hour": 0.05},
    ],
}


def main(out_dir: str = "sim-out/embed") -> None:
    scenario = parse_scenario(SCENARIO)
    full = simulate(scenario, fidelity="full")
    model = simulate(scenario, fidelity="model")
    write_reports(full, out_dir)
    for result in (full, model):
        r = result.report
        p95 = r["latency"]["completion"].get("district→commune", {}).get("p95", float("nan"))
        print(
            f"{r['fidelity']:>5}: {r['deliveries']} deliveries, {r['delivered']} delivered, "
            f"completion p95 {p95 / 3600:.1f} h, breaches {sum(r['deadline_breaches'].values())}, "
            f"{r['run']['wall_seconds']} s"
        )
    print(f"report in {out_dir}/report.html")


if __name__ == "__main__":
    main(*sys.argv[1:2])
