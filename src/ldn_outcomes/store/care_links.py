"""Links between accounts and registry patients: a patient account owns one registry patient,
a clinician account is linked to the patients it cares for; every change audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.access import Role, consent_active
from ..domain.codes import ConsentScope
from ..domain.models import Consent, Patient
from ..domain.validation import parse_record
from ..errors import DuplicateRecord, NotFound, Problem, ValidationFailed
from .account_tables import AccountRow, CareLinkRow
from .accounts import audit_view, now_utc, require_patient
from .audit import write_audit
from .convert import row_to_record
from .tables import ConsentRow
from .uow import UnitOfWork


def link_patient(engine: Engine, account_id: int, patient_id: str, *, actor: str) -> None:
    """Patient account: own this patient. Clinician account: care for this patient.

    Takes effect at once, so only for trusted callers: the command line (whoever runs it
    holds the database itself) and a clinician registering a patient they created. An
    administrator on the web *requests* a link instead (:mod:`.link_requests`), which gives
    no access until the patient, or a clinician already caring for them, accepts it."""
    with Session(engine) as session, session.begin():
        _link(session, account_id, patient_id, actor=actor)


def register_patient(
    engine: Engine,
    account_id: int,
    patient: Patient,
    *,
    care_consent_date: dt.date | str | None,
    actor: str,
) -> Patient:
    """A clinician's new patient, the patient's care consent (when its date is given) and the
    clinician's care link, in one transaction: a link that fails stores no patient."""
    consent = None
    if care_consent_date is not None:
        consent = parse_record(
            Consent,
            {"patient_id": patient.patient_id, "scope": "care", "given_date": care_consent_date},
        )
    with UnitOfWork(engine, actor=actor) as uow:
        stored = uow.registry.add(patient)
        if consent is not None:
            uow.registry.add(consent)
        assert uow.session is not None
        _link(uow.session, account_id, patient.patient_id, actor=actor)
        uow.commit()
    assert isinstance(stored, Patient)
    return stored


def _link(session: Session, account_id: int, patient_id: str, *, actor: str) -> None:
    row = session.get(AccountRow, account_id)
    if row is None:
        raise NotFound(f"no account with id {account_id}")
    require_patient(session, patient_id)
    if row.role == Role.PATIENT:
        before = audit_view(row)
        row.patient_id = patient_id
        try:
            session.flush()
        except IntegrityError:
            raise DuplicateRecord(f"patient {patient_id} already has an account") from None
        write_audit(
            session,
            actor=actor,
            action="update",
            table="accounts",
            key=str(row.id),
            before=before,
            after=audit_view(row),
        )
    elif row.role == Role.CLINICIAN:
        link = session.get(CareLinkRow, (account_id, patient_id))
        if link is None or link.accepted_at is None:
            now = now_utc()
            if link is None:
                link = CareLinkRow(account_id=account_id, patient_id=patient_id, created_at=now)
                session.add(link)
            link.requested_by = link.requested_by or actor
            link.accepted_at, link.accepted_by = now, actor
            write_audit(
                session,
                actor=actor,
                action="create",
                table="care_links",
                key=f"{account_id}:{patient_id}",
                before=None,
                after={"account_id": account_id, "patient_id": patient_id, "accepted": True},
            )
    else:
        raise ValidationFailed(
            Problem(
                "account",
                "role",
                "only patient and clinician accounts link to patients",
                value=row.role,
            )
        )


def unlink_patient(engine: Engine, account_id: int, patient_id: str, *, actor: str) -> None:
    with Session(engine) as session, session.begin():
        link = session.get(CareLinkRow, (account_id, patient_id))
        if link is None:
            raise NotFound(f"account {account_id} is not linked to patient {patient_id}")
        session.delete(link)
        write_audit(
            session,
            actor=actor,
            action="delete",
            table="care_links",
            key=f"{account_id}:{patient_id}",
            before={"account_id": account_id, "patient_id": patient_id},
            after=None,
        )


def is_linked(engine: Engine, account_id: int, patient_id: str) -> bool:
    with Session(engine) as session:
        link = session.get(CareLinkRow, (account_id, patient_id))
        return link is not None and link.accepted_at is not None  # a request gives nothing


def linked_patient_ids(engine: Engine, account_id: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(CareLinkRow.patient_id)
                .where(CareLinkRow.account_id == account_id, CareLinkRow.accepted_at.is_not(None))
                .order_by(CareLinkRow.patient_id)
            )
        )


def care_status(engine: Engine, account_id: int, patient_id: str, on: dt.date) -> tuple[bool, bool]:
    """(linked, care consent active on ``on``) for one clinician and one patient; the
    consent rule is the domain's (``Consent.active_on``)."""
    with Session(engine) as session:
        link = session.get(CareLinkRow, (account_id, patient_id))
        linked = link is not None and link.accepted_at is not None  # a request gives nothing
        if not linked:
            return False, False
        rows = session.scalars(
            select(ConsentRow).where(
                ConsentRow.patient_id == patient_id,
                ConsentRow.scope == ConsentScope.CARE.value,
                ConsentRow.removed_at.is_(None),
            )
        )
        consents = [row_to_record("consents", row) for row in rows]
    return True, consent_active(consents, ConsentScope.CARE, on)  # type: ignore[arg-type]
