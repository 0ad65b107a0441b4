"""``docflow serve``: the national axis API over HTTP (Starlette on uvicorn), backed by docflow's engine and store.

With no arguments it serves the Tiền Giang network as the axis on 127.0.0.1:8080 with ``./docflow.db``; on
first run it writes ``./docflow-credentials.toml`` (a random secret for every agency) and prints where it is
and a ready-to-paste client command.  With ``--keys DIR`` every document sent in must carry a signature that
verifies with its sender's certificate in DIR, else ``sendEdoc`` refuses it with 209 (``--allow-unsigned`` lets
unsigned ones through; signed ones must still verify).  The database is created or upgraded on start.  Thin:
the work is in ``docflow.axis`` (imported inside ``run``).  Must not import sqlalchemy or lxml.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from docflow.cli import signatures

DEFAULT_CREDENTIALS = "docflow-credentials.toml"
DEFAULT_DB = "sqlite:///docflow.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    parser.add_argument(
        "--registry", metavar="NAME|FILE", default="tien_giang_2017", help="topology name or registry CSV file"
    )
    parser.add_argument(
        "--credentials",
        metavar="FILE",
        default=None,
        help=f"systems allowed to call (TOML); default ./{DEFAULT_CREDENTIALS}, generated on first run",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--base-path", default="", metavar="PATH", help="URL prefix, e.g. /XrdAdapter/adapter")
    parser.add_argument("--max-body", type=int, default=20 * 1024 * 1024, metavar="BYTES", help="sendEdoc size limit")
    parser.add_argument(
        "--max-clock-skew",
        type=float,
        default=None,
        metavar="SECONDS",
        help="refuse calls whose timestamp is further from the server's clock (default: no check)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="CALLS",
        help="calls per second each system may make (default: unlimited); over it a call is refused with 108",
    )
    parser.add_argument("--rate-burst", type=int, default=0, metavar="N", help="calls a system may make at once")
    parser.add_argument(
        "--spool",
        metavar="DIR",
        default=None,
        help="folder of the engine's internal queues (default: next to a SQLite file, else ./docflow-spool)",
    )
    parser.add_argument("--node", metavar="ORGID", default=None, help="this server's own code (default 00.00.W00)")
    parser.add_argument(
        "--upstream", metavar="URL", default=None, help="be a hub: forward what is addressed outside to this axis"
    )
    parser.add_argument(
        "--upstream-secret-file",
        metavar="FILE",
        default=None,
        help="credentials TOML holding the secret of system --node at the upstream (default $DOCFLOW_AXIS_SECRET)",
    )
    parser.add_argument("--poll", type=float, default=900.0, metavar="SECONDS", help="hub: pull interval (900)")
    parser.add_argument(
        "--engine-interval", type=float, default=1.0, metavar="SECONDS", help="engine pass interval (default 1)"
    )
    parser.add_argument(
        "--operators",
        metavar="FILE",
        default=None,
        help="serve the operator console at /console to the operators in FILE (TOML; docflow operator FILE NAME)",
    )
    parser.add_argument(
        "--overdue-hours",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="console: a delivery unfinished and unmoved this long is overdue (default 24)",
    )
    signatures.add_arguments(parser, "document sent in")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from docflow.axis import credentials as creds
    from docflow.axis.app import ServerSettings, create_app
    from docflow.axis.backend import AxisBackend
    from docflow.axis.client import AxisClient
    from docflow.axis.credentials import secret_for
    from docflow.axis.hub import UpstreamPull
    from docflow.axis.packages import load_registry
    from docflow.domain.routing import NATIONAL_AXIS
    from docflow.errors import ConfigError

    registry = load_registry(args.registry)
    operators = _operators(args)  # before anything is opened: a bad operators file stops here
    keys, verify = signatures.load(args)  # so does a key directory that is not there
    path = Path(args.credentials or DEFAULT_CREDENTIALS)
    if args.credentials is None and not path.exists():
        made = creds.generate(path, [str(agency.code) for agency in registry])
        example = next(iter(made.systems))
        print(f"docflow serve: wrote {path.resolve()} with a secret for each of {len(made.systems)} agencies")
        print(
            f"  try: docflow axis http://{args.host}:{args.port}{args.base_path} --system {example} "
            f"--secret-file {path} agencies"
        )
    credentials = creds.load(path)
    node = args.node or str(NATIONAL_AXIS)
    upstream = None
    if args.upstream:
        if not args.node:
            raise ConfigError("--upstream needs --node ORGID: the system this hub calls the upstream axis as")
        upstream = AxisClient(args.upstream, node, secret_for(node, args.upstream_secret_file))
    backend = AxisBackend.open(
        db=args.db,
        registry=registry,
        credentials=credentials,
        node=node,
        upstream=upstream,
        spool=args.spool or default_spool(args.db),
        keys=keys,
        verify=verify,
    )
    puller = UpstreamPull(backend, upstream, poll=args.poll) if upstream is not None else None
    settings = ServerSettings(
        base_path=args.base_path,
        max_body=args.max_body,
        max_clock_skew=args.max_clock_skew,
        rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
    )
    routes = _console(args, backend, operators) if operators is not None else []
    app = create_app(backend, settings, routes)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, lifespan="off")
    server = uvicorn.Server(config)
    checks = "" if keys is None else f", signatures checked against {keys.directory}"
    print(
        f"docflow serve: {node} on http://{args.host}:{args.port}{settings.base_path} "
        f"({len(credentials.systems)} systems, store {backend.store.url}{checks})",
        flush=True,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; answering it with a no-op handler
    # lets the process finish its own clean-up and exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    if routes:
        print(f"docflow serve: operator console on http://{args.host}:{args.port}/console", flush=True)
    backend.start_pump(args.engine_interval)
    if puller is not None:
        puller.start()
        print(f"docflow serve: hub of {args.upstream}, pulling every {args.poll:g} s", flush=True)
    try:
        server.run()
    finally:
        if puller is not None:
            puller.stop()
        backend.close()
    sys.stdout.flush()
    return 0


def _operators(args: argparse.Namespace) -> Any:
    """The console's operators (``None`` without ``--operators``); ``ConfigError`` for a bad file or setting."""
    if not args.operators:
        return None
    from docflow.console import operators
    from docflow.errors import ConfigError

    if args.overdue_hours <= 0:
        raise ConfigError(f"--overdue-hours must be positive, not {args.overdue_hours:g}")
    return operators.load(args.operators)


def _console(args: argparse.Namespace, backend: Any, operators: Any) -> list[Any]:
    """The operator console's routes, on the backend's network and under its lock."""
    from datetime import timedelta

    from docflow.console.service import Console
    from docflow.console.web import console_routes

    console = Console(backend.network, backend.lock, overdue_after=timedelta(hours=args.overdue_hours))
    return console_routes(console, operators)


def default_spool(db: str) -> str:
    """The engine's queue folder: beside a SQLite database file (``x.db`` -> ``x.db-spool``), else ./docflow-spool."""
    prefix = "sqlite:///"
    if db.startswith(prefix) and len(db) > len(prefix) and ":memory:" not in db:
        return db[len(prefix) :] + "-spool"
    return "docflow-spool"


def _stopped(signum: int, frame: object) -> None:
    """The server has already stopped when this runs; nothing more to do."""
