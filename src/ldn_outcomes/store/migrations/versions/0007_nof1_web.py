"""n-of-1 trials from the web: pharmacy assignment and patients' trial requests

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nof1_trials") as batch:
        batch.add_column(sa.Column("pharmacy_account_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_nof1_trials_pharmacy_account_id_accounts"),
            "accounts",
            ["pharmacy_account_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_index(batch.f("ix_nof1_trials_pharmacy_account_id"), ["pharmacy_account_id"])
    op.create_table(
        "nof1_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trial_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_nof1_requests_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["nof1_trials.trial_id"],
            name=op.f("fk_nof1_requests_trial_id_nof1_trials"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nof1_requests")),
    )
    with op.batch_alter_table("nof1_requests", schema=None) as batch:
        batch.create_index(batch.f("ix_nof1_requests_patient_id"), ["patient_id"])


def downgrade() -> None:
    with op.batch_alter_table("nof1_requests", schema=None) as batch:
        batch.drop_index(batch.f("ix_nof1_requests_patient_id"))
    op.drop_table("nof1_requests")
    with op.batch_alter_table("nof1_trials") as batch:
        batch.drop_index(batch.f("ix_nof1_trials_pharmacy_account_id"))
        batch.drop_constraint(
            batch.f("fk_nof1_trials_pharmacy_account_id_accounts"), type_="foreignkey"
        )
        batch.drop_column("pharmacy_account_id")
