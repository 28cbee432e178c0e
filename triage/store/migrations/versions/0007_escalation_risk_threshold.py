"""The escalation risk threshold of the model that scored a ticket (issue 15).

The desk's risk rule compares a ticket's escalation risk with the threshold its model's
training chose (rate-matched to the history), unless `TRIAGE_ESCALATION_RISK_THRESHOLD`
sets one for every ticket. Tickets scored before this column have none: they use the
setting, else the former default 0.7.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("escalation_risk_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("escalation_risk_threshold")
