"""HTML rendering escapes what it shows and links only http(s) URLs."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from ldn_outcomes.domain.evidence import Catalogue, ChangeEvent, ChangeKind, ClaimsRegister
from ldn_outcomes.evidence import html, views

# Test data only: one made-up entry with hostile text.
CATALOGUE = Catalogue.model_validate(
    {
        "studies": [
            {
                "id": "x-1",
                "title": "<script>alert(1)</script>",
                "capsule": "a & b",
                "sources": ["javascript:alert(1)", "https://example.org/source"],
            }
        ]
    }
)
CLAIMS = ClaimsRegister.model_validate(
    {
        "claims": [
            {
                "id": "c-1",
                "claim": "<b>bold</b>",
                "verdict": "untested",
                "citations": [
                    {"url": "javascript:alert(2)", "study_id": "x-1", "what_it_says": "<i>"}
                ],
            }
        ]
    }
)


def test_study_page_escapes_text_and_skips_non_http_links() -> None:
    page = html.render_study(views.study_detail(CATALOGUE, "x-1"), html.Links("/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert 'href="https://example.org/source"' in page


def test_claim_page_escapes_and_links_the_catalogue_study() -> None:
    page = html.render_claim(
        views.claim_detail(CLAIMS, CATALOGUE, "c-1"), html.Links("../", static=True)
    )
    assert "<b>bold</b>" not in page and 'href="javascript:' not in page
    assert 'href="../evidence/x-1.html"' in page


def test_fragment_layout_has_no_document_shell() -> None:
    body = html.render_claims_index(
        views.claims_index(CLAIMS), html.Links("/"), layout="fragment.html"
    )
    assert "<html" not in body and 'href="/claims/c-1"' in body


def test_atom_feed_is_valid_atom() -> None:
    event = ChangeEvent(
        id=7,
        at=dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
        kind=ChangeKind.STATUS_CHANGE,
        key="NCT00000000",
        summary="NCT00000000 status: RECRUITING -> COMPLETED <&>",
    )
    feed = html.changes_atom(
        [event],
        base_url="https://example.org/",
        feed_url="https://example.org/evidence/changes.atom",
    )
    root = ET.fromstring(feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = root.findall("a:entry", ns)
    assert entry.findtext("a:id", namespaces=ns).endswith("#change-7")
    assert entry.findtext("a:updated", namespaces=ns) == "2026-03-01T09:30:00Z"
    assert entry.find("a:category", ns).get("term") == "status_change"
    assert entry.find("a:link", ns).get("href") == "https://clinicaltrials.gov/study/NCT00000000"
    assert entry.findtext("a:title", namespaces=ns).endswith("<&>")
    empty = ET.fromstring(
        html.changes_atom(
            [], base_url="", feed_url="changes.atom", now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        )
    )
    assert empty.findtext("a:updated", namespaces=ns) == "2026-01-01T00:00:00Z"


def test_every_change_links_to_a_page_that_exists() -> None:
    """A trial's registry record, a PubMed record, or the hub's own page of an edited or
    checked entry: never a PubMed address made of ``study:<id>``."""
    from ldn_outcomes.evidence.html import change_link

    base = "https://hub.example/"
    assert change_link("NCT00501696", base) == "https://clinicaltrials.gov/study/NCT00501696"
    assert change_link("20695007", base) == "https://pubmed.ncbi.nlm.nih.gov/20695007/"
    assert change_link("study:cree-2010", base) == "https://hub.example/evidence/cree-2010"
    assert change_link("claim:t-cells", base) == "https://hub.example/claims/t-cells"
    assert change_link("study:cree-2010", base, static=True) == (
        "https://hub.example/evidence/cree-2010.html"
    )
    assert change_link("something-else", base) == "https://hub.example/evidence"
