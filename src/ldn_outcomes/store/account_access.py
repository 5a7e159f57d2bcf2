"""API tokens for scripts, and the links between accounts and registry patients.

Split from :mod:`ldn_outcomes.store.accounts` (which re-exports everything here): tokens are
``ldn_`` + 256 random bits, stored as their SHA-256 digest only and revocable at once; a
patient account owns one registry patient, a clinician account is linked to the patients it
cares for.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.access import Role, consent_active
from ..domain.codes import ConsentScope
from ..errors import DuplicateRecord, NotFound, Problem, ValidationFailed
from .account_tables import AccountRow, ApiTokenRow, CareLinkRow
from .accounts import (
    _ACCOUNT_COLUMNS,
    TOKEN_PREFIX,
    Account,
    _account_from,
    _aware,
    _public,
    _require_patient,
    digest,
    now_utc,
)
from .audit import write_audit
from .convert import row_to_record
from .tables import ConsentRow


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
        _aware(row.created_at),
        _aware(row.revoked_at) if row.revoked_at else None,
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
    select(ApiTokenRow.token_hash, *_ACCOUNT_COLUMNS)
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
            found = {row[0]: _account_from(row[1:]) for row in rows}
    accounts: list[Account | None] = []
    for plain in plains:
        account = found.get(hashes.get(plain, ""))
        accounts.append(account if account is not None and account.active else None)
    return accounts


# -- links between accounts and patients ---------------------------------------------------
def link_patient(engine: Engine, account_id: int, patient_id: str, *, actor: str) -> None:
    """Patient account: own this patient. Clinician account: care for this patient."""
    with Session(engine) as session, session.begin():
        row = session.get(AccountRow, account_id)
        if row is None:
            raise NotFound(f"no account with id {account_id}")
        _require_patient(session, patient_id)
        if row.role == Role.PATIENT:
            before = _public(row)
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
                after=_public(row),
            )
        elif row.role == Role.CLINICIAN:
            if session.get(CareLinkRow, (account_id, patient_id)) is None:
                session.add(
                    CareLinkRow(account_id=account_id, patient_id=patient_id, created_at=now_utc())
                )
                write_audit(
                    session,
                    actor=actor,
                    action="create",
                    table="care_links",
                    key=f"{account_id}:{patient_id}",
                    before=None,
                    after={"account_id": account_id, "patient_id": patient_id},
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
        return session.get(CareLinkRow, (account_id, patient_id)) is not None


def linked_patient_ids(engine: Engine, account_id: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(CareLinkRow.patient_id)
                .where(CareLinkRow.account_id == account_id)
                .order_by(CareLinkRow.patient_id)
            )
        )


def care_status(engine: Engine, account_id: int, patient_id: str, on: dt.date) -> tuple[bool, bool]:
    """(linked, care consent active on ``on``) for one clinician and one patient; the
    consent rule is the domain's (``Consent.active_on``)."""
    with Session(engine) as session:
        linked = session.get(CareLinkRow, (account_id, patient_id)) is not None
        if not linked:
            return False, False
        rows = session.scalars(
            select(ConsentRow).where(
                ConsentRow.patient_id == patient_id, ConsentRow.scope == ConsentScope.CARE.value
            )
        )
        consents = [row_to_record("consents", row) for row in rows]
    return True, consent_active(consents, ConsentScope.CARE, on)  # type: ignore[arg-type]
