"""Read the registry mirror: trials, publications, links and the change log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..domain.evidence import ChangeEvent, ChangeKind, Publication, TrialRecord
from ..store.evidence_tables import (
    EvidenceChangeRow,
    EvidenceLinkRow,
    EvidencePublicationRow,
    EvidenceTrialRow,
)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; we only ever store UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def list_trials(engine: Engine) -> list[TrialRecord]:
    with Session(engine) as session:
        rows = session.scalars(select(EvidenceTrialRow).order_by(EvidenceTrialRow.nct_id))
        return [TrialRecord.model_validate(row.record) for row in rows]


def get_trial(engine: Engine, nct_id: str) -> TrialRecord | None:
    with Session(engine) as session:
        row = session.get(EvidenceTrialRow, nct_id)
        return None if row is None else TrialRecord.model_validate(row.record)


def list_publications(engine: Engine) -> list[Publication]:
    with Session(engine) as session:
        rows = session.scalars(select(EvidencePublicationRow).order_by(EvidencePublicationRow.pmid))
        return [Publication.model_validate(row.record) for row in rows]


def get_publication(engine: Engine, pmid: str) -> Publication | None:
    with Session(engine) as session:
        row = session.get(EvidencePublicationRow, pmid)
        return None if row is None else Publication.model_validate(row.record)


def linked_pmids(engine: Engine, nct_id: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(EvidenceLinkRow.pmid)
                .where(EvidenceLinkRow.nct_id == nct_id)
                .order_by(EvidenceLinkRow.pmid)
            )
        )


def linked_nct_ids(engine: Engine, pmid: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(EvidenceLinkRow.nct_id)
                .where(EvidenceLinkRow.pmid == pmid)
                .order_by(EvidenceLinkRow.nct_id)
            )
        )


def publications_for_trial(engine: Engine, nct_id: str) -> list[Publication]:
    """Publications that name the trial and that we hold (linked PMIDs not yet fetched skip)."""
    found = [get_publication(engine, pmid) for pmid in linked_pmids(engine, nct_id)]
    return [p for p in found if p is not None]


def changes_since(
    engine: Engine, since: dt.datetime | dt.date | None = None, *, limit: int | None = None
) -> list[ChangeEvent]:
    """Change events at or after ``since`` (a date means its midnight UTC), newest first."""
    query = select(EvidenceChangeRow).order_by(
        EvidenceChangeRow.at.desc(), EvidenceChangeRow.id.desc()
    )
    if since is not None:
        if not isinstance(since, dt.datetime):
            since = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
        query = query.where(EvidenceChangeRow.at >= as_utc(since))
    if limit is not None:
        query = query.limit(limit)
    with Session(engine) as session:
        return [
            ChangeEvent(
                id=row.id,
                at=as_utc(row.at),
                kind=ChangeKind(row.kind),
                key=row.key,
                summary=row.summary,
                detail=row.detail or {},
                source=row.source,
            )
            for row in session.scalars(query)
        ]
