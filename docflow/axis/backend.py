"""``AxisBackend``: the one adapter between the axis server and docflow's engine, store and XML readers.

The server's handlers speak only to this class.  A package sent in is parsed and validated
(``docflow.xml.hop.read_hop``), recorded by the engine as the sending agency's operation (a document:
``Node.send``, one delivery per recipient; a status: the receiving clerk's action — 03 ``accept``, 04
``assign``, 05 ``start``, 06 ``complete``, 02 ``reject``, 13 ``recall``, 15/16 ``agree``/``refuse``) and queued
in the axis mailbox (``docflow.store.axis_mailbox``) for each recipient with the exact bytes sent.  A one-stop
dossier's hand-over (``messagetype=dossier``, from docflow engines only) is validated and relayed, never
recorded.  The engine carries the hops (``Network.run_until_idle``) in batches: in the background every few seconds
(``start_pump``) and before anything that reads or moves its state (a status, a failed receipt, a sent list).
When the engine's internals change, only this module moves.  Must not import sqlalchemy, lxml or starlette.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NoReturn

from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import Credentials, System
from docflow.axis.packages import (
    Parsed,
    axis_system,
    identity,
    load_registry,
    new_id,
    organisation_of,
    response_for,
)
from docflow.axis.protocol import AxisError, ErrorCode, ascii_text
from docflow.bootstrap import build_network
from docflow.domain.envelope import BusinessDocType, Envelope
from docflow.domain.ids import organ_id
from docflow.domain.registry import Registry
from docflow.domain.routing import NATIONAL_AXIS
from docflow.domain.status import StatusCode, StatusMessage
from docflow.errors import DocflowError, IdentifierError, SignatureError, UnsafeXMLError, XMLError
from docflow.keys import KeyStore
from docflow.services import Network
from docflow.store import Organisation, Store, axis_mailbox
from docflow.store.axis_mailbox import DONE, FAIL, INITIAL, PROCESSING, Package
from docflow.xml import write_status
from docflow.xml.dossier_xml import DossierHop, dossier_hop
from docflow.xml.hop import Hop, read_hop
from docflow.xml.signing import VerifyPolicy

log = logging.getLogger("docflow.axis")

#: A receiving system's status packet -> the engine's clerk action at the receiver.
_ACTIONS = {"02": "reject", "03": "accept", "04": "assign", "05": "start", "06": "complete"}
UPDATE_STATES = {"done": DONE, "fail": FAIL, "processing": PROCESSING}


class AxisBackend:
    """Everything the axis operations do to docflow, behind one lock (the engine's network is not thread-safe)."""

    def __init__(
        self,
        network: Network,
        credentials: Credentials,
        *,
        node: str = str(NATIONAL_AXIS),
        upstream: AxisClient | None = None,
        keys: KeyStore | None = None,
        verify: VerifyPolicy | None = None,
    ) -> None:
        self.network = network
        self.credentials = credentials
        self.node = node
        self.upstream = upstream  # a provincial hub's client of the axis above it
        #: With ``keys``, every document sent in must carry a signature that verifies with its sender's
        #: certificate there (``verify`` says whether an unsigned one may pass); else it is refused with 209.
        self.keys = keys
        self.verify = verify if verify is not None or keys is None else VerifyPolicy()
        #: The system packages pulled from the upstream axis are accepted as (it may relay for any agency).
        self.upstream_system = System(f"upstream:{node}", "", frozenset({"*"}))
        self._lock = threading.RLock()
        self._pump_stop = threading.Event()
        self._pump: threading.Thread | None = None

    def start_pump(self, interval: float = 5.0) -> None:
        """Run the engine every ``interval`` seconds in the background: retries and leases that fell due (a
        hop a crashed run had claimed) move even when no call comes in."""

        def pump() -> None:
            while not self._pump_stop.wait(interval):
                try:
                    with self._lock:
                        self.network.run_until_idle()
                except DocflowError as exc:
                    log.warning("axis: engine pass failed: %s", exc)

        self._pump = threading.Thread(target=pump, name="docflow-axis-pump", daemon=True)
        self._pump.start()

    @classmethod
    def open(
        cls,
        *,
        db: str | None,
        registry: str | Registry,
        credentials: Credentials,
        node: str = str(NATIONAL_AXIS),
        upstream: AxisClient | None = None,
        spool: str | None = None,
        keys: KeyStore | None = None,
        verify: VerifyPolicy | None = None,
    ) -> AxisBackend:
        """Open (create or upgrade) the store, load the registry, catch up on work left by a previous run.

        ``spool`` is the folder of the engine's internal queues (a ``file://`` transport this process alone
        consumes), so a hop in flight survives a crash of the server; without it they are in memory (tests,
        benchmarks of the protocol alone).  ``keys`` and ``verify``: the signature check of documents sent in
        (see ``__init__``)."""
        if spool:
            transport, options = f"file://{os.path.abspath(spool)}", {"reclaim_on_open": True}
        else:
            transport, options = "memory://", {}
        network = build_network(db=db, transport=transport, registry=load_registry(registry), transport_options=options)
        backend = cls(network, credentials, node=node, upstream=upstream, keys=keys, verify=verify)
        backend._seed_directory()
        network.recover()
        network.run_until_idle()
        return backend

    @property
    def lock(self) -> threading.RLock:
        """The lock every use of the engine's network holds (the operator console takes it too)."""
        return self._lock

    @property
    def store(self) -> Store:
        return self.network.ctx.store

    @property
    def registry(self) -> Registry:
        return self.network.ctx.registry

    def close(self) -> None:
        self._pump_stop.set()
        if self._pump is not None:
            self._pump.join(timeout=60)
        if self.upstream is not None:
            self.upstream.close()
        self.network.ctx.transport.close()
        self.store.close()

    # -- sendEdoc -------------------------------------------------------------------------------------

    def send(
        self,
        system: System,
        data: bytes,
        *,
        message_type: str,
        to: Sequence[str] | None,
        from_header: str | None,
        meta: Mapping[str, str] | None = None,
    ) -> str:
        """Record and queue one package; returns its ``DocId`` (the same one again for a resend).

        ``meta`` is what a docflow engine sends along (``docflow-*`` headers: its message id and routing
        headers): such a package is a hop of the sender's own engine, which keeps its deliveries, so the axis
        validates, deduplicates and relays it without recording it in its engine; its recipient may be any
        well-formed OrganId (a hub, an agency another axis serves)."""
        with self._lock:
            parsed = self._parse(system, data, message_type, to, meta)
            if from_header and from_header != parsed.sender:
                self._refuse(
                    data,
                    system,
                    ErrorCode.BAD_PARAMETER,
                    f"header from {from_header} differs from the package's From {parsed.sender}",
                )
            if not system.owns(parsed.sender):
                self._refuse(
                    data, system, ErrorCode.NOT_OWNER, f"system {system.id} may not send as agency {parsed.sender}"
                )
            outside: list[str] = []
            if not meta:
                if not self._known(parsed.sender):
                    raise AxisError(ErrorCode.UNKNOWN_AGENCY, f"unknown agency {parsed.sender}")
                outside = [code for code in parsed.recipients if not self._known(code)]
                if outside and self.upstream is None:
                    raise AxisError(ErrorCode.UNKNOWN_AGENCY, f"unknown agency {', '.join(outside)}")
            identities = {r: identity(parsed, r) for r in parsed.recipients}
            with self.store.snapshot() as repo:
                existing = axis_mailbox.by_identities(repo, identities.values())
            missing = [r for r, key in identities.items() if key not in existing]
            send_id = next(iter(existing.values())).send_id if existing else new_id()
            if not missing:
                return send_id  # a resend after a lost answer: nothing new is stored
            far = [r for r in missing if r in outside]
            near = [r for r in missing if r not in outside]
            forwarded = self._push(parsed, data, far) if far else ""
            if near and not meta:
                self._record(parsed, near)
            now = self.network.ctx.clock.now()
            extra = json.dumps(dict(meta), ensure_ascii=False, separators=(",", ":")) if meta else ""
            rows = [
                dataclasses.replace(self._package(parsed, system, r, identities[r], send_id, data, now), meta=extra)
                for r in near
            ]
            rows += [
                dataclasses.replace(
                    self._package(parsed, system, r, identities[r], send_id, data, now),
                    state=DONE,
                    description=f"forwarded upstream as {forwarded}",
                    meta=json.dumps({"upstream": forwarded}),
                )
                for r in far
            ]
            with self.store.unit_of_work() as repo:
                axis_mailbox.add_packages(repo, rows)
            return send_id  # the engine carries the hops at its next pass

    def settle(self) -> None:
        """Carry every hop the engine has waiting (what calls since its last pass queued)."""
        with self._lock:
            self.network.run_until_idle()

    def _push(self, parsed: Parsed, data: bytes, recipients: list[str]) -> str:
        """A hub hands what is addressed outside its registry to the upstream axis; returns the upstream DocId.
        A failure refuses the whole call before anything is stored here (the client's retry is harmless)."""
        assert self.upstream is not None
        try:
            return self.upstream.send(data, message_type=parsed.kind, sender=parsed.sender, to=recipients)
        except AxisCallError as exc:
            raise AxisError(ErrorCode.UPSTREAM, f"the upstream axis refused it: {exc.code} {exc.description}") from None
        except DocflowError as exc:
            raise AxisError(ErrorCode.UPSTREAM, f"the upstream axis is unreachable: {exc}") from None

    def upstream_status(self, upstream_doc_id: str) -> dict[str, str]:
        """The upstream's receive status of a forwarded package, by recipient ({} when it cannot say)."""
        if self.upstream is None:
            return {}
        try:
            return {item["toCode"]: item["receiveStatus"] for item in self.upstream.sent(upstream_doc_id)}
        except DocflowError as exc:
            log.info("axis: upstream sent list of %s unavailable: %s", upstream_doc_id, exc)
            return {}

    def _parse(
        self, system: System, data: bytes, message_type: str, to: Sequence[str] | None, meta: Mapping[str, str] | None
    ) -> Parsed:
        source = f"sendEdoc from {system.id}"
        try:
            if message_type == "dossier":
                return self._dossier(dossier_hop(data, source=source), to, meta)
            hop = read_hop(data, source=source)
            if hop.kind == "document":
                if message_type == "status":
                    raise AxisError(ErrorCode.BAD_PARAMETER, "messagetype is status but the package is a document")
                return self._document(self._trusted(hop), to)
            return self._status(hop.status(), to)
        except SignatureError as exc:
            self._refuse(data, system, ErrorCode.UNTRUSTED_SIGNATURE, str(exc))
        except UnsafeXMLError as exc:
            self._refuse(data, system, ErrorCode.UNSAFE_XML, str(exc))
        except XMLError as exc:
            self._refuse(data, system, ErrorCode.INVALID_EDXML, str(exc))
        except IdentifierError as exc:
            self._refuse(data, system, ErrorCode.INVALID_EDXML, str(exc))

    def _trusted(self, hop: Hop) -> Envelope:
        """The document sent in: read from what was signed when its signature is checked and verifies."""
        if self.keys is None or self.verify is None:
            return hop.envelope()
        verified = hop.verify(self.keys.certificate, self.verify)
        return hop.envelope() if verified is None else hop.signed_envelope(verified)

    def _document(self, envelope: Envelope, to: Sequence[str] | None) -> Parsed:
        recipients = tuple(dict.fromkeys(to or [str(r.organ_id) for r in envelope.recipients]))
        if to:
            ctx = self.network.ctx
            envelope = dataclasses.replace(envelope, recipients=tuple(ctx.organization(r) for r in recipients))
        return Parsed(
            kind="edoc",
            sender=str(envelope.sender.organ_id),
            recipients=recipients,
            document_id=envelope.document_id,
            business=int(envelope.business.doc_type),
            subject=envelope.subject,
            notation=str(envelope.code),
            envelope=envelope,
        )

    def _status(self, status: StatusMessage, to: Sequence[str] | None) -> Parsed:
        sender = str(status.sender.organ_id)
        about = status.response_for.document_id
        recipients: tuple[str, ...] = tuple(to or (str(status.response_for.organ_id),))
        if recipients == (sender,):  # a recall (13) names its own sender: it goes to the document's recipients
            recipients = tuple(d.recipient for d in self.network.node(sender).deliveries(about))
            if not recipients:
                raise AxisError(ErrorCode.UNKNOWN_DOCUMENT, f"{sender} has sent no document {about}")
        return Parsed(
            kind="status",
            sender=sender,
            recipients=recipients,
            document_id=about,
            business=0,
            status_code=status.status.value,
            subject=status.description,
            notation=status.response_for.code,
            status=status,
        )

    @staticmethod
    def _dossier(hop: DossierHop, to: Sequence[str] | None, meta: Mapping[str, str] | None) -> Parsed:
        """A one-stop dossier's hand-over, carried between docflow engines (the standard's systems send edXML
        only): relayed like any engine hop, never recorded in the axis' own engine."""
        if not meta:
            raise AxisError(
                ErrorCode.BAD_PARAMETER,
                "a dossier travels between docflow engines only: send it with the docflow-* parameters "
                "(the axis+http transport does)",
            )
        if not to:
            raise AxisError(ErrorCode.BAD_PARAMETER, "a dossier needs the header to: the next agency on its way")
        message = hop.message()
        return Parsed(
            kind="dossier",
            sender=str(message.sender),
            recipients=tuple(dict.fromkeys(to)),
            document_id=message.dossier.code,
            business=0,
            subject=message.dossier.summary or message.dossier.procedure_name,
            notation=message.dossier.procedure_code,
            key=hop.identity,
        )

    def serves(self, code: str) -> bool:
        """Is ``code`` one of this server's own agencies (in its registry)?"""
        return self._known(code)

    def _known(self, code: str) -> bool:
        try:
            return organ_id(code) in self.registry
        except IdentifierError:
            return False

    def _record(self, parsed: Parsed, recipients: list[str]) -> None:
        """The engine's record of the package (idempotent: a document already recorded is not sent twice)."""
        if parsed.envelope is not None:
            sender = self.network.node(parsed.sender)
            envelope = parsed.envelope
            if set(recipients) != {str(r.organ_id) for r in envelope.recipients}:
                ctx = self.network.ctx
                envelope = dataclasses.replace(envelope, recipients=tuple(ctx.organization(r) for r in recipients))
            try:
                sender.send(envelope)
            except DocflowError as exc:
                # Recorded already by a call that stopped before its mailbox rows (a crash): nothing to add.
                # Otherwise the sender reuses a DocumentId for other recipients or another content.
                known = {d.recipient for d in sender.deliveries(parsed.document_id)}
                if not known or not set(recipients) <= known:
                    raise AxisError(ErrorCode.DUPLICATE_DOCUMENT, f"the engine refused the document: {exc}") from None
            return
        self.network.run_until_idle()  # the documents a status may answer reach their recipients first
        for recipient in recipients:
            self._apply_status(parsed, recipient)

    def _apply_status(self, parsed: Parsed, recipient: str) -> None:
        """Move the engine's records as the receiving clerk's action; a status the engine cannot apply is
        recorded in the audit log and still relayed (the axis carries statuses, the agencies decide)."""
        code, about, node = parsed.status_code, parsed.document_id, self.network.node(parsed.sender)
        description = parsed.status.description if parsed.status else ""
        try:
            if code in _ACTIONS:
                action = _ACTIONS[code]
                if action == "reject":
                    node.reject(about, description)
                elif action == "assign":
                    node.assign(about, description)
                else:
                    getattr(node, action)(about)
            elif code == StatusCode.RECALLED.value:
                node.recall(about, description, [recipient])
            elif code in (StatusCode.AGREED.value, StatusCode.REFUSED.value, "14"):
                kind = self._requested_kind(parsed.sender, about)
                if code == StatusCode.REFUSED.value:
                    node.refuse(about, kind, description)
                else:
                    node.agree(about, kind, description)
        except DocflowError as exc:
            log.info("axis: status %s from %s about %s not applied by the engine: %s", code, parsed.sender, about, exc)

    def _requested_kind(self, node: str, document_id: str) -> BusinessDocType:
        asked = [a for a in self.network.node(node).amendments(document_id) if a.recipient == node]
        return BusinessDocType(asked[-1].business_type) if asked else BusinessDocType.REVOKE

    def _package(
        self, parsed: Parsed, system: System, recipient: str, key: str, send_id: str, data: bytes, now: datetime
    ) -> Package:
        return Package(
            doc_id=new_id(),
            send_id=send_id,
            identity=key,
            message_type=parsed.kind,
            sender=parsed.sender,
            recipient=recipient,
            system=system.id,
            document_id=parsed.document_id,
            body=data,
            state=INITIAL,
            created_at=now,
            updated_at=now,
            business=parsed.business,
            status_code=parsed.status_code,
            subject=parsed.subject[:500],
            notation=parsed.notation[:100],
        )

    def _refuse(self, data: bytes, system: System, code: ErrorCode, reason: str) -> NoReturn:
        """Keep readable bytes in quarantine with the reason, then refuse the call."""
        self.quarantine(data, f"axis {code.name.lower()}: {reason}", system.id)
        raise AxisError(code, reason)

    def quarantine(self, data: bytes, reason: str, source: str) -> None:
        now = self.network.ctx.clock.now()
        with self.store.unit_of_work() as repo:
            axis_mailbox.quarantine_bytes(repo, self.node, now, reason[:2000], data, source)

    # -- the receiving side ---------------------------------------------------------------------------

    def _scope(self, system: System) -> list[str] | None:
        return None if system.relays_for_any else sorted(system.agencies)

    def received(self, system: System, message_types: Sequence[str]) -> list[Package]:
        """What waits for ``system``'s agencies, of any of ``message_types``, oldest first."""
        with self.store.snapshot() as repo:
            return axis_mailbox.waiting(repo, self._scope(system), message_types)

    def count(self, system: System, message_type: str) -> int:
        with self.store.snapshot() as repo:
            return axis_mailbox.count_waiting(repo, self._scope(system), message_type)

    def fetch(self, system: System, doc_id: str) -> Package:
        """The package ``doc_id`` if it waits for one of ``system``'s agencies."""
        with self.store.snapshot() as repo:
            return self._owned(system, doc_id, axis_mailbox.get_package(repo, doc_id))

    @staticmethod
    def _owned(system: System, doc_id: str, found: Package | None) -> Package:
        if found is None:
            raise AxisError(ErrorCode.UNKNOWN_DOCUMENT, f"unknown docId {ascii_text(doc_id)[:80]!r}")
        if not system.owns(found.recipient):
            raise AxisError(
                ErrorCode.NOT_YOURS, f"package {doc_id} is for {found.recipient}, not for system {system.id}"
            )
        return found

    def update(self, system: System, doc_id: str, status: str, description: str) -> None:
        """``updateStatus``: acknowledge (done), refuse (fail: the sender hears a 02) or mark (processing)."""
        state = UPDATE_STATES.get(status.lower())
        if state is None:
            raise AxisError(
                ErrorCode.BAD_PARAMETER, f"status {ascii_text(status)[:40]!r}: expected done, fail or processing"
            )
        with self._lock:
            now = self.network.ctx.clock.now()
            with self.store.unit_of_work() as repo:  # read and move in one transaction
                package = self._owned(system, doc_id, axis_mailbox.get_package(repo, doc_id))
                if package.state in (DONE, FAIL) and package.state != state:
                    raise AxisError(ErrorCode.BAD_PARAMETER, f"package {doc_id} is {package.state} already")
                axis_mailbox.set_state(repo, doc_id, state, description=description, now=now)
            if state == FAIL and package.state != FAIL and package.message_type == "edoc":
                self._failed_receipt(package, description or "the receiving system could not take the package")

    def _failed_receipt(self, package: Package, reason: str) -> None:
        """A failed receipt ends the sender's delivery (02 through the engine) and waits for its system as a
        status packet written by the axis on the receiver's behalf."""
        self.network.run_until_idle()
        try:
            self.network.node(package.recipient).reject(package.document_id, reason)
        except DocflowError as exc:
            log.info("axis: failed receipt of %s not applied by the engine: %s", package.doc_id, exc)
        ctx = self.network.ctx
        now = ctx.clock.now()
        message = StatusMessage(
            sender=ctx.organization(package.recipient),
            response_for=response_for(package.document_id, package.sender),
            status=StatusCode.REJECTED,
            timestamp=now,
            description=reason,
        )
        parsed = Parsed(
            "status",
            package.recipient,
            (package.sender,),
            package.document_id,
            package.business,
            StatusCode.REJECTED.value,
            reason,
            "",
        )
        key = identity(parsed, package.sender)
        with self.store.unit_of_work() as repo:
            if not axis_mailbox.by_identities(repo, [key]):
                system = f"axis:{self.node}"
                axis_mailbox.add_packages(
                    repo,
                    [
                        self._package(
                            parsed, axis_system(system), package.sender, key, new_id(), write_status(message), now
                        )
                    ],
                )
        self.network.run_until_idle()

    # -- the sending side -----------------------------------------------------------------------------

    def sent(self, system: System, send_id: str) -> list[tuple[Package, str]]:
        """Each recipient of one ``sendEdoc`` call with its receive state: the engine's delivery state, or for a
        package a hub forwarded upstream, the upstream axis' receive status."""
        self.settle()
        with self.store.snapshot() as repo:
            rows = axis_mailbox.sent_by(repo, send_id)
            if not rows:
                raise AxisError(ErrorCode.UNKNOWN_DOCUMENT, f"unknown docId {ascii_text(send_id)[:80]!r}")
            if not system.owns(rows[0].sender):
                raise AxisError(ErrorCode.NOT_YOURS, f"docId {send_id} was not sent by system {system.id}")
        tracked: dict[str, str] = {}
        if rows[0].message_type == "edoc":
            for d in self.network.node(rows[0].sender).deliveries(rows[0].document_id):
                tracked[d.recipient] = str(getattr(d.state, "value", d.state)).upper()
        for upstream_id in {json.loads(r.meta).get("upstream", "") for r in rows if r.meta} - {""}:
            tracked.update(self.upstream_status(upstream_id))
        return [(row, tracked.get(row.recipient, "")) for row in rows]

    # -- the directory --------------------------------------------------------------------------------

    def _seed_directory(self) -> None:
        with self.store.unit_of_work() as repo:
            if not axis_mailbox.list_organisations(repo):
                axis_mailbox.add_organisations(repo, (organisation_of(agency) for agency in self.registry))

    def agencies(self) -> list[Organisation]:
        with self.store.snapshot() as repo:
            return axis_mailbox.list_organisations(repo)

    def register(self, entry: Organisation) -> None:
        with self._lock, self.store.unit_of_work() as repo:
            try:
                axis_mailbox.add_organisation(repo, entry)
            except DocflowError as exc:
                raise AxisError(ErrorCode.AGENCY_EXISTS, str(exc)) from None

    def delete(self, code: str) -> None:
        with self._lock, self.store.unit_of_work() as repo:
            if not axis_mailbox.delete_organisation(repo, code):
                raise AxisError(ErrorCode.UNKNOWN_AGENCY, f"unknown agency {ascii_text(code)[:40]!r}")
