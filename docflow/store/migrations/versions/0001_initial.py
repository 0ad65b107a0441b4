"""The initial docflow schema: directory, documents, deliveries, inbound, audit chain, outbox, inbox, quarantine.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out in full (not imported from ``tables.py``) so that this revision stays what it was when
``tables.py`` changes; a test checks that the migrated database matches ``tables.py``.  Also creates
triggers that refuse UPDATE and DELETE on ``events`` (the audit log is append-only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PG_FUNCTION = """
CREATE FUNCTION docflow_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'docflow events are append-only (% refused)', TG_OP;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("organ_id", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parent", sa.String(32), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("organization_in_charge", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("telephone", sa.Text(), nullable=False),
        sa.Column("fax", sa.Text(), nullable=False),
        sa.Column("website", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("organ_id", name="pk_organisations"),
    )
    op.create_table(
        "documents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("node", "document_id", "business_type", name="uq_documents_node_document_id_business_type"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("node", "document_id", "recipient", name="uq_deliveries_node_document_id_recipient"),
    )
    op.create_index("ix_deliveries_node_next_attempt_at", "deliveries", ["node", "next_attempt_at"])
    op.create_table(
        "inbound",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbound"),
        sa.UniqueConstraint("node", "document_id", "business_type", name="uq_inbound_node_document_id_business_type"),
    )
    op.create_table(
        "events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("node", "seq", name="uq_events_node_seq"),
    )
    op.create_index("ix_events_document_id", "events", ["document_id"])
    op.create_table(
        "chain_heads",
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("node", name="pk_chain_heads"),
    )
    op.create_table(
        "amendments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("amending_document_id", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_amendments"),
        sa.UniqueConstraint(
            "node",
            "document_id",
            "recipient",
            "business_type",
            "round",
            name="uq_amendments_node_document_id_recipient_business_type_round",
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_node_sent_at_id", "outbox", ["node", "sent_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("node", "idempotency_key", name="pk_inbox"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("violations", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_node_id", "quarantine", ["node", "id"])
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION docflow_events_append_only()"
        )
    elif dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events "
                f"BEGIN SELECT RAISE(ABORT, 'docflow events are append-only ({action} refused)'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS docflow_events_append_only()")
    for name in (
        "quarantine",
        "inbox",
        "outbox",
        "chain_heads",
        "events",
        "amendments",
        "inbound",
        "deliveries",
        "documents",
    ):
        op.drop_table(name)
    op.drop_table("organisations")
