"""The one place that wires concrete parts together: a store URL, a transport URL, a topology, a policy.

Tests and the simulator call ``build_network`` with their own clock, transport or settings; library users
embed the same call.  Importing this module opens nothing.
"""

from __future__ import annotations

from typing import Any

from docflow.domain.clock import Clock, WallClock
from docflow.domain.registry import Registry
from docflow.domain.routing import RoutingPolicy
from docflow.domain.topologies import national, topology
from docflow.domain.topologies import tien_giang_2017 as _tien_giang_2017
from docflow.keys import KeyStore
from docflow.services.context import Context, Settings
from docflow.services.network import Network
from docflow.services.trust import Signing
from docflow.store import open_store
from docflow.transports.base import Transport
from docflow.transports.registry import open_transport
from docflow.xml.signing import VerifyPolicy

_WITH_HUBS = {"tien_giang_2017": _tien_giang_2017, "national": national}


def load_topology(name_or_registry: str | Registry, *, with_hubs: bool = False) -> Registry:
    """A registry by name (``tien_giang_2017``, ``national``) or as given; hubs added on request."""
    if isinstance(name_or_registry, Registry):
        return name_or_registry
    if with_hubs and name_or_registry in _WITH_HUBS:
        return _WITH_HUBS[name_or_registry](with_hubs=True)
    return topology(name_or_registry)


def build_network(
    *,
    db: str | None = None,
    transport: str | Transport = "memory://",
    registry: str | Registry = "tien_giang_2017",
    policy: RoutingPolicy | str = RoutingPolicy.HIERARCHICAL,
    clock: Clock | None = None,
    settings: Settings | None = None,
    transport_options: dict[str, Any] | None = None,
    keys: KeyStore | None = None,
    verify: VerifyPolicy | None = None,
) -> Network:
    """A ready ``Network``: store migrated, transport open, registry loaded.  With ``keys``, documents are
    signed on send by senders the key store holds a key for, and verified at their final recipient under
    ``verify`` (default: ``VerifyPolicy()``, a signature required)."""
    chosen = policy if isinstance(policy, RoutingPolicy) else RoutingPolicy.parse(policy)
    clock = clock or WallClock()
    tree = load_topology(registry, with_hubs=chosen is RoutingPolicy.HUB)
    store = open_store(db)
    if isinstance(transport, str):
        options = {"clock": clock.time, **(transport_options or {})}
        transport = open_transport(transport, **options)
    ctx = Context(
        store=store, transport=transport, registry=tree, policy=chosen, clock=clock, settings=settings or Settings()
    )
    if keys is not None:
        ctx.signing = Signing(keys, verify if verify is not None else VerifyPolicy())
    return Network(ctx)
