"""What the operator console reads and does, on a running ``Network``: queues and their ages, overdue
deliveries, quarantine, given-up messages, a document's journey, the audit chain — and the operators'
actions, each recorded at the node concerned as an ``OperatorActed`` event in the same unit of work.

The web pages (``docflow.console.web``) call only this class.  Every call holds the caller's lock (the
engine's network is not thread-safe; ``docflow serve`` shares its backend's lock).
Must not import sqlalchemy, lxml or starlette.
"""

from __future__ import annotations

import threading
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from docflow.domain.events import OperatorActed
from docflow.domain.lifecycle import DELIVERY, INBOUND
from docflow.errors import DocflowError
from docflow.services import Network
from docflow.services.network import TraceStep
from docflow.services.outgoing import document_routing
from docflow.services.wire import STATUS_KIND, Routing
from docflow.services.work import unit
from docflow.store import AuditReport, Delivery, Event, OutboxMessage, QuarantineEntry
from docflow.store import console_queries as queries
from docflow.store.console_queries import AgencyQueues
from docflow.transports.base import Message
from docflow.xml.hop import read_hop

#: Inbound states that still wait for the receiving clerk (a document received, accepted, being handled).
OPEN_INBOUND = tuple(s.value for s in INBOUND.states if s not in INBOUND.terminal)
#: Delivery states in which a delivery is finished (done, refused, withdrawn): never overdue.
FINISHED = tuple(s.value for s in DELIVERY.terminal)


class ConsoleError(DocflowError):
    """An operator's action that cannot be done (an entry gone, bytes that still do not read)."""


@dataclass(frozen=True, slots=True)
class Overdue:
    """A delivery left unfinished longer than the console's limit."""

    delivery: Delivery
    waited: timedelta


class Console:
    """The console's reads and actions on ``network``, under ``lock``."""

    def __init__(
        self,
        network: Network,
        lock: AbstractContextManager[object] | None = None,
        *,
        overdue_after: timedelta = timedelta(hours=24),
    ) -> None:
        self.network = network
        self.lock = lock if lock is not None else threading.RLock()
        self.overdue_after = overdue_after

    @property
    def now(self) -> datetime:
        return self.network.ctx.clock.now()

    def agency_name(self, code: str) -> str:
        """The registry's name of agency ``code`` ("" for a code it does not know)."""
        try:
            agency = self.network.ctx.registry.get(code)
        except DocflowError:
            return ""
        return agency.name if agency is not None else ""

    # -- reads ----------------------------------------------------------------------------------------

    def queues(self) -> list[AgencyQueues]:
        with self.network.ctx.store.snapshot() as repo:
            return queries.agency_queues(repo, OPEN_INBOUND)

    def overdue(self) -> list[Overdue]:
        now = self.now
        with self.network.ctx.store.snapshot() as repo:
            rows = queries.overdue_deliveries(repo, now - self.overdue_after, FINISHED)
        return [Overdue(row, now - row.updated_at) for row in rows]

    def quarantine(self) -> list[QuarantineEntry]:
        return self.network.quarantine()

    def entry(self, entry_id: int) -> QuarantineEntry:
        with self.network.ctx.store.snapshot() as repo:
            found = queries.quarantine_entry(repo, entry_id)
        if found is None:
            raise ConsoleError(f"quarantine entry {entry_id} does not exist (purged or retried already?)")
        return found

    def released(self, entries: list[QuarantineEntry]) -> dict[int, Event]:
        """Which of ``entries`` an operator released, with the action that did it (an action older than the
        entry was about an earlier entry with the same id: SQLite reuses the ids of deleted rows)."""
        received = {entry.id: entry.received_at for entry in entries}
        marked: dict[int, Event] = {}
        for event in reversed(self.actions()):
            target = str(event.detail.get("target", ""))
            if event.detail.get("action") != "release" or not target.startswith("quarantine:"):
                continue
            entry_id = int(target.split(":", 1)[1])
            if entry_id in received and event.at >= received[entry_id]:
                marked[entry_id] = event
        return marked

    def dead(self) -> list[OutboxMessage]:
        return self.network.dead()

    def trace(self, document_id: str) -> list[TraceStep]:
        return self.network.trace(document_id)

    def audit(self) -> AuditReport:
        return self.network.ctx.store.verify_audit()

    def actions(self) -> list[Event]:
        with self.network.ctx.store.snapshot() as repo:
            return queries.operator_actions(repo)

    # -- actions --------------------------------------------------------------------------------------

    def _record(self, node: str, document_id: str, operator: str, action: str, target: str, outcome: str) -> None:
        with unit(self.network.ctx) as work:
            event = OperatorActed(node, work.now, document_id, operator, action, target, outcome[:500])
            work.at(node).record(event)

    def retry_quarantined(self, operator: str, entry_id: int) -> str:
        """Hand the quarantined bytes back to their node's receive path as a transport message; the entry goes.
        Bytes that still do not read are refused here (release or purge them instead)."""
        with self.lock:
            entry = self.entry(entry_id)
            try:
                routing = self._routing(entry)
            except DocflowError as exc:
                raise ConsoleError(f"entry {entry_id} cannot be retried: {exc} — release or purge it instead") from None
            message = Message(
                f"console-retry-{uuid.uuid4().hex}",
                routing.origin,
                entry.node,
                routing.kind,  # type: ignore[arg-type]
                entry.body,
                routing.headers(),
            )
            self.network.ctx.transport.send(message)
            outcome = f"{routing.kind} {routing.document_id} from {routing.origin} handed back to {entry.node}"
            with unit(self.network.ctx) as work:
                queries.delete_quarantine(work.repo, entry_id)
                work.at(entry.node).record(
                    OperatorActed(entry.node, work.now, routing.document_id, operator, "retry",
                                  f"quarantine:{entry_id}", outcome)
                )  # fmt: skip
            self.network.notify([entry.node])
            self.network.run_until_idle()
            return outcome

    def _routing(self, entry: QuarantineEntry) -> Routing:
        hop = read_hop(entry.body, source=f"quarantine entry {entry.id}")
        ctx = self.network.ctx
        if hop.kind == "document":
            envelope = hop.envelope()
            origin = str(envelope.sender.organ_id)
            return document_routing(ctx, origin, entry.node, envelope.document_id, int(envelope.business.doc_type))
        status = hop.status()
        origin = str(status.sender.organ_id)
        route = ctx.route(origin, entry.node).encode()
        return Routing(STATUS_KIND, origin, entry.node, route, status.response_for.document_id, 0, status.status.value)

    def release_quarantined(self, operator: str, entry_id: int, note: str = "") -> None:
        """Mark an entry handled (it stays, for the record, shown as released)."""
        with self.lock:
            entry = self.entry(entry_id)
            self._record(entry.node, "", operator, "release", f"quarantine:{entry_id}", note or "handled")

    def purge_quarantined(self, operator: str, entry_id: int) -> None:
        """Delete an entry and its bytes for good."""
        with self.lock:
            entry = self.entry(entry_id)
            with unit(self.network.ctx) as work:
                queries.delete_quarantine(work.repo, entry_id)
                work.at(entry.node).record(
                    OperatorActed(entry.node, work.now, "", operator, "purge", f"quarantine:{entry_id}",
                                  f"{len(entry.body)} bytes deleted ({entry.reason[:200]})")
                )  # fmt: skip

    def _dead_row(self, message_id: str) -> OutboxMessage:
        for row in self.network.dead():
            if row.message_id == message_id:
                return row
        raise ConsoleError(f"no given-up message {message_id[:80]!r} (retried or purged already?)")

    def retry_dead(self, operator: str, message_id: str) -> int:
        """Queue a given-up message again (with the others of its node about the same document)."""
        with self.lock:
            row = self._dead_row(message_id)
            document = row.headers.get("document") or None
            count = self.network.retry_dead(node=row.node, document=document)
            self._record(row.node, document or "", operator, "retry", f"dead:{message_id}", f"{count} revived")
            self.network.run_until_idle()
            return count

    def purge_dead(self, operator: str, message_id: str) -> int:
        """Delete a given-up message for good (with the others of its node about the same document)."""
        with self.lock:
            row = self._dead_row(message_id)
            document = row.headers.get("document") or None
            count = self.network.purge_dead(node=row.node, document=document)
            self._record(row.node, document or "", operator, "purge", f"dead:{message_id}", f"{count} deleted")
            return count
