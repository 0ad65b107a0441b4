"""Pure route planning: which nodes a document passes between its sender and one recipient.

Policies:

``direct``
    sender → recipient (point-to-point connections, one hop).
``hierarchical``
    up the four-tier tree to the lowest common ancestor and down again, stored and forwarded at each tier
    (commune → district → province → Government Office → … ).
``hub``
    agency → its provincial hub → the national axis → the other provincial hub → agency, as the
    provincial integration platforms (LGSP) and the national document axis connect them.  Agencies of one
    province meet at their hub; central bodies (G codes) are connected to the axis directly.

Hub codes are docflow's convention (QCVN 102 gives hubs W codes but no numbering): the provincial hub of
province ``Hnn`` is ``00.nn.W00``, the national axis is ``00.00.W00``.

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from docflow.domain.ids import OrganId
from docflow.errors import ConfigError, RegistryError

NATIONAL_AXIS = OrganId("W", 0, 0, 0, 0, short=True)  # 00.00.W00

#: Level-1 letters whose number is a province's (people's committees H, Party bodies A).
_PROVINCIAL_PREFIXES = frozenset({"H", "A"})


class RoutingPolicy(StrEnum):
    """How documents travel between nodes."""

    DIRECT = "direct"
    HIERARCHICAL = "hierarchical"
    HUB = "hub"

    @classmethod
    def parse(cls, text: str) -> RoutingPolicy:
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(p.value for p in cls)
            raise ConfigError(f"unknown routing policy {text!r}: expected one of {known}") from None


class Tree(Protocol):
    """What hierarchical routing needs of the registry."""

    def path(self, a: OrganId | str, b: OrganId | str) -> Sequence[OrganId]:
        """The tree path from ``a`` up to the lowest common ancestor and down to ``b``, both included."""
        ...

    def __contains__(self, code: object) -> bool:
        """Whether ``code`` is an agency of the tree."""
        ...


def province_number(code: OrganId) -> int | None:
    """The province a code belongs to (its level-1 number for H and A codes), or None for central bodies."""
    if code.prefix in _PROVINCIAL_PREFIXES and not code.short:
        return code.level1
    if code.is_hub and code.short and code.level2:
        return code.level2
    return None


def provincial_hub(province: int) -> OrganId:
    """The hub code of province ``province`` (``00.nn.W00``)."""
    return OrganId("W", 0, province, 0, 0, short=True)


@dataclass(frozen=True, slots=True)
class Route:
    """The nodes one delivery passes, sender first and recipient last."""

    policy: RoutingPolicy
    hops: tuple[OrganId, ...]

    def __post_init__(self) -> None:
        if len(self.hops) < 2:
            raise RegistryError("a route needs at least a sender and a recipient")
        if len(set(self.hops)) != len(self.hops):
            raise RegistryError(f"route passes a node twice: {' → '.join(map(str, self.hops))}")

    @property
    def sender(self) -> OrganId:
        return self.hops[0]

    @property
    def recipient(self) -> OrganId:
        return self.hops[-1]

    def next_hop(self, current: OrganId) -> OrganId | None:
        """The node after ``current``, or None at the recipient; RegistryError when off the route."""
        try:
            index = self.hops.index(current)
        except ValueError:
            raise RegistryError(f"{current} is not on the route {self}") from None
        return self.hops[index + 1] if index + 1 < len(self.hops) else None

    def previous_hop(self, current: OrganId) -> OrganId | None:
        """The node before ``current`` (the way status messages travel back), or None at the sender."""
        index = self.hops.index(current)
        return self.hops[index - 1] if index > 0 else None

    def reversed(self) -> Route:
        """The same path walked from the recipient back to the sender."""
        return Route(self.policy, tuple(reversed(self.hops)))

    def __str__(self) -> str:
        return " → ".join(str(h) for h in self.hops)

    def encode(self) -> str:
        """A compact text form for storage and transport headers."""
        return f"{self.policy.value}:" + ";".join(str(h) for h in self.hops)

    @classmethod
    def decode(cls, text: str) -> Route:
        policy, _, hops = text.partition(":")
        return cls(RoutingPolicy.parse(policy), tuple(OrganId.parse(h) for h in hops.split(";")))


def _hub_path(sender: OrganId, recipient: OrganId) -> tuple[OrganId, ...]:
    a, b = province_number(sender), province_number(recipient)
    up: list[OrganId] = [sender]
    if a is not None and not sender.is_hub:
        up.append(provincial_hub(a))
    down: list[OrganId] = [recipient]
    if b is not None and not recipient.is_hub:
        down.append(provincial_hub(b))
    if a is not None and a == b:
        middle: list[OrganId] = []
    else:
        middle = [NATIONAL_AXIS]
    hops = [*up, *middle, *reversed(down)]
    # collapse repeats (e.g. the sender is itself a hub, or the recipient is the axis)
    unique: list[OrganId] = []
    for hop in hops:
        if not unique or unique[-1] != hop:
            unique.append(hop)
    return tuple(unique)


def plan_route(tree: Tree | None, sender: OrganId, recipient: OrganId, policy: RoutingPolicy) -> Route:
    """Plan the route of one delivery; ``tree`` is needed by the hierarchical policy only."""
    if sender == recipient:
        raise RegistryError(f"{sender} cannot send a document to itself")
    if policy is RoutingPolicy.DIRECT:
        if tree is not None and recipient not in tree:  # nobody else could ever deliver it
            raise RegistryError(f"{recipient} is not in the registry: a direct route cannot reach it")
        return Route(policy, (sender, recipient))
    if policy is RoutingPolicy.HIERARCHICAL:
        if tree is None:
            raise ConfigError("hierarchical routing needs the registry tree")
        return Route(policy, tuple(tree.path(sender, recipient)))
    return Route(policy, _hub_path(sender, recipient))
