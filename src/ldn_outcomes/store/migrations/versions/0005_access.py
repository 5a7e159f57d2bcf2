"""access hardening: care links that wait for acceptance, one atomic login counter per key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 02:00:00

* ``care_links.accepted_at/accepted_by/requested_by``: a link requested by an administrator
  gives no access until the patient (or a clinician already caring for them) accepts it.
  Links that exist already were made before this rule and stay in effect (accepted at their
  creation, by "migration").
* ``accounts.pending_patient_id/pending_requested_by``: the same for a patient account
  claiming a registry record.
* ``login_attempts``: one counter row per throttling key, incremented atomically
  (``INSERT ... ON CONFLICT DO UPDATE``), so concurrent wrong passwords cannot race past it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("care_links") as batch:
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("requested_by", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE care_links SET accepted_at = created_at, accepted_by = 'migration' "
        "WHERE accepted_at IS NULL"
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("pending_patient_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pending_requested_by", sa.String(length=100), nullable=True))
        batch.create_foreign_key(
            op.f("fk_accounts_pending_patient_id_patients"),
            "patients",
            ["pending_patient_id"],
            ["patient_id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )


def downgrade() -> None:
    op.drop_table("login_attempts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("fk_accounts_pending_patient_id_patients"), type_="foreignkey")
        batch.drop_column("pending_requested_by")
        batch.drop_column("pending_patient_id")
    with op.batch_alter_table("care_links") as batch:
        batch.drop_column("requested_by")
        batch.drop_column("accepted_by")
        batch.drop_column("accepted_at")
