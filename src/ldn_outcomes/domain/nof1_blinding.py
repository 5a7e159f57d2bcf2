"""Who may see a personal trial, and when its allocation may be opened (pure rules).

The actor is the one identity model, :class:`ldn_outcomes.domain.access.Principal`."""

from __future__ import annotations

import datetime as dt

from ..errors import PermissionDenied
from .access import Principal, Role
from .nof1 import NOf1Design


def check_unblinding(design: NOf1Design, today: dt.date, stopped_on: dt.date | None = None) -> None:
    """Unblinding is allowed only after the last period has ended, or from the day a trial
    was stopped early (``domain.nof1_stop``); otherwise say when."""
    if stopped_on is not None and today >= stopped_on:
        return
    if today <= design.end_date:
        raise PermissionDenied(
            f"trial {design.trial_id} is still blinded: the allocation opens after the last "
            f"period ends on {design.end_date.isoformat()} (today is {today.isoformat()}); "
            "unblinding early would spoil the trial. In a medical emergency the pharmacy "
            "holds the allocation sheet."
        )


def check_can_view_trial(actor: Principal, patient_id: str, clinician_id: str | None) -> None:
    """Patients see their own trials, clinicians their patients'; pharmacy and admin all."""
    if actor.role in (Role.PHARMACY, Role.ADMIN):
        return
    if actor.role in (Role.PATIENT, Role.CLINICIAN) and patient_id in actor.authorised_patients:
        return
    if actor.role is Role.PATIENT and actor.patient_id == patient_id:
        return
    if (
        actor.role is Role.CLINICIAN
        and clinician_id is not None
        and (actor.clinician_id == clinician_id)
    ):
        return
    # Never name the trial's patient (or its clinician): the caller may not know them.
    raise PermissionDenied(f"{actor.audit_name} may not see this trial: it is not theirs")
