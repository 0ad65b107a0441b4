"""Full fidelity: the real engine (services, lifecycles, edXML, store, transport) stepped under SimPy's clock.

``EngineFabric`` builds a ``Network`` with ``build_network`` over a ``SimTransport`` and a ``ManualClock``
that is set to ``env.now`` before every engine call.  A pump process steps the network whenever something
is due: a message becoming visible (latency, polling), a retry of a failed send, a node coming back after
an outage, or a kick from a clerk or the traffic that has just enqueued something.  Metrics come from the
engine's typed events (``docflow.domain.events``) as they are published after each commit: what was sent,
what arrived, what a clerk finished, what was given up and when a failed send falls due again.  An event is
published in the engine call that made it, so its time is the simulation's clock then: the metrics take it
from there, to the fraction of a second the model keeps too (the engine's own timestamps, like edXML's,
keep whole seconds).  A delivery is folded into the metrics' tally once the sender's delivery reaches a final
state, and the store is a file in a temporary folder unless a database is named, so memory does not grow with
finished work.
Must not import lxml or sqlalchemy (the engine does that behind ``build_network``).
"""

from __future__ import annotations

import heapq
import os
import tempfile
from collections.abc import Callable, Generator
from typing import Any

import simpy

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.events import DocumentArrived, DocumentSent, DomainEvent, GaveUp, SendFailed, StateChanged
from docflow.domain.lifecycle import DELIVERY, INBOUND, InboundState
from docflow.domain.registry import Registry
from docflow.domain.retry import WORKING_DAY
from docflow.errors import LifecycleError, RegistryError
from docflow.services import Network, Settings
from docflow.sim.metrics import Tally
from docflow.sim.outcome import Outcome, Pending
from docflow.sim.scenario import Scenario
from docflow.sim.traffic import Dispatch
from docflow.sim.transport import LinkModel, SimTransport

Arrived = Callable[[str, str], None]
#: The sender's delivery states nothing moves on from (``DELIVERY.terminal``, as the store writes them).
_FINAL = frozenset(state.value for state in DELIVERY.terminal)
#: Where the store keeps its audit keys (``docflow.store.audit_keys``); named here so that sim imports no store.
AUDIT_KEYS_VAR = "DOCFLOW_AUDIT_KEYS"


class EngineFabric:
    """The real engine as the simulation's network."""

    fidelity = "full"

    def __init__(
        self, env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, db: str, tally: Tally
    ) -> None:
        self.env, self.scenario, self.tally = env, scenario, tally
        self.clock = ManualClock(scenario.calendar.start)
        self.on_arrival: Arrived = lambda node, document: None
        self.link = LinkModel.of(scenario, seed, "link")
        self.transport = SimTransport(self.link, self.clock.time)
        self._scratch: Scratch | None = None
        if db in ("", "sqlite://"):  # not kept: a file in a temporary folder, so memory stays flat
            self._scratch = Scratch()
            db = self._scratch.db
        settings = Settings(
            retry_budget=scenario.network.retry_budget,
            retry_delay=scenario.network.retry_delay,
            give_up_after=getattr(scenario.network, "give_up_after", WORKING_DAY),
        )
        self.net: Network = build_network(
            db=db,
            transport=self.transport,
            registry=registry,
            policy=scenario.policy,
            clock=self.clock,
            settings=settings,
        )
        self.registry = self.net.ctx.registry
        self.outcome = Outcome()
        #: (document, recipient) -> what is known of it, until the sender's delivery reaches a terminal state
        self._pending: dict[tuple[str, str], Pending] = {}
        self._kick = env.event()
        self._retries: list[float] = []  # when failed sends fall due again (a heap)
        self._outage_ends = self.link.outage_ends()
        self.net.ctx.bus.subscribe(self._observe)
        env.process(self._pump())

    # -- what the engine tells ---------------------------------------------------------------------
    def _seconds(self, event: DomainEvent) -> float:
        return (event.at - self.scenario.calendar.start).total_seconds()

    def _slot(self, document_id: str, recipient: str) -> Pending:
        found = self._pending.get((document_id, recipient))
        if found is None:
            found = self._pending[(document_id, recipient)] = Pending()
        return found

    def _observe(self, events: list[DomainEvent]) -> None:
        for event in events:
            if isinstance(event, DocumentSent):
                slot = self._slot(event.document_id, event.recipient)
                slot.sent_at = slot.sent_at if slot.sent_at is not None else self.env.now
            elif isinstance(event, DocumentArrived):
                slot = self._slot(event.document_id, event.node)
                if slot.arrived_at is None and event.business == 0:
                    slot.arrived_at = self.env.now
                    self.on_arrival(event.node, event.document_id)
            elif isinstance(event, StateChanged):
                if not event.changed:
                    continue
                if event.lifecycle == INBOUND.name:
                    if event.new == InboundState.COMPLETED.value:
                        self._slot(event.document_id, event.node).completed_at = self.env.now
                    elif event.new == InboundState.REJECTED.value:
                        self._slot(event.document_id, event.node).rejected_at = self.env.now
                elif event.lifecycle == DELIVERY.name and event.new in _FINAL:
                    self._finish(event.document_id, event.party_id, event.new)
            elif isinstance(event, SendFailed):
                heapq.heappush(self._retries, self._seconds(event) + event.retry_in)
            elif isinstance(event, GaveUp) and event.carries_document:
                self._slot(event.document_id, event.destination).dead = True

    @property
    def open_deliveries(self) -> int:
        """Deliveries that can still change (what the fabric keeps; a finished one is in the tally)."""
        return len(self._pending)

    def _finish(self, document_id: str, recipient: str, status: str) -> None:
        """The sender's delivery can no longer change: its record goes to the tally, nothing is kept."""
        pending = self._pending.pop((document_id, recipient), None)
        if pending is not None and pending.dispatch is not None:
            lost = (document_id, recipient) in self.transport.lost
            self.tally.add(pending.record(document_id, recipient, pending.outcome(lost=lost), status))

    # -- what the driver and the clerks call -------------------------------------------------------
    def _now(self) -> None:
        self.clock.set(max(self.env.now, self.clock.time()))

    def send(self, dispatch: Dispatch) -> None:
        self._now()
        node = self.net.node(dispatch.sender)
        document_id = node.send(recipients=list(dispatch.recipients), subject=dispatch.subject, code=dispatch.code)
        self.outcome.documents += 1
        for recipient in dispatch.recipients:
            self._slot(document_id, recipient).dispatch = dispatch
        self.kick()

    def act(self, node: str, document_id: str, action: str) -> bool:
        self._now()
        try:
            getattr(self.net.node(node), action)(
                document_id, *(("Không thuộc thẩm quyền",) if action == "reject" else ())
            )
        except (RegistryError, LifecycleError):
            return False
        self.kick()
        return True

    def kick(self) -> None:
        if not self._kick.triggered:
            self._kick.succeed()

    # -- the pump ------------------------------------------------------------------------------------
    def _pump(self) -> Generator[Any, Any, None]:
        env, net, transport = self.env, self.net, self.transport
        while True:
            self._now()
            now = env.now
            arrived = transport.pop_due(now)  # queues whose messages just became visible: a cheap hint
            recheck: set[str] = set()  # nodes whose queue may hold work again after an outage
            while self._outage_ends and self._outage_ends[0][0] <= now:
                recheck.add(self._outage_ends.pop(0)[1])
            due = False
            while self._retries and self._retries[0] <= now:
                heapq.heappop(self._retries)
                due = True
            if arrived:
                net.notify(sorted(arrived))
            if recheck:
                net.recover(sorted(recheck))
            # told when messages become visible (pop_due, outage ends): queues still waiting need no polling
            activity = net.run_until_idle(wake=due or bool(recheck), settle=False, poll_waiting=False)
            self.outcome.messages_sent += activity.sent
            self.outcome.send_failures += activity.send_failures
            self.outcome.duplicates += activity.intake.duplicates
            self.outcome.quarantined += activity.intake.quarantined
            if self._kick.triggered:
                self._kick = env.event()
            wakes = [t for t in (transport.next_due(), self._retries[0] if self._retries else None) if t is not None]
            if self._outage_ends:
                wakes.append(self._outage_ends[0][0])
            if wakes:
                yield self._kick | env.timeout(max(min(wakes) - now, 0.0))
            else:
                yield self._kick

    # -- the end -------------------------------------------------------------------------------------
    def collect(self) -> Outcome:
        """What is still open when the run ends goes to the tally, with the sender's view from the store."""
        self.net.settle()  # the pump leaves its last sends to be recorded by the next unit of work
        out = self.outcome
        out.lost_messages = self.transport.lost_messages
        open_documents: dict[tuple[str, str], list[str]] = {}
        for (document_id, recipient), pending in sorted(self._pending.items()):
            if pending.dispatch is not None:
                open_documents.setdefault((pending.dispatch.sender, document_id), []).append(recipient)
        with self.net.ctx.store.snapshot() as repo:
            for (sender, document_id), recipients in open_documents.items():
                states = {d.recipient: str(d.state) for d in repo.deliveries.for_document(sender, document_id)}
                for recipient in recipients:
                    self._finish(document_id, recipient, states.get(recipient, "unknown"))
        return out

    def close(self) -> None:
        self.net.ctx.store.close()
        self.transport.close()
        if self._scratch is not None:
            self._scratch.close()


class Scratch:
    """A throwaway store: a SQLite file in a temporary folder, with the audit keys of its agencies beside it
    (``$DOCFLOW_AUDIT_KEYS`` points there until ``close``; not one key file per agency left at home)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="docflow-sim-")
        self.db = f"sqlite:///{self._folder.name}/simulation.db"
        self._keys_before = os.environ.get(AUDIT_KEYS_VAR)
        os.environ[AUDIT_KEYS_VAR] = f"{self._folder.name}/audit-keys"

    def close(self) -> None:
        """Point the audit keys back where they were and remove the folder."""
        if self._keys_before is None:
            os.environ.pop(AUDIT_KEYS_VAR, None)
        else:
            os.environ[AUDIT_KEYS_VAR] = self._keys_before
        self._folder.cleanup()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
