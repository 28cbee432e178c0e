"""Tickets belong to an inbox: the integration key that created them reads only its own.

Revision ID: 0005
Revises: 0003 (the lead re-chains this onto issue 13's 0004 at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        # Existing tickets were created by staff or unscoped keys: in no inbox.
        batch.add_column(sa.Column("inbox", sa.String(length=200), nullable=True))
        batch.create_index("ix_tickets_inbox", ["inbox"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_inbox")
        batch.drop_column("inbox")
