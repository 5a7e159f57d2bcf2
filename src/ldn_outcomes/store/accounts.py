"""Accounts and their passwords, every change audited.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 profile) and re-hashed on sign-in
when the parameters change. Signing in and web sessions live in :mod:`.sign_in`, API tokens in
:mod:`.api_tokens`, the links between accounts and patients in :mod:`.care_links`; each builds
on the :class:`Account` defined here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.access import ACCOUNT_ROLES, Principal, Role
from ..domain.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from ..domain.text import text_problem
from ..errors import DuplicateRecord, NotFound, Problem, ValidationFailed
from .account_tables import AccountRow, ApiTokenRow, WebSessionRow
from .audit import write_audit
from .tables import PatientRow
from .throttle import count_attempt, succeeded

MIN_PASSWORD = MIN_LENGTH
MAX_PASSWORD = MAX_LENGTH
#: argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters. Replaceable, e.g. by
#: tests that need fast hashing: ``accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, ...)``.
PASSWORD_HASHER = PasswordHasher()


def password_hasher() -> PasswordHasher:
    """The hasher in use (read at each call, so a test may replace ``PASSWORD_HASHER``)."""
    return PASSWORD_HASHER


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: Role
    display_name: str | None
    patient_id: str | None
    active: bool

    @property
    def principal(self) -> Principal:
        return Principal(self.id, self.email, self.role, self.patient_id)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time in these tables is stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def digest(secret: str) -> str:
    """SHA-256 of a session id or API token: enough for 256-bit random values (no slow hash
    needed, lookups stay fast)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def account_from_row(row: AccountRow) -> Account:
    return Account(row.id, row.email, Role(row.role), row.display_name, row.patient_id, row.active)


def audit_view(row: AccountRow) -> dict[str, object]:
    """An account as the audit trail shows it: never the password hash."""
    return {
        "email": row.email,
        "role": row.role,
        "display_name": row.display_name,
        "patient_id": row.patient_id,
        "active": row.active,
    }


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    malformed = "@" not in value or value.startswith("@") or value.endswith("@")
    if text_problem(value) is not None or malformed or len(value) > 254:
        raise ValidationFailed(
            Problem("account", "email", "must be an e-mail address", value=email)
        )
    return value


def check_password_rules(
    password: str, field: str = "password", *, email: str | None = None
) -> None:
    """The domain's password rule (:mod:`ldn_outcomes.domain.passwords`, NIST SP 800-63B)."""
    rule = password_problem(password, email=email)
    if rule is not None:
        raise ValidationFailed(Problem("account", field, rule))


def end_tokens(session: Session, account_id: int, *, actor: str, why: str) -> int:
    """Revoke every live API token of an account (audited); returns how many."""
    now = now_utc()
    live = session.scalars(
        select(ApiTokenRow).where(
            ApiTokenRow.account_id == account_id, ApiTokenRow.revoked_at.is_(None)
        )
    ).all()
    for token in live:
        token.revoked_at = now
        write_audit(
            session,
            actor=actor,
            action="revoke",
            table="api_tokens",
            key=str(token.id),
            before=None,
            after={"revoked_at": now, "why": why},
        )
    return len(live)


def generated_password() -> str:
    """A random password to hand over once (about 96 bits)."""
    return secrets.token_urlsafe(12)


# -- accounts ------------------------------------------------------------------------------
def create_account(
    engine: Engine,
    *,
    email: str,
    role: Role | str,
    password: str | None,
    display_name: str | None = None,
    patient_id: str | None = None,
    actor: str,
) -> Account:
    """Create an account; a patient account may be linked to its registry patient at once."""
    address = normalise_email(email)
    if role not in ACCOUNT_ROLES:
        raise ValidationFailed(
            Problem(
                "account",
                "role",
                "must be one of " + ", ".join(r.value for r in ACCOUNT_ROLES),
                value=role,
            )
        )
    role = Role(role)
    if password is not None:
        check_password_rules(password, email=address)
    if display_name is not None and (rule := text_problem(display_name)) is not None:
        raise ValidationFailed(Problem("account", "display_name", rule))
    if patient_id is not None and role is not Role.PATIENT:
        raise ValidationFailed(
            Problem("account", "patient_id", "only a patient account owns a patient record")
        )
    with Session(engine) as session, session.begin():
        if session.scalar(select(AccountRow.id).where(AccountRow.email == address)) is not None:
            raise DuplicateRecord(f"an account for {address} already exists")
        if patient_id is not None:
            require_patient(session, patient_id)
        row = AccountRow(
            email=address,
            role=role.value,
            display_name=display_name,
            password_hash=password_hasher().hash(password) if password is not None else None,
            patient_id=patient_id,
            active=True,
            created_at=now_utc(),
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise DuplicateRecord(f"patient {patient_id} already has an account") from None
        write_audit(
            session,
            actor=actor,
            action="create",
            table="accounts",
            key=str(row.id),
            before=None,
            after=audit_view(row),
        )
        return account_from_row(row)


def require_patient(session: Session, patient_id: str) -> None:
    if session.get(PatientRow, patient_id) is None:
        raise NotFound(f"no patient with id {patient_id!r}")


def get_account(engine: Engine, account_id: int) -> Account:
    with Session(engine) as session:
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        return account_from_row(row)


def find_account(engine: Engine, email: str) -> Account | None:
    with Session(engine) as session:
        row = session.scalar(select(AccountRow).where(AccountRow.email == email.strip().lower()))
        return account_from_row(row) if row is not None else None


def list_accounts(engine: Engine) -> list[Account]:
    with Session(engine) as session:
        return [
            account_from_row(r) for r in session.scalars(select(AccountRow).order_by(AccountRow.id))
        ]


def set_active(engine: Engine, account_id: int, active: bool, *, actor: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        before = audit_view(row)
        row.active = active
        if not active:  # sessions and API tokens end at once; reactivating revives neither
            session.execute(delete(WebSessionRow).where(WebSessionRow.account_id == account_id))
            end_tokens(session, account_id, actor=actor, why="account deactivated")
        write_audit(
            session,
            actor=actor,
            action="update",
            table="accounts",
            key=str(row.id),
            before=before,
            after=audit_view(row),
        )


def change_password(
    engine: Engine,
    account_id: int,
    current: str,
    new: str,
    *,
    actor: str,
    keep_session: str | None = None,
) -> None:
    """Change a password after re-checking the current one; ends every other session and
    revokes every API token (a token must not outlive the password it was made under).

    The current password is guessable like a sign-in, so it is throttled like one (the same
    counter as the account's sign-ins, ``store.throttle``)."""
    with Session(engine) as session:
        found = session.get(AccountRow, account_id)
        if found is None or found.password_hash is None:
            raise NotFound("no such account with a password")
        email, stored_hash = found.email, found.password_hash
    account_key = f"email:{email}"
    count_attempt(engine, [account_key], now_utc())
    try:
        password_hasher().verify(stored_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationFailed(
            Problem("account", "current_password", "is not your current password")
        ) from None
    succeeded(engine, account_key)
    check_password_rules(new, "new_password", email=email)
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound("no such account with a password")
        _replace_password(
            session, row, new, actor=actor, why="password changed", keep_session=keep_session
        )


def set_password(engine: Engine, account_id: int, new: str, *, actor: str) -> None:
    """Administrative reset (CLI): sets a password and ends every session and API token of
    the account."""
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        check_password_rules(new, email=row.email)
        _replace_password(session, row, new, actor=actor, why="password reset")


def _replace_password(
    session: Session,
    row: AccountRow,
    new: str,
    *,
    actor: str,
    why: str,
    keep_session: str | None = None,
) -> None:
    """A new password ends every other web session and every API token of the account, in
    the same transaction as the change and its audit row."""
    row.password_hash = password_hasher().hash(new)
    row.password_changed_at = now_utc()
    query = delete(WebSessionRow).where(WebSessionRow.account_id == row.id)
    if keep_session is not None:
        query = query.where(WebSessionRow.id_hash != digest(keep_session))
    session.execute(query)
    end_tokens(session, row.id, actor=actor, why=why)
    write_audit(
        session,
        actor=actor,
        action="password",
        table="accounts",
        key=str(row.id),
        before=None,
        after={"password_changed_at": row.password_changed_at},
    )


ACCOUNT_COLUMNS = (
    AccountRow.id,
    AccountRow.email,
    AccountRow.role,
    AccountRow.display_name,
    AccountRow.patient_id,
    AccountRow.active,
)


def account_from_columns(row: object) -> Account:
    """An account from a Core row that starts with :data:`ACCOUNT_COLUMNS`."""
    id_, email, role, name, patient_id, active = row[:6]  # type: ignore[index]
    return Account(id_, email, Role(role), name, patient_id, bool(active))
