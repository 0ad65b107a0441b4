"""The axis mailbox: packages a ``docflow serve`` holds for each receiving agency until its system fetches them.

One row per (package, recipient): the ``doc_id`` the receiver lists, fetches and acknowledges, the ``send_id``
that ``sendEdoc`` returned to the sender (shared by the rows of one call), the package's ``identity`` (the same
key the engine's inbox uses: kind, DocumentId, business type, origin, destination, status code) which makes a
resend after a lost answer harmless, the exact bytes, and the transport state ``INITIAL`` -> ``PROCESSING`` ->
``DONE`` | ``FAIL``; ``meta`` keeps what a docflow engine sent along (its message id and routing headers) so
the receiving engine gets the message back exactly.  Also the directory reads and deletes the agency
operations need beyond the repository.

Functions take the ``Repository`` of a unit of work or snapshot (``store.unit_of_work()``), so they share its
transaction.  Tables live on ``docflow.store.tables.metadata`` and are created by migration ``0003_axis``.
Imports only SQLAlchemy and docflow.store; must not import lxml, transports, services or docflow.axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from docflow.errors import DuplicateError, StoreError
from docflow.store.records import Organisation
from docflow.store.tables import DOC_ID, ORGAN, BigId, metadata, organisations, quarantine


class HasConnection(Protocol):
    """A unit of work's or snapshot's repository: only its connection is used here."""

    conn: Connection


def _run(repo: HasConnection, stmt: Any, params: Any = None, *, what: str) -> Any:
    try:
        return repo.conn.execute(stmt, params)
    except IntegrityError as exc:
        raise DuplicateError(f"{what}: already stored ({exc.orig})") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"{what}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc


INITIAL, PROCESSING, DONE, FAIL = "INITIAL", "PROCESSING", "DONE", "FAIL"
STATES = (INITIAL, PROCESSING, DONE, FAIL)
#: What a receiver still lists: not yet acknowledged (done) nor refused (fail).
WAITING = (INITIAL, PROCESSING)

axis_packages = Table(
    "axis_packages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("doc_id", String(64), nullable=False, unique=True),
    Column("send_id", String(64), nullable=False, index=True),
    Column("identity", String(700), nullable=False, unique=True),
    Column("message_type", String(8), nullable=False),
    Column("sender", String(ORGAN), nullable=False),
    Column("recipient", String(ORGAN), nullable=False),
    Column("system", String(128), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False),
    Column("business", Integer, nullable=False, default=0),
    Column("status_code", String(2), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("notation", Text, nullable=False, default=""),
    Column("body", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("meta", Text, nullable=False, default=""),  # JSON: a docflow engine's message id and headers
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_axis_packages_recipient_type_state", "recipient", "message_type", "state"),
)


@dataclass(frozen=True, slots=True)
class Package:
    """One mailbox row."""

    doc_id: str
    send_id: str
    identity: str
    message_type: str
    sender: str
    recipient: str
    system: str
    document_id: str
    body: bytes
    state: str
    created_at: datetime
    updated_at: datetime
    business: int = 0
    status_code: str = ""
    subject: str = ""
    notation: str = ""
    description: str = ""
    meta: str = ""


_COLUMNS = [axis_packages.c[name] for name in Package.__slots__]


def _package(row: object) -> Package:
    return Package(**row._mapping)  # type: ignore[attr-defined]


def add_packages(repo: HasConnection, packages: Sequence[Package]) -> None:
    """Insert rows; ``DuplicateError`` if a ``doc_id`` or an identity is already there."""
    if packages:
        _run(repo, axis_packages.insert(), [asdict(p) for p in packages], what="add axis packages")


def by_identities(repo: HasConnection, identities: Iterable[str]) -> dict[str, Package]:
    """The stored rows among ``identities`` (a resend finds what the first call stored)."""
    keys = list(identities)
    if not keys:
        return {}
    rows = _run(repo, select(*_COLUMNS).where(axis_packages.c.identity.in_(keys)), what="find axis packages")
    return {p.identity: p for p in map(_package, rows)}


def get_package(repo: HasConnection, doc_id: str) -> Package | None:
    row = _run(repo, select(*_COLUMNS).where(axis_packages.c.doc_id == doc_id), what="get axis package").first()
    return _package(row) if row is not None else None


def waiting(
    repo: HasConnection, recipients: Sequence[str] | None, message_types: Sequence[str], *, limit: int = 1000
) -> list[Package]:
    """Rows of ``message_types`` not yet acknowledged for ``recipients`` (``None``: any agency), oldest first."""
    kind = axis_packages.c.message_type
    query = select(*_COLUMNS).where(
        kind == message_types[0] if len(message_types) == 1 else kind.in_(list(message_types)),
        axis_packages.c.state.in_(WAITING),
    )
    if recipients is not None:
        query = query.where(axis_packages.c.recipient.in_(list(recipients)))
    rows = _run(repo, query.order_by(axis_packages.c.id).limit(limit), what="list axis packages")
    return [_package(r) for r in rows]


def count_waiting(repo: HasConnection, recipients: Sequence[str] | None, message_type: str) -> int:
    query = (
        select(func.count())
        .select_from(axis_packages)
        .where(axis_packages.c.message_type == message_type, axis_packages.c.state.in_(WAITING))
    )
    if recipients is not None:
        query = query.where(axis_packages.c.recipient.in_(list(recipients)))
    return int(_run(repo, query, what="count axis packages").scalar_one())


def sent_by(repo: HasConnection, send_id: str) -> list[Package]:
    """The rows one ``sendEdoc`` call created (one per recipient)."""
    query = select(*_COLUMNS).where(axis_packages.c.send_id == send_id).order_by(axis_packages.c.id)
    return [_package(r) for r in _run(repo, query, what="list sent axis packages")]


def set_state(repo: HasConnection, doc_id: str, state: str, *, description: str, now: datetime) -> int:
    """Move one row to ``state``; returns how many rows changed (0: unknown ``doc_id``)."""
    if state not in STATES:
        raise ValueError(f"unknown mailbox state {state!r}")
    stmt = (
        update(axis_packages)
        .where(axis_packages.c.doc_id == doc_id)
        .values(state=state, description=description[:2000], updated_at=now)
    )
    return int(_run(repo, stmt, what="set axis package state").rowcount)


def list_organisations(repo: HasConnection) -> list[Organisation]:
    """Every directory entry, by OrganId."""
    rows = _run(repo, select(organisations).order_by(organisations.c.organ_id), what="list organisations")
    names = [f.name for f in fields(Organisation)]
    return [Organisation(**{name: r._mapping[name] for name in names}) for r in rows]


def add_organisation(repo: HasConnection, entry: Organisation) -> None:
    """Insert a directory entry; ``DuplicateError`` when its OrganId exists."""
    found = _run(
        repo,
        select(organisations.c.organ_id).where(organisations.c.organ_id == entry.organ_id),
        what="find organisation",
    ).first()
    if found is not None:
        raise DuplicateError(f"agency {entry.organ_id} exists already")
    add_organisations(repo, [entry])


def add_organisations(repo: HasConnection, entries: Iterable[Organisation]) -> int:
    """Insert directory entries (the caller knows they are new)."""
    rows = [{f.name: getattr(e, f.name) for f in fields(Organisation)} for e in entries]
    if rows:
        _run(repo, insert(organisations), rows, what="add organisations")
    return len(rows)


def quarantine_bytes(repo: HasConnection, node: str, at: datetime, reason: str, body: bytes, source: str) -> None:
    """Keep refused bytes with the reason (the engine's quarantine table, read by ``docflow inspect``)."""
    values = {"node": node, "received_at": at, "source": source, "reason": reason, "violations": "[]", "body": body}
    _run(repo, insert(quarantine), [values], what="quarantine")


def delete_organisation(repo: HasConnection, organ_id: str) -> bool:
    """Remove a directory entry; ``False`` when there was none."""
    stmt = delete(organisations).where(organisations.c.organ_id == organ_id)
    return bool(_run(repo, stmt, what="delete organisation").rowcount)


__all__ = [
    "DONE",
    "FAIL",
    "INITIAL",
    "PROCESSING",
    "Package",
    "add_organisation",
    "add_organisations",
    "add_packages",
    "axis_packages",
    "by_identities",
    "count_waiting",
    "delete_organisation",
    "get_package",
    "list_organisations",
    "quarantine_bytes",
    "sent_by",
    "set_state",
    "waiting",
]
