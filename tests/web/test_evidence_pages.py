"""Evidence hub pages: public, HTML by default, JSON on request, Atom feed of changes."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape as html_escape
from sqlalchemy import Engine

from ldn_outcomes.analysis.results import AnalysisResult, DiagnosticsFailed, Estimate
from ldn_outcomes.domain.evidence import Catalogue, Study
from ldn_outcomes.evidence import edits
from ldn_outcomes.evidence.catalogue import load_catalogue, load_claims, outcome_ids
from ldn_outcomes.evidence.sync import import_files
from ldn_outcomes.reports.claim_audits import public_audits
from ldn_outcomes.settings import Settings
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import policy_of
from ldn_outcomes.web.routes import evidence as evidence_routes
from ldn_outcomes.web.routes import public_pages

FIXTURES = Path(__file__).parents[1] / "fixtures"
HTML = {"accept": "text/html"}


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    import_files(
        engine,
        [
            FIXTURES / "ctgov" / "ctgov_v2_NCT03934567.json",
            FIXTURES / "pubmed" / "pubmed_12091962_9997.xml",
        ],
        now=lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    return TestClient(create_app(settings, engine), base_url="https://testserver")


def test_every_evidence_route_is_public() -> None:
    for route in evidence_routes.router.routes:
        assert policy_of(route).is_public, route.path


def test_index_filters_and_sorts(client: TestClient) -> None:
    page = client.get("/evidence", headers=HTML)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<script" not in page.text
    catalogue = load_catalogue()
    for study in catalogue.studies[:5]:
        assert f'href="/evidence/{study.id}"' in page.text
    data = client.get("/evidence?format=json&condition=fibromyalgia&sort=oldest").json()
    years = [s["year"] for s in data["studies"] if s["year"]]
    assert data["count"] >= 1 and years == sorted(years)
    assert all("fibromyalgia" in s["condition"].lower() for s in data["studies"])
    level = client.get(
        "/evidence", params={"evidence_level": "2"}, headers={"accept": "application/json"}
    ).json()
    assert all(s["evidence_level"] == "2" for s in level["studies"])
    empty = client.get("/evidence?format=json&status=RECRUITING").json()
    assert empty["count"] == 0


@pytest.mark.parametrize("year", ["²", "9" * 5000, "12345", "20x5"])
def test_a_year_filter_that_is_no_year_filters_nothing(client: TestClient, year: str) -> None:
    """``"²"`` passes ``str.isdigit`` but not ``int``, 5,000 digits are beyond ``int``: both
    took the public page down (500); like any other non-year they now leave it unfiltered."""
    everything = client.get("/evidence?format=json").json()["count"]
    response = client.get("/evidence", params={"year": year, "format": "json"})
    assert response.status_code == 200
    assert response.json()["count"] == everything


def test_study_page_has_capsule_fields_and_links(client: TestClient) -> None:
    catalogue = load_catalogue()
    study = next(s for s in catalogue.studies if s.nct_id and s.pmid)
    page = client.get(f"/evidence/{study.id}", headers=HTML)
    assert page.status_code == 200
    assert f"https://pubmed.ncbi.nlm.nih.gov/{study.pmid}/" in page.text
    assert f"https://clinicaltrials.gov/study/{study.nct_id}" in page.text
    assert "Registered vs published primary outcome" in page.text
    data = client.get(f"/evidence/{study.nct_id}?format=json").json()
    assert data["study"]["id"] == study.id
    assert client.get("/evidence/no-such-study", headers=HTML).status_code == 404


def test_claims_pages(client: TestClient) -> None:
    claims = load_claims()
    page = client.get("/claims", headers=HTML)
    assert page.status_code == 200
    for claim in claims.claims:
        assert f'href="/claims/{claim.id}"' in page.text
    claim = claims.claims[0]
    detail = client.get(f"/claims/{claim.id}", headers={"accept": "application/json"}).json()
    assert detail["claim"]["verdict"] == claim.verdict
    assert client.get("/claims/not-a-claim").status_code == 404


def test_meta_page_and_json(client: TestClient) -> None:
    for outcome in outcome_ids(load_catalogue()):
        page = client.get(f"/evidence/meta/{outcome}", headers=HTML)
        assert page.status_code == 200 and "cannot be pooled" in page.text
        data = client.get(f"/evidence/meta/{outcome}?format=json").json()
        assert data["outcome_id"] == outcome
        assert data["result"] is not None or data["not_pooled_reason"]
    assert client.get("/evidence/meta/unknown-outcome").status_code == 404


def test_atom_feed_lists_changes(client: TestClient) -> None:
    feed = client.get("/evidence/changes.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.text)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 3  # one trial, two publications
    titles = [e.findtext("a:title", namespaces=ns) for e in entries]
    assert any("NCT03934567" in t for t in titles)
    assert root.findtext("a:updated", namespaces=ns) == "2026-01-02T00:00:00Z"
    assert client.get("/evidence/evidence.css").headers["content-type"].startswith("text/css")


def test_study_page_shows_results_posted_on_clinicaltrials_gov(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NCT03722472 (a real record with posted results) is not an LDN study, so a one-line
    test catalogue points at it; every value asserted is read from the record."""
    import_files(engine, [FIXTURES / "ctgov" / "ctgov_v2_NCT03722472.json"])
    catalogue = Catalogue(studies=[Study(id="results-record", nct_id="NCT03722472")])
    monkeypatch.setattr(edits, "load_catalogue", lambda: catalogue)  # the pages read edits.current
    page = client.get("/evidence/results-record", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Results posted on ClinicalTrials.gov" in text and "First posted 2023-06-01" in text
    section = text[text.index('id="posted-results"') :]
    assert "<h3>Systemic Reactogenicity</h3>" in section
    assert "Single-vial Presentation ID93 + GLA-SE (n = 23)" in section
    assert "Two-vial Presentation ID93 + GLA-SE (n = 25)" in section
    assert "<td>9</td><td>12</td>" in section  # Systemic Reactogenicity, OG000 and OG001
    assert "IgG Antibody Response Rate" not in section  # secondary: counted, not tabled
    assert "6 other measures" in section
    data = client.get("/evidence/results-record?format=json").json()
    assert data["posted_results"]["primary"][0]["rows"][0]["cells"] == ["22", "21"]


def test_claim_pages_link_to_the_registrys_own_audit(client: TestClient) -> None:
    audited = [c for c in load_claims().claims if c.registry_audit]
    assert audited
    for claim in audited:
        page = client.get(f"/claims/{claim.id}", headers=HTML)
        hrefs = re.findall(r'href="(/figures/audits#[^"]*)"', page.text)
        assert hrefs == [f"/figures/audits#audit-{claim.registry_audit}"], claim.id
        path, anchor = hrefs[0].split("#")
        target = client.get(path, headers=HTML)
        assert target.status_code == 200 and f'id="{anchor}"' in target.text, claim.id
    untested = [c for c in load_claims().claims if not c.registry_audit]
    for claim in untested:
        page = client.get(f"/claims/{claim.id}", headers=HTML)
        assert "/figures/audits" not in page.text
        assert claim.registry_audit_note
        assert str(html_escape(claim.registry_audit_note)) in page.text, claim.id


def test_audits_page_is_public_suppresses_small_cells_and_warns(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Results built by hand here only exercise the page; the numbers mean nothing."""
    relapses = AnalysisResult(
        name="relapses",
        method="test method",
        population={"n_patients": 40},
        estimates=[Estimate("test ratio", 0.5, 0.25, 0.75, "ratio", n=40)],
    )
    relapses.warn(DiagnosticsFailed, "bias diagnostics failed")
    progression = AnalysisResult(
        name="progression",
        method="test method",
        population={"n_patients": 3},
        estimates=[Estimate("test share", 0.875, 0.625, 0.9375, "proportion", n=3)],
    )
    diagnostics = AnalysisResult(
        name="diagnostics",
        method="test method",
        population={"n_patients": 40},
        estimates=[Estimate("test check", 1.0, 0.5, 2.0, "ratio", n=40)],
        details={"failures": ["negative control: matched estimate 2.00"]},
    )
    data = public_audits(
        {"relapses": relapses, "progression": progression, "diagnostics": diagnostics},
        min_cell_size=5,
        on="2026-01-02",
        plan_hash="test-plan",
    )
    monkeypatch.setattr(public_pages, "public_audit", lambda *a, **k: data)
    page = client.get("/figures/audits", headers=HTML)
    assert page.status_code == 200 and "<script" not in page.text
    relapse_section = _section(page.text, "audit-relapses")
    assert "0.50 (95% CI 0.25 to 0.75)" in relapse_section
    assert "Diagnostics failed" in relapse_section
    progression_section = _section(page.text, "audit-progression")
    assert "fewer than 5 people" in progression_section and "88%" not in progression_section
    assert "Bias checks failed</strong> (negative control)" in page.text
    nof1 = _section(page.text, "audit-nof1")
    assert "PMID 3409138" in nof1
    shown = client.get("/figures/audits?format=json").json()
    assert shown["sections"][1]["state"] == "suppressed" and shown["sections"][1]["n"] is None
    assert 'href="/figures/audits"' in client.get("/figures", headers=HTML).text


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_audits_run_the_engine_on_research_consented_patients(engine: Engine) -> None:
    """A simulated registry end to end: headlines appear with k = 5 and vanish when k is larger
    than the registry (every result then rests on too few people)."""
    registry = simulate_registry(
        SimulationParams(patients=600, years=4, seed=7).replace(uptake__base_start_per_year=0.3)
    )
    load_into_db(registry, engine, actor="test")
    for k, shown in ((5, True), (10_000, False)):
        settings = Settings(mode="test", secret_key="test-secret-not-default", min_cell_size=k)
        client = TestClient(create_app(settings, engine), base_url="https://testserver")
        data = client.get("/figures/audits?format=json").json()
        relapses = next(s for s in data["sections"] if s["key"] == "relapses")
        page = client.get("/figures/audits", headers=HTML).text
        if shown:
            assert relapses["state"] == "shown" and relapses["n"] >= k
            assert relapses["estimate"] in page and "95% CI" in relapses["estimate"]
        else:
            assert {s["state"] for s in data["sections"]} <= {"suppressed", "no_data"}
            assert all(s["n"] is None and s["estimate"] is None for s in data["sections"])
            assert "95% CI" not in page and data["diagnostics"]["state"] == "not_available"


def test_home_page_leads_with_the_evidence_and_nav_offers_evidence_and_claims(
    client: TestClient,
) -> None:
    page = client.get("/", headers=HTML).text
    known = page.index("What is known about LDN in MS")
    assert known < page.index("Claims register") < page.index("Newest changes")
    assert known < page.index("<h2>Patients</h2>")
    main = page[known:]
    assert main.count(" certainty</span></a>") == 5
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    assert 'href="/evidence">Evidence</a>' in nav and 'href="/claims">Claims</a>' in nav
