"""The typed loader: shipped data load, nulls are tolerated, bad edits are named."""

from __future__ import annotations

import json

import pytest

from ldn_outcomes.errors import NotFound, ValidationFailed
from ldn_outcomes.evidence import catalogue as cat


def test_shipped_catalogue_and_claims_load() -> None:
    catalogue = cat.load_catalogue()
    claims = cat.load_claims()
    assert catalogue.studies and claims.claims
    ids = [s.id for s in catalogue.studies]
    assert len(ids) == len(set(ids))
    for study in catalogue.studies:
        assert cat.find_study(catalogue, study.id) is study
    for claim in claims.claims:
        assert cat.find_claim(claims, claim.id) is claim


def test_null_fields_are_tolerated_and_lists_default_to_empty(tmp_path) -> None:
    path = tmp_path / "studies.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "studies": [
                    {
                        "id": "x",
                        "title": None,
                        "authors": None,
                        "year": "2010",
                        "pmid": 123,
                        "outcomes": None,
                        "results_as_reported": None,
                        "sources": None,
                        "meta_inputs": None,
                        "registry_ids": None,
                        "outcome_switch": None,
                        "something_new": {"kept": True},
                    }
                ],
            }
        )
    )
    (study,) = cat.load_catalogue(path).studies
    assert study.year == 2010 and study.pmid == "123"
    assert study.outcomes == [] and study.meta_inputs == [] and study.all_registry_ids == []
    assert study.model_extra == {"something_new": {"kept": True}}


def test_a_bad_entry_is_named(tmp_path) -> None:
    path = tmp_path / "studies.json"
    path.write_text(json.dumps({"studies": [{"id": "ok"}, {"id": "bad", "year": "soon"}]}))
    with pytest.raises(ValidationFailed) as caught:
        cat.load_catalogue(path)
    (problem,) = caught.value.problems
    assert problem.record == "study bad" and problem.field == "year"
    path.write_text(json.dumps({"studies": [{"id": "a"}, {"id": "a"}]}))
    with pytest.raises(ValidationFailed, match="duplicate id"):
        cat.load_catalogue(path)
    path.write_text("{not json")
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        cat.load_catalogue(path)
    with pytest.raises(NotFound):
        cat.load_catalogue(tmp_path / "missing.json")


def test_find_by_registry_id_and_pmid_and_filters() -> None:
    catalogue = cat.load_catalogue()
    with_nct = next(s for s in catalogue.studies if s.nct_id)
    assert cat.find_study(catalogue, with_nct.nct_id).nct_id == with_nct.nct_id
    with_pmid = next(s for s in catalogue.studies if s.pmid)
    assert cat.find_study(catalogue, with_pmid.pmid).pmid == with_pmid.pmid
    with pytest.raises(NotFound):
        cat.find_study(catalogue, "no-such-study")
    ms = cat.filter_studies(catalogue.studies, condition="MS")
    assert ms and all("multiple sclerosis" in " ".join(s.conditions).lower() for s in ms)
    ordered = cat.sort_by_date(ms)
    years = [s.year for s in ordered if s.year is not None]
    assert years == sorted(years, reverse=True)
    assert cat.sort_by_date(ms, newest_first=False)[0].year == min(years)


def test_condition_aliases() -> None:
    from ldn_outcomes.domain.evidence import Study

    study = Study(id="x", condition=["Crohn's disease"])
    assert cat.condition_matches(study, "crohn")
    assert cat.condition_matches(study, "Crohns")
    assert not cat.condition_matches(study, "MS")
    assert cat.condition_matches(Study(id="y", condition="multiple sclerosis"), "ms")
