"""Move message bytes between nodes over a pluggable transport, chosen by URL scheme.

The contract (``Transport``, ``Message``, ``Delivery``) and the registry are imported here; concrete
transports are imported only when used, so this package never pulls in a broker client.  Must not import
lxml, sqlalchemy, docflow.store or docflow.xml.
"""

from docflow.transports.base import Delivery, Message, MessageKind, Transport
from docflow.transports.registry import ENTRY_POINT_GROUP, known_schemes, open_transport

__all__ = ["ENTRY_POINT_GROUP", "Delivery", "Message", "MessageKind", "Transport", "known_schemes", "open_transport"]
