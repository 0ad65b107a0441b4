"""Traffic: the documents a scenario sends, drawn up front as a deterministic schedule of ``Dispatch``es.

Each ``[[traffic]]`` stream is a Poisson process per sending node; the superposition of those is drawn
as one process at the summed rate with the sender picked uniformly, from its own ``random.Random`` seeded
by the run's seed and the stream's index, so adding a stream never changes the others.  Streams run in
office hours (the gaps are drawn in working time) unless ``always``.  Both fidelities replay the same
schedule.  Must not import simpy or the engine (services, store, transports).
"""

from __future__ import annotations

import random
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
    drawn: list[tuple[float, int, int, OrganId, tuple[OrganId, ...], TrafficSpec]] = []
    calendar = scenario.calendar
    for index, spec in enumerate(scenario.traffic):
        senders = senders_of(registry, spec)
        rate = spec.rate_per_hour * len(senders) / 3600.0
        if rate <= 0:
            continue
        rng = random.Random(f"{seed}:traffic:{index}")
        targets = _Targets(registry, spec)
        t, count = 0.0, 0
        while True:
            gap = rng.expovariate(rate)
            t = t + gap if spec.always else calendar.add(t, gap)
            if t >= scenario.duration:
                break
            sender = senders[rng.randrange(len(senders))]
            recipients = targets.draw(sender, rng)
            if recipients:
                drawn.append((t, index, count, sender, recipients, spec))
                count += 1
    drawn.sort(key=lambda item: (item[0], item[1], item[2]))
    numbers: dict[OrganId, int] = {}
    out = []
    for serial, (t, _, _, sender, recipients, spec) in enumerate(drawn):
        numbers[sender] = numbers.get(sender, 0) + 1
        code = f"{numbers[sender]}/{NOTATIONS[spec.kind]}"
        out.append(
            Dispatch(
                t,
                serial,
                str(sender),
                tuple(str(r) for r in recipients),
                spec.name,
                spec.kind,
                spec.document_type,
                code,
            )
        )
    return out
