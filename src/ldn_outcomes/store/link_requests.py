"""Links requested by an administrator, which take effect only when accepted.

An administrator manages accounts but must never be able to give any account (say, one they
created with a password of their choosing) clinical access on their own. So on the web an
administrator only *requests* a link:

* a clinician account caring for a patient: a ``care_links`` row with ``accepted_at`` unset,
  which every access check ignores;
* a patient account owning a registry record: ``accounts.pending_patient_id``.

A request takes effect when the patient accepts it (the account that owns the record), or
when a clinician who already cares for the patient (an accepted link) confirms it; either may
decline it instead. Every request and decision is audited with who made it. The accounts in
question never decide about themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.access import Principal, Role
from ..errors import DuplicateRecord, NotFound, PermissionDenied, Problem, ValidationFailed
from .account_tables import AccountRow, CareLinkRow
from .accounts import audit_view, now_utc, require_patient
from .audit import write_audit

ACCOUNT = (AccountRow.id, AccountRow.email, AccountRow.role)


@dataclass(frozen=True)
class LinkRequest:
    """One pending request: which account asks for which patient, and who asked."""

    account_id: int
    email: str
    role: str
    patient_id: str
    requested_by: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "email": self.email,
            "role": self.role,
            "patient_id": self.patient_id,
            "requested_by": self.requested_by,
        }


def request_link(engine: Engine, account_id: int, patient_id: str, *, actor: str) -> None:
    """Ask for a link on an administrator's behalf; it gives no access until accepted."""
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        require_patient(session, patient_id)
        if row.role == Role.CLINICIAN:
            link = session.get(CareLinkRow, (account_id, patient_id))
            if link is not None:
                return  # already requested or in effect
            session.add(
                CareLinkRow(
                    account_id=account_id,
                    patient_id=patient_id,
                    created_at=now_utc(),
                    requested_by=actor,
                )
            )
            table, key = "care_links", f"{account_id}:{patient_id}"
        elif row.role == Role.PATIENT:
            if row.patient_id == patient_id:
                return
            row.pending_patient_id, row.pending_requested_by = patient_id, actor
            table, key = "accounts", str(account_id)
        else:
            raise ValidationFailed(
                Problem(
                    "account",
                    "role",
                    "only patient and clinician accounts link to patients",
                    value=row.role,
                )
            )
        write_audit(
            session,
            actor=actor,
            action="request_link",
            table=table,
            key=key,
            before=None,
            after={"account_id": account_id, "patient_id": patient_id, "accepted": False},
        )


def pending_requests(engine: Engine, patient_id: str) -> list[LinkRequest]:
    """Requests waiting for this patient (or their clinician) to decide."""
    with Session(engine) as session:
        clinicians = session.execute(
            select(*ACCOUNT, CareLinkRow.requested_by)
            .join(CareLinkRow, CareLinkRow.account_id == AccountRow.id)
            .where(CareLinkRow.patient_id == patient_id, CareLinkRow.accepted_at.is_(None))
            .order_by(AccountRow.id)
        ).all()
        owners = session.execute(
            select(
                AccountRow.id, AccountRow.email, AccountRow.role, AccountRow.pending_requested_by
            )
            .where(AccountRow.pending_patient_id == patient_id)
            .order_by(AccountRow.id)
        ).all()
    return [LinkRequest(a, e, r, patient_id, by) for a, e, r, by in [*clinicians, *owners]]


def _may_decide(session: Session, decider: Principal, patient_id: str, account_id: int) -> bool:
    if decider.account_id == account_id:
        return False  # nobody accepts a link for themselves
    if decider.role is Role.PATIENT:
        return decider.patient_id == patient_id
    if decider.role is Role.CLINICIAN:
        link = session.get(CareLinkRow, (decider.account_id, patient_id))
        return link is not None and link.accepted_at is not None
    return False


def decide_link(
    engine: Engine,
    decider: Principal,
    account_id: int,
    patient_id: str,
    *,
    accept: bool,
    actor: str,
) -> None:
    """Accept or decline a pending request for ``patient_id``: by the patient who owns the
    record, or by a clinician who already cares for them. Anyone else: PermissionDenied."""
    with Session(engine) as session, session.begin():
        if not _may_decide(session, decider, patient_id, account_id):
            raise PermissionDenied(
                "only the patient, or a clinician already caring for them, can decide this link"
            )
        account = session.get(AccountRow, account_id)
        link = session.get(CareLinkRow, (account_id, patient_id))
        now = now_utc()
        if link is not None and link.accepted_at is None:
            if accept:
                link.accepted_at, link.accepted_by = now, actor
            else:
                session.delete(link)
            table, key = "care_links", f"{account_id}:{patient_id}"
            before: dict[str, object] | None = {"accepted": False}
        elif account is not None and account.pending_patient_id == patient_id:
            before = audit_view(account)
            if accept:
                _transfer(session, account, patient_id)
            account.pending_patient_id = account.pending_requested_by = None
            table, key = "accounts", str(account_id)
        else:
            raise NotFound(f"no pending link request of account {account_id} for this patient")
        write_audit(
            session,
            actor=actor,
            action="accept_link" if accept else "decline_link",
            table=table,
            key=key,
            before=before,
            after={"account_id": account_id, "patient_id": patient_id, "accepted": accept},
        )


def _transfer(session: Session, account: AccountRow, patient_id: str) -> None:
    """Give ``account`` the record: a record has one owner, so the old owner lets go."""
    previous = session.scalar(select(AccountRow).where(AccountRow.patient_id == patient_id))
    if previous is not None and previous.id != account.id:
        previous.patient_id = None
        session.flush()
    account.patient_id = patient_id
    try:
        session.flush()
    except IntegrityError:  # a concurrent claim won the unique constraint
        raise DuplicateRecord(f"patient {patient_id} already has an account") from None
