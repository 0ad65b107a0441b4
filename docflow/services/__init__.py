"""The application layer: node operations, outbox relay, idempotent inbox, quarantine.

Uses the transport protocol and the unit of work, never a concrete transport; ``docflow.bootstrap``
wires concrete parts together.
"""

from docflow.services.context import Context, Settings
from docflow.services.network import Activity, Network, Node, TraceStep, serve_once

__all__ = ["Activity", "Context", "Network", "Node", "Settings", "TraceStep", "serve_once"]
