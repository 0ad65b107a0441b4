"""Model fidelity (``--fidelity model``): the same domain code without XML, store or transport.

Routes come from the domain's route planner (``plan_route``), a received document's state moves through
the domain's INBOUND lifecycle table (clerk actions through the domain's ``CLERK_ACTIONS``), hops take the
``LinkModel``'s latency, loss, polling and outages, and a hop that finds the link unavailable waits as the
engine does (``docflow.domain.retry.RetryPolicy``: an outage pauses a message, it never spends its budget).
What it leaves out: status messages do not travel (the sender's view is the
recipient's state, at once), and nothing is persisted.  A document's hops are drawn under the key the engine's
message would have (``document_key``), and a retry falls due when the engine's would (its clock keeps whole
seconds), so its report is the full fidelity's in every delivery figure (the messages counted differ: no
statuses here), unless statuses are lost silently or duplicated.  It exists to explore big scenarios quickly;
the full fidelity is the reference.
Must not import lxml, sqlalchemy, docflow.store, docflow.xml, docflow.services or docflow.transports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from datetime import timedelta
from itertools import pairwise
from typing import Any

import simpy

from docflow.domain.envelope import Code, Envelope
from docflow.domain.ids import OrganId
from docflow.domain.lifecycle import CLERK_ACTIONS, INBOUND, InboundState
from docflow.domain.registry import Registry
from docflow.domain.retry import RetryPolicy
from docflow.domain.routing import Route, plan_route
from docflow.errors import LifecycleError
from docflow.sim.metrics import Tally
from docflow.sim.outcome import Outcome, Pending
from docflow.sim.scenario import Scenario
from docflow.sim.traffic import Dispatch
from docflow.sim.transport import LinkModel, document_key

#: the sender's view of a delivery, from the recipient's state
DELIVERY_VIEW = {InboundState.RECEIVED: "arrived"}

Arrived = Callable[[str, str], None]


class ModelFabric:
    """A network of timed hops over the domain's routes and lifecycles."""

    fidelity = "model"

    def __init__(self, env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, tally: Tally) -> None:
        self.env, self.scenario, self.registry, self.tally = env, scenario, registry, tally
        self.link = LinkModel.of(scenario, seed, "link")
        self.on_arrival: Arrived = lambda node, document: None
        self.outcome = Outcome()
        self._routes: dict[tuple[str, str], Route] = {}
        self._inbound: dict[tuple[str, str], InboundState] = {}
        self._pending: dict[tuple[str, str], Pending] = {}  # (document, recipient), until it cannot change
        net = scenario.network
        self.retry = RetryPolicy(net.retry_budget, net.retry_delay)

    def _route(self, sender: str, recipient: str) -> Route:
        key = (sender, recipient)
        found = self._routes.get(key)
        if found is None:
            found = plan_route(self.registry, OrganId.parse(sender), OrganId.parse(recipient), self.scenario.policy)
            self._routes[key] = found
        return found

    def send(self, dispatch: Dispatch) -> None:
        start = self.scenario.calendar.start
        day = (start + timedelta(seconds=self.env.now)).date()
        document_id = Envelope.compose_document_id(OrganId.parse(dispatch.sender), day, Code.parse(dispatch.code))
        self.outcome.documents += 1
        for recipient in dispatch.recipients:
            self._pending[(document_id, recipient)] = Pending(dispatch)
            self.env.process(self._deliver(document_id, dispatch.sender, recipient))

    def _deliver(self, document_id: str, sender: str, recipient: str) -> Generator[Any, Any, None]:
        env, link = self.env, self.link
        hops = [str(h) for h in self._route(sender, recipient).hops]
        key = document_key(document_id, sender, recipient)  # the link draws the engine's message would get
        for here, there in pairwise(hops):
            while True:
                self.outcome.messages_sent += 1
                # as the engine's transport: a sender that is down sends nothing (no loss is drawn), then the
                # link may lose the message, then a recipient that is down refuses it
                sender_down = link.is_down(here, env.now)
                lost = not sender_down and link.lost(key, here, there, env.now)
                if sender_down or link.is_down(there, env.now) or (lost and self.scenario.faults.loss_mode == "retry"):
                    self.outcome.send_failures += 1
                    self.outcome.messages_sent -= 1
                    self.outcome.lost_messages += lost
                    # the engine's rules: an unavailable link spends no attempt, and nothing dies of an outage; the
                    # retry falls due a pause after the failure as the engine's clock (whole seconds) recorded it
                    yield env.timeout(math.floor(env.now) + self.retry.pause() - env.now)
                    continue
                if lost:
                    self.outcome.lost_messages += 1
                    self._finish((document_id, recipient), "lost", "sent")
                    return
                if link.duplicated(key, here, there, env.now):
                    self.outcome.duplicates += 1
                delay = link.latency(here, there, env.now, key)
                yield env.timeout(delay)
                back = link.up_again(there, env.now)  # queued for a node that went down meanwhile
                if back > env.now:
                    yield env.timeout(back - env.now)
                break
        self._inbound[(document_id, recipient)] = InboundState.RECEIVED
        self._pending[(document_id, recipient)].arrived_at = env.now
        self.on_arrival(recipient, document_id)

    def act(self, node: str, document_id: str, action: str) -> bool:
        key = (document_id, node)
        state = self._inbound.get(key)
        if state is None:
            return False
        try:
            self._inbound[key] = INBOUND.fire(state, CLERK_ACTIONS[action][0], document=document_id)
        except LifecycleError:
            return False
        if action in ("complete", "reject"):  # the sender's view is the recipient's state at once: final
            pending = self._pending[key]
            if action == "complete":
                pending.completed_at = self.env.now
            else:
                pending.rejected_at = self.env.now
            self._finish(key, "delivered", _view(self._inbound.pop(key)))
        return True

    @property
    def open_deliveries(self) -> int:
        """Deliveries that can still change (what the fabric keeps; a finished one is in the tally)."""
        return len(self._pending)

    def _finish(self, key: tuple[str, str], outcome: str, status: str) -> None:
        self.tally.add(self._pending.pop(key).record(*key, outcome, status))

    def collect(self) -> Outcome:
        """What is still open when the run ends (in flight, or not finished by its recipient) goes to the tally."""
        for key in sorted(self._pending):
            state = self._inbound.get(key)
            if state is not None:
                self._finish(key, "delivered", _view(state))
            else:
                self._finish(key, "in_flight", "sent")
        return self.outcome

    def close(self) -> None:
        """Nothing to release."""


def _view(state: InboundState) -> str:
    return DELIVERY_VIEW.get(state, state.value)
