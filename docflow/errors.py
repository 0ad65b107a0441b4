"""The whole docflow error tree; every error docflow raises on purpose is a ``DocflowError``.

::

    DocflowError
    ├── ConfigError                 bad settings, unknown topology, unknown URL scheme
    ├── IdentifierError (ValueError) a malformed OrganId, DocumentId, date or code
    ├── RegistryError               unknown organisation, duplicate code, broken tree
    ├── XMLError                    anything wrong with an XML input
    │   ├── UnsafeXMLError          refused before it became a tree: DTD, entity, XInclude, external
    │   │   │                       schema, oversize, too deep, not UTF-8
    │   │   └── MalformedXMLError   not well-formed (truncated, bad syntax)
    │   ├── ValidationError         well-formed but breaks the XSD or a semantic rule
    │   └── SignatureError          an XML-DSig signature that cannot be trusted (docflow.xml.signing)
    │       ├── MissingSignatureError     none where one is required
    │       ├── SignatureAlgorithmError   a refused algorithm (legacy SHA-1 unless allowed)
    │       ├── WrappedSignatureError     duplicated, misplaced, or not covering the message read
    │       ├── SignatureMismatchError    content changed after signing, or signed with another key
    │       └── UnknownSignerError        no certificate for the sender's OrganId
    ├── LifecycleError              a move the state machine does not allow
    │   └── IllegalTransitionError
    ├── KeyStoreError               an organisation's key or certificate is missing or unusable
    ├── StoreError                  persistence failed (driver errors mapped here)
    │   ├── DuplicateError          an idempotency key already present
    │   ├── ConflictError           a row was not in the state expected (optimistic check)
    │   └── StoreTimeoutError       the database did not answer within a timeout (docflow.config.Timeouts)
    └── TransportError              bytes could not be moved
        └── TransportUnavailableError
            └── TransportTimeoutError   the peer did not answer within a timeout (connect, send)

Each error carries the context that names the problem (file, line, element path, rule, node) so a
clear one-line message can be shown to a person.  Driver and library errors are mapped at the
boundary with ``raise ... from exc``.  This module imports nothing from docflow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem found in an XML message: where it is and which rule it breaks."""

    message: str
    line: int | None = None
    path: str = ""
    rule: str = ""
    file: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        parts = [self.file or "<bytes>", str(self.line if self.line is not None else "?")]
        parts.append(self.path or "/")
        text = self.message if not self.rule else f"{self.message} [{self.rule}]"
        return ": ".join([*parts, text])


class DocflowError(Exception):
    """Root of every error docflow raises on purpose."""


class ConfigError(DocflowError):
    """Settings, names or URLs that docflow cannot use."""


class IdentifierError(DocflowError, ValueError):
    """A malformed identifier: OrganId, DocumentId, code, date or timestamp."""

    def __init__(self, message: str, *, value: object = None, rule: str = "") -> None:
        super().__init__(message)
        self.value = value
        self.rule = rule


class RegistryError(DocflowError):
    """An organisation that is unknown, duplicated, or placed wrongly in the four-tier tree."""


class XMLError(DocflowError):
    """Anything wrong with an XML input; ``violations`` says where."""

    def __init__(
        self,
        message: str,
        *,
        violations: tuple[Violation, ...] | list[Violation] = (),
        file: str | None = None,
        line: int | None = None,
        rule: str = "",
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.rule = rule
        self.violations: tuple[Violation, ...] = tuple(violations) or (
            Violation(message=message, line=line, rule=rule, file=file),
        )

    def with_file(self, file: str) -> XMLError:
        """Return the same error naming ``file`` (used by callers that read from disk)."""
        clone = type(self).__new__(type(self))
        XMLError.__init__(
            clone,
            str(self),
            violations=[Violation(v.message, v.line, v.path, v.rule, file, v.severity) for v in self.violations],
            file=file,
            line=self.line,
            rule=self.rule,
        )
        return clone


class UnsafeXMLError(XMLError):
    """Input refused for safety: DTD, entity, XInclude, external reference, size, depth or encoding."""


#: Short alias used in docs and issues.
UnsafeXML = UnsafeXMLError


class MalformedXMLError(UnsafeXMLError):
    """Input that is not well-formed XML (truncated, broken syntax)."""


class ValidationError(XMLError):
    """Well-formed XML that breaks the XSD or a semantic rule of edXML."""


class LifecycleError(DocflowError):
    """A lifecycle problem."""


class IllegalTransitionError(LifecycleError):
    """An event that the lifecycle does not allow from the current state; nothing was persisted."""

    def __init__(self, *, document: str, state: str, event: str, lifecycle: str = "") -> None:
        where = f" ({lifecycle})" if lifecycle else ""
        super().__init__(f"document {document}: event {event!r} is not allowed in state {state!r}{where}")
        self.document = document
        self.state = state
        self.event = event
        self.lifecycle = lifecycle


class StoreError(DocflowError):
    """Persistence failed; the driver's error is the ``__cause__``."""


class DuplicateError(StoreError):
    """An idempotency key (inbox, outbox, document) is already stored."""


class ConflictError(StoreError):
    """A row was missing or not in the state the caller expected: someone else changed it first."""


class StoreTimeoutError(StoreError):
    """The database did not answer within a timeout (connect, statement, lock, or a connection that hung);
    the unit of work was rolled back or abandoned, and the connection is not reused."""


class TransportError(DocflowError):
    """Bytes could not be moved; ``node`` names the peer when known."""

    def __init__(self, message: str, *, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class TransportUnavailableError(TransportError):
    """The peer or broker cannot be reached right now; retry later."""


class SignatureError(XMLError):
    """An XML-DSig signature that cannot be trusted; ``rule`` names the check that refused it."""


class MissingSignatureError(SignatureError):
    """The message carries no signature (or only an empty ``DigitalSignature``) where one is required."""


class SignatureAlgorithmError(SignatureError):
    """A signature, digest, canonicalization or transform algorithm that the policy refuses (e.g. RSA-SHA1)."""


class WrappedSignatureError(SignatureError):
    """A signature wrapping attempt: several signatures, one out of place, or one not covering the whole message."""


class SignatureMismatchError(SignatureError):
    """The signature does not verify: the signed content changed, or it was made with another key."""


class UnknownSignerError(SignatureError):
    """No certificate is known for the sender named in the message."""


class AuthorisationError(XMLError):
    """A message its transport identity or its party may not send: a forged sender, a status from a
    non-recipient, a recall from someone other than the document's sender; ``rule`` names the check."""


class KeyStoreError(DocflowError):
    """An organisation's private key or certificate is missing, malformed or inconsistent."""


class TransportTimeoutError(TransportUnavailableError):
    """The peer or broker did not answer within a timeout (connect, send); the connection is dropped and the
    next call opens a new one.  Whether a message being sent was stored is unknown: it is sent again."""
