"""The authorization rules, role by role."""

from __future__ import annotations

import datetime as dt

from ldn_outcomes.domain.access import (
    ACCOUNT_ROLES,
    Principal,
    Role,
    consent_active,
    include_in_research,
    may_access_patient,
    may_manage_accounts,
    may_print_allocation,
    may_use_research_data,
    public_actor,
)
from ldn_outcomes.domain.codes import ConsentScope
from ldn_outcomes.domain.models import Consent

DAY = dt.date(2026, 6, 1)
patient = Principal(1, "p@x", Role.PATIENT, "P1")
clinician = Principal(2, "c@x", Role.CLINICIAN)
researcher = Principal(3, "r@x", Role.RESEARCHER)
admin = Principal(4, "a@x", Role.ADMIN)


def test_patient_sees_only_own_records() -> None:
    assert may_access_patient(patient, "P1", linked=False, care_consent_active=False)
    assert not may_access_patient(patient, "P2", linked=True, care_consent_active=True)
    unlinked = Principal(5, "u@x", Role.PATIENT, None)
    assert not may_access_patient(unlinked, "P1", linked=False, care_consent_active=False)


def test_clinician_needs_link_and_active_care_consent() -> None:
    assert may_access_patient(clinician, "P1", linked=True, care_consent_active=True)
    assert not may_access_patient(clinician, "P1", linked=True, care_consent_active=False)
    assert not may_access_patient(clinician, "P1", linked=False, care_consent_active=True)


def test_researcher_admin_and_anonymous_never_see_records() -> None:
    for who in (researcher, admin, None):
        assert not may_access_patient(who, "P1", linked=True, care_consent_active=True)
    assert may_use_research_data(researcher) and not may_use_research_data(clinician)
    assert may_manage_accounts(admin) and not may_manage_accounts(researcher)


def test_consent_is_active_from_given_until_withdrawn() -> None:
    consent = Consent(
        patient_id="P1",
        scope=ConsentScope.CARE,
        given_date=DAY,
        withdrawn_date=DAY + dt.timedelta(days=10),
    )
    assert not consent_active([consent], ConsentScope.CARE, DAY - dt.timedelta(days=1))
    assert consent_active([consent], ConsentScope.CARE, DAY)
    assert not consent_active([consent], ConsentScope.CARE, DAY + dt.timedelta(days=10))
    assert not include_in_research([consent], DAY)


def test_one_audit_name_format_for_accounts_and_the_command_line() -> None:
    assert clinician.audit_name == "account:2:clinician"
    assert Principal.command_line().audit_name == "cli"
    assert Principal.command_line(Role.PHARMACY).role is Role.PHARMACY


def test_the_pharmacy_account_sees_no_records_and_only_its_own_sheets() -> None:
    assert Role.PHARMACY in ACCOUNT_ROLES
    pharmacy = Principal(7, "rx@example.org", Role.PHARMACY)
    for actor in (pharmacy, Principal.command_line(Role.PHARMACY)):
        assert not may_access_patient(actor, "P1", linked=True, care_consent_active=True)
    assert may_print_allocation(pharmacy, assigned_account_id=7)
    assert not may_print_allocation(pharmacy, assigned_account_id=8)
    assert not may_print_allocation(pharmacy, assigned_account_id=None)
    # The command line prints any trial's sheet; no other account prints any.
    assert may_print_allocation(Principal.command_line(Role.PHARMACY), None)
    assert may_print_allocation(Principal.command_line(Role.ADMIN), 7)
    for role in (Role.PATIENT, Role.CLINICIAN, Role.RESEARCHER, Role.ADMIN):
        assert not may_print_allocation(Principal(7, "x@example.org", role), 7), role
    assert not may_print_allocation(None, 7)


def test_editors_curate_the_evidence_and_see_no_clinical_record() -> None:
    from ldn_outcomes.domain.access import may_curate_evidence

    editor = Principal(9, "editor@example.org", Role.EDITOR)
    assert may_curate_evidence(editor)
    decision = may_access_patient(editor, "P-1", linked=True, care_consent_active=True)
    assert not decision and "editors" in decision.reason
    for role in (Role.PATIENT, Role.CLINICIAN, Role.RESEARCHER, Role.ADMIN):
        assert not may_curate_evidence(Principal(1, "x@example.org", role))
    assert not may_curate_evidence(None)
    assert Role.EDITOR in ACCOUNT_ROLES


def test_public_pages_name_an_account_by_its_role_only() -> None:
    assert public_actor("account:7:editor") == "an editor"
    assert public_actor("account:12:admin") == "an admin"
    assert public_actor("account:7:no-such-role") == "an account"
    assert public_actor("cli") == "cli"
    shipped = "third-edition review (checked against the sources listed)"
    assert public_actor(shipped) == shipped
