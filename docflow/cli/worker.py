"""``docflow worker --db URL --transport URL (--agencies CODE,... | --under ORGID)``: run the engine for some agencies.

A long-running process: for each of its agencies in turn it runs one unit of work of the engine
(``docflow.services.serve_once``: apply what the agency's queue holds, send what that produced, relay its due
outbox rows, retries included) and logs one line per batch that moved something.  On SIGTERM or SIGINT it
finishes the unit of work it is in and exits 0.  Several workers may share one store and transport (on
PostgreSQL the outbox is claimed with SKIP LOCKED and the inbox makes a redelivery harmless).
With ``--keys DIR`` (a key directory of ``docflow keys``) a document that reaches its final recipient here must
carry a signature that verifies with its sender's certificate in DIR, else it is quarantined and its sender gets
a 02 (rejected) status; ``--allow-unsigned`` lets unsigned documents through while signed ones are still checked.
Thin: the work is in ``docflow.services`` (imported inside ``run``).  Must not import sqlalchemy or lxml.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from docflow.cli import signatures

if TYPE_CHECKING:
    from docflow.domain.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", required=True, help="the shared database URL")
    parser.add_argument("--transport", metavar="URL", required=True, help="the shared transport, e.g. file:///spool")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--agencies", metavar="CODE,...", help="comma-separated OrganIds this worker serves")
    who.add_argument("--under", metavar="ORGID", help="this agency and every agency below it in the registry")
    parser.add_argument("--registry", metavar="NAME|FILE", default="tien_giang_2017", help="topology or CSV file")
    parser.add_argument("--policy", default="hierarchical", help="routing policy (hierarchical, direct, hub)")
    parser.add_argument("--poll", type=float, default=0.5, metavar="SECONDS", help="pause when nothing moved")
    parser.add_argument("--max-passes", type=int, default=0, help="stop after this many passes (0: until SIGTERM)")
    signatures.add_arguments(parser, "document delivered here")


def agencies_of(registry: Registry, agencies: str | None, under: str | None) -> list[str]:
    """The agencies a worker serves, checked against the registry."""
    from docflow.domain.ids import organ_id
    from docflow.errors import ConfigError

    if under:
        top = organ_id(under)
        if top not in registry:
            raise ConfigError(f"--under {under}: not in the registry")
        codes = [top, *registry.descendants(top)]
    else:
        codes = [organ_id(code.strip()) for code in (agencies or "").split(",") if code.strip()]
        unknown = [str(code) for code in codes if code not in registry]
        if unknown:
            raise ConfigError(f"--agencies: not in the registry: {', '.join(unknown)}")
    if not codes:
        raise ConfigError("a worker needs at least one agency")
    return [str(code) for code in codes]


def run(args: argparse.Namespace) -> int:
    from docflow.axis.packages import load_registry
    from docflow.bootstrap import build_network
    from docflow.services import serve_once

    registry = load_registry(args.registry)
    nodes = agencies_of(registry, args.agencies, args.under)
    keys, verify = signatures.load(args)
    network = build_network(
        db=args.db, transport=args.transport, registry=registry, policy=args.policy, keys=keys, verify=verify
    )
    ctx = network.ctx
    stopping = _Stop()
    restore = _on_signals(stopping)
    checks = "" if keys is None else f", signatures checked against {keys.directory}"
    print(f"docflow worker: serving {len(nodes)} agencies over {args.transport}{checks}", flush=True)
    passes = 0
    try:
        while not stopping.requested:
            moved = 0
            started = time.monotonic()
            for node in nodes:
                if stopping.requested:
                    break
                activity = serve_once(ctx, node)  # one unit of work; a signal only sets the flag
                if activity.moved or activity.dead:
                    moved += activity.moved
                    intake = activity.intake
                    print(
                        f"docflow worker: {node} received {intake.received} applied {intake.applied} "
                        f"forwarded {intake.forwarded} duplicates {intake.duplicates} "
                        f"quarantined {intake.quarantined} sent {activity.sent} failed {activity.send_failures} "
                        f"dead {activity.dead} in {time.monotonic() - started:.3f}s",
                        flush=True,
                    )
            passes += 1
            if args.max_passes and passes >= args.max_passes:
                break
            if not moved:
                stopping.pause(args.poll)
    finally:
        restore()
        ctx.transport.close()
        ctx.store.close()
    print(f"docflow worker: stopped after {passes} passes", flush=True)
    return 0


class _Stop:
    """The stop flag a signal sets.  The handler only assigns an attribute: it runs in the main thread between
    two bytecodes, so taking a lock there (``threading.Event.set``) deadlocks when the loop holds the same lock
    inside ``Event.wait`` (CPython issue 126434; a worker once ignored SIGTERM for 30 s that way)."""

    __slots__ = ("requested",)

    #: the longest a pause sleeps before it looks at the flag again
    SLICE = 0.1

    def __init__(self) -> None:
        self.requested = False

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` or until a stop is requested, whichever comes first (within ``SLICE``)."""
        end = time.monotonic() + seconds
        while not self.requested:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, self.SLICE))


def _on_signals(stop: _Stop) -> Callable[[], None]:
    """Make SIGTERM and SIGINT set the stop flag; returns a function restoring the previous handlers."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
