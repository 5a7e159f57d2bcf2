"""Who may see or change what: the authorization rules, as pure functions.

The rules (one place; the web layer asks these, never decides on its own):

* a **patient** sees and edits only their own records;
* a **clinician** sees and edits the records of patients linked to them, and only while that
  patient's consent for care is active on the day of the request;
* a **researcher** sees only de-identified aggregates and de-identified row-level exports of
  patients whose research consent is active, with small cells suppressed;
* an **admin** manages accounts and sites and does not browse clinical data;
* an **editor** curates the evidence catalogue and the claims register (reviews trials the sync
  found) and has no access to clinical records at all;
* the **pharmacy** prints the allocation (bottle) sheets of the personal (n-of-1) trials
  assigned to it, and nothing else: no clinical record, no other trial. A pharmacy account
  signs in like any other; the command line may act as the pharmacy for every trial.

One identity model: :class:`Principal` is who is acting, for the web (a signed-in account) and
for the command line alike, and :attr:`Principal.audit_name` is how every audit row names it.
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
    PHARMACY = "pharmacy"
    EDITOR = "editor"


#: Roles an account may have.
ACCOUNT_ROLES = (
    Role.PATIENT,
    Role.CLINICIAN,
    Role.RESEARCHER,
    Role.ADMIN,
    Role.PHARMACY,
    Role.EDITOR,
)
#: How the audit trail names the command line, which acts without an account.
COMMAND_LINE_AUDIT_NAME = "cli"


def account_audit_name(account_id: int, role: Role | str) -> str:
    """The one format of actor names in the audit log for accounts: stable id plus role."""
    return f"account:{account_id}:{Role(role).value}"


#: How public pages name an account's role (never the account itself).
_ROLE_PHRASES = {
    Role.PATIENT: "a patient",
    Role.CLINICIAN: "a clinician",
    Role.RESEARCHER: "a researcher",
    Role.ADMIN: "an admin",
    Role.PHARMACY: "a pharmacy",
    Role.EDITOR: "an editor",
}


def public_actor(name: str) -> str:
    """How a public page names an actor from the audit log: an account by its role only
    (``account:7:editor`` becomes "an editor"); any other name (``cli``, a curation round
    named in the shipped data) as it is. The account stays in the audit log."""
    prefix, _, rest = name.partition(":")
    ident, _, role = rest.partition(":")
    if prefix == "account" and ident.isdigit() and role in _ROLE_PHRASES:
        return _ROLE_PHRASES[Role(role)]
    if prefix == "account":
        return "an account"
    return name


#: Roles that may ever see identified clinical records (always subject to the rules below).
CLINICAL_ROLES = frozenset({Role.PATIENT, Role.CLINICIAN})


@dataclass(frozen=True)
class Principal:
    """Who is acting, as the rules need it: an account, or the command line."""

    account_id: int
    email: str
    role: Role
    #: For a patient account: the registry patient it owns.
    patient_id: str | None = None
    #: For a clinician: their id in the registry (``patients.clinician_id``), when known.
    clinician_id: str | None = None
    #: Patients this request is already cleared for by the account rules (care link and
    #: active care consent, or the patient's own record); see :func:`may_access_patient`.
    authorised_patients: frozenset[str] = frozenset()
    #: The operator of the command line, who acts without an account (``account_id`` is 0,
    #: which no account has: ids start at 1).
    on_command_line: bool = False

    @classmethod
    def command_line(cls, role: Role = Role.ADMIN) -> Principal:
        """The operator of the command line: whoever may run it may act in ``role``."""
        return cls(0, "", role, on_command_line=True)

    @property
    def audit_name(self) -> str:
        """How the audit trail names this actor (``account:<id>:<role>``, or ``cli``)."""
        if self.on_command_line:
            return COMMAND_LINE_AUDIT_NAME
        return account_audit_name(self.account_id, self.role)


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
    if principal.role is Role.PHARMACY:
        return Decision(False, "the pharmacy sees trial allocations only")
    if principal.role is Role.EDITOR:
        return Decision(False, "editors curate the evidence hub and do not see clinical records")
    return Decision(False, "administrators do not browse clinical records")


def may_use_research_data(principal: Principal | None) -> Decision:
    if principal is not None and principal.role is Role.RESEARCHER:
        return Decision(True, "researcher")
    return Decision(False, "de-identified research data is for researcher accounts")


def may_manage_accounts(principal: Principal | None) -> Decision:
    if principal is not None and principal.role is Role.ADMIN:
        return Decision(True, "administrator")
    return Decision(False, "account management is for administrators")


def may_print_allocation(principal: Principal | None, assigned_account_id: int | None) -> Decision:
    """May this actor read a trial's sealed allocation to fill its bottles? A pharmacy account
    only for the trials assigned to it; the command line (as pharmacy or admin) for any."""
    if principal is None:
        return Decision(False, "sign in first")
    if principal.on_command_line and principal.role in (Role.PHARMACY, Role.ADMIN):
        return Decision(True, "command line")
    if principal.role is Role.PHARMACY:
        if assigned_account_id is not None and assigned_account_id == principal.account_id:
            return Decision(True, "trial assigned to this pharmacy")
        return Decision(False, "this trial is not assigned to your pharmacy")
    return Decision(False, "only the pharmacy preparing the bottles may read the allocation")


def may_curate_evidence(principal: Principal | None) -> Decision:
    if principal is not None and principal.role is Role.EDITOR:
        return Decision(True, "editor")
    return Decision(False, "curating the evidence catalogue and claims is for editor accounts")


def include_in_research(consents: Iterable[ConsentLike], on: dt.date) -> bool:
    """A patient's data enters research outputs only while their research consent is active."""
    return consent_active(consents, ConsentScope.RESEARCH, on)
