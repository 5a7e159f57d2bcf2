"""Signing in, login throttling and web sessions, every sign-in and sign-out audited.

Why these choices:
* session ids are 256-bit random values; only their SHA-256 digest is stored;
* at most ``MAX_FAILURES`` passwords are checked per e-mail and per client address within
  ``FAILURE_WINDOW``; each attempt is counted atomically *before* its check
  (:mod:`.throttle`), so concurrent wrong passwords cannot race past the count;
* an unknown e-mail is verified against a dummy hash, so timing does not reveal which e-mails
  exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, cast

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Engine, bindparam, delete, select
from sqlalchemy.orm import Session

from ..domain.access import account_audit_name
from ..errors import NotFound, PermissionDenied
from .account_tables import AccountRow, LoginFailureRow, WebSessionRow
from .accounts import (
    ACCOUNT_COLUMNS,
    Account,
    account_from_columns,
    account_from_row,
    aware_utc,
    digest,
    now_utc,
    password_hasher,
)
from .audit import write_audit
from .throttle import MAX_ATTEMPTS, WINDOW, LoginThrottled, count_attempt, purge, succeeded

__all__ = ["LoginThrottled"]  # re-exported: the web layer translates it

MAX_FAILURES = MAX_ATTEMPTS
FAILURE_WINDOW = WINDOW
_dummy_hashes: dict[tuple[int, int, int], str] = {}


def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so timing does not reveal which e-mails
    exist."""
    h = password_hasher()
    key = (h.time_cost, h.memory_cost, h.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = h.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


class BadCredentials(PermissionDenied):
    http_status = 401


# -- sign-in -----------------------------------------------------------------
def authenticate(
    engine: Engine,
    email: str,
    password: str,
    *,
    client: str = "unknown",
    now: dt.datetime | None = None,
) -> Account:
    """Check a password; throttle by e-mail and by client address (each attempt counted
    atomically before the check, see :mod:`.throttle`); say nothing about which part was
    wrong."""
    now = now or now_utc()
    address = email.strip().lower()
    keys = [f"email:{address}", f"client:{client}"]
    count_attempt(engine, keys, now)
    with Session(engine) as session, session.begin():
        row = session.scalar(select(AccountRow).where(AccountRow.email == address))
        ok = False
        try:
            ok = password_hasher().verify(
                row.password_hash if row and row.password_hash else _dummy_hash(), password
            )
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row.password_hash is None or not row.active:
            raise BadCredentials("wrong e-mail or password")
        if password_hasher().check_needs_rehash(row.password_hash):
            row.password_hash = password_hasher().hash(password)
        account = account_from_row(row)
    succeeded(engine, keys[0], keys[1])
    return account


# -- sessions ------------------------------------------------------------------------------
def _audit_name(session: Session, account_id: int) -> str:
    role = session.scalar(select(AccountRow.role).where(AccountRow.id == account_id))
    if role is None:
        raise NotFound(f"no account with id {account_id}")
    return account_audit_name(account_id, role)


def create_session(engine: Engine, account_id: int, max_age_seconds: int) -> tuple[str, str]:
    """A fresh session (new id at every login: no fixation). Returns (cookie value, CSRF)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = now_utc()
    with Session(engine) as session, session.begin():
        actor = _audit_name(session, account_id)
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
            actor=actor,
            action="login",
            table="web_sessions",
            key=str(account_id),
            before=None,
            after=None,
        )
    return token, csrf


#: Built once (statement construction per request costs more than the indexed lookup).
_SESSION_QUERY = (
    select(*ACCOUNT_COLUMNS, WebSessionRow.csrf_token, WebSessionRow.expires_at)
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
    account = account_from_columns(found)
    if aware_utc(found[7]) <= now_utc() or not account.active:
        return None
    return account, found[6]


def end_session(engine: Engine, token: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(WebSessionRow, digest(token))
        if row is not None:
            write_audit(
                session,
                actor=_audit_name(session, row.account_id),
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
        gone = cast(
            CursorResult[Any],
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now)),
        )
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < now - FAILURE_WINDOW))
        purge(session, now)
        return int(gone.rowcount or 0)
