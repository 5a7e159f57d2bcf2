"""Repository for the registry mirror: trials, publications, their links and the change log.

Used through the unit of work (``uow.evidence``), so that one record, its links and its change
events are written in one transaction. Records go in and come out as the domain's
:class:`TrialRecord` and :class:`Publication`; the rows keep the full record as JSON beside
the columns pages sort and filter by.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.evidence import ChangeEvent, ChangeKind, Publication, TrialRecord
from .audit import write_audit
from .evidence_tables import (
    EvidenceChangeRow,
    EvidenceLinkRow,
    EvidencePublicationRow,
    EvidenceTrialRow,
)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; we only ever store UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class StoredTrial(NamedTuple):
    """What an upsert compares an incoming trial with."""

    record: dict[str, Any]
    last_update_posted: str | None


class EvidenceMirror:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reads ---------------------------------------------------------------------------
    def list_trials(self) -> list[TrialRecord]:
        rows = self.session.scalars(select(EvidenceTrialRow).order_by(EvidenceTrialRow.nct_id))
        return [TrialRecord.model_validate(row.record) for row in rows]

    def get_trial(self, nct_id: str) -> TrialRecord | None:
        row = self.session.get(EvidenceTrialRow, nct_id)
        return None if row is None else TrialRecord.model_validate(row.record)

    def list_publications(self) -> list[Publication]:
        rows = self.session.scalars(
            select(EvidencePublicationRow).order_by(EvidencePublicationRow.pmid)
        )
        return [Publication.model_validate(row.record) for row in rows]

    def get_publication(self, pmid: str) -> Publication | None:
        row = self.session.get(EvidencePublicationRow, pmid)
        return None if row is None else Publication.model_validate(row.record)

    def linked_pmids(self, nct_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(EvidenceLinkRow.pmid)
                .where(EvidenceLinkRow.nct_id == nct_id)
                .order_by(EvidenceLinkRow.pmid)
            )
        )

    def linked_nct_ids(self, pmid: str) -> list[str]:
        return list(
            self.session.scalars(
                select(EvidenceLinkRow.nct_id)
                .where(EvidenceLinkRow.pmid == pmid)
                .order_by(EvidenceLinkRow.nct_id)
            )
        )

    def changes_since(
        self, since: dt.datetime | None = None, *, limit: int | None = None
    ) -> list[ChangeEvent]:
        """Change events at or after ``since``, newest first."""
        query = select(EvidenceChangeRow).order_by(
            EvidenceChangeRow.at.desc(), EvidenceChangeRow.id.desc()
        )
        if since is not None:
            query = query.where(EvidenceChangeRow.at >= as_utc(since))
        if limit is not None:
            query = query.limit(limit)
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
            for row in self.session.scalars(query)
        ]

    def changes_of_kind(self, kind: ChangeKind, key: str | None = None) -> list[ChangeEvent]:
        """Change events of one kind (for one key when given), newest first."""
        query = (
            select(EvidenceChangeRow)
            .where(EvidenceChangeRow.kind == kind.value)
            .order_by(EvidenceChangeRow.at.desc(), EvidenceChangeRow.id.desc())
        )
        if key is not None:
            query = query.where(EvidenceChangeRow.key == key)
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
            for row in self.session.scalars(query)
        ]

    def keys(self) -> tuple[set[str], set[str]]:
        """NCT ids and PMIDs held."""
        trials = set(self.session.scalars(select(EvidenceTrialRow.nct_id)))
        pubs = set(self.session.scalars(select(EvidencePublicationRow.pmid)))
        return trials, pubs

    # -- writes --------------------------------------------------------------------------
    def stored_trial(self, nct_id: str) -> StoredTrial | None:
        row = self.session.get(EvidenceTrialRow, nct_id)
        return None if row is None else StoredTrial(row.record, row.last_update_posted)

    def save_trial(self, trial: TrialRecord, *, source: str | None, at: dt.datetime) -> None:
        """Insert the trial, or replace the stored one (its first-seen time stays)."""
        data = trial.model_dump(mode="json")
        row = self.session.get(EvidenceTrialRow, trial.nct_id)
        if row is None:
            row = EvidenceTrialRow(nct_id=trial.nct_id, first_seen=at)
            self.session.add(row)
        row.title, row.status, row.start_date = trial.title, trial.status, trial.start_date
        row.last_update_posted, row.has_results = trial.last_update_posted, trial.has_results
        row.record, row.source, row.updated_at = data, source, at

    def stored_publication(self, pmid: str) -> dict[str, Any] | None:
        row = self.session.get(EvidencePublicationRow, pmid)
        return None if row is None else row.record

    def save_publication(
        self, publication: Publication, *, source: str | None, at: dt.datetime
    ) -> None:
        """Insert the publication, or replace the stored one (its first-seen time stays)."""
        data = publication.model_dump(mode="json")
        row = self.session.get(EvidencePublicationRow, publication.pmid)
        if row is None:
            row = EvidencePublicationRow(pmid=publication.pmid, first_seen=at)
            self.session.add(row)
        row.title, row.year, row.journal = publication.title, publication.year, publication.journal
        row.doi, row.record, row.source, row.updated_at = publication.doi, data, source, at

    def add_link(self, pmid: str, nct_id: str, *, found_in: str, at: dt.datetime) -> bool:
        """Link a publication to a trial; False when the link was already there."""
        if self.session.get(EvidenceLinkRow, (pmid, nct_id)) is not None:
            return False
        self.session.add(EvidenceLinkRow(pmid=pmid, nct_id=nct_id, found_in=found_in, linked_at=at))
        self.session.flush()
        return True

    def log_change(
        self,
        *,
        at: dt.datetime,
        kind: ChangeKind,
        key: str,
        summary: str,
        detail: dict[str, Any],
        source: str | None,
    ) -> None:
        self.session.add(
            EvidenceChangeRow(
                at=at, kind=kind.value, key=key, summary=summary, detail=detail, source=source
            )
        )

    def log_edit(
        self,
        *,
        at: dt.datetime,
        key: str,
        field: str,
        before: str | None,
        after: str,
        reason: str,
        actor: str,
    ) -> None:
        """An editor's change to a catalogue or claims text: a change event (the overlay the
        pages show and its history) and an audit row (who, before, after, why), in the
        session's one transaction."""
        detail = {"field": field, "before": before, "after": after, "reason": reason, "by": actor}
        self.log_change(
            at=at,
            kind=ChangeKind.EDITED,
            key=key,
            summary=f"{key} {field} edited by an editor: {reason}",
            detail=detail,
            source="editor edit",
        )
        write_audit(
            self.session,
            actor=actor,
            action="update",
            table="evidence_catalogue",
            key=key,
            before={field: before},
            after={field: after},
            reason=reason,
        )

    def flush(self) -> None:
        """Send pending writes to the database now (errors surface here, not at commit)."""
        self.session.flush()
