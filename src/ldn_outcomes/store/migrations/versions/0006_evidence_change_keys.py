"""evidence change log: keys long enough for catalogue and claim ids

An editor's check of a catalogue entry or claim is logged under ``study:<id>`` or
``claim:<id>``; ids run to about 50 characters, so the key column grows from 40 to 120.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_changes") as batch:
        batch.alter_column("key", existing_type=sa.String(length=40), type_=sa.String(length=120))


def downgrade() -> None:
    with op.batch_alter_table("evidence_changes") as batch:
        batch.alter_column("key", existing_type=sa.String(length=120), type_=sa.String(length=40))
