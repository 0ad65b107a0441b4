"""``docflow simulate SCENARIO.toml``: run a scenario under virtual time and write report.json + report.html.

Options: ``--seed N`` (default: the scenario's), ``--out DIR`` (default ``./sim-out``, checked writable before
the run), ``--fidelity full|model``, ``--set section.key=value`` (repeatable; overrides a scenario value, e.g.
``routing.mode=push``), ``--db URL`` (full fidelity: keep the engine's store there, for ``docflow trace``),
``--quiet`` (no progress), ``--schema`` (print the JSON Schema of scenario files and exit).  Progress goes to
stderr: a bar on a terminal, otherwise a plain line every few seconds; a summary table is printed at the end.
Exit codes: 0 done, 1 the scenario is invalid or the run failed, 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from docflow.cli.db import database_url

#: seconds between two progress lines when stderr is not a terminal
PLAIN_PROGRESS_EVERY = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", metavar="SCENARIO.toml", nargs="?", help="the scenario file (see docs/scenarios.md)"
    )
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
    parser.add_argument(
        "--db",
        metavar="URL",
        type=database_url,
        default=None,
        help="full fidelity: keep the engine's store in this new database (then: docflow trace DOCID --db URL)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress")
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema of scenario files and exit")


def _summary(report: dict[str, Any], json_path: str, html_path: str) -> Any:
    from rich.table import Table

    from docflow.sim.units import human_duration

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
                table.add_row(
                    f"{kind} {path} p50 / p95 / p99",
                    " / ".join(human_duration(figures[p]) for p in ("p50", "p95", "p99")),
                )
    breaches = report["deadline_breaches"]
    checked = report["deadlines_checked"]
    table.add_row(
        "deadline breaches",
        ", ".join(f"{t} {n} of {checked[t]}" for t, n in breaches.items() if n) or "none",
    )
    run = report["run"]
    table.add_row("wall time", f"{human_duration(run['wall_seconds'])} (peak RSS {run['peak_rss_mib']} MiB)")
    table.add_row("report", f"{json_path}\n{html_path}")
    return table


def _check_out(folder: Path) -> None:
    """Refuse an output folder that cannot be written, before spending the run on it."""
    from docflow.errors import ConfigError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".docflow-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write the report into {folder}: {exc.strerror or exc}") from None


def _check_db(url: str | None, fidelity: str) -> None:
    from docflow.errors import ConfigError

    if url is None:
        return
    if fidelity != "full":
        raise ConfigError("--db keeps the engine's store: it needs --fidelity full (the model has no store)")
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url if "://" not in url else None
    if path and os.path.exists(path):
        raise ConfigError(f"--db {url}: the file exists; give a new one (a run's documents would collide)")


class PlainProgress:
    """A progress line every ``every`` wall seconds, for logs and pipes where a bar would not show."""

    def __init__(self, name: str, stream: TextIO, every: float | None = None) -> None:
        self.name, self.stream = name, stream
        self.every = PLAIN_PROGRESS_EVERY if every is None else every
        self.started = self.last = time.monotonic()

    def __call__(self, done: float, total: float, sent: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        share = 100.0 * done / total if total else 100.0
        print(
            f"{self.name}: {done / 3600:.1f} of {total / 3600:.1f} h virtual ({share:.0f} %), "
            f"{sent} documents sent, {now - self.started:.0f} s elapsed",
            file=self.stream,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from docflow.errors import ConfigError
    from docflow.sim import load_scenario, simulate, write_reports
    from docflow.sim.scenario_file import json_schema

    if args.schema:
        print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
        return 0
    if args.scenario is None:
        raise ConfigError("a scenario file is needed (see docs/scenarios.md), or --schema")
    scenario = load_scenario(args.scenario, overrides=tuple(args.overrides))
    _check_db(args.db, args.fidelity)
    _check_out(Path(args.out))
    err = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[hours]:>6.1f} h virtual"),
        TextColumn("{task.fields[sent]} documents"),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet or not err.is_terminal,
        transient=False,
    )
    plain = None if args.quiet or err.is_terminal else PlainProgress(scenario.name, sys.stderr)
    with bar:
        task = bar.add_task(scenario.name, total=scenario.end, hours=0.0, sent=0)

        def report(done: float, total: float, sent: int) -> None:
            bar.update(task, completed=done, hours=done / 3600.0, sent=sent)
            if plain is not None:
                plain(done, total, sent)

        options: dict[str, Any] = {} if args.db is None else {"db": args.db}
        result = simulate(scenario, seed=args.seed, fidelity=args.fidelity, progress=report, **options)
        bar.update(task, completed=scenario.end, hours=scenario.end / 3600.0)
    json_path, html_path = write_reports(result, args.out)
    Console(file=sys.stdout, width=120).print(_summary(result.report, str(json_path), str(html_path)))
    if args.db is not None:
        print(f"store kept in {args.db}: docflow trace DOCUMENT_ID --db {args.db}")
    return 0
