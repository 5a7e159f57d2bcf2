"""Accounts, sessions, API tokens, login throttling and care links, every change audited.

Why these choices:
* passwords are hashed with argon2id (argon2-cffi's RFC 9106 profile) and re-hashed on login
  when the parameters change;
* session ids and API tokens are 256-bit random values; only their SHA-256 digest is stored,
  which is enough for values with that much entropy (no slow hash needed, lookups stay fast);
* after ``MAX_FAILURES`` failed logins for one e-mail or one client address within
  ``FAILURE_WINDOW``, further attempts are refused until the window has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.access import Principal, Role
from ..errors import DuplicateRecord, NotFound, PermissionDenied, Problem, ValidationFailed
from .account_tables import AccountRow, LoginFailureRow, WebSessionRow
from .audit import write_audit
from .tables import PatientRow

MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 256
TOKEN_PREFIX = "ldn_"
#: argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters. Replaceable, e.g. by
#: tests that need fast hashing: ``accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, ...)``.
PASSWORD_HASHER = PasswordHasher()
_dummy_hashes: dict[tuple[int, int, int], str] = {}


def _hasher() -> PasswordHasher:
    return PASSWORD_HASHER


def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so timing does not reveal which e-mails
    exist."""
    h = _hasher()
    key = (h.time_cost, h.memory_cost, h.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = h.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


class LoginThrottled(PermissionDenied):
    """Too many failed logins; try again later."""

    http_status = 429

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"too many failed sign-in attempts; try again in {retry_after_seconds // 60 + 1} "
            "minute(s)"
        )


class BadCredentials(PermissionDenied):
    http_status = 401


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


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.email, Role(row.role), row.display_name, row.patient_id, row.active)


def _public(row: AccountRow) -> dict[str, object]:
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
    if "@" not in value or len(value) > 254 or value.startswith("@") or value.endswith("@"):
        raise ValidationFailed(
            Problem("account", "email", "must be an e-mail address", value=email)
        )
    return value


def check_password_rules(password: str, field: str = "password") -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationFailed(
            Problem("account", field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        )


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
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(
            Problem(
                "account", "role", "must be one of " + ", ".join(r.value for r in Role), value=role
            )
        ) from None
    if password is not None:
        check_password_rules(password)
    if patient_id is not None and role is not Role.PATIENT:
        raise ValidationFailed(
            Problem("account", "patient_id", "only a patient account owns a patient record")
        )
    with Session(engine) as session, session.begin():
        if session.scalar(select(AccountRow.id).where(AccountRow.email == address)) is not None:
            raise DuplicateRecord(f"an account for {address} already exists")
        if patient_id is not None:
            _require_patient(session, patient_id)
        row = AccountRow(
            email=address,
            role=role.value,
            display_name=display_name,
            password_hash=_hasher().hash(password) if password is not None else None,
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
            after=_public(row),
        )
        return _account(row)


def _require_patient(session: Session, patient_id: str) -> None:
    if session.get(PatientRow, patient_id) is None:
        raise NotFound(f"no patient with id {patient_id!r}")


def get_account(engine: Engine, account_id: int) -> Account:
    with Session(engine) as session:
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        return _account(row)


def find_account(engine: Engine, email: str) -> Account | None:
    with Session(engine) as session:
        row = session.scalar(select(AccountRow).where(AccountRow.email == email.strip().lower()))
        return _account(row) if row is not None else None


def list_accounts(engine: Engine) -> list[Account]:
    with Session(engine) as session:
        return [_account(r) for r in session.scalars(select(AccountRow).order_by(AccountRow.id))]


def set_active(engine: Engine, account_id: int, active: bool, *, actor: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        before = _public(row)
        row.active = active
        if not active:
            session.execute(delete(WebSessionRow).where(WebSessionRow.account_id == account_id))
        write_audit(
            session,
            actor=actor,
            action="update",
            table="accounts",
            key=str(row.id),
            before=before,
            after=_public(row),
        )


# -- passwords and login -----------------------------------------------------------------
def _failures(session: Session, key: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    count, first = session.execute(
        select(func.count(), func.min(LoginFailureRow.at)).where(
            LoginFailureRow.key == key, LoginFailureRow.at >= since
        )
    ).one()
    return int(count), (_aware(first) if first is not None else None)


def authenticate(
    engine: Engine,
    email: str,
    password: str,
    *,
    client: str = "unknown",
    now: dt.datetime | None = None,
) -> Account:
    """Check a password; throttle by e-mail and by client address; say nothing about which
    part was wrong."""
    now = now or now_utc()
    address = email.strip().lower()
    keys = [f"email:{address}", f"client:{client}"]
    with Session(engine) as session, session.begin():
        for key in keys:
            count, first = _failures(session, key, now - FAILURE_WINDOW)
            if count >= MAX_FAILURES and first is not None:
                wait = int((first + FAILURE_WINDOW - now).total_seconds()) + 1
                raise LoginThrottled(max(wait, 1))
        row = session.scalar(select(AccountRow).where(AccountRow.email == address))
        ok = False
        try:
            ok = _hasher().verify(
                row.password_hash if row and row.password_hash else _dummy_hash(), password
            )
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row.password_hash is None or not row.active:
            for key in keys:
                session.add(LoginFailureRow(key=key, at=now))
            session.commit()
            raise BadCredentials("wrong e-mail or password")
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == keys[0]))
        if _hasher().check_needs_rehash(row.password_hash):
            row.password_hash = _hasher().hash(password)
        return _account(row)


def change_password(
    engine: Engine,
    account_id: int,
    current: str,
    new: str,
    *,
    actor: str,
    keep_session: str | None = None,
) -> None:
    """Change a password after re-checking the current one; ends every other session."""
    check_password_rules(new, "new_password")
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None or row.password_hash is None:
            raise NotFound("no such account with a password")
        try:
            _hasher().verify(row.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise ValidationFailed(
                Problem("account", "current_password", "is not your current password")
            ) from None
        row.password_hash = _hasher().hash(new)
        row.password_changed_at = now_utc()
        query = delete(WebSessionRow).where(WebSessionRow.account_id == account_id)
        if keep_session is not None:
            query = query.where(WebSessionRow.id_hash != digest(keep_session))
        session.execute(query)
        write_audit(
            session,
            actor=actor,
            action="password",
            table="accounts",
            key=str(row.id),
            before=None,
            after={"password_changed_at": row.password_changed_at},
        )


def set_password(engine: Engine, account_id: int, new: str, *, actor: str) -> None:
    """Administrative reset (CLI): sets a password and ends every session of the account."""
    check_password_rules(new)
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        row.password_hash = _hasher().hash(new)
        row.password_changed_at = now_utc()
        session.execute(delete(WebSessionRow).where(WebSessionRow.account_id == account_id))
        write_audit(
            session,
            actor=actor,
            action="password",
            table="accounts",
            key=str(row.id),
            before=None,
            after={"password_changed_at": row.password_changed_at},
        )


# -- sessions ------------------------------------------------------------------------------
def create_session(engine: Engine, account_id: int, max_age_seconds: int) -> tuple[str, str]:
    """A fresh session (new id at every login: no fixation). Returns (cookie value, CSRF)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = now_utc()
    with Session(engine) as session, session.begin():
        session.add(
            WebSessionRow(
                id_hash=digest(token),
                account_id=account_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=max_age_seconds),
            )
        )
        write_audit(
            session,
            actor=f"account:{account_id}",
            action="login",
            table="web_sessions",
            key=str(account_id),
            before=None,
            after=None,
        )
    return token, csrf


_ACCOUNT_COLUMNS = (
    AccountRow.id,
    AccountRow.email,
    AccountRow.role,
    AccountRow.display_name,
    AccountRow.patient_id,
    AccountRow.active,
)


def _account_from(row: object) -> Account:
    id_, email, role, name, patient_id, active = row[:6]  # type: ignore[index]
    return Account(id_, email, Role(role), name, patient_id, bool(active))


#: Built once (statement construction per request costs more than the indexed lookup).
_SESSION_QUERY = (
    select(*_ACCOUNT_COLUMNS, WebSessionRow.csrf_token, WebSessionRow.expires_at)
    .join(WebSessionRow, WebSessionRow.account_id == AccountRow.id)
    .where(WebSessionRow.id_hash == bindparam("id_hash"))
)


def session_account(engine: Engine, token: str) -> tuple[Account, str] | None:
    """The account and CSRF token of a live session, or None (unknown, expired, inactive).

    Runs on every request: one indexed Core query, no ORM objects."""
    with engine.connect() as connection:
        found = connection.execute(_SESSION_QUERY, {"id_hash": digest(token)}).first()
    if found is None:
        return None
    account = _account_from(found)
    if _aware(found[7]) <= now_utc() or not account.active:
        return None
    return account, found[6]


def end_session(engine: Engine, token: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(WebSessionRow, digest(token))
        if row is not None:
            write_audit(
                session,
                actor=f"account:{row.account_id}",
                action="logout",
                table="web_sessions",
                key=str(row.account_id),
                before=None,
                after=None,
            )
            session.delete(row)


def purge_expired(engine: Engine) -> int:
    """Delete expired sessions and old login failures; returns the sessions removed."""
    now = now_utc()
    with Session(engine) as session, session.begin():
        gone = session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < now - FAILURE_WINDOW))
        return int(gone.rowcount or 0)


# Tokens and links live in account_access; re-exported so callers use one module.
from .account_access import (  # noqa: E402
    ApiToken,
    care_status,
    create_api_token,
    is_linked,
    link_patient,
    linked_patient_ids,
    list_api_tokens,
    revoke_api_token,
    token_account,
    token_accounts,
    unlink_patient,
)

__all__ = [
    "Account",
    "ApiToken",
    "BadCredentials",
    "LoginThrottled",
    "authenticate",
    "care_status",
    "change_password",
    "create_account",
    "create_api_token",
    "create_session",
    "digest",
    "end_session",
    "find_account",
    "generated_password",
    "get_account",
    "is_linked",
    "link_patient",
    "linked_patient_ids",
    "list_accounts",
    "list_api_tokens",
    "now_utc",
    "purge_expired",
    "revoke_api_token",
    "session_account",
    "set_active",
    "set_password",
    "token_account",
    "token_accounts",
    "unlink_patient",
]
