"""Claim → apply → acknowledge: the one loop that takes messages off the transport into the store.

``drain`` applies what was claimed for one or many nodes in ONE unit of work, commits, and only then
acknowledges the transport; if anything fails before the commit every claim is given back (nack), so a crash
or an error means a redelivery, which the inbox absorbs.  The unit of work is tried first without savepoints
(what almost every batch needs); if it fails it is rolled back and done again with a savepoint per node and,
inside a node that fails, per message (``receiver.apply_safely``), so one bad message is quarantined alone.
``Network.step`` and a single agency's worker (``serve_once``) both call it.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from docflow.errors import DocflowError
from docflow.services.context import Context
from docflow.services.receiver import Intake, apply_batch, apply_safely
from docflow.services.work import Work, unit
from docflow.store import OutboxMessage
from docflow.transports.base import Delivery


def claim(ctx: Context, nodes: Sequence[str]) -> dict[str, list[Delivery]]:
    """Up to a batch of messages from each node's queue (nodes with nothing are left out)."""
    claims: dict[str, list[Delivery]] = {}
    for node in nodes:
        deliveries = ctx.transport.receive(node, limit=ctx.settings.batch)
        if deliveries:
            claims[node] = deliveries
    return claims


def drain(
    ctx: Context, claims: Mapping[str, list[Delivery]], *, first: Callable[[Work], None] | None = None
) -> tuple[Intake, list[OutboxMessage]]:
    """Apply ``claims`` in one unit of work, then acknowledge them; returns what was done and the outbox rows
    it wrote, already leased for the caller to send at once.  ``first`` runs at the start of the unit of work
    (the network records its last sends there); it runs again if the unit of work is done again."""
    intake = Intake()
    if not claims:
        return intake, []
    try:
        try:
            with unit(ctx, leased=True) as work:
                if first is not None:
                    first(work)
                for node, deliveries in claims.items():
                    intake.add(apply_batch(work, node, deliveries))
        except DocflowError:  # rolled back: again, each node and then each message isolated in a savepoint
            intake = Intake()
            with unit(ctx, leased=True) as work:
                if first is not None:
                    first(work)
                for node, deliveries in claims.items():
                    intake.add(apply_safely(work, node, deliveries))
    except BaseException:
        for deliveries in claims.values():
            for delivery in deliveries:
                ctx.transport.nack(delivery)
        raise
    for deliveries in claims.values():
        for delivery in deliveries:
            ctx.transport.ack(delivery)
    return intake, work.written
