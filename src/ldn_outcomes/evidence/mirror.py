"""Read the registry mirror: trials, publications, links and the change log.

Each function reads in its own unit of work; the queries are the store's
(:class:`ldn_outcomes.store.evidence_repo.EvidenceMirror`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from ..domain.evidence import ChangeEvent, ChangeKind, Publication, TrialRecord
from ..store.uow import UnitOfWork

__all__ = [
    "changes_of_kind",
    "changes_since",
    "get_publication",
    "get_trial",
    "linked_nct_ids",
    "linked_pmids",
    "list_publications",
    "list_trials",
    "publications_for_trial",
]


def list_trials(engine: Engine) -> list[TrialRecord]:
    with UnitOfWork(engine) as uow:
        return uow.evidence.list_trials()


def get_trial(engine: Engine, nct_id: str) -> TrialRecord | None:
    with UnitOfWork(engine) as uow:
        return uow.evidence.get_trial(nct_id)


def list_publications(engine: Engine) -> list[Publication]:
    with UnitOfWork(engine) as uow:
        return uow.evidence.list_publications()


def get_publication(engine: Engine, pmid: str) -> Publication | None:
    with UnitOfWork(engine) as uow:
        return uow.evidence.get_publication(pmid)


def linked_pmids(engine: Engine, nct_id: str) -> list[str]:
    with UnitOfWork(engine) as uow:
        return uow.evidence.linked_pmids(nct_id)


def linked_nct_ids(engine: Engine, pmid: str) -> list[str]:
    with UnitOfWork(engine) as uow:
        return uow.evidence.linked_nct_ids(pmid)


def publications_for_trial(engine: Engine, nct_id: str) -> list[Publication]:
    """Publications that name the trial and that we hold (linked PMIDs not yet fetched skip)."""
    with UnitOfWork(engine) as uow:
        found = [uow.evidence.get_publication(p) for p in uow.evidence.linked_pmids(nct_id)]
    return [p for p in found if p is not None]


def changes_since(
    engine: Engine, since: dt.datetime | dt.date | None = None, *, limit: int | None = None
) -> list[ChangeEvent]:
    """Change events at or after ``since`` (a date means its midnight UTC), newest first."""
    if since is not None and not isinstance(since, dt.datetime):
        since = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        return uow.evidence.changes_since(since, limit=limit)


def changes_of_kind(engine: Engine, kind: ChangeKind, key: str | None = None) -> list[ChangeEvent]:
    """Change events of one kind (for one key when given), newest first."""
    with UnitOfWork(engine) as uow:
        return uow.evidence.changes_of_kind(kind, key)
