"""``docflow trace DOCUMENT_ID --db URL [--recipient ORGAN_ID]``: print a document's journey as a timeline.

Each line: the (virtual, for a simulation's store) timestamp, the time since the previous step and since the
first, the node that recorded it and what happened.  ``--recipient`` keeps the steps of one delivery: those
recorded at that agency, addressed to it, or reporting its status.  Thin: the steps come from
``docflow.services.network.trace_of`` (imported inside ``run``).  Exit 0 when steps are printed, 1 when the
database knows nothing of the document (or of that recipient for it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from docflow.cli.db import DB_HELP, database_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document_id", metavar="DOCUMENT_ID", help="the edXML DocumentId, e.g. '000.00.00.H58,...'")
    parser.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)
    parser.add_argument(
        "--recipient", metavar="ORGAN_ID", default=None, help="only the journey to this recipient (an OrganId)"
    )
    parser.add_argument("--details", action="store_true", help="also print each step's recorded detail")


def concerns(step: Any, recipient: str) -> bool:
    """Whether a recorded step belongs to the delivery to ``recipient`` (steps naming no agency concern all)."""
    event = step.event
    came_from = getattr(event, "came_from", "") or getattr(event, "sender", "")
    return recipient in (step.recipient, step.node, came_from) or not step.recipient


def describe(step: Any) -> str:
    """What a step says, in words (the typed event's own description): ``sent to X``, ``status 03 …``."""
    return step.event.describe() if step.event is not None else step.kind


def elapsed(seconds: float) -> str:
    from docflow.sim.units import human_duration

    return "+" + human_duration(seconds)


def timeline(steps: Sequence[Any]) -> list[str]:
    """One line per step: timestamp, time since the previous step, since the first, node, what happened."""
    first: datetime = steps[0].at
    previous = first
    lines = [f"{'virtual time':<19}  {'since prev':>13}  {'since sent':>13}  {'node':<14}  step"]
    for step in steps:
        since_prev = elapsed((step.at - previous).total_seconds()) if step is not steps[0] else "—"
        since_first = elapsed((step.at - first).total_seconds())
        lines.append(
            f"{step.at:%Y-%m-%d %H:%M:%S}  {since_prev:>13}  {since_first:>13}  {step.node:<14}  {describe(step)}"
        )
        previous = step.at
    return lines


def run(args: argparse.Namespace) -> int:
    from docflow.domain.ids import OrganId
    from docflow.errors import StoreError
    from docflow.services.network import trace_of
    from docflow.sim.units import human_duration
    from docflow.store import open_store
    from docflow.store.engine import missing_sqlite_file

    recipient = str(OrganId.parse(args.recipient)) if args.recipient else None
    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    with open_store(args.db, create=False) as store:
        steps = trace_of(store, args.document_id)
    if recipient is not None:
        steps = [step for step in steps if concerns(step, recipient)]
        if not any(recipient in (step.recipient, step.node) for step in steps):
            print(f"no recorded step for {args.document_id} to {recipient}")
            return 1
    if not steps:
        print(f"no recorded step for {args.document_id}")
        return 1
    span = human_duration((steps[-1].at - steps[0].at).total_seconds())
    to = f" to {recipient}" if recipient else ""
    print(f"{args.document_id}{to}: {len(steps)} steps over {span}")
    for line, step in zip(timeline(steps), [None, *steps], strict=True):
        print(line)
        if args.details and step is not None and step.detail:
            print(" " * 67 + ", ".join(f"{k}={v}" for k, v in sorted(step.detail.items())))
    return 0
