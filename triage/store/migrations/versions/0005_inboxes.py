"""Security (issue 14): tickets belong to an inbox, carry an unguessable reply token and
their CC list; e-mails from strangers are held for an agent.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        # Existing tickets were created by staff or unscoped keys: in no inbox. They get
        # no reply token: replies reach them by Message-ID threading only.
        batch.add_column(sa.Column("inbox", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reply_token", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("cc", sa.JSON(), nullable=True))
        batch.create_index("ix_tickets_inbox", ["inbox"])
        batch.create_unique_constraint("uq_tickets_reply_token", ["reply_token"])
    op.create_table(
        "held_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_message_id", sa.String(length=500), nullable=True),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_held_messages_ticket_id", "held_messages", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_held_messages_ticket_id", table_name="held_messages")
    op.drop_table("held_messages")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("uq_tickets_reply_token", type_="unique")
        batch.drop_index("ix_tickets_inbox")
        batch.drop_column("cc")
        batch.drop_column("reply_token")
        batch.drop_column("inbox")
