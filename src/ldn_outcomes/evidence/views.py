"""Page data as plain dicts: the web pages, the JSON API, the CLI and the static site all use
these, so a number shown in one place is the number shown everywhere.

The registry mirror (``engine``) is optional: without it the pages show the curated catalogue
only; with it they add each trial's current ClinicalTrials.gov status and linked publications.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from ..domain.access import public_actor
from ..domain.evidence import (
    Catalogue,
    Claim,
    ClaimsRegister,
    LastChecked,
    PostedAnalysis,
    PostedOutcome,
    PostedValue,
    Study,
    TrialRecord,
)
from . import mirror
from .catalogue import evidence_level_labels, filter_studies, find_claim, find_study, sort_by_date
from .outcome_switch import assess_study
from .readability import measure
from .review import entry_key, latest_checks, newest, review_queue


def pubmed_url(pmid: str) -> str:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def ctgov_url(nct_id: str) -> str:
    return f"https://clinicaltrials.gov/study/{nct_id}"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def checked(last: LastChecked | None, today: dt.date | None = None) -> dict[str, Any]:
    """When an entry was last checked against its sources, by whom, and whether that is more
    than a year ago (the page then says so)."""
    if last is None:
        return {"on": None, "by": None, "stale": True, "age_days": None}
    today = today or dt.date.today()
    return {
        "on": last.on.isoformat(),
        "by": public_actor(last.by),  # public pages: an editor's account by its role only
        "stale": last.is_stale(today),
        "age_days": (today - last.on).days,
    }


def grading(study: Study) -> dict[str, Any]:
    """The design as it was, the level it would start at, the level given and why: never the
    level's generic definition, which reads wrongly beside a graded-down trial or an anecdote."""
    extra = study.model_extra or {}
    base = extra.get("evidence_level_base")
    given = None if study.evidence_level is None else str(study.evidence_level)
    return {
        "design": study.design,
        "blinding": study.blinding,
        "level_for_design": None if base is None else str(base),
        "level_given": given,
        "rated_down": base is not None and given is not None and str(base) != given,
        "why": extra.get("evidence_level_rationale"),
    }


def _trials(engine: Engine | None) -> dict[str, TrialRecord]:
    if engine is None:
        return {}
    return {t.nct_id: t for t in mirror.list_trials(engine)}


def study_summary(study: Study, trial: TrialRecord | None = None) -> dict[str, Any]:
    return {
        "id": study.id,
        "title": study.title,
        "authors": study.author_text,
        "year": study.year,
        "journal": study.journal,
        "design": study.design,
        "blinding": study.blinding,
        "condition": ", ".join(study.conditions),
        "evidence_level": None if study.evidence_level is None else str(study.evidence_level),
        "n_enrolled": study.n_enrolled,
        "nct_id": study.nct_id,
        "pmid": study.pmid,
        "status": trial.status if trial else None,
        "has_results": trial.has_results if trial else None,
        "outcome_switch": study.outcome_switch.flag if study.outcome_switch else None,
    }


def evidence_index(
    catalogue: Catalogue,
    engine: Engine | None = None,
    *,
    condition: str | None = None,
    design: str | None = None,
    evidence_level: str | None = None,
    status: str | None = None,
    year: int | None = None,
    sort: str = "newest",
) -> dict[str, Any]:
    trials = _trials(engine)
    chosen = filter_studies(
        catalogue.studies,
        condition=condition,
        design=design,
        evidence_level=evidence_level,
        year=year,
    )
    chosen = sort_by_date(chosen, newest_first=sort != "oldest")
    rows = [study_summary(s, trials.get(s.nct_id or "")) for s in chosen]
    if status:
        rows = [r for r in rows if (r["status"] or "").lower() == status.lower()]
    return {
        "catalogue_version": catalogue.catalogue_version,
        "filters": {
            "condition": condition,
            "design": design,
            "evidence_level": evidence_level,
            "status": status,
            "year": year,
            "sort": sort,
        },
        "choices": {
            "design": sorted({s.design for s in catalogue.studies if s.design}),
            "evidence_level": sorted(
                {str(s.evidence_level) for s in catalogue.studies if s.evidence_level is not None}
            ),
            "status": sorted({t.status for t in trials.values() if t.status}),
            "year": sorted({s.year for s in catalogue.studies if s.year}, reverse=True),
            "condition": sorted({c for s in catalogue.studies for c in s.conditions}),
        },
        "evidence_levels": evidence_level_labels(catalogue),
        "evidence_scheme": _scheme(catalogue),
        "count": len(rows),
        "studies": rows,
        "uncurated": _uncurated(catalogue, engine),
    }


def _uncurated(catalogue: Catalogue, engine: Engine | None) -> list[dict[str, Any]]:
    """Trials the sync found that the catalogue does not hold (automatic capsules)."""
    if engine is None:
        return []
    return review_queue(engine, catalogue)["trials"]


def _scheme(catalogue: Catalogue) -> dict[str, Any]:
    levels = catalogue.evidence_levels
    if isinstance(levels, dict):
        return {
            "scheme": levels.get("scheme"),
            "source_url": levels.get("source_url"),
            "project_rules": levels.get("project_rules") or [],
        }
    return {"scheme": None, "source_url": None, "project_rules": []}


def study_detail(
    catalogue: Catalogue,
    ident: str,
    engine: Engine | None = None,
    *,
    today: dt.date | None = None,
    register: ClaimsRegister | None = None,
) -> dict[str, Any]:
    study = find_study(catalogue, ident)
    trial = mirror.get_trial(engine, study.nct_id) if engine is not None and study.nct_id else None
    publications = []
    if engine is not None and study.nct_id:
        publications = [
            {
                "pmid": p.pmid,
                "title": p.title,
                "journal": p.journal,
                "year": p.year,
                "url": pubmed_url(p.pmid),
            }
            for p in mirror.publications_for_trial(engine, study.nct_id)
        ]
    links = []
    if study.pmid:
        links.append({"label": f"PubMed {study.pmid}", "url": pubmed_url(study.pmid)})
    if study.doi:
        links.append({"label": f"DOI {study.doi}", "url": doi_url(study.doi)})
    for registry_id in study.all_registry_ids:
        if registry_id.upper().startswith("NCT"):
            links.append(
                {"label": f"ClinicalTrials.gov {registry_id}", "url": ctgov_url(registry_id)}
            )
    related = [
        {"id": other.id, "title": other.title}
        for other in catalogue.studies
        if other.id != study.id
        and (
            other.id in (study.model_extra or {}).get("linked_study_ids", [])
            or (study.nct_id and other.nct_id == study.nct_id)
        )
    ]
    data = study.model_dump(mode="json")
    return {
        "study": data,
        "summary": study_summary(study, trial),
        "links": links,
        "registry_record": trial.model_dump(mode="json") if trial else None,
        "posted_results": posted_results(trial) if trial and trial.posted_outcomes else None,
        "linked_publications": publications,
        "related_studies": related,
        "outcome_switch": assess_study(study, trial).as_dict(),
        "grading": grading(study),
        "plain": _plain(study),
        "checked": checked(_logged(study.last_checked, engine, "study", study.id), today),
        "pooled_in": sorted({m.outcome_id for m in study.meta_inputs if m.outcome_id}),
        "claims": _claims_citing(register, study.id) if register is not None else [],
    }


def _plain(study: Study) -> dict[str, Any] | None:
    """The plain-language summary with its measured reading level."""
    text = (study.model_extra or {}).get("plain_summary")
    if not text:
        return None
    reading = measure(text)
    return {
        "text": text,
        "grade": round(reading.grade, 1),
        "reading_age": round(reading.reading_age),
    }


def _claims_citing(register: ClaimsRegister, study_id: str) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "claim": c.claim}
        for c in register.claims
        if any(isinstance(x, dict) and x.get("study_id") == study_id for x in c.citations)
        or any(study_id in a.study_ids for a in c.certainty)
    ]


def posted_results(trial: TrialRecord) -> dict[str, Any]:
    """The primary outcome measures a trial posted on ClinicalTrials.gov, as table rows of text.

    Values are shown exactly as posted (text, not re-rounded); nothing is re-analysed. Other
    measures are counted and left to the registry page."""
    primary = [o for o in trial.posted_outcomes if (o.type or "").upper() == "PRIMARY"]
    return {
        "nct_id": trial.nct_id,
        "results_first_posted": trial.results_first_posted,
        "url": ctgov_url(trial.nct_id),
        "primary": [_posted_table(o) for o in primary],
        "other_count": len(trial.posted_outcomes) - len(primary),
    }


def _posted_table(outcome: PostedOutcome) -> dict[str, Any]:
    ids = outcome.group_ids or tuple(
        dict.fromkeys(v.group_id for row in outcome.rows for v in row.values)
    )
    titles = dict(zip(ids, outcome.groups, strict=False))
    analysed = {v.group_id: v.value for v in outcome.analysed}
    rows = []
    for row in outcome.rows:
        by_group = {v.group_id: v for v in row.values}
        label = " — ".join(t for t in (row.class_title, row.category) if t)
        rows.append({"label": label, "cells": [_cell(by_group.get(i)) for i in ids]})
    return {
        "title": outcome.title,
        "time_frame": outcome.time_frame,
        "unit": outcome.unit,
        "param": (outcome.param_type or "").replace("_", " ").lower() or None,
        "dispersion": outcome.dispersion_type,
        "population": outcome.population,
        "groups": [
            {"id": i, "title": titles.get(i) or i, "analysed": analysed.get(i)} for i in ids
        ],
        "rows": rows,
        "analyses": [_analysis_text(a, titles) for a in outcome.analyses],
    }


def _cell(value: PostedValue | None) -> str:
    if value is None or (value.value is None and not value.comment):
        return "—"
    text = value.value or ""
    if value.lower is not None or value.upper is not None:
        text += f" ({value.lower or '?'} to {value.upper or '?'})"
    elif value.spread is not None:
        text += f" ({value.spread})"
    if value.comment:
        text += f" [{value.comment}]"
    return text.strip()


def _analysis_text(analysis: PostedAnalysis, titles: dict[str, str]) -> str:
    parts = []
    if analysis.group_ids:
        parts.append(" vs ".join(titles.get(g, g) for g in analysis.group_ids) + ":")
    if analysis.param_value is not None:
        parts.append(
            f"{(analysis.param_type or 'estimate').replace('_', ' ')} {analysis.param_value}"
        )
    if analysis.ci_lower is not None or analysis.ci_upper is not None:
        sided = " one-sided" if (analysis.ci_sides or "").upper() == "ONE_SIDED" else ""
        parts.append(
            f"({analysis.ci_percent or '?'}%{sided} CI {analysis.ci_lower or '?'} to "
            f"{analysis.ci_upper or '?'})"
        )
    if analysis.p_value is not None:
        p = analysis.p_value.strip()
        parts.append(f"p {p}" if p[:1] in "<>=≤≥" else f"p = {p}")
    if analysis.method:
        parts.append(f"[{analysis.method}]")
    return " ".join(parts)


def claim_summary(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "claim": claim.claim,
        "verdict": claim.verdict,
        "verdict_summary": claim.verdict_summary,
        "certainty": [{"outcome": a.outcome, "certainty": a.result.label} for a in claim.certainty],
    }


def what_is_known(register: ClaimsRegister) -> list[dict[str, Any]]:
    """The plain sentences the home page leads with, each with the certainty of the claim and
    outcome it rests on (computed by the rule, never typed next to the sentence)."""
    claims = {c.id: c for c in register.claims}
    known = []
    for item in register.what_is_known:
        claim = claims.get(item.claim_id)
        found = [a for a in claim.certainty if a.outcome == item.outcome] if claim else []
        known.append(
            {
                "sentence": item.sentence,
                "claim_id": item.claim_id,
                "outcome": item.outcome,
                "certainty": found[0].result.label if found else None,
            }
        )
    return known


def claims_index(register: ClaimsRegister) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    for claim in register.claims:
        verdicts[claim.verdict or "unknown"] = verdicts.get(claim.verdict or "unknown", 0) + 1
    return {
        "count": len(register.claims),
        "verdicts": verdicts,
        "claims": [claim_summary(c) for c in register.claims],
    }


def _logged(
    shipped: LastChecked | None, engine: Engine | None, kind: str, ident: str
) -> LastChecked | None:
    """The shipped check, or an editor's later one from the change log."""
    if engine is None:
        return shipped
    return newest(shipped, latest_checks(engine).get(entry_key(kind, ident)))


def claim_detail(
    register: ClaimsRegister,
    catalogue: Catalogue,
    ident: str,
    *,
    today: dt.date | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    claim = find_claim(register, ident)
    studies = catalogue.by_id()
    citations = []
    for citation in claim.citations:
        entry = dict(citation) if isinstance(citation, dict) else {"text": str(citation)}
        study_id = entry.get("study_id")
        if study_id in studies:
            entry["study_title"] = studies[study_id].title
        if entry.get("pmid"):
            entry["pubmed_url"] = pubmed_url(str(entry["pmid"]))
        if entry.get("doi"):
            entry["doi_url"] = doi_url(str(entry["doi"]))
        citations.append(entry)
    data = claim.model_dump(mode="json")
    data["citations"] = citations
    certainty = []
    for assessment in claim.certainty:
        item = assessment.as_dict()
        item["studies"] = [
            {"id": sid, "title": studies[sid].title if sid in studies else sid}
            for sid in assessment.study_ids
        ]
        certainty.append(item)
    data["certainty"] = certainty
    pooled = sorted(
        {
            m.outcome_id
            for sid in {a for x in claim.certainty for a in x.study_ids}
            if sid in studies
            for m in studies[sid].meta_inputs
            if m.outcome_id
        }
    )
    return {
        "claim": data,
        "known_study_ids": sorted(studies),
        "checked": checked(_logged(claim.last_checked, engine, "claim", claim.id), today),
        "pooled_in": pooled,
    }


def front_page(
    register: ClaimsRegister,
    catalogue: Catalogue,
    engine: Engine | None = None,
    *,
    changes: int = 5,
) -> dict[str, Any]:
    """What the home page leads with: what is known (with certainty), the claims register, and
    the newest changes: registry changes found by the sync, else the catalogue entries checked
    most recently."""
    events = mirror.changes_since(engine, limit=changes) if engine is not None else []
    checked_recently = sorted(
        (s for s in catalogue.studies if s.last_checked is not None),
        key=lambda s: (s.last_checked.on if s.last_checked else dt.date.min, s.id),
        reverse=True,
    )[:changes]
    return {
        "what_is_known": what_is_known(register),
        "claims": claims_index(register)["claims"],
        "registry_changes": [
            {
                "at": e.at.date().isoformat(),
                "kind": e.kind.value,
                "key": e.key,
                "summary": e.summary,
            }
            for e in events
        ],
        "recently_checked": [
            {
                "id": s.id,
                "title": s.title,
                "on": s.last_checked.on.isoformat() if s.last_checked else None,
            }
            for s in checked_recently
        ],
        "catalogue_version": catalogue.catalogue_version,
        "studies": len(catalogue.studies),
    }
