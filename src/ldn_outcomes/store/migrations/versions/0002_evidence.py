"""evidence hub: trials, publications, links and change log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_trials",
        sa.Column("nct_id", sa.String(length=11), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("start_date", sa.String(length=10), nullable=True),
        sa.Column("last_update_posted", sa.String(length=10), nullable=True),
        sa.Column("has_results", sa.Boolean(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nct_id", name=op.f("pk_evidence_trials")),
    )
    op.create_index(op.f("ix_evidence_trials_status"), "evidence_trials", ["status"])
    op.create_table(
        "evidence_publications",
        sa.Column("pmid", sa.String(length=12), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("journal", sa.Text(), nullable=True),
        sa.Column("doi", sa.String(length=200), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pmid", name=op.f("pk_evidence_publications")),
    )
    op.create_table(
        "evidence_links",
        sa.Column("pmid", sa.String(length=12), nullable=False),
        sa.Column("nct_id", sa.String(length=11), nullable=False),
        sa.Column("found_in", sa.String(length=40), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pmid", "nct_id", name=op.f("pk_evidence_links")),
    )
    op.create_index(op.f("ix_evidence_links_nct_id"), "evidence_links", ["nct_id"])
    op.create_table(
        "evidence_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_changes")),
    )
    op.create_index(op.f("ix_evidence_changes_at"), "evidence_changes", ["at"])
    op.create_index(op.f("ix_evidence_changes_kind"), "evidence_changes", ["kind"])
    op.create_index(op.f("ix_evidence_changes_key"), "evidence_changes", ["key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_changes_key"), table_name="evidence_changes")
    op.drop_index(op.f("ix_evidence_changes_kind"), table_name="evidence_changes")
    op.drop_index(op.f("ix_evidence_changes_at"), table_name="evidence_changes")
    op.drop_table("evidence_changes")
    op.drop_index(op.f("ix_evidence_links_nct_id"), table_name="evidence_links")
    op.drop_table("evidence_links")
    op.drop_table("evidence_publications")
    op.drop_index(op.f("ix_evidence_trials_status"), table_name="evidence_trials")
    op.drop_table("evidence_trials")
