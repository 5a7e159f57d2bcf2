"""Patients' requests for a personal trial, and the pharmacy accounts a trial may go to.

A request stays "open" until the clinician designs a trial for it; the design marks it
"designed" in the same transaction that seals the allocation. The patient may withdraw an open
request and the clinician decline it, each saying why ("withdrawn", "declined"): otherwise a
request no one will design would stay open for good, and the patient could never ask again.
Every write is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..domain.access import Principal, Role
from ..domain.nof1 import outcome_spec
from ..domain.text import reason_problem
from ..errors import NotFound, PermissionDenied, Problem, ValidationFailed
from .account_tables import AccountRow
from .audit import write_audit
from .nof1_tables import NOf1RequestRow, NOf1TrialRow
from .patient_lock import lock_patients
from .tables import PatientRow

MAX_NOTE = 1000


@dataclass(frozen=True)
class TrialRequest:
    request_id: int
    patient_id: str
    outcome: str
    note: str
    requested_at: dt.datetime
    status: str
    trial_id: str | None
    closed_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "patient_id": self.patient_id,
            "outcome": self.outcome,
            "note": self.note,
            "requested_at": self.requested_at.isoformat(),
            "status": self.status,
            "trial_id": self.trial_id,
            "closed_reason": self.closed_reason,
        }


def _request(row: NOf1RequestRow) -> TrialRequest:
    return TrialRequest(
        row.id,
        row.patient_id,
        row.outcome,
        row.note,
        row.requested_at,
        row.status,
        row.trial_id,
        row.closed_reason,
    )


def add_request(
    engine: Engine, patient_id: str, outcome: str, note: str, actor: Principal
) -> TrialRequest:
    """A patient asks for a trial of ``outcome``; a second open request is refused."""
    if actor.role is not Role.PATIENT or actor.patient_id != patient_id:
        raise PermissionDenied("only the patient may ask for their own personal trial")
    outcome_spec(outcome)  # a clear error naming the field for an unknown outcome
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            Problem("nof1_request", "note", f"at most {MAX_NOTE} characters", value=len(note))
        )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if session.get(PatientRow, patient_id) is None:
            raise NotFound(f"no patient with id {patient_id!r}")
        lock_patients(session, [patient_id])  # one open request: two at once cannot both pass
        pending = session.scalar(
            select(NOf1RequestRow.id).where(
                NOf1RequestRow.patient_id == patient_id, NOf1RequestRow.status == "open"
            )
        )
        if pending is not None:
            raise ValidationFailed(
                Problem(
                    "nof1_request",
                    "request",
                    "you have already asked for a trial; your clinician will design it",
                )
            )
        row = NOf1RequestRow(
            patient_id=patient_id,
            outcome=outcome,
            note=note,
            requested_at=dt.datetime.now(dt.UTC),
            requested_by=actor.audit_name,
            status="open",
        )
        session.add(row)
        session.flush()
        write_audit(
            session,
            actor=actor.audit_name,
            action="create",
            table="nof1_requests",
            key=str(row.id),
            before=None,
            after={"patient_id": patient_id, "outcome": outcome, "note": note},
        )
        return _request(row)


def close_request(
    engine: Engine, patient_id: str, request_id: int, actor: Principal, reason: str
) -> TrialRequest:
    """The patient withdraws their open request, or their clinician declines it, saying why
    (``domain.text.reason_problem``; audited). Another patient's request answers as a
    missing one; an answered request is refused naming ``request_id``."""
    if actor.role is Role.PATIENT and actor.patient_id == patient_id:
        status = "withdrawn"
    elif actor.role is Role.CLINICIAN and patient_id in actor.authorised_patients:
        status = "declined"
    else:
        raise PermissionDenied(
            "only the patient may withdraw a trial request, and their clinician decline it"
        )
    rule = reason_problem(reason)
    if rule is not None:
        raise ValidationFailed(Problem("nof1_request", "reason", rule))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(NOf1RequestRow, request_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound(f"patient {patient_id} has no trial request {request_id}")
        if row.status != "open":
            raise ValidationFailed(
                Problem(
                    "nof1_request",
                    "request_id",
                    f"this request is already {row.status}",
                    value=request_id,
                )
            )
        row.status = status
        row.closed_reason = reason.strip()
        row.closed_by = actor.audit_name
        row.closed_at = dt.datetime.now(dt.UTC)
        session.flush()
        write_audit(
            session,
            actor=actor.audit_name,
            action="update",
            table="nof1_requests",
            key=str(request_id),
            before={"status": "open"},
            after={"status": status},
            reason=row.closed_reason,
        )
        return _request(row)


def requests_of(engine: Engine, patient_ids: Iterable[str]) -> list[TrialRequest]:
    """The requests of these patients (the caller has cleared them), newest first."""
    ids = sorted(set(patient_ids))
    if not ids:
        return []
    with Session(engine) as session:
        rows = session.scalars(
            select(NOf1RequestRow)
            .where(NOf1RequestRow.patient_id.in_(ids))
            .order_by(NOf1RequestRow.requested_at.desc(), NOf1RequestRow.id.desc())
        )
        return [_request(row) for row in rows]


def mark_designed(session: Session, request_id: int, trial_id: str, actor: Principal) -> None:
    """Close an open request with the trial designed for it (in the design's transaction)."""
    row = session.get(NOf1RequestRow, request_id)
    trial = session.get(NOf1TrialRow, trial_id)
    if row is None or trial is None or row.patient_id != trial.patient_id:
        raise ValidationFailed(
            Problem(
                "nof1_design",
                "request_id",
                "must be an open request of this trial's patient",
                value=request_id,
            )
        )
    if row.status != "open":
        raise ValidationFailed(
            Problem(
                "nof1_design", "request_id", "this request is already answered", value=request_id
            )
        )
    row.status, row.trial_id = "designed", trial_id
    session.flush()
    write_audit(
        session,
        actor=actor.audit_name,
        action="update",
        table="nof1_requests",
        key=str(request_id),
        before={"status": "open"},
        after={"status": "designed", "trial_id": trial_id},
    )


def pharmacy_accounts(engine: Engine) -> list[dict[str, Any]]:
    """Active pharmacy accounts a clinician may assign a trial to (id and name only)."""
    with Session(engine) as session:
        rows = session.execute(
            select(AccountRow.id, AccountRow.email, AccountRow.display_name)
            .where(AccountRow.role == Role.PHARMACY.value, AccountRow.active.is_(True))
            .order_by(AccountRow.id)
        )
        return [
            {"account_id": id_, "name": name or email, "email": email} for id_, email, name in rows
        ]
