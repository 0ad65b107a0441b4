"""Persistence for docflow nodes: SQLAlchemy Core tables, repository, unit of work, migrations, audit chain.

The only package that imports SQLAlchemy and Alembic.  Importing it opens no connection and no file;
``open_store(url)`` does, when asked.  See ``tables`` for the schema and ``audit`` for the hash chain.
"""

from __future__ import annotations

# Registers the axis mailbox and dossier tables on ``metadata``, so the schema check sees every table of the
# migrations.
from docflow.store import axis_mailbox, dossiers  # noqa: F401
from docflow.store.audit import AuditReport, verify_chain
from docflow.store.engine import create_store_engine, resolve_url
from docflow.store.migrate import head_revision
from docflow.store.records import (
    Amendment,
    Delivery,
    Document,
    Event,
    Inbound,
    Organisation,
    OutboxMessage,
    QuarantineEntry,
    Receipt,
    state_text,
)
from docflow.store.repository import Repository
from docflow.store.uow import Store, UnitOfWork, open_store

__all__ = [
    "Amendment",
    "AuditReport",
    "Delivery",
    "Document",
    "Event",
    "Inbound",
    "Organisation",
    "OutboxMessage",
    "QuarantineEntry",
    "Receipt",
    "Repository",
    "Store",
    "UnitOfWork",
    "create_store_engine",
    "head_revision",
    "open_store",
    "resolve_url",
    "state_text",
    "verify_chain",
]
