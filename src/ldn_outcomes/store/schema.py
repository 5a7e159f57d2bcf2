"""Every table of the database on one metadata: what Alembic compares migrations against.

Each table module registers its tables on :data:`ldn_outcomes.store.base.Base.metadata` when
imported; importing them all here gives the whole schema.
"""

from __future__ import annotations

from . import account_tables, evidence_tables, nof1_tables, tables
from .base import Base

metadata = Base.metadata

__all__ = ["account_tables", "evidence_tables", "metadata", "nof1_tables", "tables"]
