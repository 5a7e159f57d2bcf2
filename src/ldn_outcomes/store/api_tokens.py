"""API tokens for scripts: ``ldn_`` + 256 random bits, stored as their SHA-256 digest only and
revocable at once; every creation and revocation audited."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from ..domain.text import text_problem
from ..errors import NotFound, Problem, ValidationFailed
from .account_tables import AccountRow, ApiTokenRow
from .accounts import ACCOUNT_COLUMNS, Account, account_from_columns, aware_utc, digest, now_utc
from .audit import write_audit

TOKEN_PREFIX = "ldn_"


@dataclass(frozen=True)
class ApiToken:
    id: int
    account_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


# -- API tokens ----------------------------------------------------------------------------
def create_api_token(
    engine: Engine, account_id: int, name: str, *, actor: str
) -> tuple[ApiToken, str]:
    """A new token for scripts; the plain value is returned once and never stored."""
    label = name.strip()
    if not 1 <= len(label) <= 100:
        raise ValidationFailed(Problem("api_token", "name", "must be 1 to 100 characters"))
    if (rule := text_problem(label)) is not None:
        raise ValidationFailed(Problem("api_token", "name", rule))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        if session.get(AccountRow, account_id) is None:
            raise NotFound(f"no account with id {account_id}")
        row = ApiTokenRow(
            account_id=account_id,
            name=label,
            token_hash=digest(plain),
            prefix=plain[:10],
            created_at=now_utc(),
        )
        session.add(row)
        session.flush()
        write_audit(
            session,
            actor=actor,
            action="create",
            table="api_tokens",
            key=str(row.id),
            before=None,
            after={"account_id": account_id, "name": label, "prefix": row.prefix},
        )
        return _token(row), plain


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        row.id,
        row.account_id,
        row.name,
        row.prefix,
        aware_utc(row.created_at),
        aware_utc(row.revoked_at) if row.revoked_at else None,
    )


def list_api_tokens(engine: Engine, account_id: int | None = None) -> list[ApiToken]:
    with Session(engine) as session:
        query = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if account_id is not None:
            query = query.where(ApiTokenRow.account_id == account_id)
        return [_token(r) for r in session.scalars(query)]


def revoke_api_token(
    engine: Engine, token_id: int, *, actor: str, owner: int | None = None
) -> None:
    """Revoke a token; with ``owner`` only that account's token (others look absent)."""
    with Session(engine) as session, session.begin():
        row = session.get(ApiTokenRow, token_id)
        if row is None or (owner is not None and row.account_id != owner):
            raise NotFound(f"no API token with id {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now_utc()
            write_audit(
                session,
                actor=actor,
                action="revoke",
                table="api_tokens",
                key=str(row.id),
                before=None,
                after={"revoked_at": row.revoked_at},
            )


#: Built once: constructing and cache-keying the statement per request costs more than running it.
_TOKENS_QUERY = (
    select(ApiTokenRow.token_hash, *ACCOUNT_COLUMNS)
    .join(ApiTokenRow, ApiTokenRow.account_id == AccountRow.id)
    .where(
        ApiTokenRow.token_hash.in_(bindparam("hashes", expanding=True)),
        ApiTokenRow.revoked_at.is_(None),
    )
)


def token_account(engine: Engine, plain: str) -> Account | None:
    """The account of a live (unrevoked) API token of an active account, else None."""
    return token_accounts(engine, [plain])[0]


def token_accounts(engine: Engine, plains: Sequence[str]) -> list[Account | None]:
    """:func:`token_account` for many tokens at once, in order, with one indexed query (the
    web looks up the tokens of concurrent API requests together). Nothing is cached: a
    revoked token fails at its next request."""
    hashes = {plain: digest(plain) for plain in plains if plain.startswith(TOKEN_PREFIX)}
    found: dict[str, Account] = {}
    if hashes:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":  # one read needs no BEGIN and ROLLBACK
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            rows = connection.execute(_TOKENS_QUERY, {"hashes": sorted(set(hashes.values()))})
            found = {row[0]: account_from_columns(row[1:]) for row in rows}
    accounts: list[Account | None] = []
    for plain in plains:
        account = found.get(hashes.get(plain, ""))
        accounts.append(account if account is not None and account.active else None)
    return accounts
