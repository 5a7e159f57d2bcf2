"""Who may see a personal trial, and when its allocation may be opened (pure rules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ..errors import PermissionDenied

if TYPE_CHECKING:
    from .nof1 import NOf1Design


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    PHARMACY = "pharmacy"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """Who is asking: an account id and its role (the web's accounts system supplies these)."""

    account_id: str
    role: Role
    #: For a patient account, the patient it belongs to; for a clinician, their clinician id.
    subject_id: str | None = None
    #: Patients the caller's own access rules (care link + consent) already cleared.
    authorised_patients: frozenset[str] = frozenset()
    #: How the audit trail names the actor, when the caller has its own convention.
    label: str | None = None

    @property
    def audit_name(self) -> str:
        return self.label or f"{self.role.value}:{self.account_id}"


def check_unblinding(design: NOf1Design, today: dt.date) -> None:
    """Unblinding is allowed only after the last period has ended; otherwise say when."""
    if today <= design.end_date:
        raise PermissionDenied(
            f"trial {design.trial_id} is still blinded: the allocation opens after the last "
            f"period ends on {design.end_date.isoformat()} (today is {today.isoformat()}); "
            "unblinding early would spoil the trial. In a medical emergency the pharmacy "
            "holds the allocation sheet."
        )


def check_can_view_trial(actor: Actor, patient_id: str, clinician_id: str | None) -> None:
    """Patients see their own trials, clinicians their patients'; pharmacy and admin all."""
    if actor.role in (Role.PHARMACY, Role.ADMIN):
        return
    if actor.role in (Role.PATIENT, Role.CLINICIAN) and patient_id in actor.authorised_patients:
        return
    if actor.role is Role.PATIENT and actor.subject_id == patient_id:
        return
    if (
        actor.role is Role.CLINICIAN
        and clinician_id is not None
        and (actor.subject_id == clinician_id)
    ):
        return
    raise PermissionDenied(f"{actor.audit_name} may not see the trials of patient {patient_id}")
