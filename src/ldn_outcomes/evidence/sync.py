"""Idempotent upserts of trials and publications, with a change log, one transaction per record.

Keys are the NCT id and the PMID: importing the same response twice writes nothing the second
time. Each record (the row, its links and its change events) is written in its own
transaction, so a record that fails leaves no trace while the rest of the batch imports. A
response older than what we hold (``lastUpdatePostDate`` earlier) is skipped, so re-importing an
old file never rolls a trial back.

Change kinds (:class:`ChangeKind`): ``new_study``, ``new_publication``, ``status_change``,
``results_posted``, ``publication_linked``, and ``updated`` for any other edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..domain.evidence import ChangeKind, Publication, TrialRecord
from ..errors import Problem
from ..store.evidence_repo import EvidenceMirror
from ..store.uow import DatabaseError, UnitOfWork
from . import ctgov_parse, pubmed_parse

Clock = Callable[[], dt.datetime]
Progress = Callable[[str, int, int | None], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class ImportReport:
    """What a sync or import did; ``problems`` lists every record that was skipped."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    links: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def merge(self, other: ImportReport) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale
        self.links += other.links
        self.changes += other.changes
        self.problems += other.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "links": self.links,
            "changes": self.changes,
            "problems": [p.as_dict() for p in self.problems],
        }


# ---------------------------------------------------------------------------------------------
# one record, one transaction
# ---------------------------------------------------------------------------------------------


def upsert_trials(
    engine: Engine,
    trials: Iterable[TrialRecord],
    *,
    source: str | None = None,
    now: Clock = utc_now,
) -> ImportReport:
    report = ImportReport()
    for trial in trials:
        _one(
            engine,
            report,
            f"ctgov_study {trial.nct_id}",
            source,
            partial(_upsert_trial, trial=trial, source=source, now=now),
        )
    return report


def upsert_publications(
    engine: Engine,
    publications: Iterable[Publication],
    *,
    source: str | None = None,
    now: Clock = utc_now,
) -> ImportReport:
    report = ImportReport()
    for publication in publications:
        _one(
            engine,
            report,
            f"pubmed_article {publication.pmid}",
            source,
            partial(_upsert_publication, publication=publication, source=source, now=now),
        )
    return report


def _one(
    engine: Engine,
    report: ImportReport,
    record: str,
    source: str | None,
    write: Callable[[EvidenceMirror], ImportReport],
) -> None:
    try:
        with UnitOfWork(engine) as uow:
            outcome = write(uow.evidence)
            uow.commit()
    except DatabaseError as error:
        report.problems.append(
            Problem(
                record,
                "database",
                f"not stored: {type(error).__name__}: {error.__cause__ or error}",
                source=source,
            )
        )
        return
    report.merge(outcome)


def _upsert_trial(
    mirror: EvidenceMirror, *, trial: TrialRecord, source: str | None, now: Clock
) -> ImportReport:
    at = now()
    report = ImportReport()
    data = trial.model_dump(mode="json")
    stored = mirror.stored_trial(trial.nct_id)
    if stored is None:
        mirror.save_trial(trial, source=source, at=at)
        report.new += 1
        _log(
            mirror,
            report,
            at,
            ChangeKind.NEW_STUDY,
            trial.nct_id,
            f"New study on ClinicalTrials.gov: {trial.nct_id} ({trial.status or 'status unknown'})"
            f" {trial.title}",
            {"status": trial.status, "title": trial.title},
            source,
        )
        if trial.has_results:
            _log(
                mirror,
                report,
                at,
                ChangeKind.RESULTS_POSTED,
                trial.nct_id,
                f"Results posted for {trial.nct_id}",
                {"results_first_posted": trial.results_first_posted},
                source,
            )
    else:
        old = stored.record
        if old == data:
            report.unchanged += 1
        elif _older(trial.last_update_posted, stored.last_update_posted):
            report.stale += 1
        else:
            report.updated += 1
            if old.get("status") != trial.status:
                _log(
                    mirror,
                    report,
                    at,
                    ChangeKind.STATUS_CHANGE,
                    trial.nct_id,
                    f"{trial.nct_id} status: {old.get('status')} -> {trial.status}",
                    {"from": old.get("status"), "to": trial.status},
                    source,
                )
            if trial.has_results and not old.get("has_results"):
                _log(
                    mirror,
                    report,
                    at,
                    ChangeKind.RESULTS_POSTED,
                    trial.nct_id,
                    f"Results posted for {trial.nct_id}",
                    {"results_first_posted": trial.results_first_posted},
                    source,
                )
            changed = sorted(
                k for k in data if old.get(k) != data[k] and k not in ("status", "has_results")
            )
            if changed:
                _log(
                    mirror,
                    report,
                    at,
                    ChangeKind.UPDATED,
                    trial.nct_id,
                    f"{trial.nct_id} record updated: {', '.join(changed)}",
                    {"fields": changed},
                    source,
                )
            mirror.save_trial(trial, source=source, at=at)
    for pmid in trial.reference_pmids:
        _link(mirror, report, at, pmid, trial.nct_id, "registry references", source)
    return report


def _upsert_publication(
    mirror: EvidenceMirror, *, publication: Publication, source: str | None, now: Clock
) -> ImportReport:
    at = now()
    report = ImportReport()
    data = publication.model_dump(mode="json")
    stored = mirror.stored_publication(publication.pmid)
    if stored is None:
        mirror.save_publication(publication, source=source, at=at)
        report.new += 1
        _log(
            mirror,
            report,
            at,
            ChangeKind.NEW_PUBLICATION,
            publication.pmid,
            f"New publication: PMID {publication.pmid} {publication.title}",
            {"title": publication.title, "year": publication.year},
            source,
        )
    elif stored == data:
        report.unchanged += 1
    else:
        report.updated += 1
        changed = sorted(k for k in data if stored.get(k) != data[k])
        _log(
            mirror,
            report,
            at,
            ChangeKind.UPDATED,
            publication.pmid,
            f"PMID {publication.pmid} record updated: {', '.join(changed)}",
            {"fields": changed},
            source,
        )
        mirror.save_publication(publication, source=source, at=at)
    for nct_id in publication.nct_ids:
        _link(mirror, report, at, publication.pmid, nct_id, "pubmed record", source)
    return report


def _link(
    mirror: EvidenceMirror,
    report: ImportReport,
    at: dt.datetime,
    pmid: str,
    nct_id: str,
    found_in: str,
    source: str | None,
) -> None:
    if not mirror.add_link(pmid, nct_id, found_in=found_in, at=at):
        return
    report.links += 1
    _log(
        mirror,
        report,
        at,
        ChangeKind.PUBLICATION_LINKED,
        nct_id,
        f"PMID {pmid} linked to {nct_id} (named in the {found_in})",
        {"pmid": pmid, "nct_id": nct_id, "found_in": found_in},
        source,
    )


def _log(
    mirror: EvidenceMirror,
    report: ImportReport,
    at: dt.datetime,
    kind: ChangeKind,
    key: str,
    summary: str,
    detail: dict[str, Any],
    source: str | None,
) -> None:
    mirror.log_change(at=at, kind=kind, key=key, summary=summary, detail=detail, source=source)
    report.changes.append(
        {"at": at.isoformat(), "kind": kind.value, "key": key, "summary": summary}
    )


def _older(incoming: str | None, stored: str | None) -> bool:
    """True when the incoming record was last updated before the stored one (ISO text order)."""
    return bool(incoming and stored and incoming < stored)


# ---------------------------------------------------------------------------------------------
# files (offline) and the network (sync) share the parsers above
# ---------------------------------------------------------------------------------------------


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    now: Clock = utc_now,
    progress: Progress | None = None,
) -> ImportReport:
    """Import saved ClinicalTrials.gov JSON and PubMed efetch XML; bad records are skipped."""
    report = ImportReport()
    for done, path in enumerate(paths):
        report.merge(import_file(engine, path, now=now))
        if progress:
            progress(str(path), done + 1, len(paths))
    return report


def import_file(engine: Engine, path: Path, *, now: Clock = utc_now) -> ImportReport:
    source = Path(path).name
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        report = ImportReport()
        report.problems.append(
            Problem("file", "path", f"cannot read: {error.strerror}", source=str(path))
        )
        return report
    return import_bytes(engine, raw, source=source, now=now)


def import_bytes(
    engine: Engine, raw: bytes, *, source: str | None, now: Clock = utc_now
) -> ImportReport:
    head = raw.lstrip()[:1]
    report = ImportReport()
    if head in (b"{", b"["):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            report.problems.append(Problem("file", "encoding", "not UTF-8 text", source=source))
            return report
        batch = ctgov_parse.parse_text(text, source=source)
        report.problems += batch.problems
        report.merge(upsert_trials(engine, batch.trials, source=source, now=now))
    elif head == b"<":
        if b"<eSearchResult" in raw[:2000]:
            report.problems.append(
                Problem(
                    "file",
                    "type",
                    "an esearch answer holds only PMIDs; import the efetch XML",
                    source=source,
                )
            )
            return report
        parsed = pubmed_parse.parse_articles(raw, source=source)
        report.problems += parsed.problems
        report.merge(upsert_publications(engine, parsed.publications, source=source, now=now))
    else:
        report.problems.append(
            Problem("file", "type", "neither ClinicalTrials.gov JSON nor PubMed XML", source=source)
        )
    return report


def sync(
    engine: Engine,
    *,
    ctgov: Any,
    pubmed: Any,
    intervention: str = "naltrexone",
    condition: str | None = None,
    pubmed_term: str | None = None,
    save_dir: Path | None = None,
    now: Clock = utc_now,
    progress: Progress | None = None,
) -> ImportReport:
    """Fetch, parse and upsert; with ``save_dir`` every raw response is kept for offline import.

    ``ctgov`` is a :class:`~.ctgov.CtGovClient`, ``pubmed`` a :class:`~.pubmed.PubMedClient`.
    """
    report = ImportReport()
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    for number, page in enumerate(
        ctgov.search_pages(intervention=intervention, condition=condition)
    ):
        source = f"ctgov_page_{stamp}_{number + 1}.json"
        _save(save_dir, source, page)
        batch = ctgov_parse.parse_payload(page, source=source)
        report.problems += batch.problems
        report.merge(upsert_trials(engine, batch.trials, source=source, now=now))
        if progress:
            progress("ClinicalTrials.gov pages", number + 1, None)
    term = pubmed_term or _pubmed_term(intervention, condition)
    pmids = pubmed.esearch(term)
    done = 0
    for number, xml in enumerate(pubmed.efetch_xml(pmids)):
        source = f"pubmed_efetch_{stamp}_{number + 1}.xml"
        _save(save_dir, source, xml)
        parsed = pubmed_parse.parse_articles(xml, source=source)
        report.problems += parsed.problems
        report.merge(upsert_publications(engine, parsed.publications, source=source, now=now))
        done += len(parsed.publications)
        if progress:
            progress("PubMed records", done, len(pmids))
    return report


def _pubmed_term(intervention: str, condition: str | None) -> str:
    if intervention.lower() == "naltrexone":
        base = '("low-dose naltrexone"[tiab] OR "low dose naltrexone"[tiab] OR LDN[tiab])'
    else:
        base = f'"{intervention}"[tiab]'
    return f'{base} AND "{condition}"[tiab]' if condition else base


def _save(directory: Path | None, name: str, payload: Any) -> None:
    if directory is None:
        return
    import json

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if isinstance(payload, bytes):
        target.write_bytes(payload)
    else:
        target.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def existing_keys(engine: Engine) -> tuple[set[str], set[str]]:
    """NCT ids and PMIDs already held (for progress messages and tests)."""
    with UnitOfWork(engine) as uow:
        return uow.evidence.keys()
