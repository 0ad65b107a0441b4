"""Clerks: each node's staff as a ``simpy.Resource`` working office hours, taking received documents through
accept → assign → start → complete (or reject) with sampled durations counted in working time.  A document's
durations and its rejection are drawn from its own stream (``docflow.sim.draws``: the seed, the node, the
document), so they do not depend on the order in which documents reach a clerk.

The pool does not know which fidelity runs: it calls ``act(node, document_id, action)`` and the fabric
performs the action (the engine's ``Node`` operations, or the lifecycle table in model fidelity).  It also
keeps the backlog (documents received and not yet finished): its peaks and the highest of each hour.
Must not import the engine (services, store, transports) or lxml.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from docflow.domain.ids import OrganId
from docflow.domain.registry import Registry
from docflow.sim import draws
from docflow.sim.scenario import ClerkSpec, Distribution, Scenario

Act = Callable[[str, str, str], bool]  # (node, document_id, action) -> done (False: the action was refused)


def sample_minutes(dist: Distribution, rng: random.Random) -> float:
    """One duration in minutes drawn from ``dist``."""
    if dist.kind == "fixed" or (dist.mean <= 0 and dist.kind != "uniform"):
        return max(dist.mean, 0.0)
    if dist.kind == "exponential":
        return rng.expovariate(1.0 / dist.mean)
    if dist.kind == "uniform":
        return rng.uniform(dist.low, dist.high)
    mu = math.log(dist.mean) - dist.sigma**2 / 2  # so that the mean of the draw is dist.mean
    return rng.lognormvariate(mu, dist.sigma)


@dataclass(slots=True)
class Backlog:
    """Documents received and not finished, over virtual time: the peak, in all and per node, and the highest
    backlog of each hour (what it was once everything at one instant had happened)."""

    current: int = 0
    peak: int = 0
    by_node: dict[str, int] = field(default_factory=dict)
    peak_by_node: dict[str, int] = field(default_factory=dict)
    _hourly: dict[int, int] = field(default_factory=dict)
    _last: float | None = None  # the instant of the last change, not yet counted in ``_hourly``

    def move(self, now: float, node: str, delta: int) -> None:
        if self._last is not None and now != self._last:
            self._settle()
        self._last = now
        self.current += delta
        self.peak = max(self.peak, self.current)
        value = self.by_node.get(node, 0) + delta
        self.by_node[node] = value
        if value > self.peak_by_node.get(node, 0):
            self.peak_by_node[node] = value

    def _settle(self) -> None:
        if self._last is not None:
            hour = int(self._last // 3600)
            self._hourly[hour] = max(self._hourly.get(hour, self.current), self.current)

    def hourly(self) -> dict[int, int]:
        """Hour of the run -> the highest backlog at the end of an instant in it."""
        self._settle()
        return dict(self._hourly)


class ClerkPool:
    """The clerks of every node, created when a node first receives something."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, act: Act) -> None:
        self.env, self.scenario, self.registry, self.seed, self.act = env, scenario, registry, seed, act
        self.backlog = Backlog()
        self.refused = 0  # actions the fabric could not perform (e.g. the document was quarantined)
        self._desks: dict[str, tuple[simpy.Resource, ClerkSpec]] = {}

    def _desk(self, node: str) -> tuple[simpy.Resource, ClerkSpec]:
        desk = self._desks.get(node)
        if desk is None:
            code = OrganId.parse(node)
            agency = self.registry.get(code)
            spec = self.scenario.clerk_spec(agency.kind) if agency is not None else self.scenario.clerks
            desk = (simpy.Resource(self.env, capacity=spec.count), spec)
            self._desks[node] = desk
        return desk

    def arrived(self, node: str, document_id: str) -> None:
        """A document reached ``node``: a clerk will handle it."""
        self.backlog.move(self.env.now, node, +1)
        self.env.process(self._handle(node, document_id))

    def _handle(self, node: str, document_id: str) -> Generator[Any, Any, None]:
        resource, spec = self._desk(node)
        calendar = self.scenario.calendar
        # drawn at once and the stream let go: a waiting document holds a few floats, not a generator's state
        rng = draws.stream(self.seed, "clerk", node, document_id)
        minutes = [sample_minutes(dist, rng) for _, dist in spec.steps]
        rejects = bool(spec.reject_rate) and rng.random() < spec.reject_rate
        del rng
        with resource.request() as turn:
            yield turn
            for (step, _), spent in zip(spec.steps, minutes, strict=True):
                finish = calendar.add(self.env.now, spent * 60.0)
                yield self.env.timeout(finish - self.env.now)
                if step == "accept" and rejects:
                    self._finish(node, document_id, "reject")
                    return
                if not self.act(node, document_id, step):
                    self.refused += 1
                    self.backlog.move(self.env.now, node, -1)
                    return
            self.backlog.move(self.env.now, node, -1)

    def _finish(self, node: str, document_id: str, action: str) -> None:
        if not self.act(node, document_id, action):
            self.refused += 1
        self.backlog.move(self.env.now, node, -1)
