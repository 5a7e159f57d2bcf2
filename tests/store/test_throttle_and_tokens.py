"""Sign-in throttling holds under concurrency, the current password is throttled too, API
tokens end with a password change or deactivation, and common passwords are refused."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.store import accounts, api_tokens, sign_in

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def test_concurrent_wrong_passwords_get_at_most_five_checks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.create_account(engine, email="a@x.org", role="admin", password=PASSWORD, actor="t")
    checks = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            checks.append(1)
            return super().verify(hash, password)

    monkeypatch.setattr(
        accounts, "PASSWORD_HASHER", CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    barrier = threading.Barrier(40)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            sign_in.authenticate(engine, "a@x.org", "wrong password!", client=f"c{n}")
        except sign_in.LoginThrottled:
            outcomes.append("throttled")
        except sign_in.BadCredentials:
            outcomes.append("wrong")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 40
    assert len(checks) <= sign_in.MAX_FAILURES
    assert outcomes.count("wrong") == len(checks)
    with pytest.raises(sign_in.LoginThrottled):  # the right password must wait too
        sign_in.authenticate(engine, "a@x.org", PASSWORD, client="elsewhere")


def test_current_password_is_throttled(engine: Engine) -> None:
    account = accounts.create_account(
        engine, email="b@x.org", role="patient", password=PASSWORD, actor="t"
    )
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(ValidationFailed):
            accounts.change_password(
                engine, account.id, "guess guess!", "new pass phrase", actor="t"
            )
    with pytest.raises(sign_in.LoginThrottled):
        accounts.change_password(engine, account.id, PASSWORD, "new pass phrase", actor="t")


def test_successful_sign_ins_from_one_address_are_not_throttled(engine: Engine) -> None:
    for n in range(8):
        accounts.create_account(
            engine, email=f"u{n}@x.org", role="patient", password=PASSWORD, actor="t"
        )
        sign_in.authenticate(engine, f"u{n}@x.org", PASSWORD, client="clinic-nat")


def test_tokens_end_with_a_password_change(engine: Engine) -> None:
    account = accounts.create_account(
        engine, email="c@x.org", role="patient", password=PASSWORD, actor="t"
    )
    _token, plain = api_tokens.create_api_token(engine, account.id, "script", actor="t")
    assert api_tokens.token_account(engine, plain) is not None
    accounts.change_password(engine, account.id, PASSWORD, "a new pass phrase", actor="t")
    assert api_tokens.token_account(engine, plain) is None
    _token, plain = api_tokens.create_api_token(engine, account.id, "script", actor="t")
    accounts.set_password(engine, account.id, "another pass phrase", actor="cli")
    assert api_tokens.token_account(engine, plain) is None


def test_deactivation_ends_sessions_and_tokens_for_good(engine: Engine) -> None:
    account = accounts.create_account(
        engine, email="d@x.org", role="clinician", password=PASSWORD, actor="t"
    )
    _token, plain = api_tokens.create_api_token(engine, account.id, "script", actor="t")
    cookie, _csrf = sign_in.create_session(engine, account.id, 3600)
    accounts.set_active(engine, account.id, False, actor="admin:1")
    assert api_tokens.token_account(engine, plain) is None
    assert sign_in.session_account(engine, cookie) is None
    with pytest.raises(sign_in.BadCredentials):
        sign_in.authenticate(engine, "d@x.org", PASSWORD)
    accounts.set_active(engine, account.id, True, actor="admin:1")
    assert api_tokens.token_account(engine, plain) is None  # reactivating revives no token


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("password12", "common"),
        ("Password123", "common"),
        ("qwertyuiop", "common"),
        (" " * 10, "only spaces"),
        ("\t \n " * 4, "only spaces"),
        ("  short  ", "at least 10"),
        ("e@x.org-long", None),
        ("x" * 257, "at most 256"),
    ],
)
def test_password_rule(engine: Engine, password: str, rule: str | None) -> None:
    if rule is None:
        accounts.create_account(engine, email="e@x.org", role="admin", password=password, actor="t")
        return
    with pytest.raises(ValidationFailed) as failure:
        accounts.create_account(engine, email="e@x.org", role="admin", password=password, actor="t")
    assert rule in failure.value.problems[0].rule


def test_password_may_not_be_the_email(engine: Engine) -> None:
    with pytest.raises(ValidationFailed, match="e-mail"):
        accounts.create_account(
            engine, email="longname@x.org", role="admin", password="LongName@x.org", actor="t"
        )
