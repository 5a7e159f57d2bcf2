"""trial requests withdrawn by the patient or declined by the clinician, with the reason

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nof1_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nof1_requests", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_reason")
