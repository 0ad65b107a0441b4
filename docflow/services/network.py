"""``Network`` and ``Node``: the service layer's face for embedding docflow.

A ``Network`` runs many nodes over one store and one transport (in one process: tests, the simulator, a
provincial hub serving its agencies); a ``Node`` is one agency's handle.  ``step()`` relays every outbox
with work and drains every queue with work once; ``run_until_idle()`` repeats until nothing moves.
Which nodes have work is tracked as messages move, so a round costs what moved, not the size of the
country.  ``recover()`` rebuilds that knowledge after a restart from the store and the transport.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from docflow.domain.envelope import Business, BusinessDocType, Code, DocumentType, Envelope, Priority
from docflow.domain.ids import OrganId, organ_id
from docflow.errors import DocflowError
from docflow.services.context import Context
from docflow.services.operations import act, amend, answer, draft, recall, send
from docflow.services.receiver import Intake, Pending, apply_safely, flush, process_inbox
from docflow.services.relay import Failure, Push, dispatch, lease, relay, settle
from docflow.store import Amendment, Delivery, Inbound, OutboxMessage, QuarantineEntry, Repository, Store


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One recorded step of a document's journey."""

    at: datetime
    node: str
    kind: str  # sent, forwarded, arrived, status, accept, recall, quarantined, dead, ...
    recipient: str = ""
    status: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        status = f" {self.status}" if self.status else ""
        target = f" → {self.recipient}" if self.recipient else ""
        return f"{self.at:%Y/%m/%d %H:%M:%S}  {self.node:<14} {self.kind}{status}{target}"


def trace_of(store: Store, document_id: str) -> list[TraceStep]:
    """The recorded steps of ``document_id`` in a store, by time (appending order breaks ties)."""
    with store.snapshot() as repo:
        events = repo.events_for(document_id)
    steps = [TraceStep(e.at, e.node, e.kind, e.recipient, e.status, dict(e.detail)) for e in events]
    return sorted(steps, key=lambda step: step.at)


@dataclass(slots=True)
class Activity:
    """Totals of what ``step`` / ``run_until_idle`` moved."""

    rounds: int = 0
    sent: int = 0
    send_failures: int = 0
    dead: int = 0
    intake: Intake = field(default_factory=Intake)

    @property
    def moved(self) -> int:
        return self.sent + self.intake.received + self.send_failures


class Network:
    """Many nodes over one store and one transport."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._outbox: set[str] = set()  # nodes whose outbox may hold due rows (woken retries, recovery)
        self._inbox: set[str] = set()  # nodes whose queue may hold messages
        self._ready: list[OutboxMessage] = []  # rows operations just committed: sent at the next step
        self._sent: list[OutboxMessage] = []  # handed to the transport, not yet recorded as sent
        self._failed: list[Failure] = []  # refused by the transport, not yet recorded
        ctx.on_queued = self._ready.extend

    def node(self, code: OrganId | str) -> Node:
        """The handle of one agency (it must be in the registry)."""
        oid = organ_id(code)
        if oid not in self.ctx.registry:
            raise DocflowError(f"{oid} is not in the registry")
        return Node(self, str(oid))

    def step(self) -> Activity:
        """One round: send what operations queued, relay every outbox with due rows, drain every queue once.

        A round costs a few commits however many nodes moved: one to claim woken outboxes, one to apply
        everything that arrived (a savepoint per node).  What was handed to the transport is recorded as sent
        at the start of the next unit of work (or by ``settle``) — until then a crash only means the rows are
        sent again, which the receivers' inboxes absorb.
        """
        ctx = self.ctx
        activity = Activity(rounds=1)
        ready, self._ready[:] = list(self._ready), []
        for node, queued in _by_node(ready).items():  # not claimed in the store: count the attempt here
            self._dispatch(node, [replace(row, attempts=row.attempts + 1) for row in queued], activity)
        if self._outbox:
            claimed_rows: dict[str, list[OutboxMessage]] = {}
            with ctx.store.unit_of_work() as repo:
                self._settle(repo, activity)  # first, so what was just sent is not claimed again
                now = ctx.clock.now()
                for node in sorted(self._outbox):
                    claimed = repo.claim_outbox(node, limit=ctx.settings.batch, now=now, lease=lease(ctx))
                    if claimed:
                        claimed_rows[node] = claimed
            # An outbox that gave less than a full batch is drained: forget it until it has work again.
            self._outbox = {node for node, claimed in claimed_rows.items() if len(claimed) >= ctx.settings.batch}
            for node, claimed in claimed_rows.items():
                self._dispatch(node, claimed, activity)
        if self._inbox:
            claims = {}
            for node in sorted(self._inbox):
                deliveries = ctx.transport.receive(node, limit=ctx.settings.batch)
                if deliveries:
                    claims[node] = deliveries
            # A queue that gave nothing may still hold messages not visible yet (latency, a lapsed claim
            # coming back): keep watching it while the transport says anything is pending there.
            self._inbox = {n for n in self._inbox if n in claims or ctx.transport.pending(n)}
            pending = Pending()
            rows: list[OutboxMessage] = []
            try:
                if claims:
                    with ctx.store.unit_of_work() as repo:
                        self._settle(repo, activity)
                        for node, deliveries in claims.items():
                            activity.intake.add(apply_safely(ctx, repo, node, deliveries, pending))
                        rows = flush(ctx, repo, pending)
            except BaseException:
                for deliveries in claims.values():
                    for delivery in deliveries:
                        ctx.transport.nack(delivery)
                raise
            for deliveries in claims.values():
                for delivery in deliveries:
                    ctx.transport.ack(delivery)
            for node, node_rows in _by_node(rows).items():  # forwarded messages and statuses go out at once
                self._dispatch(node, node_rows, activity)
        return activity

    def settle(self) -> Activity:
        """Record what was handed to the transport (sent, failed, given up) in one unit of work."""
        activity = Activity()
        if self._sent or self._failed:
            with self.ctx.store.unit_of_work() as repo:
                self._settle(repo, activity)
        return activity

    def _dispatch(self, node: str, rows: list[OutboxMessage], activity: Activity) -> None:
        done, failures = dispatch(self.ctx, node, rows)
        self._sent.extend(done)
        self._failed.extend(failures)
        activity.sent += len(done)
        activity.send_failures += len(failures)
        self._inbox.update(row.recipient for row in done)

    def _settle(self, repo: Repository, activity: Activity) -> None:
        if not (self._sent or self._failed):
            return
        push = Push()
        settle(self.ctx, repo, self._sent, self._failed, push)
        if push.dead:  # a hop that gave up may have queued a 02 for the sender
            self._outbox.update(row.node for row, _ in self._failed)
        self._sent, self._failed = [], []
        activity.dead += push.dead

    def wake(self) -> None:
        """Find outboxes whose waiting messages (retries, lapsed leases) are due by now."""
        with self.ctx.store.snapshot() as repo:
            self._outbox.update(repo.nodes_with_due_outbox(self.ctx.clock.now()))

    def next_due(self) -> datetime | None:
        """When the next waiting outbox message falls due (for a driver that moves virtual time)."""
        with self.ctx.store.snapshot() as repo:
            return repo.next_outbox_due()

    def notify(self, nodes: Iterable[str]) -> None:
        """Messages for ``nodes`` have become visible on the transport: drain their queues at the next step."""
        self._inbox.update(nodes)

    def run_until_idle(self, *, max_rounds: int = 100_000, wake: bool = True, settle: bool = True) -> Activity:
        """Step until a round moves nothing; messages waiting for a later time stay where they are.

        ``wake`` first looks in the store for retries and lapsed leases that fell due while the clock moved
        (a driver that knows nothing fell due may skip that query).  ``settle`` records the last sends before
        returning; a driver that calls again soon may leave successful sends to be recorded by its next unit
        of work (failures are always recorded at once, so retries are scheduled)."""
        total = Activity()
        if wake:
            self.wake()
        for _ in range(max_rounds):
            activity = self.step()
            if activity.moved == 0 and activity.dead == 0 and (settle or self._failed):
                activity.dead += self.settle().dead  # record the last sends; a give-up may queue more work
            total.rounds += 1
            total.sent += activity.sent
            total.send_failures += activity.send_failures
            total.dead += activity.dead
            total.intake.add(activity.intake)
            if activity.moved == 0 and activity.dead == 0:
                return total
        raise DocflowError(f"network still busy after {max_rounds} rounds")

    def recover(self, nodes: Iterable[str] | None = None) -> None:
        """After a restart: find the outboxes with unsent rows and the queues with messages."""
        candidates = list(nodes) if nodes is not None else [str(a.code) for a in self.ctx.registry]
        with self.ctx.store.snapshot() as repo:
            self._outbox.update(repo.nodes_with_due_outbox(self.ctx.clock.now()))
        for node in candidates:
            if self.ctx.transport.pending(node):
                self._inbox.add(node)

    def trace(self, document_id: str) -> list[TraceStep]:
        """Every recorded step of ``document_id`` at every node, in the order they happened."""
        return trace_of(self.ctx.store, document_id)

    def quarantine(self, node: str | None = None) -> list[QuarantineEntry]:
        with self.ctx.store.snapshot() as repo:
            return repo.list_quarantine(node)


def serve_once(ctx: Context, node: str) -> Activity:
    """One pass of a single node's worker (a process that serves one agency over a shared transport and
    store): apply what its queue holds and send what that produced, then relay its outbox."""
    intake, rows = process_inbox(ctx, node)
    sent, failed = dispatch(ctx, node, rows)
    push = Push()
    if sent or failed:
        with ctx.store.unit_of_work() as repo:
            settle(ctx, repo, sent, failed, push)
    relayed = relay(ctx, node)
    return Activity(
        rounds=1,
        sent=push.sent + relayed.sent,
        send_failures=push.failed + relayed.failed,
        dead=push.dead + relayed.dead,
        intake=intake,
    )


def _by_node(rows: list[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    grouped: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        grouped.setdefault(row.node, []).append(row)
    return grouped


@dataclass(frozen=True, slots=True)
class Node:
    """One agency's operations."""

    network: Network
    code: str

    @property
    def ctx(self) -> Context:
        return self.network.ctx

    def draft(
        self,
        recipients: Sequence[OrganId | str],
        *,
        subject: str,
        code: Code | str,
        content: str = "",
        document_type: DocumentType | None = None,
        due_date: date | None = None,
        priority: Priority = Priority.NORMAL,
        attachments: Sequence[tuple[str, bytes, str]] = (),
        business: Business | None = None,
        place: str = "",
    ) -> Envelope:
        """An envelope from this node, ready for ``send``."""
        parsed = Code.parse(code) if isinstance(code, str) else code
        return draft(
            self.ctx,
            self.code,
            recipients,
            subject=subject,
            code=parsed,
            content=content,
            document_type=document_type,
            due_date=due_date,
            priority=priority,
            attachments=attachments,
            business=business,
            place=place,
        )

    def send(self, envelope: Envelope | None = None, /, **draft_args: Any) -> str:
        """Send an envelope (or draft one from keyword arguments); returns the DocumentId."""
        document = envelope if envelope is not None else self.draft(**draft_args)
        document_id = send(self.ctx, self.code, document)
        return document_id

    def _act(self, document_id: str, action: str, description: str = "") -> str:
        state = act(self.ctx, self.code, document_id, action, description=description)
        return state

    def accept(self, document_id: str) -> str:
        return self._act(document_id, "accept")

    def reject(self, document_id: str, reason: str) -> str:
        return self._act(document_id, "reject", reason)

    def assign(self, document_id: str, to: str = "") -> str:
        return self._act(document_id, "assign", to)

    def start(self, document_id: str) -> str:
        return self._act(document_id, "start")

    def complete(self, document_id: str) -> str:
        return self._act(document_id, "complete")

    def recall(self, document_id: str, reason: str, recipients: Sequence[str] | None = None) -> int:
        """Recall (revoke) a sent document: status 13 to its recipients."""
        count = recall(self.ctx, self.code, document_id, reason=reason, recipients=recipients)
        return count

    def update(self, document_id: str, envelope: Envelope, reason: str) -> str:
        result = amend(self.ctx, self.code, document_id, BusinessDocType.UPDATE, envelope, reason=reason)
        return result

    def replace(self, document_id: str, envelope: Envelope, reason: str) -> str:
        result = amend(self.ctx, self.code, document_id, BusinessDocType.REPLACE, envelope, reason=reason)
        return result

    def agree(self, document_id: str, kind: BusinessDocType = BusinessDocType.REVOKE, reason: str = "") -> str:
        state = answer(self.ctx, self.code, document_id, kind, agree=True, reason=reason)
        return state

    def refuse(self, document_id: str, kind: BusinessDocType = BusinessDocType.REVOKE, reason: str = "") -> str:
        state = answer(self.ctx, self.code, document_id, kind, agree=False, reason=reason)
        return state

    def inbox(self, state: str | None = None) -> list[Inbound]:
        """Documents received here (optionally only those in ``state``)."""
        with self.ctx.store.snapshot() as repo:
            rows = repo.inbound_for(self.code)
        return [r for r in rows if state is None or r.state == state]

    def deliveries(self, document_id: str) -> list[Delivery]:
        """This node's tracking of each recipient of a document it sent."""
        with self.ctx.store.snapshot() as repo:
            return repo.deliveries_for(self.code, document_id)

    def amendments(self, document_id: str) -> list[Amendment]:
        with self.ctx.store.snapshot() as repo:
            return repo.amendments_for(self.code, document_id)
