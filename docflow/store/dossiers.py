"""Each agency's own copy of the one-stop dossiers it held, with their history, and the portal feed's reads.

=================  ========================================================================================
table              one row is
=================  ========================================================================================
dossiers           one agency's (``node``) latest copy of a dossier: the key fields for queries (MaHoSo,
                   MaTTHC, state, holder, desk, dates, number of history rows) and the exact dossier
                   message bytes it holds; unique per ``(node, code)``
dossier_history    one ``QuaTrinhXuLy`` row of that copy, numbered ``seq`` 1, 2, … in history order; unique
                   per ``(node, code, seq)``; rows are only ever added
=================  ========================================================================================

``save_dossier`` writes a copy and appends the history rows it does not have yet; a copy whose history is
shorter than the stored one is refused (``ConflictError``: someone stored a newer copy first).  The portal
feed reads the newest copy of each dossier across the agencies sharing the database (the one with the
longest history) and each history row once.  Functions take the ``Repository`` of a unit of work or
snapshot (only its connection), statements are built once.  Tables live on ``docflow.store.tables.metadata``
and are created by migration ``0004_dossiers``.
Imports SQLAlchemy, ``docflow.errors``, ``docflow.domain`` and this package; must not import lxml or transports.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from docflow.domain.dossier import Dossier
from docflow.errors import ConflictError, DuplicateError, StoreError
from docflow.store.tables import ORGAN, STATE, BigId, metadata

CODE = 100  # MaHoSo, MaTTHC

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("code", String(CODE), nullable=False),
    Column("procedure_code", String(CODE), nullable=False),
    Column("state", String(STATE), nullable=False),
    Column("holder", String(ORGAN), nullable=False),
    Column("desk", String(ORGAN), nullable=False),
    Column("received_at", DateTime, nullable=True),
    Column("due_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    Column("returned_at", DateTime, nullable=True),
    Column("history_length", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
    UniqueConstraint("node", "code"),
    Index(None, "node", "holder", "state"),
    Index(None, "updated_at"),
)

dossier_history = Table(
    "dossier_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("code", String(CODE), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("agency", String(ORGAN), nullable=False),
    Column("actor", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("department", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("state_code", Integer, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("step_due", DateTime, nullable=True),
    UniqueConstraint("node", "code", "seq"),
    Index(None, "at"),
)

#: Both tables, parents first (to create; the reverse to drop or truncate).
DOSSIER_TABLES = (dossiers, dossier_history)


class HasConnection(Protocol):
    """A unit of work's or snapshot's repository: only its connection is used here."""

    conn: Connection


@dataclass(frozen=True, slots=True)
class DossierRecord:
    """A stored copy: the key fields and the exact message bytes."""

    node: str
    code: str
    procedure_code: str
    state: str
    holder: str
    desk: str
    history_length: int
    updated_at: datetime
    body: bytes
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A stored ``QuaTrinhXuLy`` row (``state_code`` is the portal's TrangThai)."""

    node: str
    code: str
    seq: int
    agency: str
    actor: str
    title: str
    at: datetime
    department: str
    content: str
    state_code: int
    started_at: datetime | None = None
    step_due: datetime | None = None


_RECORD_FIELDS = tuple(DossierRecord.__dataclass_fields__)
_HISTORY_FIELDS = tuple(HistoryEntry.__dataclass_fields__)
_KEY = (dossiers.c.node == bindparam("k_node")) & (dossiers.c.code == bindparam("k_code"))
_LENGTH = select(dossiers.c.history_length).where(_KEY)
_LENGTH_FOR_UPDATE = _LENGTH.with_for_update()
_INSERT = insert(dossiers)
_UPDATE = update(dossiers).where(_KEY)
_INSERT_ROWS = insert(dossier_history)
_LOAD = select(*(dossiers.c[name] for name in _RECORD_FIELDS)).where(_KEY)
_HISTORY = (
    select(*(dossier_history.c[name] for name in _HISTORY_FIELDS))
    .where(dossier_history.c.node == bindparam("k_node"), dossier_history.c.code == bindparam("k_code"))
    .order_by(dossier_history.c.seq)
)
_HELD = (
    select(*(dossiers.c[name] for name in _RECORD_FIELDS))
    .where(dossiers.c.node == bindparam("k_node"), dossiers.c.holder == bindparam("k_node"))
    .order_by(dossiers.c.code)
)
_FEED = (
    select(*(dossiers.c[name] for name in _RECORD_FIELDS))
    .where(dossiers.c.updated_at >= bindparam("since"))
    .order_by(dossiers.c.code, dossiers.c.history_length.desc(), dossiers.c.updated_at.desc(), dossiers.c.node)
)
_FEED_HISTORY = (
    select(*(dossier_history.c[name] for name in _HISTORY_FIELDS))
    .where(dossier_history.c.at >= bindparam("since"))
    .order_by(dossier_history.c.code, dossier_history.c.seq, dossier_history.c.node)
)
_EPOCH = datetime(1900, 1, 1)


def _run(repo: HasConnection, stmt: Any, params: Any = None, *, what: str) -> Any:
    try:
        return repo.conn.execute(stmt, params)
    except IntegrityError as exc:
        raise DuplicateError(f"{what}: already stored ({exc.orig})") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"{what}: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}") from exc


def _values(node: str, d: Dossier, body: bytes, now: datetime) -> dict[str, Any]:
    return {
        "node": node,
        "code": d.code,
        "procedure_code": d.procedure_code,
        "state": d.state.value,
        "holder": str(d.holder),
        "desk": str(d.desk),
        "received_at": d.received_at,
        "due_at": d.due_at,
        "finished_at": d.finished_at,
        "returned_at": d.returned_at,
        "history_length": len(d.history),
        "updated_at": now,
        "body": body,
    }


def save_dossier(repo: HasConnection, node: str, dossier: Dossier, body: bytes, now: datetime) -> int:
    """Store ``node``'s copy of ``dossier`` (``body``: its message bytes); return the history rows added.

    Raises ``ConflictError`` when the stored copy has a longer history (a newer copy was stored first).
    """
    key = {"k_node": node, "k_code": dossier.code}
    lock = _LENGTH_FOR_UPDATE if repo.conn.dialect.name == "postgresql" else _LENGTH
    stored = _run(repo, lock, key, what=f"dossier {dossier.code}").scalar()
    values = _values(node, dossier, body, now)
    if stored is None:
        _run(repo, _INSERT, values, what=f"dossier {dossier.code}")
        stored = 0
    elif len(dossier.history) < stored:
        raise ConflictError(f"dossier {dossier.code} at {node}: {stored} history rows stored, "
                            f"this copy has {len(dossier.history)}")  # fmt: skip
    else:
        _run(repo, _UPDATE, [{**key, **{k: v for k, v in values.items() if k not in ("node", "code")}}],
             what=f"dossier {dossier.code}")  # fmt: skip
    rows = [
        {
            "node": node,
            "code": dossier.code,
            "seq": seq,
            "agency": str(row.agency),
            "actor": row.actor,
            "title": row.title,
            "at": row.at,
            "department": row.department,
            "content": row.content,
            "state_code": row.state.code,
            "started_at": row.started_at,
            "step_due": row.step_due,
        }
        for seq, row in enumerate(dossier.history, start=1)
        if seq > stored
    ]
    if rows:
        _run(repo, _INSERT_ROWS, rows, what=f"history of dossier {dossier.code}")
    return len(rows)


def load_dossier(repo: HasConnection, node: str, code: str) -> DossierRecord | None:
    """``node``'s stored copy of dossier ``code``, or ``None``."""
    row = _run(repo, _LOAD, {"k_node": node, "k_code": code}, what=f"dossier {code}").first()
    return DossierRecord(*row) if row is not None else None


def history_of(repo: HasConnection, node: str, code: str) -> list[HistoryEntry]:
    """The stored history rows of ``node``'s copy, in order."""
    result = _run(repo, _HISTORY, {"k_node": node, "k_code": code}, what=f"history of dossier {code}")
    return [HistoryEntry(*row) for row in result]


def held_by(repo: HasConnection, node: str) -> list[DossierRecord]:
    """The dossiers ``node`` holds now (its copy names it as ``DonViXuLy``), by code."""
    return [DossierRecord(*row) for row in _run(repo, _HELD, {"k_node": node}, what=f"dossiers of {node}")]


def feed_records(repo: HasConnection, since: datetime | None = None) -> list[DossierRecord]:
    """For the portal: the newest copy of each dossier updated at or after ``since``, by code."""
    out: list[DossierRecord] = []
    for row in _run(repo, _FEED, {"since": since or _EPOCH}, what="the dossier feed"):
        if not out or out[-1].code != row.code:
            out.append(DossierRecord(*row))
    return out


def feed_history(repo: HasConnection, since: datetime | None = None) -> list[HistoryEntry]:
    """For the portal: every history row processed at or after ``since``, once, by dossier and order."""
    out: list[HistoryEntry] = []
    seen: set[tuple[str, int]] = set()
    for row in _run(repo, _FEED_HISTORY, {"since": since or _EPOCH}, what="the dossier history feed"):
        if (row.code, row.seq) not in seen:
            seen.add((row.code, row.seq))
            out.append(HistoryEntry(*row))
    return out
