"""The axis mailbox: packages held for each receiving agency until its system fetches them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Written out in full (not imported from ``axis_mailbox.py``) so that this revision stays what it was; the
store test checks that the migrated database matches the tables declared on ``metadata``.
Chained after 0002 (the lean outbox), the newest revision present when this one was written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "axis_packages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("send_id", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(700), nullable=False),
        sa.Column("message_type", sa.String(8), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("system", sa.String(128), nullable=False),
        sa.Column("document_id", sa.String(255), nullable=False),
        sa.Column("business", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("notation", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_axis_packages"),
        sa.UniqueConstraint("doc_id", name="uq_axis_packages_doc_id"),
        sa.UniqueConstraint("identity", name="uq_axis_packages_identity"),
    )
    op.create_index("ix_axis_packages_send_id", "axis_packages", ["send_id"])
    op.create_index("ix_axis_packages_recipient_type_state", "axis_packages", ["recipient", "message_type", "state"])


def downgrade() -> None:
    op.drop_index("ix_axis_packages_recipient_type_state", table_name="axis_packages")
    op.drop_index("ix_axis_packages_send_id", table_name="axis_packages")
    op.drop_table("axis_packages")
