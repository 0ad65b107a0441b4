"""Full fidelity: the real engine (services, lifecycles, edXML, store, transport) stepped under SimPy's clock.

``EngineFabric`` builds a ``Network`` with ``build_network`` over a ``SimTransport`` and a ``ManualClock``
that is set to ``env.now`` before every engine call.  A pump process steps the network whenever something
is due: a message becoming visible (latency, polling), a retry of a failed send, a node coming back after
an outage, or a kick from a clerk or the traffic that has just enqueued something.  Metrics are read back
from the engine's own event log at the end.
Must not import lxml or sqlalchemy (the engine does that behind ``build_network``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.registry import Registry
from docflow.errors import LifecycleError, RegistryError
from docflow.services import Network, Settings
from docflow.sim.outcome import DeliveryRecord, Outcome
from docflow.sim.scenario import Scenario
from docflow.sim.traffic import Dispatch
from docflow.sim.transport import LinkModel, SimTransport

Arrived = Callable[[str, str], None]


class EngineFabric:
    """The real engine as the simulation's network."""

    fidelity = "full"

    def __init__(self, env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, db: str) -> None:
        self.env, self.scenario = env, scenario
        self.clock = ManualClock(scenario.calendar.start)
        self.on_arrival: Arrived = lambda node, document: None
        self.link = LinkModel.of(scenario, seed, "link")
        self.transport = SimTransport(self.link, self.clock.time, self._arrived)
        settings = Settings(retry_budget=scenario.network.retry_budget, retry_delay=scenario.network.retry_delay)
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
        self._kick = env.event()
        self._retrying: set[str] = set()
        self._next_retry: float | None = None
        self._outage_ends = self.link.outage_ends()
        env.process(self._pump())

    # -- what the driver and the clerks call -------------------------------------------------------
    def _now(self) -> None:
        self.clock.set(max(self.env.now, self.clock.time()))

    def _arrived(self, node: str, document_id: str, business: int) -> None:
        if business == 0:
            self.on_arrival(node, document_id)

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
            recheck: set[str] = set()  # nodes whose outbox or queue may hold work again: ask the store
            while self._outage_ends and self._outage_ends[0][0] <= now:
                recheck.add(self._outage_ends.pop(0)[1])
            if self._next_retry is not None and self._next_retry <= now:
                recheck |= self._retrying
                self._next_retry = None
            if arrived:
                net.notify(sorted(arrived))
            if recheck:
                net.recover(sorted(recheck))
            activity = net.run_until_idle(wake=False, settle=False)
            self.outcome.messages_sent += activity.sent
            self.outcome.send_failures += activity.send_failures
            self.outcome.duplicates += activity.intake.duplicates
            self.outcome.quarantined += activity.intake.quarantined
            if transport.failed_senders:
                self._retrying |= transport.failed_senders
                transport.failed_senders.clear()
            if self._retrying and self._next_retry is None:
                self._retrying = self._still_retrying()
                if self._retrying:
                    self._next_retry = now + self.scenario.network.retry_delay
            if self._kick.triggered:
                self._kick = env.event()
            wakes = [t for t in (transport.next_due(), self._next_retry) if t is not None]
            if self._outage_ends:
                wakes.append(self._outage_ends[0][0])
            if wakes:
                yield self._kick | env.timeout(max(min(wakes) - now, 0.0))
            else:
                yield self._kick

    def _still_retrying(self) -> set[str]:
        with self.net.ctx.store.snapshot() as repo:
            return {node for node in sorted(self._retrying) if repo.count_outbox(node, unsent_only=True)}

    # -- the end -------------------------------------------------------------------------------------
    def collect(self) -> Outcome:
        """One record per document × recipient, read from the engine's event log and delivery rows."""
        self.net.settle()  # the pump leaves its last sends to be recorded by the next unit of work
        start = self.scenario.calendar.start
        out = self.outcome
        out.documents = len(self.dispatched)
        out.lost_messages = self.transport.lost_messages

        def seconds(at: Any) -> float:
            return (at - start).total_seconds()

        with self.net.ctx.store.snapshot() as repo:
            for dispatch, document_id in self.dispatched:
                events = repo.events_for(document_id)
                states = {d.recipient: str(d.state) for d in repo.deliveries_for(dispatch.sender, document_id)}
                arrived: dict[str, float] = {}
                done: dict[tuple[str, str], float] = {}
                dead: set[str] = set()
                sent: dict[str, float] = {}
                for e in events:
                    if e.kind == "sent" and e.node == dispatch.sender:
                        sent.setdefault(e.recipient, seconds(e.at))
                    elif e.kind == "arrived" and e.node == e.recipient:
                        arrived.setdefault(e.node, seconds(e.at))
                    elif e.kind in ("complete", "reject") and e.node == e.recipient:
                        done.setdefault((e.kind, e.node), seconds(e.at))
                    elif e.kind == "dead" and str(e.detail.get("message", "")).startswith("edoc-"):
                        dead.add(e.recipient)
                for recipient in dispatch.recipients:
                    if recipient in arrived:
                        outcome = "delivered"
                    elif recipient in dead:
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
                            sent.get(recipient, dispatch.at),
                            arrived.get(recipient),
                            done.get(("complete", recipient)),
                            done.get(("reject", recipient)),
                            outcome,
                            states.get(recipient, "unknown"),
                        )
                    )
        return out

    def close(self) -> None:
        self.net.ctx.store.close()
        self.transport.close()
