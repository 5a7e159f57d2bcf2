"""n-of-1 trials: designs and sealed allocations

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nof1_trials",
        sa.Column("trial_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("washout_days", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("mcid", sa.Float(), nullable=False),
        sa.Column("dose_mg", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("capsules_per_day", sa.Integer(), nullable=False),
        sa.Column("spare_capsules", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("unblinded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unblinded_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_nof1_trials_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("trial_id", name=op.f("pk_nof1_trials")),
    )
    with op.batch_alter_table("nof1_trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nof1_trials_patient_id"), ["patient_id"])
    op.create_table(
        "nof1_allocations",
        sa.Column("trial_id", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["nof1_trials.trial_id"],
            name=op.f("fk_nof1_allocations_trial_id_nof1_trials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trial_id", name=op.f("pk_nof1_allocations")),
    )


def downgrade() -> None:
    op.drop_table("nof1_allocations")
    with op.batch_alter_table("nof1_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nof1_trials_patient_id"))
    op.drop_table("nof1_trials")
