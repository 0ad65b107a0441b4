"""``docflow simulate SCENARIO.toml``: run a scenario under virtual time and write report.json + report.html.

Options: ``--seed N`` (default: the scenario's), ``--out DIR`` (default ``./sim-out``), ``--fidelity full|model``,
``--set section.key=value`` (repeatable; overrides a scenario value, e.g. ``routing.mode=push``),
``--quiet`` (no progress bar).  A progress bar runs on stderr while it simulates; a summary table is printed
at the end.  Exit codes: 0 done, 1 the scenario is invalid or the run failed, 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO.toml", help="the scenario file (see docs/scenarios.md)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    parser.add_argument("--out", default="sim-out", metavar="DIR", help="output folder (default ./sim-out)")
    parser.add_argument(
        "--fidelity",
        choices=("full", "model"),
        default="full",
        help="full: the real engine (default); model: the domain code without XML, store or transport",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. routing.mode=push (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _summary(report: dict[str, Any], json_path: str, html_path: str) -> Any:
    from rich.table import Table

    table = Table(title=f"{report['scenario']} — seed {report['seed']}, {report['fidelity']} fidelity")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in (
        "documents_sent",
        "deliveries",
        "delivered",
        "dead_lettered",
        "lost",
        "in_flight",
        "duplicates",
        "completed",
        "rejected",
        "backlog_peak",
    ):
        table.add_row(key, str(report[key]))
    for kind in ("delivery", "completion"):
        for path, figures in report["latency"][kind].items():
            if figures["count"]:
                table.add_row(f"{kind} {path} p50/p95/p99", "{p50:.0f}/{p95:.0f}/{p99:.0f} s".format(**figures))
    breaches = report["deadline_breaches"]
    table.add_row("deadline breaches", ", ".join(f"{t} {n}" for t, n in breaches.items() if n) or "none")
    run = report["run"]
    table.add_row("wall time", f"{run['wall_seconds']} s (peak RSS {run['peak_rss_mib']} MiB)")
    table.add_row("report", f"{json_path}\n{html_path}")
    return table


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from docflow.sim import load_scenario, simulate, write_reports

    scenario = load_scenario(args.scenario, overrides=tuple(args.overrides))
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[hours]:>6.1f} h virtual"),
        TextColumn("{task.fields[sent]} documents"),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet or not err.is_terminal,
        transient=False,
    )
    with progress:
        task = progress.add_task(scenario.name, total=scenario.end, hours=0.0, sent=0)

        def report(done: float, total: float, sent: int) -> None:
            progress.update(task, completed=done, hours=done / 3600.0, sent=sent)

        result = simulate(scenario, seed=args.seed, fidelity=args.fidelity, progress=report)
        progress.update(task, completed=scenario.end, hours=scenario.end / 3600.0)
    json_path, html_path = write_reports(result, args.out)
    Console(file=sys.stdout, width=120).print(_summary(result.report, str(json_path), str(html_path)))
    return 0
