"""Full fidelity: the real engine (services, lifecycles, edXML, store, transport) stepped under SimPy's clock.

``EngineFabric`` builds a ``Network`` with ``build_network`` over a ``SimTransport`` and a ``ManualClock``
that is set to ``env.now`` before every engine call.  A pump process steps the network whenever something
is due: a message becoming visible (latency, polling), a retry of a failed send, a node coming back after
an outage, or a kick from a clerk or the traffic that has just enqueued something.  Metrics come from the
engine's typed events (``docflow.domain.events``) as they are published after each commit: what was sent,
what arrived, what a clerk finished, what was given up and when a failed send falls due again.  An event is
published in the engine call that made it, so its time is the simulation's clock then: the metrics take it
from there, to the fraction of a second the model keeps too (the engine's own timestamps, like edXML's,
keep whole seconds).  The store
is a file in a temporary folder unless a database is named, so memory does not grow with finished work.
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
from docflow.domain.lifecycle import INBOUND, InboundState
from docflow.domain.registry import Registry
from docflow.domain.retry import WORKING_DAY
from docflow.errors import LifecycleError, RegistryError
from docflow.services import Network, Settings
from docflow.sim.outcome import DeliveryRecord, Outcome
from docflow.sim.scenario import Scenario
from docflow.sim.traffic import Dispatch
from docflow.sim.transport import LinkModel, SimTransport

Arrived = Callable[[str, str], None]
#: Where the store keeps its audit keys (``docflow.store.audit_keys``); named here so that sim imports no store.
AUDIT_KEYS_VAR = "DOCFLOW_AUDIT_KEYS"


class EngineFabric:
    """The real engine as the simulation's network."""

    fidelity = "full"

    def __init__(self, env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, db: str) -> None:
        self.env, self.scenario = env, scenario
        self.clock = ManualClock(scenario.calendar.start)
        self.on_arrival: Arrived = lambda node, document: None
        self.link = LinkModel.of(scenario, seed, "link")
        self.transport = SimTransport(self.link, self.clock.time)
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._keys_before: str | None = None
        if db in ("", "sqlite://"):  # not kept: a file in a temporary folder, so memory stays flat
            self._folder = tempfile.TemporaryDirectory(prefix="docflow-sim-")
            db = f"sqlite:///{self._folder.name}/simulation.db"
            # the audit keys of a throwaway store are thrown away with it (not one file per agency at home)
            self._keys_before = os.environ.get(AUDIT_KEYS_VAR)
            os.environ[AUDIT_KEYS_VAR] = f"{self._folder.name}/audit-keys"
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
        self.dispatched: list[tuple[Dispatch, str]] = []
        self.outcome = Outcome()
        #: (document, recipient) -> [sent, arrived, completed, rejected, dead (1.0) or None]
        self._times: dict[tuple[str, str], list[float | None]] = {}
        self._kick = env.event()
        self._retries: list[float] = []  # when failed sends fall due again (a heap)
        self._outage_ends = self.link.outage_ends()
        self.net.ctx.bus.subscribe(self._observe)
        env.process(self._pump())

    # -- what the engine tells ---------------------------------------------------------------------
    def _seconds(self, event: DomainEvent) -> float:
        return (event.at - self.scenario.calendar.start).total_seconds()

    def _now_seconds(self) -> float:
        """When an event being published happened (it is published in the engine call that made it)."""
        return self.env.now

    def _slot(self, document_id: str, recipient: str) -> list[float | None]:
        found = self._times.get((document_id, recipient))
        if found is None:
            found = self._times[(document_id, recipient)] = [None, None, None, None, None]
        return found

    def _observe(self, events: list[DomainEvent]) -> None:
        for event in events:
            if isinstance(event, DocumentSent):
                slot = self._slot(event.document_id, event.recipient)
                slot[0] = slot[0] if slot[0] is not None else self._now_seconds()
            elif isinstance(event, DocumentArrived):
                slot = self._slot(event.document_id, event.node)
                if slot[1] is None and event.business == 0:
                    slot[1] = self._now_seconds()
                    self.on_arrival(event.node, event.document_id)
            elif isinstance(event, StateChanged):
                if event.lifecycle == INBOUND.name and event.changed:
                    if event.new == InboundState.COMPLETED.value:
                        self._slot(event.document_id, event.node)[2] = self._now_seconds()
                    elif event.new == InboundState.REJECTED.value:
                        self._slot(event.document_id, event.node)[3] = self._now_seconds()
            elif isinstance(event, SendFailed):
                heapq.heappush(self._retries, self._seconds(event) + event.retry_in)
            elif isinstance(event, GaveUp) and event.carries_document:
                self._slot(event.document_id, event.destination)[4] = 1.0

    # -- what the driver and the clerks call -------------------------------------------------------
    def _now(self) -> None:
        self.clock.set(max(self.env.now, self.clock.time()))

    def send(self, dispatch: Dispatch) -> None:
        self._now()
        node = self.net.node(dispatch.sender)
        document_id = node.send(recipients=list(dispatch.recipients), subject=dispatch.subject, code=dispatch.code)
        self.dispatched.append((dispatch, document_id))
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
        """One record per document × recipient, from what the engine's events said and the delivery rows."""
        self.net.settle()  # the pump leaves its last sends to be recorded by the next unit of work
        out = self.outcome
        out.documents = len(self.dispatched)
        out.lost_messages = self.transport.lost_messages
        with self.net.ctx.store.snapshot() as repo:
            for dispatch, document_id in self.dispatched:
                states = {d.recipient: str(d.state) for d in repo.deliveries.for_document(dispatch.sender, document_id)}
                for recipient in dispatch.recipients:
                    sent, arrived, completed, rejected, dead = self._times.pop(
                        (document_id, recipient), [None, None, None, None, None]
                    )
                    if arrived is not None:
                        outcome = "delivered"
                    elif dead is not None:
                        outcome = "dead"
                    elif (document_id, recipient) in self.transport.lost:
                        outcome = "lost"
                    else:
                        outcome = "in_flight"
                    out.records.append(
                        DeliveryRecord(
                            document_id,
                            dispatch.sender,
                            recipient,
                            dispatch.kind,
                            dispatch.document_type,
                            sent if sent is not None else dispatch.at,
                            arrived,
                            completed,
                            rejected,
                            outcome,
                            states.get(recipient, "unknown"),
                        )
                    )
        return out

    def close(self) -> None:
        self.net.ctx.store.close()
        self.transport.close()
        if self._folder is not None:
            if self._keys_before is None:
                os.environ.pop(AUDIT_KEYS_VAR, None)
            else:
                os.environ[AUDIT_KEYS_VAR] = self._keys_before
            self._folder.cleanup()
