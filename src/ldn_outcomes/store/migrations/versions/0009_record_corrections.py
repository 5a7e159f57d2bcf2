"""records that stay true: soft removal, reasons in the audit log, idempotency keys, one
daily check-in per patient per day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00

Existing duplicate check-ins (same patient, same day) would break the new unique index: all
but the latest of each day are marked removed, with the reason kept on the row
(``removed_reason``; no audit row, which would sit outside the audit log's hash chain).
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REMOVABLE = (
    "patients",
    "exposures",
    "dose_logs",
    "questionnaires",
    "relapses",
    "edss",
    "adverse_events",
    "labs",
    "consents",
)
CHECKIN_WHERE = "instrument_id = 'checkin' AND removed_at IS NULL"
DUPLICATE_REASON = "duplicate check-in for the same day (kept the latest)"


def upgrade() -> None:
    for table in REMOVABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("removed_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_audit_log_table_key", ["table_name", "record_key"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaires_patient_instrument")
        batch_op.create_index(
            "ix_questionnaires_patient_instrument",
            ["patient_id", "instrument_id", "removed_at"],
            unique=False,
        )
    _remove_duplicate_checkins()
    op.create_index(
        "uq_questionnaires_daily_checkin",
        "questionnaires",
        ["patient_id", "date"],
        unique=True,
        sqlite_where=sa.text(CHECKIN_WHERE),
        postgresql_where=sa.text(CHECKIN_WHERE),
    )


def _remove_duplicate_checkins() -> None:
    connection = op.get_bind()
    duplicates = connection.execute(
        sa.text(
            "SELECT q.id, q.patient_id, q.date FROM questionnaires q "
            f"WHERE q.{CHECKIN_WHERE.replace(' AND ', ' AND q.')} AND EXISTS ("
            "SELECT 1 FROM questionnaires later WHERE later.instrument_id = 'checkin' "
            "AND later.removed_at IS NULL AND later.patient_id = q.patient_id "
            "AND later.date = q.date AND later.id > q.id)"
        )
    ).all()
    now = dt.datetime.now(dt.UTC)
    for record_id, _patient_id, _day in duplicates:
        connection.execute(
            sa.text(
                "UPDATE questionnaires SET removed_at = :now, removed_reason = :reason "
                "WHERE id = :id"
            ),
            {"now": now, "reason": DUPLICATE_REASON, "id": record_id},
        )


def downgrade() -> None:
    op.drop_index("uq_questionnaires_daily_checkin", table_name="questionnaires")
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaires_patient_instrument")
        batch_op.create_index(
            "ix_questionnaires_patient_instrument", ["patient_id", "instrument_id"], unique=False
        )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_table_key")
        batch_op.drop_column("reason")
    for table in reversed(REMOVABLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("removed_reason")
            batch_op.drop_column("removed_at")
