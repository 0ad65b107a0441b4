"""The database schema as SQLAlchemy Core ``Table`` objects (no ORM, no mapped classes).

Several nodes may share one database (the simulator puts a whole province in one file), so every
row a node owns carries ``node``: the OrganId text of the owning node.  Timestamps are naive local
``DateTime`` values given by the caller's Clock; the store never reads the system time.

=============  ==========================================================================================
table          one row is
=============  ==========================================================================================
organisations  an agency of the directory: ``organ_id`` (PK), name, kind, parent, tier and contact fields
documents      a document a node sent or received, with the exact envelope bytes and their sha256;
               unique per ``(node, document_id, business_type)``
deliveries     the sender node's tracking of one recipient: lifecycle ``state`` (Enum value as text),
               attempts, ``next_attempt_at`` (retry or timeout), route text; unique per
               ``(node, document_id, recipient)``
inbound        the receiver's copy and its state; unique per ``(node, document_id, business_type)``
amendments     a recall / update / replacement request of one document for one recipient and its answer
               (AMENDMENT lifecycle state), kept by both sides; unique per
               ``(node, document_id, recipient, business_type, round)`` — a renewed request is a new round;
               ``document_id`` is the original
               document, ``amending_document_id`` the new envelope of an update or replacement
events         the append-only audit log; each node has its own hash chain (``seq`` 1, 2, ...):
               ``hash = sha256(prev_hash + canonical JSON of the event)``, see ``docflow.store.audit``;
               UPDATE and DELETE are refused by triggers (created by the migration)
chain_heads    one row per node: the last ``seq`` and ``hash`` of its chain; writers lock it
               (``SELECT ... FOR UPDATE``) so two writers cannot fork a chain, and the audit uses it to
               detect events deleted from the end of a chain
outbox         a message waiting for the relay: ``message_id`` unique, ``kind`` 'edoc' or 'status',
               transport ``headers`` (JSON object), ``attempts`` and ``next_attempt_at`` (lease or back-off);
               the bytes are in ``body``, or, for a document its origin sends, in the ``documents`` row
               ``document_row`` (stored once however many recipients).  A row handed to the transport is
               deleted (or kept with ``sent_at`` for a retention period); a given-up row keeps ``dead_at``
               until an operator revives or purges it
inbox          an idempotency key a node has already applied: PK ``(node, idempotency_key)`` (on SQLite a
               WITHOUT ROWID table: the key is the row)
quarantine     a rejected envelope kept with its reason, violations (JSON list) and exact bytes
=============  ==========================================================================================

The Alembic migrations in ``migrations/versions`` create exactly this schema (a test compares them).
Imports only SQLAlchemy; importing it opens nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Constraint names are fixed by convention so that migrations can name them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: A 64-bit key that is still SQLite's rowid alias (so it autoincrements there too).
BigId = BigInteger().with_variant(Integer(), "sqlite")

ORGAN = 32  # OrganId text, e.g. 000.00.00.G22
DOC_ID = 255  # edXML DocumentId text
STATE = 32  # lifecycle state names
KIND = 32

organisations = Table(
    "organisations",
    metadata,
    Column("organ_id", String(ORGAN), primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("kind", String(KIND), nullable=False, default=""),
    Column("parent", String(ORGAN), nullable=True),
    Column("tier", Integer, nullable=False, default=0),
    Column("organization_in_charge", Text, nullable=False, default=""),
    Column("address", Text, nullable=False, default=""),
    Column("email", Text, nullable=False, default=""),
    Column("telephone", Text, nullable=False, default=""),
    Column("fax", Text, nullable=False, default=""),
    Column("website", Text, nullable=False, default=""),
)

documents = Table(
    "documents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False),
    Column("business_type", Integer, nullable=False, default=0),
    Column("sender", String(ORGAN), nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    UniqueConstraint("node", "document_id", "business_type"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False),
    Column("recipient", String(ORGAN), nullable=False),
    Column("state", String(STATE), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    Column("route", Text, nullable=False, default=""),
    UniqueConstraint("node", "document_id", "recipient"),
    Index(None, "node", "next_attempt_at"),
)

inbound = Table(
    "inbound",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False),
    Column("business_type", Integer, nullable=False, default=0),
    Column("sender", String(ORGAN), nullable=False),
    Column("state", String(STATE), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("node", "document_id", "business_type"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("kind", String(KIND), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False, default=""),
    Column("recipient", String(ORGAN), nullable=False, default=""),
    Column("status", String(STATE), nullable=False, default=""),
    Column("detail", Text, nullable=False, default="{}"),  # canonical JSON text, hashed as stored
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("node", "seq"),
    Index(None, "document_id"),
)

chain_heads = Table(
    "chain_heads",
    metadata,
    Column("node", String(ORGAN), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

amendments = Table(
    "amendments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("document_id", String(DOC_ID), nullable=False),
    Column("recipient", String(ORGAN), nullable=False),
    Column("business_type", Integer, nullable=False),
    Column("round", Integer, nullable=False, default=1),
    Column("state", String(STATE), nullable=False),
    Column("amending_document_id", String(DOC_ID), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("node", "document_id", "recipient", "business_type", "round"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("message_id", String(DOC_ID), nullable=False, unique=True),
    Column("recipient", String(ORGAN), nullable=False),
    Column("kind", String(KIND), nullable=False),
    Column("body", LargeBinary, nullable=True),  # NULL: the bytes are those of ``document_row``
    Column("document_row", BigId, nullable=True),  # documents.id whose envelope this row sends
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Column("dead_at", DateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("headers", Text, nullable=False, default="{}"),
    Index(None, "node", "sent_at", "id"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("node", String(ORGAN), primary_key=True),
    Column("idempotency_key", String(DOC_ID), primary_key=True),
    Column("received_at", DateTime, nullable=False),
    Column("result", Text, nullable=False, default=""),
    sqlite_with_rowid=False,  # the key is the row: one b-tree, not a table and its index (migration 0005)
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("node", String(ORGAN), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False),
    Column("violations", Text, nullable=False, default="[]"),  # JSON list of Violation objects
    Column("body", LargeBinary, nullable=False),
    Index(None, "node", "id"),
)

#: Every table, parents first (the order to create, the reverse to drop or truncate).
ALL_TABLES = (
    organisations,
    documents,
    deliveries,
    inbound,
    amendments,
    events,
    chain_heads,
    outbox,
    inbox,
    quarantine,
)
