"""Auto-replies a person approved: answer templates, purposeful expiring customer tokens,
and the moment an unconfirmed auto-reply returns to the team's queue.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("placeholders", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(20), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(320), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_reply_templates_status", "reply_templates", ["status"])
    with op.batch_alter_table("csat") as batch:
        # Every existing token was a CSAT survey; it never expired.
        batch.add_column(sa.Column("purpose", sa.String(20), nullable=False, server_default="csat"))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("auto_reply_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_tickets_auto_reply_due_at", ["auto_reply_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_auto_reply_due_at")
        batch.drop_column("auto_reply_due_at")
    with op.batch_alter_table("csat") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("purpose")
    op.drop_index("ix_reply_templates_status", table_name="reply_templates")
    op.drop_table("reply_templates")
