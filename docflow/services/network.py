"""``Network`` and ``Node``: the service layer's face for embedding docflow.

A ``Network`` runs many nodes over one store and one transport (in one process: tests, the simulator, a
provincial hub serving its agencies); a ``Node`` is one agency's handle.  ``step()`` sends what operations
queued, relays every outbox with work and drains every queue with work once; ``run_until_idle()`` repeats
until nothing moves.  Which nodes have work is tracked as messages move, so a round costs what moved, not
the size of the country.  A transport that is unavailable does not stop the network: the round backs off,
says so in its ``Activity`` and tries again later.  ``recover()`` rebuilds what the network knows after a
restart from the store and the transport; ``retry_dead()`` revives given-up messages.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from docflow.domain.envelope import Business, BusinessDocType, Code, DocumentType, Envelope, Priority
from docflow.domain.events import DomainEvent, from_record, record
from docflow.domain.ids import OrganId, organ_id
from docflow.errors import DocflowError, StoreTimeoutError, TransportUnavailableError
from docflow.services.context import Context
from docflow.services.dossiers import Dossiers
from docflow.services.drain import claim, drain
from docflow.services.operations import act, amend, answer, draft, recall, send
from docflow.services.receiver import Intake
from docflow.services.relay import Failure, Push, dispatch, purge, relay, revive, settle
from docflow.services.work import Work, lease, unit
from docflow.store import Amendment, Delivery, Inbound, OutboxMessage, QuarantineEntry, Store
from docflow.store.records import evolve


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One recorded step of a document's journey: the typed event and its audit-row fields."""

    at: datetime
    node: str
    kind: str
    recipient: str = ""
    status: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    event: DomainEvent | None = None

    def __str__(self) -> str:
        if self.event is not None:
            return str(self.event)
        status = f" {self.status}" if self.status else ""
        target = f" → {self.recipient}" if self.recipient else ""
        return f"{self.at:%Y/%m/%d %H:%M:%S}  {self.node:<14} {self.kind}{status}{target}"


def journey(events: Iterable[DomainEvent]) -> list[TraceStep]:
    """Trace steps of typed events, by time (appending order breaks ties)."""
    steps = []
    for event in events:
        kind, party, status, detail = record(event)
        steps.append(TraceStep(event.at, event.node, kind, party, status, detail, event))
    return sorted(steps, key=lambda step: step.at)


def trace_of(store: Store, document_id: str) -> list[TraceStep]:
    """The recorded steps of ``document_id`` in a store, read back as typed events, by time."""
    with store.snapshot() as repo:
        rows = repo.events.of_document(document_id)
    return journey(from_record(e.node, e.at, e.kind, e.document_id, e.recipient, e.status, e.detail) for e in rows)


@dataclass(slots=True)
class Activity:
    """Totals of what ``step`` / ``run_until_idle`` moved."""

    rounds: int = 0
    sent: int = 0
    send_failures: int = 0
    dead: int = 0
    unavailable: int = 0  # transport calls that found the transport down (the network backed off)
    intake: Intake = field(default_factory=Intake)

    @property
    def moved(self) -> int:
        return self.sent + self.intake.received + self.send_failures

    def add(self, other: Activity) -> None:
        self.rounds += other.rounds
        self.sent += other.sent
        self.send_failures += other.send_failures
        self.dead += other.dead
        self.unavailable += other.unavailable
        self.intake.add(other.intake)


#: Up to this many hand-off rows are left out of ``Network.wake``'s search by id (more: searched for as well).
_WAKE_BESIDES_LIMIT = 1_000


class Network:
    """Many nodes over one store and one transport."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._outbox: set[str] = set()  # nodes whose outbox may hold due rows (woken retries, recovery)
        self._inbox: set[str] = set()  # nodes whose queue may hold messages: polled at the next step
        self._waiting: set[str] = set()  # polled, gave nothing, hold messages not receivable yet (latency)
        self._sent: list[OutboxMessage] = []  # handed to the transport, not yet recorded
        self._failed: list[Failure] = []  # refused by the transport, not yet recorded

    def node(self, code: OrganId | str) -> Node:
        """The handle of one agency (it must be in the registry)."""
        oid = organ_id(code)
        if oid not in self.ctx.registry:
            raise DocflowError(f"{oid} is not in the registry")
        return Node(self, str(oid))

    def step(self, *, poll_waiting: bool = True) -> Activity:
        """One round: send what operations queued, relay every outbox with due rows, drain every queue once.

        A queue that gave nothing while the transport still holds messages for it (not receivable yet: latency,
        a claim not lapsed) waits apart; ``poll_waiting`` polls those too (``run_until_idle`` does on its first
        round only: nothing becomes receivable there while the round goes on, unless time passes, and a driver
        that is told when messages become visible — ``notify`` — need never poll them).

        A round costs a few commits however many nodes moved: one to claim woken outboxes, one to apply
        everything that arrived (a savepoint per node).  What was handed to the transport is recorded at the
        start of the next unit of work (or by ``settle``) — until then a crash only means the rows are sent
        again, which the receivers' inboxes absorb.
        """
        ctx = self.ctx
        activity = Activity(rounds=1)
        for node, queued in _by_node(ctx.handoff.take()).items():  # not claimed in the store: count the attempt
            self._dispatch(node, [evolve(row, attempts=row.attempts + 1) for row in queued], activity)
        if self._outbox:
            claimed_rows: dict[str, list[OutboxMessage]] = {}
            with unit(ctx) as work:
                self._record(work, activity)  # first, so what was just sent is not claimed again
                for node in sorted(self._outbox):
                    rows = work.repo.outbox.claim(node, limit=ctx.settings.batch, now=work.now, lease=lease(ctx))
                    if rows:
                        claimed_rows[node] = rows
            # An outbox that gave less than a full batch is drained: forget it until it has work again.
            self._outbox = {node for node, rows in claimed_rows.items() if len(rows) >= ctx.settings.batch}
            for node, rows in claimed_rows.items():
                self._dispatch(node, rows, activity)
        if poll_waiting and self._waiting:
            self._inbox |= self._waiting
            self._waiting.clear()
        if self._inbox:
            sent, failed = self._sent, self._failed
            self._sent, self._failed = [], []
            pushed: list[Push] = []

            def record(work: Work) -> None:  # may run twice: drain redoes a unit of work that failed
                pushed[:] = [self._settle_rows(work, sent, failed)]

            try:
                claims = claim(ctx, sorted(self._inbox))
                # A queue that gave nothing may still hold messages not visible yet (latency, a lapsed claim
                # coming back): it waits apart while the transport says anything is pending there.
                empty = [n for n in self._inbox if n not in claims]
                self._inbox = set(claims)  # a queue that gave messages may hold more
                self._waiting.update(n for n in empty if ctx.transport.pending(n))
                intake, rows = drain(ctx, claims, first=record if (sent or failed) else None)
            except TransportUnavailableError:
                self._sent[:0], self._failed[:0] = sent, failed
                activity.unavailable += 1
                return activity
            except BaseException:
                self._sent[:0], self._failed[:0] = sent, failed
                raise
            if not claims:  # nothing drained: what was sent is recorded by the next unit of work
                self._sent[:0], self._failed[:0] = sent, failed
            for push in pushed:
                activity.dead += push.dead
            activity.intake.add(intake)
            for node, node_rows in _by_node(rows).items():  # forwarded messages and statuses go out at once
                self._dispatch(node, node_rows, activity)
        return activity

    def settle(self) -> Activity:
        """Record what was handed to the transport (sent, failed, given up) in one unit of work."""
        activity = Activity()
        if self._sent or self._failed:
            with unit(self.ctx) as work:
                self._record(work, activity)
        return activity

    def _dispatch(self, node: str, rows: list[OutboxMessage], activity: Activity) -> None:
        done, failures = dispatch(self.ctx, node, rows)
        self._sent.extend(done)
        self._failed.extend(failures)
        activity.sent += len(done)
        activity.send_failures += len(failures)
        activity.unavailable += sum(isinstance(exc, TransportUnavailableError) for _, exc in failures)
        self._inbox.update(row.recipient for row in done)

    def _record(self, work: Work, activity: Activity) -> None:
        sent, failed = self._sent, self._failed
        self._sent, self._failed = [], []
        activity.dead += self._settle_rows(work, sent, failed).dead

    def _settle_rows(self, work: Work, sent: list[OutboxMessage], failed: list[Failure]) -> Push:
        push = Push()
        if sent or failed:
            settle(work, sent, failed, push)
            if push.dead:  # a hop that gave up may have queued a 02 for the sender
                self._outbox.update(row.node for row, _ in failed)
        return push

    def wake(self) -> None:
        """Find outboxes whose waiting messages (retries, lapsed leases) are due by now; drop sent rows kept
        past their retention.  The rows in the hand-off are left out of the search: the next step sends them
        (an outbox holding only those needs no claim)."""
        keep = self.ctx.settings.keep_sent
        now = self.ctx.clock.now()
        if keep > 0:
            with self.ctx.store.unit_of_work() as repo:
                repo.outbox.prune(now - timedelta(seconds=keep))
        handoff = self.ctx.handoff
        besides = handoff.message_ids() if len(handoff) <= _WAKE_BESIDES_LIMIT else []
        with self.ctx.store.snapshot() as repo:
            self._outbox.update(repo.outbox.nodes_due(now, besides=besides))

    def next_due(self) -> datetime | None:
        """When the next waiting outbox message falls due (for a driver that moves virtual time)."""
        with self.ctx.store.snapshot() as repo:
            return repo.outbox.next_due()

    def notify(self, nodes: Iterable[str]) -> None:
        """Messages for ``nodes`` have become visible on the transport: drain their queues at the next step."""
        self._inbox.update(nodes)

    def run_until_idle(
        self, *, max_rounds: int = 100_000, wake: bool = True, settle: bool = True, poll_waiting: bool = True
    ) -> Activity:
        """Step until a round moves nothing; messages waiting for a later time stay where they are.

        ``wake`` first looks in the store for retries and lapsed leases that fell due while the clock moved
        (a driver that knows nothing fell due may skip that query).  ``settle`` records the last sends before
        returning; a driver that calls again soon may leave successful sends to be recorded by its next unit
        of work (failures are always recorded at once, so retries are scheduled).  ``poll_waiting`` polls, in the
        first round, the queues that held only messages not receivable yet; a driver told when messages become
        visible (``notify``) may leave it off.  A transport that is down is
        not an error here, nor is a database that did not answer in time: the round stops,
        ``Activity.unavailable`` says so and the work waits in the store and the queues for the next call."""
        total = Activity()
        try:
            if wake:
                self.wake()
            for round_number in range(max_rounds):
                activity = self._round(settle, poll_waiting and round_number == 0)
                total.add(activity)
                if (activity.moved == 0 and activity.dead == 0) or (activity.unavailable and activity.sent == 0):
                    return total
        except StoreTimeoutError:  # the database did not answer in time: nothing was committed, try later
            total.unavailable += 1
            return total
        raise DocflowError(f"network still busy after {max_rounds} rounds")

    def _round(self, settle: bool, poll_waiting: bool) -> Activity:
        activity = self.step(poll_waiting=poll_waiting)
        if activity.moved == 0 and activity.dead == 0 and (settle or self._failed):
            activity.dead += self.settle().dead  # record the last sends; a give-up may queue more work
        elif activity.unavailable and activity.sent == 0:
            self.settle()
        return activity

    def recover(self, nodes: Iterable[str] | None = None) -> None:
        """After a restart: find the outboxes with unsent rows and the queues with messages."""
        candidates = list(nodes) if nodes is not None else [str(a.code) for a in self.ctx.registry]
        with self.ctx.store.snapshot() as repo:
            self._outbox.update(repo.outbox.nodes_due(self.ctx.clock.now()))
        try:
            self._inbox.update(node for node in candidates if self.ctx.transport.pending(node))
        except TransportUnavailableError:
            self._inbox.update(candidates)

    def retry_dead(self, *, node: str | None = None, document: str | None = None) -> int:
        """Queue given-up messages again with fresh budgets (of ``node``, about ``document``); returns how many."""
        count = revive(self.ctx, node=node, document=document)
        if count:
            self.wake()
        return count

    def purge_dead(self, *, node: str | None = None, document: str | None = None) -> int:
        """Delete given-up messages for good; returns how many."""
        return purge(self.ctx, node=node, document=document)

    def dead(self, *, node: str | None = None, document: str | None = None) -> list[OutboxMessage]:
        """The given-up messages, oldest first."""
        with self.ctx.store.snapshot() as repo:
            return repo.outbox.dead(node, document)

    def trace(self, document_id: str) -> list[TraceStep]:
        """Every recorded step of ``document_id`` at every node, in the order they happened."""
        return trace_of(self.ctx.store, document_id)

    def quarantine(self, node: str | None = None) -> list[QuarantineEntry]:
        with self.ctx.store.snapshot() as repo:
            return repo.quarantine.list(node)


def serve_once(ctx: Context, node: str) -> Activity:
    """One pass of a single node's worker (a process that serves one agency over a shared transport and
    store): send what its operations queued, apply what its queue holds and send what that produced, then
    relay its outbox."""
    activity = Activity(rounds=1)
    queued = [evolve(row, attempts=row.attempts + 1) for row in ctx.handoff.take() if row.node == node]
    try:
        intake, rows = drain(ctx, claim(ctx, [node]))
    except TransportUnavailableError:
        activity.unavailable += 1
        intake, rows = Intake(), []
    activity.intake = intake
    push = Push()
    sent, failed = dispatch(ctx, node, queued + rows)
    if sent or failed:
        with unit(ctx) as work:
            settle(work, sent, failed, push)
    push.add(relay(ctx, node))
    activity.sent, activity.send_failures, activity.dead = push.sent, push.failed, push.dead
    activity.unavailable += push.outages
    return activity


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
        return send(self.ctx, self.code, document)

    def _act(self, document_id: str, action: str, description: str = "") -> str:
        return act(self.ctx, self.code, document_id, action, description=description)

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
        return recall(self.ctx, self.code, document_id, reason=reason, recipients=recipients)

    def update(self, document_id: str, envelope: Envelope, reason: str) -> str:
        return amend(self.ctx, self.code, document_id, BusinessDocType.UPDATE, envelope, reason=reason)

    def replace(self, document_id: str, envelope: Envelope, reason: str) -> str:
        return amend(self.ctx, self.code, document_id, BusinessDocType.REPLACE, envelope, reason=reason)

    def agree(self, document_id: str, kind: BusinessDocType = BusinessDocType.REVOKE, reason: str = "") -> str:
        return answer(self.ctx, self.code, document_id, kind, agree=True, reason=reason)

    def refuse(self, document_id: str, kind: BusinessDocType = BusinessDocType.REVOKE, reason: str = "") -> str:
        return answer(self.ctx, self.code, document_id, kind, agree=False, reason=reason)

    def inbox(self, state: str | None = None) -> list[Inbound]:
        """Documents received here (optionally only those in ``state``)."""
        with self.ctx.store.snapshot() as repo:
            rows = repo.inbound.of_node(self.code)
        return [r for r in rows if state is None or r.state == state]

    def deliveries(self, document_id: str) -> list[Delivery]:
        """This node's tracking of each recipient of a document it sent."""
        with self.ctx.store.snapshot() as repo:
            return repo.deliveries.for_document(self.code, document_id)

    def amendments(self, document_id: str) -> list[Amendment]:
        with self.ctx.store.snapshot() as repo:
            return repo.amendments.for_document(self.code, document_id)

    @property
    def dossiers(self) -> Dossiers:
        """This agency's one-stop desk: its copies of dossiers and its clerks' actions on them."""
        return Dossiers(self.ctx, self.code)
