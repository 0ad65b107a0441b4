"""The bench the hostile-input catalogue runs on: a signed, authorising Tiền Giang network on SQLite, a way to put
raw bytes on a node's queue as any transport sender, and the one check every case ends with.

Every catalogue case drives the engine's receive path (``Network.run_until_idle`` → ``apply_batch``) and asserts:
the precise error (the quarantine reason names it), the exact bytes kept in quarantine, the 02 to the sender when
one is owed (read from the outbox, which this bench keeps), and that the node keeps serving (a fresh signed
document from a legitimate sender still arrives afterwards).  Imports docflow, the test helpers and the stdlib.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from engine_fixtures import outbox_messages

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.envelope import Envelope
from docflow.domain.status import StatusCode, StatusMessage
from docflow.keys import KeyStore
from docflow.services import Network, Settings
from docflow.services.outgoing import response_for
from docflow.services.trust import Authorisation
from docflow.store import QuarantineEntry
from docflow.transports.base import Message
from docflow.xml import write_envelope, write_status
from docflow.xml.signing import sign_message

COMMUNE = "000.20.50.H58"  # the sender of most cases
OTHER_COMMUNE = "000.21.50.H58"
DISTRICT = "000.00.50.H58"
PROVINCE = "000.00.00.H58"
GOVERNMENT_OFFICE = "000.00.00.G22"  # the recipient of most cases
SIGNERS = (COMMUNE, OTHER_COMMUNE, DISTRICT, PROVINCE, GOVERNMENT_OFFICE)

_ids = itertools.count(1)


def make_keys(directory: Path) -> KeyStore:
    keys = KeyStore(directory)
    for organ in SIGNERS:
        keys.generate(organ)
    return keys


@dataclass
class Bench:
    net: Network
    keys: KeyStore

    # -- building messages -------------------------------------------------------------------------------

    def draft(self, sender: str = COMMUNE, to: str = GOVERNMENT_OFFICE, **extra: object) -> Envelope:
        code = extra.pop("code", f"{next(_ids)}/UBND")
        return self.net.node(sender).draft(recipients=[to], subject="Báo cáo nhanh", code=code, **extra)

    def signed(self, envelope: Envelope, signer: str | None = None) -> bytes:
        """``envelope`` written and signed with ``signer``'s key (its sender's by default)."""
        pair = self.keys.key_pair(signer or str(envelope.sender.organ_id))
        return sign_message(write_envelope(envelope), pair.private_key, pair.certificate)

    def routing(self, kind: str, origin: str, destination: str, document_id: str, **extra: str) -> dict[str, str]:
        headers = {
            "origin": origin,
            "destination": destination,
            "route": self.net.ctx.route(origin, destination).encode(),
            "document": document_id,
            "business": extra.pop("business", "0"),
        }
        headers.update(extra)
        return headers

    def inject(self, body: bytes, headers: dict[str, str], *, to: str, sender: str, kind: str = "edoc") -> None:
        """Put ``body`` on ``to``'s queue as if ``sender`` had sent it, then let the network run."""
        self.net.ctx.transport.send(Message(f"hostile-{next(_ids)}", sender, to, kind, body, headers))  # type: ignore[arg-type]
        self.net.notify([to])
        self.net.run_until_idle()

    def status_body(self, reporter: str, about: str, original_sender: str, code: StatusCode, text: str = "") -> bytes:
        message = StatusMessage(
            sender=self.net.ctx.organization(reporter),
            response_for=response_for(about, original_sender),
            status=code,
            timestamp=self.net.ctx.clock.now(),
            description=text or code.label,
        )
        return write_status(message)

    def report(
        self, reporter: str, to: str, about: str, code: StatusCode, *, sender: str | None = None, **extra: str
    ) -> bytes:
        """A status ``code`` from ``reporter`` about ``about`` (sent by ``to``) put on ``to``'s queue; its bytes."""
        body = self.status_body(reporter, about, to, code)
        headers = self.routing("status", reporter, to, about, status=code.value, **extra)
        self.inject(body, headers, to=to, sender=sender or reporter, kind="status")
        return body

    def deliver(self, envelope: Envelope, body: bytes, *, sender: str | None = None, **extra: str) -> None:
        """``body`` as a document from ``envelope``'s sender to its first recipient, straight to that node."""
        origin = str(envelope.sender.organ_id)
        to = str(envelope.recipients[0].organ_id)
        self.inject(
            body, self.routing("edoc", origin, to, envelope.document_id, **extra), to=to, sender=sender or origin
        )

    # -- reading outcomes --------------------------------------------------------------------------------

    def quarantined(self, node: str) -> list[QuarantineEntry]:
        return self.net.quarantine(node)

    def rejections(self, document_id: str, to: str) -> list[Message]:
        """The 02 statuses about ``document_id`` addressed to ``to`` that any node queued."""
        return [
            m
            for m in outbox_messages(self.net)
            if m.kind == "status"
            and m.headers.get("status") == "02"
            and m.headers.get("document") == document_id
            and m.headers.get("destination") == to
        ]

    def still_serving(self, node: str = GOVERNMENT_OFFICE, sender: str = COMMUNE) -> None:
        """A fresh signed document from ``sender`` still reaches ``node`` and is answered 01."""
        document_id = self.net.node(sender).send(self.draft(sender, node))
        self.net.run_until_idle()
        assert any(i.document_id == document_id for i in self.net.node(node).inbox()), "node stopped serving"
        assert {d.state for d in self.net.node(sender).deliveries(document_id)} == {"arrived"}

    def refused(
        self,
        node: str,
        body: bytes,
        *words: str,
        document_id: str = "",
        owed_to: str | None = None,
        before: int = 0,
        rule: str = "",
    ) -> QuarantineEntry:
        """The last quarantined entry at ``node`` holds ``body`` exactly and names every one of ``words``; a 02
        about ``document_id`` went to ``owed_to`` (or none when ``owed_to`` is None); the node keeps serving."""
        entries = self.quarantined(node)
        assert len(entries) == before + 1, [e.reason for e in entries]
        entry = entries[-1]
        assert entry.body == body
        for word in words:
            assert word in entry.reason, f"{word!r} not in {entry.reason!r}"
        if rule:
            assert rule in {v.rule for v in entry.violations}, f"rule {rule!r} not in {entry.violations}"
        if document_id:
            owed = self.rejections(document_id, owed_to) if owed_to else []
            if owed_to is None:
                assert not [
                    m
                    for m in outbox_messages(self.net)
                    if m.headers.get("status") == "02" and m.headers.get("document") == document_id
                ]
            else:
                assert owed, f"no 02 about {document_id} to {owed_to}"
                assert owed[0].body.count(b"<StatusCode>02</StatusCode>") == 1
        self.still_serving()
        return entry


def bench(tmp_path: Path, keys: KeyStore, *, authorisation: Authorisation | None = None) -> Bench:
    settings = Settings(keep_sent=10.0**9, authorisation=authorisation or Authorisation())
    net = build_network(db=f"sqlite:///{tmp_path / 'docflow.db'}", clock=ManualClock(), settings=settings, keys=keys)
    return Bench(net, keys)
