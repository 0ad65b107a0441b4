"""What every node operation needs, wired once: store, transport, registry, clock, routing policy, settings.

``bootstrap.py`` builds a ``Context`` from concrete parts; tests build one with fakes.  The context also
caches what is asked again and again on the hot path (routes between two nodes, the header of an
organisation), so a hop does no repeated planning or registry walks.  ``bus`` publishes each committed unit
of work's typed events; ``handoff`` holds the rows operations queued, for an in-process network to send.
Must not import a concrete transport, lxml or sqlalchemy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from docflow.domain.clock import Clock, WallClock
from docflow.domain.envelope import Organization
from docflow.domain.events import EventBus
from docflow.domain.ids import OrganId, organ_id
from docflow.domain.registry import Registry
from docflow.domain.retry import WORKING_DAY, RetryPolicy
from docflow.domain.routing import NATIONAL_AXIS, Route, RoutingPolicy, plan_route, province_number
from docflow.services.trust import Authorisation, Signing
from docflow.store import Store
from docflow.transports.base import Transport

if TYPE_CHECKING:
    from docflow.services.work import Handoff

ROUTE_CACHE_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class Settings:
    """Tunables of the engine."""

    retry_budget: int = 5  # attempts the transport may refuse before a message may be given up
    retry_delay: float = 60.0  # seconds before a failed send is tried again (doubled per attempt, capped)
    retry_delay_cap: float = 3600.0
    give_up_after: float = WORKING_DAY  # seconds since queued before a message may be given up
    keep_sent: float = 0.0  # seconds a sent outbox row is kept (0: deleted once the transport took it)
    batch: int = 200  # messages taken from a queue or an outbox in one unit of work
    strict: bool = False  # semantic warnings count as errors at the final recipient
    authorisation: Authorisation | None = None  # who may send what (docflow.services.trust); None: not checked

    @property
    def retry(self) -> RetryPolicy:
        """The back-off and give-up rules these settings describe."""
        return RetryPolicy(self.retry_budget, self.retry_delay, self.retry_delay_cap, self.give_up_after)


@dataclass(slots=True)
class Context:
    """The parts a node works with."""

    store: Store
    transport: Transport
    registry: Registry
    policy: RoutingPolicy = RoutingPolicy.HIERARCHICAL
    clock: Clock = field(default_factory=WallClock)
    settings: Settings = field(default_factory=Settings)
    bus: EventBus = field(default_factory=EventBus, repr=False)
    handoff: Handoff = field(default_factory=lambda: _handoff(), repr=False)
    signing: Signing | None = None  # sign on send, verify at the final recipient (docflow.services.trust)
    _planned: Callable[[str, str], Route] = field(init=False, repr=False)
    _orgs: dict[str, Organization] = field(default_factory=dict, repr=False)

    def route(self, sender: OrganId | str, recipient: OrganId | str) -> Route:
        """The planned route of a message from ``sender`` to ``recipient`` (the most used pairs are cached)."""
        return self._planned(str(sender), str(recipient))

    def __post_init__(self) -> None:
        # Bounded: a national network has ~13,000² pairs, a long-running process must not keep them all.
        self._planned = functools.lru_cache(maxsize=ROUTE_CACHE_SIZE)(self._plan)

    def _plan(self, sender: str, recipient: str) -> Route:
        return plan_route(self.registry, organ_id(sender), organ_id(recipient), self.policy)

    def knows(self, code: OrganId | str) -> bool:
        """True for an agency of the registry, a provincial hub or the national axis."""
        oid = organ_id(code)
        return oid in self.registry or oid.is_hub or oid == NATIONAL_AXIS

    def organization(self, code: OrganId | str) -> Organization:
        """The message header of an agency; hubs and the axis get a descriptive name."""
        key = str(code)
        found = self._orgs.get(key)
        if found is None:
            oid = organ_id(code)
            if oid in self.registry:
                found = self.registry.organization(oid)
            elif oid == NATIONAL_AXIS:
                found = Organization(oid, organ_name="Trục liên thông văn bản quốc gia")
            elif oid.is_hub:
                found = Organization(oid, organ_name=f"Nền tảng tích hợp tỉnh {province_number(oid):02d}")
            else:
                found = Organization(oid)
            self._orgs[key] = found
        return found

    @property
    def retry(self) -> RetryPolicy:
        return self.settings.retry


def _handoff() -> Handoff:
    from docflow.services.work import Handoff

    return Handoff()
