"""One-stop dossiers: each agency's copy of a dossier and its processing history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Written out in full (not imported from ``dossiers.py``) so that this revision stays what it was; the store
test checks that the migrated database matches the tables declared on ``metadata``.  Chained after 0003
(the axis mailbox), the newest revision present when this one was written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("procedure_code", sa.String(100), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("desk", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("history_length", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dossiers"),
        sa.UniqueConstraint("node", "code", name="uq_dossiers_node_code"),
    )
    op.create_index("ix_dossiers_node_holder_state", "dossiers", ["node", "holder", "state"])
    op.create_index("ix_dossiers_updated_at", "dossiers", ["updated_at"])
    op.create_table(
        "dossier_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("state_code", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("step_due", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dossier_history"),
        sa.UniqueConstraint("node", "code", "seq", name="uq_dossier_history_node_code_seq"),
    )
    op.create_index("ix_dossier_history_at", "dossier_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_history_at", table_name="dossier_history")
    op.drop_table("dossier_history")
    op.drop_index("ix_dossiers_updated_at", table_name="dossiers")
    op.drop_index("ix_dossiers_node_holder_state", table_name="dossiers")
    op.drop_table("dossiers")
