"""Who may see or change what: the authorization rules, as pure functions.

The rules (one place; the web layer asks these, never decides on its own):

* a **patient** sees and edits only their own records;
* a **clinician** sees and edits the records of patients linked to them, and only while that
  patient's consent for care is active on the day of the request;
* a **researcher** sees only de-identified aggregates and de-identified row-level exports of
  patients whose research consent is active, with small cells suppressed;
* an **admin** manages accounts and sites and does not browse clinical data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .codes import ConsentScope


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    ADMIN = "admin"


#: Roles that may ever see identified clinical records (always subject to the rules below).
CLINICAL_ROLES = frozenset({Role.PATIENT, Role.CLINICIAN})


@dataclass(frozen=True)
class Principal:
    """The acting account, as the rules need it."""

    account_id: int
    email: str
    role: Role
    #: For a patient account: the registry patient it owns.
    patient_id: str | None = None

    @property
    def audit_name(self) -> str:
        """How the audit trail names this actor: stable id plus role."""
        return f"account:{self.account_id}:{self.role.value}"


class ConsentLike(Protocol):
    @property
    def scope(self) -> ConsentScope: ...
    def active_on(self, day: dt.date) -> bool: ...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def consent_active(consents: Iterable[ConsentLike], scope: ConsentScope, on: dt.date) -> bool:
    """Whether any consent of ``scope`` is active on ``on`` (given on or before, not withdrawn)."""
    return any(c.scope == scope and c.active_on(on) for c in consents)


def may_access_patient(
    principal: Principal | None,
    patient_id: str,
    *,
    linked: bool,
    care_consent_active: bool,
) -> Decision:
    """May this account see (and, where its role allows, edit) this patient's records?

    ``linked`` says whether a clinician account is linked to the patient; ``care_consent_active``
    whether the patient's care consent is active today. Neither matters for other roles.
    """
    if principal is None:
        return Decision(False, "sign in first")
    if principal.role is Role.PATIENT:
        if principal.patient_id is not None and principal.patient_id == patient_id:
            return Decision(True, "own records")
        return Decision(False, "patients see only their own records")
    if principal.role is Role.CLINICIAN:
        if not linked:
            return Decision(False, "this patient is not linked to you")
        if not care_consent_active:
            return Decision(False, "this patient's consent for care is not active")
        return Decision(True, "linked patient with active care consent")
    if principal.role is Role.RESEARCHER:
        return Decision(False, "researchers see de-identified data only")
    return Decision(False, "administrators do not browse clinical records")


def may_use_research_data(principal: Principal | None) -> Decision:
    if principal is not None and principal.role is Role.RESEARCHER:
        return Decision(True, "researcher")
    return Decision(False, "de-identified research data is for researcher accounts")


def may_manage_accounts(principal: Principal | None) -> Decision:
    if principal is not None and principal.role is Role.ADMIN:
        return Decision(True, "administrator")
    return Decision(False, "account management is for administrators")


def include_in_research(consents: Iterable[ConsentLike], on: dt.date) -> bool:
    """A patient's data enters research outputs only while their research consent is active."""
    return consent_active(consents, ConsentScope.RESEARCH, on)
