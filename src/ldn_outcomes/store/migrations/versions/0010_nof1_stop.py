"""personal trials stopped early: the stop day, its reason, who stopped it and when

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nof1_trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stopped_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("stop_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("stopped_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nof1_trials", schema=None) as batch_op:
        batch_op.drop_column("stopped_at")
        batch_op.drop_column("stopped_by")
        batch_op.drop_column("stop_reason")
        batch_op.drop_column("stopped_on")
