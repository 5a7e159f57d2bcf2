"""Accounts store: hashing, links, audit, and the 0004 migration up and down."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Patient
from ldn_outcomes.errors import DuplicateRecord, NotFound, ValidationFailed
from ldn_outcomes.store import accounts, api_tokens, care_links, migrate, sign_in
from ldn_outcomes.store.account_tables import AccountRow
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.store.uow import UnitOfWork

TABLES = {"accounts", "web_sessions", "api_tokens", "login_failures", "care_links"}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _patient(engine: Engine, pid: str = "P1") -> None:
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Patient(patient_id=pid, year_of_birth=1980, phenotype="RRMS"))
        uow.commit()


def test_password_is_stored_as_argon2id_and_never_audited(engine: Engine) -> None:
    account = accounts.create_account(
        engine,
        email=" Ann@Example.org ",
        role="researcher",
        password="long enough secret",
        actor="cli",
    )
    assert account.email == "ann@example.org" and account.role is Role.RESEARCHER
    with Session(engine) as session:
        stored = session.get(AccountRow, account.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        audits = session.scalars(select(AuditRow).where(AuditRow.table_name == "accounts"))
        for audit in audits:
            assert "long enough secret" not in str(audit.after)
            assert "argon2" not in str(audit.after)
    assert sign_in.authenticate(engine, "ann@example.org", "long enough secret").id == account.id


def test_account_rules(engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as short:
        accounts.create_account(engine, email="a@b.c", role="patient", password="short", actor="t")
    assert short.value.problems[0].field == "password"
    with pytest.raises(ValidationFailed):
        accounts.create_account(
            engine, email="not-an-email", role="patient", password=None, actor="t"
        )
    with pytest.raises(ValidationFailed):
        accounts.create_account(engine, email="a@b.c", role="superuser", password=None, actor="t")
    with pytest.raises(ValidationFailed) as pharmacy:  # a pharmacy owns no patient record
        accounts.create_account(
            engine, email="rx@b.c", role="pharmacy", password=None, patient_id="P1", actor="t"
        )
    assert pharmacy.value.problems[0].field == "patient_id"
    accounts.create_account(engine, email="rx@b.c", role="pharmacy", password=None, actor="t")
    accounts.create_account(engine, email="a@b.c", role="admin", password=None, actor="t")
    with pytest.raises(DuplicateRecord):
        accounts.create_account(engine, email="A@B.C", role="admin", password=None, actor="t")
    with pytest.raises(NotFound):
        accounts.create_account(
            engine, email="p@b.c", role="patient", password=None, patient_id="NOPE", actor="t"
        )


def test_links_are_role_specific(engine: Engine) -> None:
    _patient(engine)
    patient = accounts.create_account(
        engine, email="p@x.org", role="patient", password=None, actor="t"
    )
    clinician = accounts.create_account(
        engine, email="c@x.org", role="clinician", password=None, actor="t"
    )
    researcher = accounts.create_account(
        engine, email="r@x.org", role="researcher", password=None, actor="t"
    )
    care_links.link_patient(engine, patient.id, "P1", actor="t")
    care_links.link_patient(engine, clinician.id, "P1", actor="t")
    assert accounts.get_account(engine, patient.id).patient_id == "P1"
    assert care_links.linked_patient_ids(engine, clinician.id) == ["P1"]
    assert care_links.care_status(engine, clinician.id, "P1", dt.date.today()) == (True, False)
    with pytest.raises(ValidationFailed):
        care_links.link_patient(engine, researcher.id, "P1", actor="t")
    other = accounts.create_account(
        engine, email="p2@x.org", role="patient", password=None, actor="t"
    )
    with pytest.raises(DuplicateRecord):
        care_links.link_patient(engine, other.id, "P1", actor="t")
    care_links.unlink_patient(engine, clinician.id, "P1", actor="t")
    assert care_links.linked_patient_ids(engine, clinician.id) == []


def test_expired_and_inactive_sessions_are_refused(engine: Engine) -> None:
    account = accounts.create_account(
        engine, email="x@y.org", role="admin", password=None, actor="t"
    )
    token, _ = sign_in.create_session(engine, account.id, 60)
    assert sign_in.session_account(engine, token) is not None
    accounts.set_active(engine, account.id, False, actor="t")
    assert sign_in.session_account(engine, token) is None
    accounts.set_active(engine, account.id, True, actor="t")
    with Session(engine) as session, session.begin():
        from ldn_outcomes.store.account_tables import WebSessionRow

        session.add(
            WebSessionRow(
                id_hash=accounts.digest("old"),
                account_id=account.id,
                csrf_token="c",
                created_at=accounts.now_utc(),
                expires_at=accounts.now_utc() - dt.timedelta(seconds=1),
            )
        )
    assert sign_in.session_account(engine, "old") is None
    assert sign_in.purge_expired(engine) == 1


def test_sign_in_and_out_are_audited_in_the_one_actor_format(engine: Engine) -> None:
    account = accounts.create_account(
        engine, email="x@y.org", role="clinician", password=None, actor="t"
    )
    token, _ = sign_in.create_session(engine, account.id, 60)
    sign_in.end_session(engine, token)
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.table_name == "web_sessions").order_by(AuditRow.id)
        ).all()
    assert [(r.action, r.actor) for r in rows] == [
        ("login", f"account:{account.id}:clinician"),
        ("logout", f"account:{account.id}:clinician"),
    ]
    assert account.principal.audit_name == f"account:{account.id}:clinician"


def test_tokens_are_looked_up_together_each_to_its_own_account(engine: Engine) -> None:
    """The batched lookup answers each token in order: unknown, malformed, revoked and
    inactive-account tokens get None, a live one its account (never another's)."""
    made = {
        name: accounts.create_account(
            engine, email=f"{name}@example.org", role="researcher", password=None, actor="t"
        )
        for name in ("ann", "bob", "cy")
    }
    plain = {
        name: api_tokens.create_api_token(engine, a.id, "script", actor="t")
        for name, a in made.items()
    }
    api_tokens.revoke_api_token(engine, plain["bob"][0].id, actor="t")
    accounts.set_active(engine, made["cy"].id, False, actor="t")
    asked = [
        plain["ann"][1],
        "ldn_unknown",
        "not-a-token",
        plain["bob"][1],
        plain["cy"][1],
        plain["ann"][1],
    ]
    found = api_tokens.token_accounts(engine, asked)
    assert [a.email if a else None for a in found] == [
        "ann@example.org",
        None,
        None,
        None,
        None,
        "ann@example.org",
    ]
    assert api_tokens.token_accounts(engine, []) == []
    assert api_tokens.token_account(engine, plain["ann"][1]) == found[0]
    assert api_tokens.token_account(engine, plain["bob"][1]) is None


def test_throttle_window_passes(engine: Engine) -> None:
    accounts.create_account(
        engine, email="t@y.org", role="admin", password="long enough pw", actor="t"
    )
    start = accounts.now_utc()
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(sign_in.BadCredentials):
            sign_in.authenticate(engine, "t@y.org", "nope", now=start)
    with pytest.raises(sign_in.LoginThrottled):
        sign_in.authenticate(engine, "t@y.org", "long enough pw", now=start)
    later = start + sign_in.FAILURE_WINDOW + dt.timedelta(seconds=1)
    assert sign_in.authenticate(engine, "t@y.org", "long enough pw", now=later)


def test_migration_0004_up_and_down(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    # Down to 0003: every revision built on 0004 (whichever branches) goes with it.
    migrate.downgrade(engine, "0003")
    assert "0004" not in migrate.current_revisions(engine)
    assert not TABLES & set(inspect(engine).get_table_names())
    assert "patients" in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
