"""Tickets routed without a confident priority: the fallback priority awaits a person.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        # Existing tickets got their priority from a person or a confident model.
        batch.add_column(
            sa.Column(
                "priority_unconfirmed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.create_index("ix_tickets_priority_unconfirmed", ["priority_unconfirmed"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_priority_unconfirmed")
        batch.drop_column("priority_unconfirmed")
