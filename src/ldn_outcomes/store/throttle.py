"""Login throttling with one atomic counter per key (an e-mail address or a client address).

Counting failures and checking a password in separate steps lets concurrent wrong passwords
all read "4 failures so far" and all get a real check (an outside probe got 19 checks instead
of 5 from 40-100 parallel requests). Here every attempt is counted *before* its password is
checked, by a single ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` that the database
serialises per key (a row lock on PostgreSQL, the write lock on SQLite), and committed at
once. An attempt whose count is above :data:`MAX_ATTEMPTS` is refused without a check, so at
most :data:`MAX_ATTEMPTS` passwords are checked per key and window, however many arrive
together. A success clears the account's counter and gives its attempt back to the client
address (many people may sign in from one clinic's address).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import DateTime, Engine, Table, bindparam, case, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from .account_tables import LoginAttemptRow

ATTEMPTS = cast(Table, LoginAttemptRow.__table__)
MAX_ATTEMPTS = 5
WINDOW = dt.timedelta(minutes=15)


class LoginThrottled(PermissionDenied):
    """Too many failed logins; try again later."""

    http_status = 429

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            f"too many failed sign-in attempts; try again in {retry_after_seconds // 60 + 1} "
            "minute(s)"
        )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _count(session: Session, key: str, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Add one attempt to ``key`` atomically; (attempts in the window, window start)."""
    table = ATTEMPTS
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    at = bindparam("attempt_at", now, type_=DateTime(timezone=True))
    expired = table.c.window_start < now - WINDOW
    statement = (
        insert(table)
        .values(key=key, window_start=at, attempts=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "attempts": case((expired, 1), else_=table.c.attempts + 1),
                "window_start": case((expired, at), else_=table.c.window_start),
            },
        )
        .returning(table.c.attempts, table.c.window_start)
    )
    attempts, start = session.execute(statement).one()
    return int(attempts), _aware(start)


def count_attempt(engine: Engine, keys: list[str], now: dt.datetime) -> None:
    """Count one attempt on every key (committed before any password is checked); raise
    LoginThrottled when any key is over the limit."""
    with Session(engine) as session, session.begin():
        counted = [_count(session, key, now) for key in keys]  # same key order: no deadlock
    for attempts, start in counted:
        if attempts > MAX_ATTEMPTS:
            wait = int((start + WINDOW - now).total_seconds()) + 1
            raise LoginThrottled(max(wait, 1))


def succeeded(engine: Engine, account_key: str, client_key: str | None = None) -> None:
    """A right password: clear the account's counter, give the client its attempt back."""
    table = ATTEMPTS
    with Session(engine) as session, session.begin():
        session.execute(delete(table).where(table.c.key == account_key))
        if client_key is not None:
            session.execute(
                update(table)
                .where(table.c.key == client_key, table.c.attempts > 0)
                .values(attempts=table.c.attempts - 1)
            )


def purge(session: Session, now: dt.datetime) -> None:
    """Forget counters whose window has passed."""
    table = ATTEMPTS
    session.execute(delete(table).where(table.c.window_start < now - WINDOW))
