"""Trials the sync found that the curated catalogue does not hold: automatic capsules and the
editors' review queue.

Such a trial gets a page at once, built only from its ClinicalTrials.gov record and marked "not
yet reviewed", so nobody mistakes it for a curated capsule. An editor then promotes it (it is
worth a curated entry: the catalogue file gets one in the next release) or dismisses it (not
about LDN, or a duplicate). Each decision is a ``reviewed`` event in the registry's change log,
with who decided, when and why; the latest event for a trial is its review state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from ..domain.access import public_actor
from ..domain.evidence import Catalogue, ChangeKind, ClaimsRegister, LastChecked, TrialRecord
from ..domain.text import reason_problem
from ..errors import NotFound, Problem, ValidationFailed
from ..store.uow import UnitOfWork
from . import mirror

DECISIONS = ("promoted", "dismissed")
NOT_REVIEWED = "not yet reviewed"


def curated_ids(catalogue: Catalogue) -> set[str]:
    return {i.upper() for s in catalogue.studies for i in s.all_registry_ids}


def review_states(engine: Engine) -> dict[str, dict[str, Any]]:
    """The latest editor decision per trial (the change log is read once, newest first)."""
    states: dict[str, dict[str, Any]] = {}
    for event in mirror.changes_since(engine):
        if event.kind is ChangeKind.REVIEWED and event.key not in states:
            states[event.key] = {"at": event.at.isoformat(), **event.detail}
    return states


def review_state(engine: Engine, nct_id: str) -> dict[str, Any] | None:
    """The latest editor decision on this trial, or None."""
    return review_states(engine).get(nct_id)


def uncurated_trials(engine: Engine, catalogue: Catalogue) -> list[TrialRecord]:
    curated = curated_ids(catalogue)
    return [t for t in mirror.list_trials(engine) if t.nct_id.upper() not in curated]


def review_queue(engine: Engine, catalogue: Catalogue) -> dict[str, Any]:
    """Every uncurated trial with its review state; undecided ones first."""
    rows = []
    states = review_states(engine)
    for trial in uncurated_trials(engine, catalogue):
        state = states.get(trial.nct_id)
        rows.append(
            {
                "nct_id": trial.nct_id,
                "title": trial.title,
                "status": trial.status,
                "first_posted": trial.first_posted,
                "decision": state.get("decision") if state else None,
                "decided_by": state.get("by") if state else None,
                "decided_at": state.get("at") if state else None,
                "note": state.get("note") if state else None,
            }
        )
    rows.sort(key=lambda r: (r["decision"] is not None, r["nct_id"]))
    return {
        "count": len(rows),
        "waiting": sum(r["decision"] is None for r in rows),
        "trials": rows,
    }


def auto_capsule(engine: Engine, catalogue: Catalogue, nct_id: str) -> dict[str, Any]:
    """Page data for a trial the catalogue does not hold, from its registry record alone."""
    wanted = nct_id.strip().upper()
    trial = mirror.get_trial(engine, wanted)
    if trial is None or wanted in curated_ids(catalogue):
        raise NotFound(f"no uncurated trial {nct_id!r} in the registry mirror")
    state = review_state(engine, trial.nct_id)
    design = ", ".join(
        x for x in (trial.allocation, trial.intervention_model, trial.masking) if x
    ).lower()
    return {
        "nct_id": trial.nct_id,
        "title": trial.title,
        "official_title": trial.official_title,
        "review": state.get("decision") if state else NOT_REVIEWED,
        "review_detail": {**state, "by": public_actor(str(state.get("by")))} if state else None,
        "summary": _summary(trial),
        "design": design or None,
        "conditions": list(trial.conditions),
        "interventions": list(trial.interventions),
        "sponsor": trial.sponsor,
        "status": trial.status,
        "enrollment": trial.enrollment,
        "start_date": trial.start_date,
        "primary_completion_date": trial.primary_completion_date,
        "has_results": trial.has_results,
        "primary_outcomes": [o.measure for o in trial.primary_outcomes],
        "url": trial.url,
    }


def _summary(trial: TrialRecord) -> str:
    """A plain sentence or two, only from fields of the record; nothing is judged."""
    who = f"{trial.enrollment} people" if trial.enrollment is not None else "people"
    what = ", ".join(trial.conditions) or "a condition not named in the record"
    status = (trial.status or "unknown").replace("_", " ").lower()
    text = f"A trial registered on ClinicalTrials.gov that plans to study {who} with {what}. "
    text += f"Its status is {status}."
    if trial.has_results:
        text += " It has posted results."
    return text


def record_review(
    engine: Engine,
    catalogue: Catalogue,
    nct_id: str,
    *,
    decision: str,
    by: str,
    note: str = "",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Log an editor's decision on an uncurated trial (one transaction)."""
    if decision not in DECISIONS:
        raise ValidationFailed(
            Problem(f"trial {nct_id}", "decision", "must be one of " + ", ".join(DECISIONS))
        )
    _check_note(f"trial {nct_id}", note, required=decision == "dismissed")
    wanted = nct_id.strip().upper()
    if mirror.get_trial(engine, wanted) is None or wanted in curated_ids(catalogue):
        raise NotFound(f"no uncurated trial {nct_id!r} in the registry mirror")
    when = at or dt.datetime.now(dt.UTC)
    detail = {"decision": decision, "by": by, "note": note.strip()}
    with UnitOfWork(engine, actor=by) as uow:
        uow.evidence.log_change(
            at=when,
            kind=ChangeKind.REVIEWED,
            key=wanted,
            summary=f"{wanted} {decision} by an editor" + (f": {note.strip()}" if note else ""),
            detail=detail,
            source="editor review",
        )
        uow.commit()
    return {"nct_id": wanted, "at": when.isoformat(), **detail}


def _check_note(record: str, note: str, *, required: bool) -> None:
    """An editor's note is a reason kept in the change log, so it follows the one reason rule
    (``domain.text.reason_problem``); a dismissal must give one, a promotion or check may."""
    if (required or note.strip()) and (why := reason_problem(note)) is not None:
        raise ValidationFailed(Problem(record, "note", why))


def entry_key(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


def latest_checks(engine: Engine) -> dict[str, LastChecked]:
    """The latest editor check per catalogue entry or claim (``study:<id>``, ``claim:<id>``)."""
    checks: dict[str, LastChecked] = {}
    for event in mirror.changes_since(engine):
        if event.kind is ChangeKind.CHECKED and event.key not in checks:
            checks[event.key] = LastChecked(on=event.at.date(), by=str(event.detail.get("by")))
    return checks


def newest(shipped: LastChecked | None, logged: LastChecked | None) -> LastChecked | None:
    """The later of the check shipped in the data file and the one an editor logged (the
    logged one on the same day: it names the account)."""
    if shipped is None or (logged is not None and logged.on >= shipped.on):
        return logged
    return shipped


def due_for_checking(
    catalogue: Catalogue, register: ClaimsRegister, checks: dict[str, LastChecked], today: dt.date
) -> list[dict[str, Any]]:
    """Entries never checked or checked more than a year ago, oldest first."""
    due = []
    entries = [("study", s.id, s.title, s.last_checked) for s in catalogue.studies]
    entries += [("claim", c.id, c.claim, c.last_checked) for c in register.claims]
    for kind, ident, title, shipped in entries:
        last = newest(shipped, checks.get(entry_key(kind, ident)))
        if last is None or last.is_stale(today):
            due.append(
                {
                    "entry": entry_key(kind, ident),
                    "title": title,
                    "on": last.on.isoformat() if last else None,
                }
            )
    due.sort(key=lambda d: d["on"] or "")
    return due


def record_check(
    engine: Engine,
    catalogue: Catalogue,
    register: ClaimsRegister,
    entry: str,
    *,
    by: str,
    note: str = "",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Log that an editor checked a catalogue entry or claim against its sources today."""
    kind, _, ident = entry.strip().partition(":")
    known = {"study": {s.id for s in catalogue.studies}, "claim": {c.id for c in register.claims}}
    if kind not in known:
        raise ValidationFailed(
            Problem("check", "entry", "must be study:<id> or claim:<id>", value=entry)
        )
    if ident not in known[kind]:
        raise NotFound(f"no {kind} {ident!r} in the evidence hub")
    _check_note("check", note, required=False)
    when = at or dt.datetime.now(dt.UTC)
    detail = {"by": by, "note": note.strip()}
    with UnitOfWork(engine, actor=by) as uow:
        uow.evidence.log_change(
            at=when,
            kind=ChangeKind.CHECKED,
            key=entry_key(kind, ident),
            summary=f"{kind} {ident} checked against its sources by an editor",
            detail=detail,
            source="editor check",
        )
        uow.commit()
    return {"entry": entry_key(kind, ident), "at": when.isoformat(), **detail}
