"""``ldn users add | list | link-patient | password | token create | token revoke``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..domain.access import Role
from ..domain.identifiers import MAX_DATABASE_ID
from ..errors import NotFound
from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    engine_for,
    handle_errors,
    print_json,
    user_text,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..store import accounts

# The store (SQLAlchemy, argon2) is imported inside each command, so `ldn --help` starts fast.

users_app = typer.Typer(
    help="Web accounts: add, list, link to patients, API tokens.", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens for scripts (hashed at rest, revocable).", no_args_is_help=True
)
users_app.add_typer(token_app, name="token")
ACTOR = "cli"


@contextmanager
def engine_scope(db: str | None) -> Iterator[Engine]:
    """An engine for one command, disposed afterwards (no pooled connection left open)."""
    engine = engine_for(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _account(engine: object, email: str) -> accounts.Account:
    from ..store import accounts

    found = accounts.find_account(engine, email)  # type: ignore[arg-type]
    if found is None:
        raise NotFound(f"no account for {email}")
    return found


@users_app.command("add")
@handle_errors
def add(
    role: Annotated[
        Role, typer.Option(help="patient, clinician, researcher, admin, pharmacy or editor.")
    ],
    email: Annotated[str, typer.Option(help="Sign-in e-mail.")],
    name: Annotated[str | None, typer.Option(help="Name shown in the app.")] = None,
    patient: Annotated[str | None, typer.Option(help="Patient id a patient account owns.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Initial password (default: a random one, printed once).")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an account; prints the initial password once."""
    from ..store import accounts

    secret = password or accounts.generated_password()
    with engine_scope(db) as engine:
        account = accounts.create_account(
            engine,
            email=email,
            role=role,
            password=secret,
            display_name=name,
            patient_id=patient,
            actor=ACTOR,
        )
    if json_output:
        print_json(
            {
                "id": account.id,
                "email": account.email,
                "role": account.role.value,
                "patient_id": account.patient_id,
                "password": secret,
            }
        )
        return
    console.print(
        f"added {account.role.value} account {user_text(account.email)} (id {account.id})"
    )
    if password is None:
        console.print(f"initial password (shown once): [bold]{secret}[/]", highlight=False)


@users_app.command("list")
@handle_errors
def list_users(db: DbOption = None, json_output: JsonOption = False) -> None:
    """List accounts with their role and links."""
    from ..store import accounts, care_links

    rows: list[dict[str, Any]] = []  # the JSON output, also read back for the table
    with engine_scope(db) as engine:
        for a in accounts.list_accounts(engine):
            linked = care_links.linked_patient_ids(engine, a.id) if a.role is Role.CLINICIAN else []
            rows.append(
                {
                    "id": a.id,
                    "email": a.email,
                    "role": a.role.value,
                    "active": a.active,
                    "patient_id": a.patient_id,
                    "linked_patients": linked,
                }
            )
    if json_output:
        print_json(rows)
        return
    table = PlainTable(title=f"{len(rows)} accounts")
    for column in ("id", "email", "role", "active", "patient / linked"):
        table.add_column(column)
    for r in rows:
        links = r["patient_id"] or (
            f"{len(r['linked_patients'])} patients" if r["role"] == "clinician" else "-"
        )
        table.add_row(str(r["id"]), r["email"], r["role"], "yes" if r["active"] else "no", links)
    console.print(table)


@users_app.command("link-patient")
@handle_errors
def link_patient(
    email: Annotated[str, typer.Option(help="Account e-mail.")],
    patient: Annotated[str, typer.Option(help="Patient id.")],
    unlink: Annotated[bool, typer.Option(help="Remove a clinician's link instead.")] = False,
    db: DbOption = None,
) -> None:
    """Give a patient account its record, or link a clinician to a patient they care for."""
    from ..store import care_links

    with engine_scope(db) as engine:
        account = _account(engine, email)
        if unlink:
            care_links.unlink_patient(engine, account.id, patient, actor=ACTOR)
            console.print(f"unlinked {user_text(email)} from {user_text(patient)}")
            return
        care_links.link_patient(engine, account.id, patient, actor=ACTOR)
    console.print(
        f"linked {user_text(email)} ({account.role.value}) to patient {user_text(patient)}"
    )


@users_app.command("deactivate")
@handle_errors
def deactivate(
    email: Annotated[str, typer.Option(help="Account e-mail.")],
    reactivate: Annotated[
        bool, typer.Option(help="Let the account sign in again (its old tokens stay revoked).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Stop an account signing in: its sessions end and its API tokens are revoked (audited)."""
    from ..store import accounts

    with engine_scope(db) as engine:
        accounts.set_active(engine, _account(engine, email).id, reactivate, actor=ACTOR)
    state = "reactivated" if reactivate else "deactivated; its sessions and tokens ended"
    console.print(f"{user_text(email)} {state}")


@users_app.command("password")
@handle_errors
def reset_password(
    email: Annotated[str, typer.Option(help="Account e-mail.")],
    password: Annotated[str | None, typer.Option(help="New password (default: random).")] = None,
    db: DbOption = None,
) -> None:
    """Reset a password (ends the account's sessions); prints a generated one once."""
    from ..store import accounts

    secret = password or accounts.generated_password()
    with engine_scope(db) as engine:
        accounts.set_password(engine, _account(engine, email).id, secret, actor=ACTOR)
    console.print(f"password reset for {user_text(email)}")
    if password is None:
        console.print(f"new password (shown once): [bold]{secret}[/]", highlight=False)


@token_app.command("create")
@handle_errors
def token_create(
    email: Annotated[str, typer.Option(help="Account the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an API token; the token is printed once and stored only as a hash."""
    from ..store import api_tokens

    with engine_scope(db) as engine:
        token, plain = api_tokens.create_api_token(
            engine, _account(engine, email).id, name, actor=ACTOR
        )
    if json_output:
        print_json({"id": token.id, "name": token.name, "token": plain})
        return
    console.print(
        f"token {token.id} ({user_text(token.name)}) for {user_text(email)}; send "
        "'Authorization: Bearer <token>'. Shown once:"
    )
    console.print(plain, highlight=False, soft_wrap=True)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token_id: Annotated[
        int,
        typer.Argument(help="Token id (see 'ldn users token list').", min=1, max=MAX_DATABASE_ID),
    ],
    db: DbOption = None,
) -> None:
    """Revoke an API token at once."""
    from ..store import api_tokens

    with engine_scope(db) as engine:
        api_tokens.revoke_api_token(engine, token_id, actor=ACTOR)
    console.print(f"revoked token {token_id}")


@token_app.command("list")
@handle_errors
def token_list(
    email: Annotated[str | None, typer.Option(help="Only this account's tokens.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List tokens (never their values)."""
    from ..store import api_tokens

    with engine_scope(db) as engine:
        owner = _account(engine, email).id if email else None
        tokens = api_tokens.list_api_tokens(engine, owner)
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "account_id": t.account_id,
            "name": t.name,
            "prefix": t.prefix,
            "created_at": t.created_at.isoformat(timespec="seconds"),
            "revoked": t.revoked_at is not None,
        }
        for t in tokens
    ]
    if json_output:
        print_json(rows)
        return
    table = PlainTable(title=f"{len(rows)} tokens")
    for column in ("id", "account", "name", "starts with", "created", "revoked"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["account_id"]),
            r["name"],
            r["prefix"] + "…",
            r["created_at"],
            "yes" if r["revoked"] else "no",
        )
    console.print(table)
