"""Tables of the evidence hub's registry mirror: trials, publications, their links, a change log.

Each trial and publication keeps its parsed record as JSON (``record``) next to the columns we
filter on, so a later parser can add fields without a migration. Keys are the NCT id and the
PMID, so importing the same response twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class EvidenceTrialRow(Base):
    __tablename__ = "evidence_trials"
    nct_id: Mapped[str] = mapped_column(String(11), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(40), index=True)
    start_date: Mapped[str | None] = mapped_column(String(10))
    last_update_posted: Mapped[str | None] = mapped_column(String(10))
    has_results: Mapped[bool] = mapped_column(Boolean, default=False)
    record: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(200))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EvidencePublicationRow(Base):
    __tablename__ = "evidence_publications"
    pmid: Mapped[str] = mapped_column(String(12), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    journal: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(200))
    record: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(200))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EvidenceLinkRow(Base):
    """A publication names a trial registration (no foreign key: the trial may be unknown yet)."""

    __tablename__ = "evidence_links"
    pmid: Mapped[str] = mapped_column(String(12), primary_key=True)
    nct_id: Mapped[str] = mapped_column(String(11), primary_key=True, index=True)
    found_in: Mapped[str] = mapped_column(String(40))
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EvidenceChangeRow(Base):
    __tablename__ = "evidence_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(200))
