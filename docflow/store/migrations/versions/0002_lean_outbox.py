"""Lean outbox: a document's bytes are stored once per node, given-up messages are kept apart.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

``outbox.body`` becomes nullable and ``outbox.document_row`` names the ``documents`` row whose envelope the
message carries (the origin of a document no longer copies its bytes once per recipient); ``outbox.dead_at``
marks a message given up, which an operator may revive or purge.  Sent rows are deleted by the engine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("body", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("document_row", BigId, nullable=True))
        batch.add_column(sa.Column("dead_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dead_at")
        batch.drop_column("document_row")
        batch.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
