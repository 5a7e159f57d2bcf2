"""Evidence hub pages: public, HTML by default, JSON on request, Atom feed of changes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ldn_outcomes.evidence.catalogue import load_catalogue, load_claims, outcome_ids
from ldn_outcomes.evidence.sync import import_files
from ldn_outcomes.settings import Settings
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import policy_of
from ldn_outcomes.web.routes import evidence as evidence_routes

FIXTURES = Path(__file__).parents[1] / "fixtures"
HTML = {"accept": "text/html"}


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    import_files(engine, [FIXTURES / "ctgov" / "ctgov_v2_NCT03934567.json",
                          FIXTURES / "pubmed" / "pubmed_12091962_9997.xml"],
                 now=lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
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
    level = client.get("/evidence", params={"evidence_level": "2"},
                       headers={"accept": "application/json"}).json()
    assert all(s["evidence_level"] == "2" for s in level["studies"])
    empty = client.get("/evidence?format=json&status=RECRUITING").json()
    assert empty["count"] == 0


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
