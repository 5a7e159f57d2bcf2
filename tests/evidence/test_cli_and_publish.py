"""``ldn evidence ...`` end to end, and the static site written by ``ldn evidence publish``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.evidence.catalogue import load_catalogue, load_claims, outcome_ids

FIXTURES = Path(__file__).parents[1] / "fixtures"
runner = CliRunner()


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_then_changes_then_reimport(db_url: str) -> None:
    files = [
        str(FIXTURES / "ctgov" / "ctgov_v2_search_page_2025-06-17T11-16-37.json"),
        str(FIXTURES / "ctgov" / "malformed_ctgov_page_enrollment_text.json"),
        str(FIXTURES / "pubmed" / "truncated_pubmed_11748933_11700088.xml"),
    ]
    code, out, err = ldn("evidence", "import", *files, "--db", db_url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["new"] == 3 and len(report["problems"]) == 2
    code, out, _ = ldn("evidence", "changes", "--since", "2000-01-01", "--db", db_url, "--json")
    events = json.loads(out)
    assert {e["kind"] for e in events} == {"new_study", "new_publication"}
    code, out, _ = ldn("evidence", "changes", "--since", "2999-01-01", "--db", db_url, "--json")
    assert json.loads(out) == []
    code, out, err = ldn("evidence", "import", files[0], "--db", db_url)
    assert code == 0 and "unchanged" in out


def test_list_show_and_errors() -> None:
    code, out, _ = ldn("evidence", "list", "--condition", "MS", "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all("multiple sclerosis" in r["condition"] for r in rows)
    study = rows[0]["id"]
    code, out, _ = ldn("evidence", "show", study, "--json")
    assert code == 0 and json.loads(out)["study"]["id"] == study
    code, out, _ = ldn("evidence", "show", study)
    assert code == 0 and "outcome switch" in out
    code, _, err = ldn("evidence", "show", "no-such-study")
    assert code == 3 and "no study" in err


def test_meta_command(tmp_path: Path) -> None:
    outcomes = outcome_ids(load_catalogue())
    code, out, _ = ldn("evidence", "meta", "--list", "--json")
    assert json.loads(out) == outcomes
    for outcome in outcomes:
        svg = tmp_path / "forest.svg"
        code, out, _ = ldn("evidence", "meta", "--outcome", outcome, "--svg", str(svg), "--json")
        assert code == 0
        report = json.loads(out)
        assert report["outcome_id"] == outcome and "excluded" in report
        assert svg.read_text().startswith("<svg") or report["included"] == []
    code, _, err = ldn("evidence", "meta", "--outcome", "unknown")
    assert code == 3
    code, _, err = ldn("evidence", "meta", "--outcome", outcomes[0], "--method", "ML")
    assert code == 2


def test_commands_that_need_the_mirror_refuse_an_uninitialised_database(tmp_path: Path) -> None:
    code, _, err = ldn(
        "evidence",
        "changes",
        "--since",
        "2020-01-01",
        "--db",
        f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    )
    assert code == 6 and "ldn init" in err


def test_publish_writes_a_complete_static_site(tmp_path: Path, db_url: str) -> None:
    ldn("evidence", "import", str(FIXTURES / "ctgov" / "ctgov_v2_NCT03934567.json"), "--db", db_url)
    site = tmp_path / "site"
    code, out, err = ldn("evidence", "publish", str(site), "--db", db_url, "--json")
    assert code == 0, err
    catalogue, claims = load_catalogue(), load_claims()
    pages = set(json.loads(out)["files"])
    expected = {
        "index.html",
        "evidence.css",
        "evidence/index.html",
        "claims/index.html",
        "evidence/changes.atom",
    }
    expected |= {f"evidence/{s.id}.html" for s in catalogue.studies}
    expected |= {f"claims/{c.id}.html" for c in claims.claims}
    expected |= {f"evidence/meta/{o}.html" for o in outcome_ids(catalogue)}
    expected |= {"evidence/NCT03934567.html"}  # imported above, not in the catalogue: automatic
    by_condition = {p for p in pages if p.startswith("evidence/by-condition/")}
    assert by_condition and pages - by_condition == expected
    ms = site / "evidence" / "by-condition" / "multiple-sclerosis.html"
    assert "Condition: multiple sclerosis" in ms.read_text()
    # No JavaScript, and every relative link resolves to a written file.
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "<script" not in text.lower()
        for href in re.findall(r'href="([^"]+)"', text):
            if href.startswith(("http://", "https://", "#", "mailto:")):
                continue
            assert (page.parent / href).resolve().exists(), f"{page}: {href}"
    # No registry behind a static site: a claim's audit is named in words, never linked.
    for claim in claims.claims:
        text = (site / "claims" / f"{claim.id}.html").read_text()
        assert "figures/audits" not in text and "audit-" not in text
        assert ("in a hosted LDN Outcomes instance" in text) == bool(claim.registry_audit)
    feed = ET.fromstring((site / "evidence" / "changes.atom").read_text())
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 1


def test_sync_command_passes_the_ncbi_key_and_shows_changes(db_url: str, monkeypatch) -> None:
    import httpx

    from ldn_outcomes.evidence import ctgov, pubmed
    from ldn_outcomes.evidence.ctgov import CtGovClient
    from ldn_outcomes.evidence.pubmed import PubMedClient

    page = (FIXTURES / "ctgov" / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_bytes()
    efetch = (FIXTURES / "pubmed" / "pubmed_12091962_9997.xml").read_bytes()
    seen_keys: list[str | None] = []
    seen_emails: list[str | None] = []

    def ctgov_handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("pageToken"):
            return httpx.Response(200, json={"studies": []})
        return httpx.Response(200, content=page)

    def pubmed_handler(request: httpx.Request) -> httpx.Response:
        seen_keys.append(request.url.params.get("api_key"))
        seen_emails.append(request.url.params.get("email"))
        if request.url.path.endswith("esearch.fcgi"):
            return httpx.Response(
                200,
                content=b"<eSearchResult><Count>2</Count><IdList><Id>"
                b"12091962</Id><Id>9997</Id></IdList></eSearchResult>",
            )
        return httpx.Response(200, content=efetch)

    no_wait = {"sleep": lambda s: None, "clock": lambda: 0.0}
    # The command imports its clients when it runs, from their modules.
    monkeypatch.setattr(
        ctgov,
        "CtGovClient",
        lambda: CtGovClient(
            http=httpx.Client(transport=httpx.MockTransport(ctgov_handler)), **no_wait
        ),
    )
    monkeypatch.setattr(
        pubmed,
        "PubMedClient",
        lambda api_key, email: PubMedClient(
            api_key=api_key,
            email=email,
            http=httpx.Client(transport=httpx.MockTransport(pubmed_handler)),
            **no_wait,
        ),
    )
    monkeypatch.setenv("NCBI_API_KEY", "secret-key")
    monkeypatch.setenv("NCBI_EMAIL", "curators@example.org")
    code, out, err = ldn("evidence", "sync", "--condition", "multiple sclerosis", "--db", db_url)
    assert code == 0, err
    assert "new_study" in out and "new_publication" in out
    assert seen_keys and set(seen_keys) == {"secret-key"}
    assert set(seen_emails) == {"curators@example.org"}


def test_show_gives_the_plain_summary_the_grading_and_the_last_check() -> None:
    code, out, _ = ldn("evidence", "show", "cree-2010")
    assert code == 0
    assert "rated down from level 2" in out and "reading age about" in out
    assert "last checked: 2026-12-05" in out


def test_claims_are_listed_and_shown_in_the_terminal() -> None:
    code, out, _ = ldn("evidence", "claims", "--json")
    assert code == 0
    listed = json.loads(out)
    assert listed["count"] == len(load_claims().claims)
    assert all(c["certainty"] for c in listed["claims"])
    code, out, _ = ldn("evidence", "claims")
    assert code == 0 and f"{len(load_claims().claims)} claims" in out
    code, out, _ = ldn("evidence", "claims", "improves-quality-of-life")
    assert code == 0
    assert "very low certainty" in out and "rated down 1 for inconsistency" in out
    code, out, _ = ldn("evidence", "claims", "improves-quality-of-life", "--json")
    assert json.loads(out)["claim"]["certainty"][0]["certainty"] == "very low"
    code, _, err = ldn("evidence", "claims", "no-such-claim")
    assert code != 0 and "no-such-claim" in err
