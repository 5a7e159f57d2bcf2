"""Parsers on real recorded ClinicalTrials.gov v2 and PubMed responses (tests/fixtures/SOURCES.md)
and on malformed and truncated variants made from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.errors import SourceUnavailable
from ldn_outcomes.evidence.ctgov_parse import parse_payload, parse_text
from ldn_outcomes.evidence.pubmed_parse import parse_articles, parse_esearch

FIXTURES = Path(__file__).parents[1] / "fixtures"
CTGOV = FIXTURES / "ctgov"
PUBMED = FIXTURES / "pubmed"


def test_single_study_record() -> None:
    batch = parse_text((CTGOV / "ctgov_v2_NCT03934567.json").read_text(), source="x")
    assert batch.problems == []
    (trial,) = batch.trials
    assert trial.nct_id == "NCT03934567"
    assert trial.status == "ACTIVE_NOT_RECRUITING"
    assert trial.start_date == "2020-04-22"
    assert trial.primary_completion_date == "2025-01-29"
    assert trial.last_update_posted == "2025-04-10"
    assert trial.enrollment == 87 and trial.enrollment_type == "ACTUAL"
    assert trial.phases == ("PHASE2",)
    assert trial.masking == "NONE"
    assert [a.label for a in trial.arms] == ["Abexinostat 80 mg bis in die (BID)"]
    assert trial.interventions == ("Drug: Abexinostat",)
    assert trial.primary_outcomes[0].time_frame == "up to 56 days"
    assert len(trial.secondary_outcomes) == 2
    assert trial.has_results is False and trial.posted_outcomes == ()


def test_month_precision_dates_and_terminated_status() -> None:
    (trial,) = parse_text((CTGOV / "ctgov_v2_NCT00184067.json").read_text()).trials
    assert trial.status == "TERMINATED"
    assert trial.start_date == "2004-05"
    assert len(trial.arms) == 2


def test_search_pages_keep_the_next_page_token() -> None:
    first = parse_text((CTGOV / "ctgov_v2_search_page_2025-06-17T11-15-33.json").read_text())
    second = parse_text((CTGOV / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_text())
    assert [t.nct_id for t in first.trials] == ["NCT05147467"]
    assert first.next_page_token == "NF0g5JaGmg"
    assert [t.nct_id for t in second.trials] == ["NCT00184067", "NCT03934567"]
    assert second.next_page_token == "NF0g5JCG"


def test_bad_studies_are_reported_and_the_rest_parse() -> None:
    batch = parse_text(
        (CTGOV / "malformed_ctgov_page_missing_nct_and_bad_date.json").read_text(),
        source="bad.json",
    )
    assert [t.nct_id for t in batch.trials] == ["NCT03934567"]
    assert [(p.row, p.field) for p in batch.problems] == [(0, "nctId"), (2, "startDateStruct.date")]
    assert batch.problems[1].record == "ctgov_study NCT05147467"
    assert batch.problems[1].value == "2021-13-45"
    assert all(p.source == "bad.json" for p in batch.problems)

    batch = parse_text((CTGOV / "malformed_ctgov_page_enrollment_text.json").read_text())
    assert [t.nct_id for t in batch.trials] == ["NCT00184067"]
    assert batch.problems[0].field == "enrollmentInfo.count"


def test_truncated_page_yields_the_studies_that_arrived_whole() -> None:
    batch = parse_text((CTGOV / "truncated_ctgov_page.json").read_text(), source="t.json")
    assert [t.nct_id for t in batch.trials] == ["NCT00184067"]
    assert len(batch.problems) == 1 and "truncated" in batch.problems[0].rule


def test_not_json_at_all_is_one_problem() -> None:
    batch = parse_text("<html>rate limited</html>", source="x")
    assert batch.trials == [] and batch.problems[0].field == "file"
    assert parse_payload({"something": 1}).problems[0].rule.startswith("not a ClinicalTrials")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=4))
def test_ctgov_parser_never_crashes_on_odd_studies(studies: list) -> None:
    batch = parse_payload({"studies": studies})
    assert len(batch.trials) + len(batch.problems) == len(studies)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_any_damage_to_a_real_study_is_contained(data: st.DataObject) -> None:
    """Replace one field anywhere in a real record: the other study still parses."""
    page = json.loads((CTGOV / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_text())
    node = page["studies"][0]
    while isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node)))
        if not isinstance(node[key], dict) or data.draw(st.booleans()):
            node[key] = data.draw(json_values)
            break
        node = node[key]
    batch = parse_payload(page)
    assert "NCT03934567" in [t.nct_id for t in batch.trials]
    assert len(batch.trials) + len(batch.problems) == 2


# --- PubMed ---------------------------------------------------------------------------------


def test_pubmed_articles_from_real_efetch_xml() -> None:
    parsed = parse_articles((PUBMED / "pubmed_12091962_9997.xml").read_bytes(), source="p1")
    assert parsed.problems == []
    first, second = parsed.publications
    assert first.pmid == "12091962" and first.year == 1990 and first.abstract is None
    assert first.authors == ("Olivero JM",)
    assert first.publication_types == ("Journal Article", "Review")
    assert second.pmid == "9997" and second.doi == "10.1016/0005-2795(76)90109-4"
    assert second.journal == "Biochimica et biophysica acta"


def test_structured_abstract_with_inline_markup_is_flattened() -> None:
    (paper,) = parse_articles((PUBMED / "pubmed_27797938.xml").read_bytes()).publications
    assert paper.pmid == "27797938" and paper.year == 2017 and paper.journal == "Gut"
    assert paper.abstract is not None and paper.abstract.startswith("OBJECTIVE: ")
    assert "<i>" not in paper.abstract
    assert len(paper.authors) == 22


def test_trial_registrations_are_read_from_databank_and_text() -> None:
    (paper,) = parse_articles(
        (PUBMED / "synthetic_link_pubmed_27797938_databank_NCT03934567.xml").read_bytes()
    ).publications
    assert paper.nct_ids == ("NCT03934567",)


def test_bad_pubmed_articles_are_reported_and_skipped() -> None:
    parsed = parse_articles((PUBMED / "malformed_pubmed_missing_pmid.xml").read_bytes(), source="m")
    assert [p.pmid for p in parsed.publications] == ["11700088"]
    assert (parsed.problems[0].row, parsed.problems[0].field) == (0, "PMID")
    parsed = parse_articles((PUBMED / "malformed_pubmed_bad_year.xml").read_bytes())
    assert [p.pmid for p in parsed.publications] == ["12091962"]
    assert parsed.problems[0].record == "pubmed_article 9997"
    assert parsed.problems[0].value == "circa 1976"


def test_truncated_pubmed_xml_keeps_complete_articles() -> None:
    parsed = parse_articles((PUBMED / "truncated_pubmed_11748933_11700088.xml").read_bytes())
    assert [p.pmid for p in parsed.publications] == ["11748933"]
    assert "truncated" in parsed.problems[0].rule


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1))
def test_any_prefix_of_real_xml_gives_a_prefix_of_its_articles(fraction: float) -> None:
    raw = (PUBMED / "pubmed_11748933_11700088.xml").read_bytes()
    parsed = parse_articles(raw[: int(len(raw) * fraction)])
    assert [p.pmid for p in parsed.publications] == ["11748933", "11700088"][
        : len(parsed.publications)
    ]
    if fraction < 1:
        assert parsed.problems


def test_esearch_answer() -> None:
    result = parse_esearch((PUBMED / "pubmed_esearch_biopython.xml").read_bytes())
    assert result.count == 63 and len(result.ids) == 20 and result.ids[0] == "41282813"
    with pytest.raises(SourceUnavailable):
        parse_esearch(b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>")
    with pytest.raises(SourceUnavailable):
        parse_esearch(b"not xml")


def test_a_non_pubmed_document_is_one_problem() -> None:
    parsed = parse_articles(b"<html><body>busy</body></html>")
    assert parsed.publications == [] and "PubmedArticleSet" in parsed.problems[0].rule


@pytest.mark.parametrize("text", [b"not xml", b"<a><b></a>", b"<PubmedArticleSet><x></y>"])
def test_malformed_xml_is_one_problem_not_a_crash(text: bytes) -> None:
    parsed = parse_articles(text)
    assert parsed.publications == [] and len(parsed.problems) == 1


# An entity that expands to a thousand copies of itself (a small "billion laughs").
ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>
<Article><ArticleTitle>&b;</ArticleTitle></Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE eSearchResult [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<eSearchResult><Count>1</Count><IdList><Id>&secret;</Id></IdList></eSearchResult>"""


def test_xml_that_declares_entities_is_refused_not_expanded() -> None:
    parsed = parse_articles(ENTITY_BOMB)
    assert parsed.publications == [] and "refused" in parsed.problems[0].rule
    with pytest.raises(SourceUnavailable):
        parse_esearch(EXTERNAL_ENTITY)
    with pytest.raises(SourceUnavailable):
        parse_esearch(ENTITY_BOMB)


def test_the_real_pubmed_doctype_is_accepted() -> None:
    """Every efetch answer names the external PubMed DTD; that alone is not refused."""
    raw = (PUBMED / "pubmed_12091962_9997.xml").read_bytes()
    assert b"<!DOCTYPE PubmedArticleSet PUBLIC" in raw
    assert parse_articles(raw).problems == []


def test_posted_results_summary_is_read() -> None:
    """Shape of a v2 ``resultsSection`` (values are placeholders, not data about any trial)."""
    record = json.loads((CTGOV / "ctgov_v2_NCT03934567.json").read_text())
    record["hasResults"] = True
    record["protocolSection"]["statusModule"]["resultsFirstPostDateStruct"] = {
        "date": "2025-06-01",
        "type": "ACTUAL",
    }
    record["resultsSection"] = {
        "outcomeMeasuresModule": {
            "outcomeMeasures": [
                {
                    "type": "PRIMARY",
                    "title": "placeholder title",
                    "timeFrame": "placeholder frame",
                    "paramType": "MEAN",
                    "unitOfMeasure": "units",
                    "groups": [
                        {"id": "OG000", "title": "group one"},
                        {"id": "OG001", "title": "group two"},
                    ],
                }
            ]
        }
    }
    (trial,) = parse_payload(record).trials
    assert trial.has_results and trial.results_first_posted == "2025-06-01"
    (posted,) = trial.posted_outcomes
    assert (posted.type, posted.param_type, posted.groups) == (
        "PRIMARY",
        "MEAN",
        ("group one", "group two"),
    )
    record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0].pop("title")
    assert parse_payload(record).problems[0].field == "outcomeMeasures"
