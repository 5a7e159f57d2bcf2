"""Claim and study pages: certainty with its reasons, the design as it was, and dated checks."""

from __future__ import annotations

import datetime as dt

from ldn_outcomes.evidence import html, views
from ldn_outcomes.evidence.catalogue import load_catalogue, load_claims

LINKS = html.Links("/")


def test_claim_page_shows_certainty_reasons_and_the_studies_it_rests_on() -> None:
    register, catalogue = load_claims(), load_catalogue()
    data = views.claim_detail(register, catalogue, "improves-quality-of-life")
    (quality,) = data["claim"]["certainty"]
    assert quality["start"] == "high" and quality["certainty"] == "very low"
    assert {d["domain"] for d in quality["rated_down"]} == {
        "risk_of_bias",
        "inconsistency",
        "imprecision",
    }
    assert [s["id"] for s in quality["studies"]] == ["cree-2010", "sharafaddinzadeh-2010"]
    page = html.render_claim(data, LINKS)
    assert "very low certainty" in page and "Rated down 1 for inconsistency" in page
    assert 'href="/evidence/sharafaddinzadeh-2010"' in page


def test_a_graded_down_trial_shows_its_design_and_why_not_a_generic_definition() -> None:
    data = views.study_detail(load_catalogue(), "cree-2010", today=dt.date(2026, 12, 5))
    grading = data["grading"]
    assert grading["design"] == "crossover_rct" and grading["rated_down"]
    page = html.render_study(data, LINKS)
    assert "Non-randomised controlled cohort" not in page
    assert "randomised trial, crossover" in page  # the design in words, not its code
    assert "it was rated down to" in page


def test_an_anecdote_is_not_labelled_mechanism_based_reasoning() -> None:
    page = html.render_study(
        views.study_detail(load_catalogue(), "anecdote-70-patients-stable"), LINKS
    )
    assert "Mechanism-based reasoning" not in page


def test_an_entry_checked_more_than_a_year_ago_says_so() -> None:
    catalogue = load_catalogue()
    fresh = views.study_detail(catalogue, "cree-2010", today=dt.date(2026, 12, 6))
    old = views.study_detail(catalogue, "cree-2010", today=dt.date(2028, 1, 1))
    assert not fresh["checked"]["stale"] and old["checked"]["stale"]
    assert "more than a year ago" in html.render_study(old, LINKS)
    assert "more than a year ago" not in html.render_study(fresh, LINKS)
    assert "Last checked against its sources on 2026-12-05" in html.render_study(fresh, LINKS)


def test_home_leads_with_five_sentences_each_with_its_computed_certainty() -> None:
    known = views.what_is_known(load_claims())
    assert len(known) == 5 and all(k["certainty"] for k in known)
    page = html.render_home(
        {"studies": 1, "claims": 1, "outcomes": [], "what_is_known": known}, LINKS
    )
    assert page.count("certainty</span>") == 5


def test_studies_link_to_the_claims_that_cite_them() -> None:
    data = views.study_detail(load_catalogue(), "zagon-2011-t-lymphocytes", register=load_claims())
    assert [c["id"] for c in data["claims"]] == ["t-cells-up-300-percent"]


def test_a_pooled_study_links_to_its_forest_plot() -> None:
    catalogue = load_catalogue()
    pooled = [s for s in catalogue.studies if s.meta_inputs]
    assert pooled
    study = pooled[0]
    outcome = study.meta_inputs[0].outcome_id
    page = html.render_study(views.study_detail(catalogue, study.id), LINKS)
    assert f'href="{LINKS.meta(outcome)}"' in page


def test_the_study_page_leads_with_the_plain_summary_and_its_reading_age() -> None:
    data = views.study_detail(load_catalogue(), "cree-2010")
    assert data["plain"]["grade"] <= 7.0
    page = html.render_study(data, LINKS)
    assert page.index("In plain words") < page.index("In brief")
    assert f"Reading age about {data['plain']['reading_age']}" in page
