"""append-only, tamper-evident audit trail: a hash chain and triggers that refuse changes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 02:30:00

* ``audit_log.seq/prev_hash/row_hash``: each row's place in the chain, the hash of the row
  before it and its own hash (see ``store/audit_chain.py``). Rows written before this
  migration are chained here, in id order.
* ``audit_chain_head``: one row with the last ``seq`` and its hash; appending locks it.
* Triggers on ``audit_log`` that refuse UPDATE and DELETE (SLite and PostgreSL).
"""

import sqlalchemy as sa
from alembic import op

from ldn_outcomes.store.audit_chain import GENESIS, HEAD_ID, row_hash

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

REFUSAL = "audit_log is append-only"

SLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END""",
]
POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()""",
]


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_audit_log_seq"), ["seq"])
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    last_seq, last_hash = _chain_existing_rows()
    op.bulk_insert(head, [{"id": HEAD_ID, "seq": last_seq, "head_hash": last_hash}])
    bind = op.get_bind()
    for statement in SLITE_TRIGGERS if bind.dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def _chain_existing_rows() -> tuple[int, str]:
    """Give the rows already in the log their place and hashes, in id order (the table is
    reflected, so every column it has is hashed, as the application does)."""
    bind = op.get_bind()
    log = sa.Table("audit_log", sa.MetaData(), autoload_with=bind)
    prev, seq = GENESIS, 0
    for row in bind.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        seq += 1
        values = {**dict(row), "seq": seq, "prev_hash": prev}
        prev = row_hash(prev, values)
        bind.execute(
            log.update()
            .where(log.c.id == row["id"])
            .values(seq=seq, prev_hash=values["prev_hash"], row_hash=prev)
        )
    return seq, prev


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(batch.f("uq_audit_log_seq"), type_="unique")
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
