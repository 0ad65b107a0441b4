"""What docflow writes on a transport message besides the edXML bytes, and the idempotency keys it derives.

Headers carry what a forwarding node needs without reading the body: the original sender (``origin``),
the final recipient (``destination``), the planned route, the DocumentId, the business type and, for status
messages, the status code.  The idempotency key names *what* a message is (not which hop carried it), so
the same document or status arriving twice at a node — by retry, redelivery or a replayed file — is applied
once.  Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from docflow.errors import TransportError

ORIGIN = "origin"
DESTINATION = "destination"
ROUTE = "route"
DOCUMENT = "document"
BUSINESS = "business"
STATUS = "status"
REGARDING = "regarding"
ROUND = "round"

EDOC = "edoc"
STATUS_KIND = "status"
#: A one-stop dossier handed between agencies (``docflow.xml.dossier_xml``): ``document`` is its MaHoSo and
#: ``round`` the number of history rows it carries, so its key is the hand-over's identity
#: (``DossierMessage.identity``: ``dossier:<MaHoSo>:<rows>:<From>><To>``).
DOSSIER = "dossier"
KINDS = (EDOC, STATUS_KIND, DOSSIER)

#: The longest DocumentId docflow stores and forwards (the store's column; a longer one is refused at the edge).
MAX_DOCUMENT_ID = 255
_ORGAN = re.compile(r"(?:\d{3}\.)?\d{2}\.\d{2}\.[A-Z]\d{2}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Routing:
    """The routing facts of one message, as carried in transport headers."""

    kind: str  # "edoc" | "status" | "dossier"
    origin: str
    destination: str
    route: str
    document_id: str
    business: int = 0
    status: str = ""
    regarding: str = ""  # a status about a delivery to another node (a 02 from a hop that refused it)
    round: int = 0  # the amendment round a recall / update / replacement request or its answer belongs to

    def headers(self) -> dict[str, str]:
        headers = {
            ORIGIN: self.origin,
            DESTINATION: self.destination,
            ROUTE: self.route,
            DOCUMENT: self.document_id,
            BUSINESS: str(self.business),
        }
        if self.status:
            headers[STATUS] = self.status
        if self.regarding:
            headers[REGARDING] = self.regarding
        if self.round:
            headers[ROUND] = str(self.round)
        return headers

    @classmethod
    def from_headers(cls, kind: str, headers: Mapping[str, str]) -> Routing:
        """The routing facts of a received message; ``TransportError`` naming the header when one is missing or
        would not fit what docflow stores (an unknown kind, a malformed OrganId, an over-long DocumentId, a
        control character)."""
        if kind not in KINDS:
            raise TransportError(f"message kind {kind[:40]!r} is not one of {', '.join(map(repr, KINDS))}")
        for name in (ORIGIN, DESTINATION, REGARDING):
            value = headers.get(name, "")
            if value and not _ORGAN.fullmatch(value):
                raise TransportError(f"routing header {name!r} is not an OrganId: {value[:60]!r}")
        document = headers.get(DOCUMENT, "")
        if len(document) > MAX_DOCUMENT_ID or _CONTROL.search(document):
            too_long = len(document) > MAX_DOCUMENT_ID
            why = f"longer than {MAX_DOCUMENT_ID} characters" if too_long else "control character"
            raise TransportError(f"routing header {DOCUMENT!r} refused ({why}): {document[:60]!r}")
        try:
            return cls(
                kind=kind,
                origin=headers[ORIGIN],
                destination=headers[DESTINATION],
                route=headers[ROUTE],
                document_id=headers[DOCUMENT],
                business=int(headers.get(BUSINESS, "0")),
                status=headers.get(STATUS, ""),
                regarding=headers.get(REGARDING, ""),
                round=int(headers.get(ROUND, "0")),
            )
        except (KeyError, ValueError) as exc:
            raise TransportError(f"message lacks docflow routing header {exc}") from None

    @property
    def key(self) -> str:
        """The idempotency key: the same document or status for the same destination is the same key."""
        if self.kind == EDOC:
            return f"edoc|{self.document_id}|{self.business}|{self.origin}|{self.destination}"
        if self.kind == DOSSIER:
            return f"dossier:{self.document_id}:{self.round}:{self.origin}>{self.destination}"
        extra = f"|{self.regarding}" if self.regarding else ""
        extra += f"|r{self.round}" if self.round else ""
        return f"status|{self.document_id}|{self.business}|{self.origin}|{self.destination}|{self.status}{extra}"

    def message_id(self, hop_sender: str) -> str:
        """A transport message id: stable for retries of the same hop, distinct per hop."""
        digest = hashlib.sha256(f"{self.key}@{hop_sender}".encode()).hexdigest()[:32]
        return f"{self.kind}-{digest}"
