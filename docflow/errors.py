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
    │   └── ValidationError         well-formed but breaks the XSD or a semantic rule
    ├── LifecycleError              a move the state machine does not allow
    │   └── IllegalTransitionError
    ├── StoreError                  persistence failed (driver errors mapped here)
    │   ├── DuplicateError          an idempotency key already present
    │   └── ConflictError           a row was not in the state expected (optimistic check)
    └── TransportError              bytes could not be moved
        └── TransportUnavailableError

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


class TransportError(DocflowError):
    """Bytes could not be moved; ``node`` names the peer when known."""

    def __init__(self, message: str, *, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class TransportUnavailableError(TransportError):
    """The peer or broker cannot be reached right now; retry later."""
