"""Who may send what: signatures on the way out, and the checks a node makes on what it takes in.

``Signing`` (on ``Context.signing``) holds a ``KeyStore`` and the ``VerifyPolicy`` of receiving nodes: ``sign``
signs a document's (or a dossier hand-over's) bytes with its sender's key when the store holds one;
``trusted_envelope`` verifies a document at its final recipient and returns the envelope read from what was
signed (never from the bytes); ``trusted_dossier`` does the same for a dossier at the agency it was handed to.
``Authorisation`` (on ``Settings.authorisation``, per node through ``nodes``) is what ``admit`` checks on every
hop before anything is forwarded or applied:

- identity: the transport's sender is the message's origin, or a relay earlier on its route whose TraceHeader
  is the last one; at the final recipient a document's From is its origin;
- statuses: only from a recipient of the document (its delivery exists at this node), from a relay on that
  delivery's route reporting for it, or answering a request this node made; a recall (13) only from the
  document's sender;
- amendments: an update or replacement only from the sender of the document it amends.

Every refusal is an ``AuthorisationError`` (an ``XMLError``), which the receiver quarantines with its reason,
answering a refused document with a 02 (docs/security.md).  Must not import a concrete transport, lxml or
sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from docflow.domain.dossier import DossierMessage
from docflow.domain.envelope import BusinessDocType, Envelope
from docflow.domain.ids import OrganId
from docflow.domain.routing import Route
from docflow.domain.status import StatusCode
from docflow.errors import AuthorisationError, DocflowError, SignatureError, Violation
from docflow.keys import KeyStore
from docflow.xml.dossier_xml import DossierHop
from docflow.xml.hop import Hop
from docflow.xml.signing import VerifyPolicy, sign_message

if TYPE_CHECKING:
    from docflow.services.context import Context
    from docflow.services.wire import Routing
    from docflow.services.work import NodeWork
    from docflow.transports.base import Message

_AMENDED_BY_SENDER = frozenset({int(BusinessDocType.REVOKE), int(BusinessDocType.UPDATE), int(BusinessDocType.REPLACE)})
_HEADER = "/edXML/edXMLEnvelope/edXMLHeader"


@dataclass(frozen=True, slots=True)
class Authorisation:
    """The checks a node makes on who sent what; ``nodes`` limits them to those nodes (empty: every node)."""

    identity: bool = True
    statuses: bool = True
    amendments: bool = True
    nodes: frozenset[str] = frozenset()

    def applies_to(self, node: str) -> bool:
        return not self.nodes or node in self.nodes


@dataclass(frozen=True, slots=True)
class Signing:
    """Signatures in the engine: sign with ``keys`` on send; verify documents at their final recipient with
    ``verify`` (None: sign only).  Whether a node can sign is asked of the key store once per node."""

    keys: KeyStore
    verify: VerifyPolicy | None = field(default_factory=VerifyPolicy)
    algorithm: str = "rsa-sha256"
    _can_sign: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def can_sign(self, node: str) -> bool:
        found = self._can_sign.get(node)
        if found is None:
            found = self._can_sign[node] = self.keys.has_key(node)
        return found


def sign(ctx: Context, node: str, body: bytes) -> bytes:
    """``body`` signed with ``node``'s key when signing is set up and the key store holds that key."""
    signing = ctx.signing
    if signing is None or not signing.can_sign(node):
        return body
    pair = signing.keys.key_pair(node)
    return sign_message(body, pair.private_key, pair.certificate, algorithm=signing.algorithm, source=node)


def trusted_envelope(here: NodeWork, routing: Routing, hop: Hop) -> Envelope:
    """The document a final recipient applies: checked (schema, semantics), its signature verified when the
    node verifies, read from the signed content, and an amendment checked against the original's sender."""
    ctx = here.work.ctx
    signing = ctx.signing
    verified = None
    if signing is not None and signing.verify is not None:
        verified = hop.verify(signing.keys.certificate, signing.verify)
    if verified is None:
        envelope = hop.envelope(strict=ctx.settings.strict)
    else:
        envelope = hop.signed_envelope(verified, strict=ctx.settings.strict)
    policy = ctx.settings.authorisation
    if policy is not None and policy.applies_to(here.node):
        if policy.identity and str(envelope.sender.organ_id) != routing.origin:
            _refuse(
                f"document From {envelope.sender.organ_id} is not its origin {routing.origin}: forged sender",
                "sender-origin",
                f"{_HEADER}/MessageHeader/From/OrganId",
            )
        business = int(envelope.business.doc_type)
        if policy.amendments and business in _AMENDED_BY_SENDER:
            _check_original_sender(here, envelope.business.document_id, routing.origin, BusinessDocType(business))
    return envelope


def trusted_dossier(here: NodeWork, hop: DossierHop) -> DossierMessage:
    """The hand-over the receiving agency applies: its signature verified against the certificate of the agency
    that handed it over when the node verifies, and the dossier read from what that agency signed."""
    signing = here.work.ctx.signing
    verified = hop.verify(signing.keys.certificate, signing.verify) if signing and signing.verify else None
    if verified is None:
        return hop.message()
    message = verified.message()
    if not isinstance(message, DossierMessage):
        raise SignatureError("the signed content is not a dossier message", file=hop.source, rule="signed-content")
    return message


def admit(here: NodeWork, message: Message, routing: Routing, hop: Hop) -> None:
    """Refuse (``AuthorisationError``) what this node's ``Authorisation`` does not allow; nothing otherwise."""
    policy = here.work.ctx.settings.authorisation
    if policy is None or not policy.applies_to(here.node):
        return
    if policy.identity:
        _check_identity(here.node, message.sender, routing, hop)
    if routing.destination == here.node and hop.kind == "status":
        code = routing.status
        if code == StatusCode.RECALLED.value:
            if policy.amendments:
                _check_original_sender(here, routing.document_id, routing.origin, BusinessDocType.REVOKE)
        elif policy.statuses:
            _check_status_party(here, routing, code)


def _check_identity(node: str, hop_sender: str, routing: Routing, hop: Hop) -> None:
    declared = hop.sender()
    if declared and declared != routing.origin:
        _refuse(
            f"message From {declared} differs from its origin header {routing.origin}: forged sender",
            "sender-origin",
            f"{_HEADER}/MessageHeader/From/OrganId",
        )
    if hop_sender == routing.origin:
        return
    route = _route(routing)
    earlier = route.hops[: route.hops.index(OrganId.parse(node))] if OrganId.parse(node) in route.hops else ()
    if not any(str(h) == hop_sender for h in earlier[1:]):
        _refuse(
            f"transport sender {hop_sender[:60]!r} is neither the origin {routing.origin} nor a relay before {node} "
            "on the route: forged sender",
            "transport-identity",
        )
    last = hop.last_trace()
    if last != hop_sender:
        _refuse(
            f"relay {hop_sender} passed the message on without its TraceHeader (last trace entry: {last or 'none'})",
            "relay-trace",
            f"{_HEADER}/TraceHeaderList",
        )


def _check_status_party(here: NodeWork, routing: Routing, code: str) -> None:
    repo, node, document_id = here.repo, here.node, routing.document_id
    reporter = routing.regarding or routing.origin
    if code in (StatusCode.AGREED.value, StatusCode.REFUSED.value):
        row = repo.amendments.get(node, document_id, reporter, routing.business, routing.round or None)
        if row is None:
            _refuse(
                f"answer {code} from {reporter} to a request {node} never made about {document_id}",
                "status-party",
            )
        return
    delivery = repo.deliveries.get(node, document_id, reporter)
    if delivery is None:
        if repo.deliveries.for_document(node, document_id):
            _refuse(f"status {code} from {reporter}, which is not a recipient of {document_id}", "status-party")
        _refuse(f"status {code} from {reporter} about {document_id}, which {node} never sent", "status-document")
    if reporter != routing.origin and not any(str(h) == routing.origin for h in Route.decode(delivery.route).hops):
        _refuse(
            f"status {code} from {routing.origin} reports for {reporter} but {routing.origin} is not on that "
            "delivery's route",
            "status-party",
        )


def _check_original_sender(here: NodeWork, original: str, claimant: str, kind: BusinessDocType) -> None:
    inbound = here.repo.inbound.get(here.node, original, 0)
    sender = inbound.sender if inbound is not None else _named_sender(original)
    if sender != claimant:
        _refuse(
            f"{kind.name.lower()} of {original} from {claimant}, but its sender is {sender or 'unknown'}",
            "amendment-sender",
        )


def _named_sender(document_id: str) -> str:
    """The sender a DocumentId names (``OrganId,date,code``), or ``""`` when it names none."""
    try:
        return str(OrganId.parse(document_id.split(",", 1)[0]))
    except DocflowError:
        return ""


def _route(routing: Routing) -> Route:
    try:
        return Route.decode(routing.route)
    except (DocflowError, ValueError) as exc:
        _refuse(f"route header refused: {exc}", "route")


def _refuse(message: str, rule: str, path: str = "/") -> NoReturn:
    raise AuthorisationError(message, violations=[Violation(message, path=path, rule=rule)], rule=rule)


__all__ = ["Authorisation", "Signing", "admit", "sign", "trusted_dossier", "trusted_envelope"]
