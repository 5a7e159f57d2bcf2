"""Upserts, the change log, idempotency and per-record transactions (SQLite, and PostgreSQL when
LDN_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ldn_outcomes.domain.evidence import ChangeKind
from ldn_outcomes.evidence import mirror, sync
from ldn_outcomes.evidence.ctgov import CtGovClient
from ldn_outcomes.evidence.ctgov_parse import parse_payload
from ldn_outcomes.evidence.pubmed import PubMedClient
from ldn_outcomes.store.evidence_tables import (
    EvidenceChangeRow,
    EvidenceLinkRow,
    EvidencePublicationRow,
    EvidenceTrialRow,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
CTGOV = FIXTURES / "ctgov"
PUBMED = FIXTURES / "pubmed"
REAL = [
    *sorted(CTGOV.glob("ctgov_v2_*.json")),
    *sorted(PUBMED.glob("pubmed_[0-9]*.xml")),
]


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at


def counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            row.__tablename__: session.scalar(select(func.count()).select_from(row))
            for row in (
                EvidenceTrialRow,
                EvidencePublicationRow,
                EvidenceLinkRow,
                EvidenceChangeRow,
            )
        }


def test_import_is_idempotent(engine) -> None:
    clock = Clock()
    first = sync.import_files(engine, REAL, now=clock)
    assert first.problems == []
    assert first.new == 4 + 6  # four distinct trials (two appear twice), six papers
    assert first.unchanged == 2
    kinds = [c["kind"] for c in first.changes]
    assert kinds.count("new_study") == 4 and kinds.count("new_publication") == 6
    assert kinds.count("results_posted") == 1  # NCT03722472, the one with posted results
    before = counts(engine)
    clock.at += dt.timedelta(days=1)
    second = sync.import_files(engine, REAL, now=clock)
    assert (second.new, second.updated, second.changes) == (0, 0, [])
    assert second.unchanged == 12
    assert counts(engine) == before
    assert mirror.get_trial(engine, "NCT03934567").enrollment == 87


def _page_with(nct_id: str, **changes) -> dict:
    page = json.loads((CTGOV / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_text())
    page["studies"] = [
        s
        for s in page["studies"]
        if s["protocolSection"]["identificationModule"]["nctId"] == nct_id
    ]
    status = page["studies"][0]["protocolSection"]["statusModule"]
    for key, value in changes.items():
        if key == "hasResults":
            page["studies"][0]["hasResults"] = value
        else:
            status[key] = value
    return page


def test_status_change_and_results_posted_are_logged(engine) -> None:
    clock = Clock()
    sync.import_files(engine, [CTGOV / "ctgov_v2_NCT03934567.json"], now=clock)
    clock.at += dt.timedelta(days=30)
    # A later version of the same record (edited in memory from the real one).
    later = _page_with(
        "NCT03934567",
        overallStatus="COMPLETED",
        lastUpdatePostDateStruct={"date": "2025-12-01", "type": "ACTUAL"},
        resultsFirstPostDateStruct={"date": "2025-12-01", "type": "ACTUAL"},
        hasResults=True,
    )
    report = sync.upsert_trials(engine, parse_payload(later).trials, source="later", now=clock)
    assert report.updated == 1
    events = mirror.changes_since(engine, clock.at.date())
    assert {e.kind for e in events} >= {ChangeKind.STATUS_CHANGE, ChangeKind.RESULTS_POSTED}
    status = next(e for e in events if e.kind is ChangeKind.STATUS_CHANGE)
    assert status.detail == {"from": "ACTIVE_NOT_RECRUITING", "to": "COMPLETED"}
    assert mirror.get_trial(engine, "NCT03934567").status == "COMPLETED"
    # Re-importing the older saved response does not roll the trial back.
    clock.at += dt.timedelta(days=1)
    stale = sync.import_files(engine, [CTGOV / "ctgov_v2_NCT03934567.json"], now=clock)
    assert stale.stale == 1 and stale.changes == []
    assert mirror.get_trial(engine, "NCT03934567").status == "COMPLETED"


def test_publication_linked_to_trial(engine) -> None:
    clock = Clock()
    sync.import_files(engine, [CTGOV / "ctgov_v2_NCT03934567.json"], now=clock)
    report = sync.import_files(
        engine, [PUBMED / "synthetic_link_pubmed_27797938_databank_NCT03934567.xml"], now=clock
    )
    assert report.links == 1
    linked = [c for c in report.changes if c["kind"] == "publication_linked"]
    assert linked and linked[0]["key"] == "NCT03934567"
    assert [p.pmid for p in mirror.publications_for_trial(engine, "NCT03934567")] == ["27797938"]
    assert mirror.linked_nct_ids(engine, "27797938") == ["NCT03934567"]
    again = sync.import_files(
        engine, [PUBMED / "synthetic_link_pubmed_27797938_databank_NCT03934567.xml"], now=clock
    )
    assert again.links == 0 and again.changes == []


def test_bad_records_are_skipped_and_the_rest_imports(engine) -> None:
    files = [
        CTGOV / "malformed_ctgov_page_missing_nct_and_bad_date.json",
        CTGOV / "truncated_ctgov_page.json",
        PUBMED / "malformed_pubmed_missing_pmid.xml",
        PUBMED / "truncated_pubmed_11748933_11700088.xml",
        PUBMED / "pubmed_esearch_biopython.xml",
        FIXTURES / "does-not-exist.json",
    ]
    report = sync.import_files(engine, files, now=Clock())
    assert {t.nct_id for t in mirror.list_trials(engine)} == {"NCT03934567", "NCT00184067"}
    assert {p.pmid for p in mirror.list_publications(engine)} == {"11700088", "11748933"}
    sources = {p.source for p in report.problems}
    assert {f.name for f in files[:5]} <= sources
    assert any("cannot read" in p.rule for p in report.problems)
    assert len(report.problems) == 7


def test_a_record_that_fails_mid_write_leaves_nothing(engine, monkeypatch) -> None:
    """The trial row is added, then writing its change event fails: the row must not stay."""
    real_log = sync._log

    def failing_log(evidence, report, at, kind, key, *args, **kwargs):
        if key == "NCT00184067":
            evidence.flush()  # the trial row really reaches the database first
            raise OperationalError("INSERT", {}, Exception("disk full"))
        return real_log(evidence, report, at, kind, key, *args, **kwargs)

    monkeypatch.setattr(sync, "_log", failing_log)
    report = sync.import_files(
        engine, [CTGOV / "ctgov_v2_search_page_2025-06-17T11-16-37.json"], now=Clock()
    )
    assert [p.record for p in report.problems] == ["ctgov_study NCT00184067"]
    assert "disk full" in report.problems[0].rule
    assert [t.nct_id for t in mirror.list_trials(engine)] == ["NCT03934567"]
    with Session(engine) as session:
        keys = set(session.scalars(select(EvidenceChangeRow.key)))
    assert keys == {"NCT03934567"}


def test_changes_since_filters_by_date_newest_first(engine) -> None:
    clock = Clock()
    sync.import_files(engine, [CTGOV / "ctgov_v2_NCT00184067.json"], now=clock)
    clock.at += dt.timedelta(days=10)
    sync.import_files(engine, [CTGOV / "ctgov_v2_NCT03934567.json"], now=clock)
    everything = mirror.changes_since(engine)
    assert [e.key for e in everything] == ["NCT03934567", "NCT00184067"]
    recent = mirror.changes_since(engine, dt.date(2026, 1, 5))
    assert [e.key for e in recent] == ["NCT03934567"]
    assert recent[0].at == dt.datetime(2026, 1, 11, 12, 0, tzinfo=dt.UTC)


def test_sync_over_mocked_apis_saves_responses_for_offline_import(engine, tmp_path) -> None:
    page_1 = (CTGOV / "ctgov_v2_search_page_2025-06-17T11-15-33.json").read_bytes()
    page_2 = (CTGOV / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_bytes()

    def ctgov_handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("pageToken")
        if token is None:
            return httpx.Response(200, content=page_1)
        if token == "NF0g5JaGmg":
            return httpx.Response(200, content=page_2)
        return httpx.Response(200, json={"studies": []})

    def pubmed_handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("esearch.fcgi"):
            return httpx.Response(
                200,
                content=b"<eSearchResult><Count>2</Count><RetMax>2</RetMax><RetStart>0"
                b"</RetStart><IdList><Id>12091962</Id><Id>9997</Id></IdList></eSearchResult>",
            )
        return httpx.Response(200, content=(PUBMED / "pubmed_12091962_9997.xml").read_bytes())

    no_wait = {"sleep": lambda s: None, "clock": lambda: 0.0}
    progress: list[tuple[str, int, int | None]] = []
    report = sync.sync(
        engine,
        ctgov=CtGovClient(
            http=httpx.Client(transport=httpx.MockTransport(ctgov_handler)), **no_wait
        ),
        pubmed=PubMedClient(
            http=httpx.Client(transport=httpx.MockTransport(pubmed_handler)), **no_wait
        ),
        condition="multiple sclerosis",
        save_dir=tmp_path / "saved",
        now=Clock(),
        progress=lambda *a: progress.append(a),
    )
    assert report.problems == [] and report.new == 5
    assert progress[-1] == ("PubMed records", 2, 2)
    saved = sorted((tmp_path / "saved").iterdir())
    assert len(saved) == 4  # three ClinicalTrials.gov pages, one efetch answer
    replay = sync.import_files(engine, saved, now=Clock())
    assert replay.new == 0 and replay.changes == [] and replay.problems == []


def test_pubmed_query_for_ldn() -> None:
    assert "low-dose naltrexone" in sync._pubmed_term("naltrexone", None)
    assert sync._pubmed_term("naltrexone", "multiple sclerosis").endswith(
        'AND "multiple sclerosis"[tiab]'
    )


@pytest.mark.parametrize("payload", [b"\xff\xfe{", b"plain text"])
def test_undecodable_files_are_reported(engine, payload: bytes) -> None:
    report = sync.import_bytes(engine, payload, source="odd")
    assert report.new == 0 and len(report.problems) == 1


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations(REAL), repeats=st.lists(st.sampled_from(REAL), max_size=4))
def test_final_state_does_not_depend_on_order_or_repeats(
    tmp_path_factory, sqlite_template, order, repeats
) -> None:
    """Any order of the real files, with any of them imported again, gives the same mirror."""
    import shutil

    from ldn_outcomes.store.db import make_engine

    path = tmp_path_factory.mktemp("perm") / "registry.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        sync.import_files(engine, [*order, *repeats], now=Clock())
        state = (
            sorted(t.model_dump_json() for t in mirror.list_trials(engine)),
            sorted(p.model_dump_json() for p in mirror.list_publications(engine)),
            counts(engine),
        )
    finally:
        engine.dispose()
    # NCT03722472 adds a study, its results and the PMID its registry record cites.
    assert state[2] == {
        "evidence_trials": 4,
        "evidence_publications": 6,
        "evidence_links": 1,
        "evidence_changes": 12,
    }
    assert [json.loads(t)["nct_id"] for t in state[0]] == [
        "NCT00184067",
        "NCT03722472",
        "NCT03934567",
        "NCT05147467",
    ]
