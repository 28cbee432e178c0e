"""Auto-reply tracking on tickets: the answer sent and its outcome.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("auto_reply_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("auto_reply_outcome", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("auto_reply_outcome")
        batch.drop_column("auto_reply_id")
