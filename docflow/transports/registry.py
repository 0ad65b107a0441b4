"""Choose a transport by URL scheme: ``open_transport("file:///var/spool/docflow")``.

Built-in schemes map to ``module:factory`` strings, imported only when a URL asks for them, so importing
docflow never imports a broker client.  Third-party transports register a factory under the entry point group
``docflow.transports``, named by the scheme; a factory is called as ``factory(url, **options)`` and returns
an object satisfying ``docflow.transports.base.Transport``.  Built-ins win over entry points of the same name.

Must not import lxml, sqlalchemy, docflow.store, docflow.xml or any concrete transport at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast
from urllib.parse import urlsplit

from docflow.errors import ConfigError
from docflow.transports.base import Transport

ENTRY_POINT_GROUP = "docflow.transports"

BUILTIN: dict[str, str] = {
    "memory": "docflow.transports.memory:MemoryTransport.from_url",
    "file": "docflow.transports.filesystem:FilesystemTransport.from_url",
    "amqp": "docflow.transports.amqp:AmqpTransport.from_url",
    "amqps": "docflow.transports.amqp:AmqpTransport.from_url",
    "axis+http": "docflow.transports.http:AxisTransport.from_url",
    "axis+https": "docflow.transports.http:AxisTransport.from_url",
}

Factory = Callable[..., Transport]


def _plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_schemes() -> list[str]:
    """Every scheme ``open_transport`` accepts here: built-ins and installed plug-ins."""
    return sorted(set(BUILTIN) | set(_plugins()))


def _resolve(target: str) -> Factory:
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    return cast(Factory, obj)


def factory_for(scheme: str) -> Factory:
    """The factory for ``scheme``; ``ConfigError`` naming the known schemes when there is none."""
    scheme = scheme.lower()
    if scheme in BUILTIN:
        try:
            return _resolve(BUILTIN[scheme])
        except ImportError as exc:
            raise ConfigError(f"transport {scheme!r} needs a package that is not installed: {exc}") from exc
    plugin = _plugins().get(scheme)
    if plugin is None:
        raise ConfigError(f"unknown transport scheme {scheme!r}; known schemes: {', '.join(known_schemes())}")
    try:
        return cast(Factory, plugin.load())
    except Exception as exc:  # a broken plug-in must not look like a docflow bug
        raise ConfigError(f"transport plug-in {scheme!r} ({plugin.value}) failed to load: {exc}") from exc


def open_transport(url: str, **options: Any) -> Transport:
    """Open the transport that ``url`` names; ``options`` go to its factory (clock, visibility_timeout, ...)."""
    scheme = urlsplit(url).scheme
    if not scheme:
        raise ConfigError(f"transport URL {url!r} has no scheme; known schemes: {', '.join(known_schemes())}")
    return factory_for(scheme)(url, **options)
