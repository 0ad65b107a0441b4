"""Traffic: the documents a scenario sends, a deterministic schedule of ``Dispatch``es drawn as it is read.

Each ``[[traffic]]`` stream is a Poisson process per sending node; the superposition of those is drawn
as one process at the summed rate with the sender picked uniformly, from its own ``random.Random`` seeded
by the run's seed and the stream's index, so adding a stream never changes the others.  Streams run in
office hours (the gaps are drawn in working time) unless ``always``.  Both fidelities replay the same
schedule.  Must not import simpy or the engine (services, store, transports).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind, Registry
from docflow.sim.scenario import Scenario, TrafficSpec

NOTATIONS = {"directive": "CT-UBND", "report": "BC-UBND", "letter": "CV-UBND"}
SUBJECTS = {"directive": "Chỉ thị", "report": "Báo cáo", "letter": "Công văn"}


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One document to send: when, from whom, to whom, and what it is."""

    at: float
    serial: int
    sender: str
    recipients: tuple[str, ...]
    stream: str
    kind: str
    document_type: str
    code: str

    @property
    def subject(self) -> str:
        return f"{SUBJECTS[self.kind]} số {self.code} ({self.stream})"


class _Targets:
    """Recipient candidates per sender, computed once per sender."""

    def __init__(self, registry: Registry, spec: TrafficSpec) -> None:
        self.registry, self.spec = registry, spec
        self.kinds = frozenset(spec.recipients)
        self._cache: dict[OrganId, tuple[OrganId, ...]] = {}

    def _of(self, code: OrganId) -> AgencyKind:
        return self.registry[code].kind

    def candidates(self, sender: OrganId) -> tuple[OrganId, ...]:
        found = self._cache.get(sender)
        if found is not None:
            return found
        reg, spec = self.registry, self.spec
        if spec.kind == "directive":
            found = reg.select(under=sender, kinds=self.kinds)
        elif spec.kind == "report":
            found = next(((a,) for a in reg.ancestors(sender) if self._of(a) in self.kinds), ())
        else:
            parent = reg.parent(sender)
            pool = reg.children(parent) if spec.scope == "parent" and parent is not None else reg.codes
            found = tuple(c for c in pool if c != sender and self._of(c) in self.kinds)
        self._cache[sender] = found
        return found

    def draw(self, sender: OrganId, rng: random.Random) -> tuple[OrganId, ...]:
        pool = self.candidates(sender)
        limit = self.spec.fanout or (1 if self.spec.kind == "letter" else 0)
        if limit and len(pool) > limit:
            pool = tuple(sorted(rng.sample(pool, limit)))
        return pool


def senders_of(registry: Registry, spec: TrafficSpec) -> tuple[OrganId, ...]:
    """The sending nodes of a stream, in code order."""
    kinds = frozenset(spec.senders)
    found = list(registry.select(under=spec.under, kinds=kinds))
    if spec.under is not None and spec.under in registry and registry[spec.under].kind in kinds:
        found.insert(0, spec.under)
    return tuple(found)


def schedule(scenario: Scenario, registry: Registry, seed: int) -> list[Dispatch]:
    """Every document the scenario sends, in time order (ties in stream order)."""
    return list(dispatches(scenario, registry, seed))


def dispatches(scenario: Scenario, registry: Registry, seed: int) -> Iterator[Dispatch]:
    """``schedule``, drawn as it is read: the streams are merged in time order, so a run holds the next document
    of each stream, not the whole day's."""
    streams = [_stream(scenario, registry, seed, index, spec) for index, spec in enumerate(scenario.traffic)]
    numbers: dict[str, int] = {}
    for serial, (t, _, _, sender, recipients, spec) in enumerate(heapq.merge(*streams)):
        numbers[sender] = numbers.get(sender, 0) + 1
        yield Dispatch(
            t,
            serial,
            sender,
            recipients,
            spec.name,
            spec.kind,
            spec.document_type,
            f"{numbers[sender]}/{NOTATIONS[spec.kind]}",
        )


def _stream(
    scenario: Scenario, registry: Registry, seed: int, index: int, spec: TrafficSpec
) -> Iterator[tuple[float, int, int, str, tuple[str, ...], TrafficSpec]]:
    """One stream's documents in time order, as ``(at, stream, count, sender, recipients, spec)``."""
    senders = senders_of(registry, spec)
    rate = spec.rate_per_hour * len(senders) / 3600.0
    if rate <= 0:
        return
    calendar = scenario.calendar
    rng = random.Random(f"{seed}:traffic:{index}")
    targets = _Targets(registry, spec)
    t, count = 0.0, 0
    while True:
        gap = rng.expovariate(rate)
        t = t + gap if spec.always else calendar.add(t, gap)
        if t >= scenario.duration:
            return
        sender = senders[rng.randrange(len(senders))]
        recipients = targets.draw(sender, rng)
        if recipients:
            # the spec is never compared: (at, stream, count) is unique
            yield t, index, count, str(sender), tuple(str(r) for r in recipients), spec
            count += 1
