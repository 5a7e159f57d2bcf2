"""Schema checks for the shipped evidence catalogue and claims register (package data)."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

DESIGNS = {
    "parallel_rct",
    "crossover_rct",
    "open_label",
    "cohort",
    "case_series",
    "case_report",
    "survey",
    "cross_sectional",
    "registry_study",
    "anecdote",
    "hypothesis",
    "trial_registration",
    "systematic_review",
    "narrative_review",
    "laboratory",
    "position_statement",
}
BLINDING = {None, "none", "single", "double", "triple"}
SWITCH_FLAGS = {
    "none",
    "added",
    "dropped",
    "demoted",
    "changed_timepoint",
    "changed_measure",
    "unclear",
}
VERDICTS = {
    "supported",
    "contradicted",
    "partly_contradicted",
    "untested",
    "mixed",
    "not_testable_in_registry",
}
#: Unhedged superlatives need a source; the catalogue's own prose must not use them.
SUPERLATIVES = re.compile(r"\b(largest|strongest|best|most reliable)\b", re.IGNORECASE)
AUDITS = {
    None,
    "progression",
    "relapses",
    "symptoms",
    "relapse_recovery",
    "matched",
    "adverse_events",
    "labs",
    "t_cells",
    "dose_timing",
    "dose_level",
    "combination",
    "after_stopping",
    "nof1",
}
STUDY_KEYS = {
    "id",
    "title",
    "authors",
    "year",
    "journal",
    "pmid",
    "doi",
    "nct_id",
    "registry_ids",
    "condition",
    "design",
    "blinding",
    "n_enrolled",
    "n_analysed",
    "population",
    "dose",
    "timing",
    "duration",
    "outcomes",
    "results_as_reported",
    "adverse_events",
    "funding",
    "evidence_level",
    "capsule",
    "sources",
}
CLAIM_KEYS = {
    "id",
    "claim",
    "where_it_circulates",
    "what_would_decide_it",
    "statistic",
    "verdict",
    "verdict_summary",
    "citations",
    "registry_audit",
}
NCT = re.compile(r"^NCT\d{8}$")


def _load(name: str) -> dict:
    text = resources.files("ldn_outcomes.evidence.data").joinpath(name).read_text("utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return _load("studies.json")


@pytest.fixture(scope="module")
def register() -> dict:
    return _load("claims.json")


def test_catalogue_header(catalogue: dict) -> None:
    assert catalogue["schema_version"] == 1
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalogue["catalogue_version"])
    levels = catalogue["evidence_levels"]
    assert levels["source_url"].startswith("https://")
    assert {"1", "2", "3", "4", "5"} <= set(levels["levels"])
    assert catalogue["studies"]


def test_studies_schema(catalogue: dict) -> None:
    levels = set(catalogue["evidence_levels"]["levels"])
    ids = [s["id"] for s in catalogue["studies"]]
    assert len(ids) == len(set(ids)), "study ids must be unique"
    for s in catalogue["studies"]:
        sid = s["id"]
        assert set(s) >= STUDY_KEYS, (sid, STUDY_KEYS - set(s))
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", sid), sid
        assert s["design"] in DESIGNS, sid
        assert s["blinding"] in BLINDING, sid
        assert s["evidence_level"] in levels, sid
        assert s["sources"], f"{sid} has no source"
        assert isinstance(s["capsule"], str) and s["capsule"].strip(), sid
        if s["pmid"] is not None:
            assert isinstance(s["pmid"], str) and s["pmid"].isdigit(), sid
        if s["doi"] is not None:
            assert s["doi"].startswith("10."), sid
        if s["nct_id"] is not None:
            assert NCT.match(s["nct_id"]), sid
        for rid in s["registry_ids"]:
            if rid.startswith("NCT"):
                assert NCT.match(rid), (sid, rid)
        for n in ("n_enrolled", "n_analysed"):
            assert s[n] is None or (isinstance(s[n], int) and s[n] >= 0), (sid, n)
        for outcome in s["outcomes"]:
            assert {"name", "instrument", "primary"} <= set(outcome), sid
            assert isinstance(outcome["primary"], bool), sid
        for result in s["results_as_reported"]:
            assert {"outcome", "result"} <= set(result), sid
        switch = s.get("outcome_switch")
        if switch is not None:
            assert switch["flag"] in SWITCH_FLAGS, sid
            assert switch["explanation"], sid
            assert switch["sources"], sid
        for meta in s.get("meta_inputs") or []:
            assert meta["measure"] in {"SMD", "MD", "logRR"}, sid
            assert meta["arm_stats"], sid
        for linked in s.get("linked_study_ids") or []:
            assert linked in ids, (sid, linked)


def test_registered_trials_have_outcome_switch_check(catalogue: dict) -> None:
    by_id = {s["id"]: s for s in catalogue["studies"]}
    for sid in ("cree-2010", "sharafaddinzadeh-2010"):
        assert by_id[sid]["outcome_switch"] is not None, sid


def test_claims_schema(register: dict, catalogue: dict) -> None:
    assert register["schema_version"] == 1
    study_ids = {s["id"] for s in catalogue["studies"]}
    ids = [c["id"] for c in register["claims"]]
    assert len(ids) == len(set(ids)), "claim ids must be unique"
    for c in register["claims"]:
        cid = c["id"]
        assert set(c) >= CLAIM_KEYS, (cid, CLAIM_KEYS - set(c))
        assert c["verdict"] in VERDICTS, cid
        assert c["registry_audit"] in AUDITS, cid
        assert c["verdict_summary"].strip(), cid
        assert c["citations"], f"{cid} has no citations"
        for cit in c["citations"]:
            assert {"pmid", "doi", "url"} & set(cit), (cid, cit)
            assert cit["what_it_says"].strip(), cid
            if "pmid" in cit:
                assert cit["pmid"].isdigit(), cid
            if "doi" in cit:
                assert cit["doi"].startswith("10."), cid
            if "study_id" in cit:
                assert cit["study_id"] in study_ids, (cid, cit["study_id"])
        for url in c["where_it_circulates"]:
            assert url.startswith(("http://", "https://")), cid


def _prose(entry: dict, keys: tuple[str, ...]) -> str:
    return " ".join(str(entry.get(k) or "") for k in keys)


def test_every_entry_says_when_and_by_whom_it_was_checked(catalogue: dict, register: dict) -> None:
    for entry in catalogue["studies"] + register["claims"]:
        checked = entry.get("last_checked")
        assert checked, f"{entry['id']} has no last_checked"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", checked["on"]), entry["id"]
        assert checked["by"].strip(), entry["id"]


def test_no_unhedged_superlatives_in_our_own_prose(catalogue: dict, register: dict) -> None:
    for s in catalogue["studies"]:
        assert not SUPERLATIVES.search(_prose(s, ("capsule", "evidence_level_rationale"))), s["id"]
    for c in register["claims"]:
        text = _prose(c, ("verdict_summary", "registry_audit_note"))
        text += " ".join(cit["what_it_says"] for cit in c["citations"])
        assert not SUPERLATIVES.search(text), c["id"]


def test_every_claim_has_a_certainty_per_outcome_resting_on_catalogue_studies(
    catalogue: dict, register: dict
) -> None:
    study_ids = {s["id"] for s in catalogue["studies"]}
    for c in register["claims"]:
        assert c["certainty"], f"{c['id']} has no certainty assessment"
        for item in c["certainty"]:
            assert set(item["study_ids"]) <= study_ids, (c["id"], item["study_ids"])
            for judgement in item["rated_down"] + item["rated_up"]:
                assert judgement["reason"].strip(), c["id"]


def test_a_claim_without_a_registry_audit_says_what_data_would_test_it(register: dict) -> None:
    for c in register["claims"]:
        if c["registry_audit"] is None:
            assert (c.get("registry_audit_note") or "").strip(), c["id"]


def test_audit_links_only_where_the_audit_computes_what_the_claim_needs(register: dict) -> None:
    """The n-of-1 trial varies neither dose nor timing; the side-effect audit counts rates on and
    off LDN, not withdrawal or co-medication; the symptom audit is fatigue and spasm at months.
    Claims about timing, dose level, T-cells and stopping link to the within-person audits that
    compute exactly those comparisons."""
    audits = {c["id"]: c["registry_audit"] for c in register["claims"]}
    assert "nof1" not in audits.values()
    assert audits["bedtime-for-endorphin-peak"] == "dose_timing"
    assert audits["spasticity-stay-at-3mg"] == "dose_level"
    assert audits["t-cells-up-300-percent"] == "t_cells"
    assert audits["possibility-of-addiction"] == "after_stopping"
    for cid in (
        "effect-lasts-18-hours",
        "immunosuppressants-reduce-ldn-effect",
        "do-not-combine-with-opioids",
        "improves-quality-of-life",
        "two-thirds-improve-in-first-days",
    ):
        assert audits[cid] is None, cid


def test_what_is_known_points_at_an_assessed_outcome(register: dict) -> None:
    known = register["what_is_known"]
    assert len(known) == 5
    by_id = {c["id"]: c for c in register["claims"]}
    for item in known:
        outcomes = {a["outcome"] for a in by_id[item["claim_id"]]["certainty"]}
        assert item["outcome"] in outcomes, item
