"""Sign-in, CSRF, throttling, sign-out, password change, API tokens, security headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, api_tokens, sign_in
from ldn_outcomes.store.account_tables import ApiTokenRow, WebSessionRow
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import SESSION_COOKIE

from .conftest import PASSWORD, make_world

HTML = {"accept": "text/html"}


def _client(engine: Engine, settings: Settings) -> TestClient:
    return TestClient(
        create_app(settings, engine), base_url="https://testserver", follow_redirects=False
    )


def _login_token(client: TestClient) -> str:
    page = client.get("/login", headers=HTML)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _login(client: TestClient, email: str, password: str, **extra: str):
    token = _login_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, **extra},
        headers=HTML,
    )


def test_sign_in_sets_a_hardened_session_cookie(engine: Engine, settings: Settings) -> None:
    make_world(engine, settings, passwords=True)
    client = _client(engine, settings)
    response = _login(client, "Patient@Example.org", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/me"
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert cookie and "HttpOnly" in cookie[0] and "Secure" in cookie[0]
    assert "samesite=lax" in cookie[0].lower()
    assert client.get("/me", headers=HTML).status_code == 200


def test_dev_mode_cookie_is_not_secure(engine: Engine) -> None:
    settings = Settings(mode="dev")
    make_world(engine, settings, passwords=True)
    client = TestClient(create_app(settings, engine), follow_redirects=False)
    response = _login(client, "patient@example.org", PASSWORD)
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert cookie and "Secure" not in cookie[0]


def test_sign_in_needs_the_form_token(engine: Engine, settings: Settings) -> None:
    make_world(engine, settings, passwords=True)
    client = _client(engine, settings)
    client.get("/login", headers=HTML)
    response = client.post(
        "/login",
        data={"email": "patient@example.org", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 403


def test_wrong_password_says_nothing_specific_and_throttles(
    engine: Engine, settings: Settings
) -> None:
    make_world(engine, settings, passwords=True)
    client = _client(engine, settings)
    for _ in range(sign_in.MAX_FAILURES):
        response = _login(client, "patient@example.org", "wrong password!")
        assert response.status_code == 401
        assert "wrong e-mail or password" in response.text
    response = _login(client, "patient@example.org", PASSWORD)
    assert response.status_code == 429 and "too many failed" in response.text
    assert int(response.headers["retry-after"]) > 0


def test_unknown_email_is_throttled_too(engine: Engine, settings: Settings) -> None:
    make_world(engine, settings)
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(sign_in.BadCredentials):
            sign_in.authenticate(engine, "nobody@example.org", "whatever", client="1.2.3.4")
    with pytest.raises(sign_in.LoginThrottled):
        sign_in.authenticate(engine, "nobody@example.org", "whatever", client="5.6.7.8")


def test_open_redirects_are_refused(engine: Engine, settings: Settings) -> None:
    make_world(engine, settings, passwords=True)
    client = _client(engine, settings)
    response = _login(client, "patient@example.org", PASSWORD, next="https://evil.example/")
    assert response.headers["location"] == "/me"
    client = _client(engine, settings)
    response = _login(client, "patient@example.org", PASSWORD, next="/me/checkin")
    assert response.headers["location"] == "/me/checkin"


def test_pages_redirect_to_sign_in_and_the_api_answers_401(world) -> None:
    client = world.client(None)
    page = client.get("/me/checkin", headers=HTML)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/me/checkin"
    api = client.get("/api/patients/P-OWN")
    assert api.status_code == 401 and api.json()["error"] == "NotAuthenticated"


def test_forms_without_the_session_token_are_refused(world) -> None:
    client = world.client("patient")
    response = client.post("/me/checkin", data={"fatigue": "3"}, headers=HTML)
    assert response.status_code == 403
    response = client.post("/me/checkin", data={"fatigue": "3", "csrf_token": "nope"})
    assert response.status_code == 403
    ok = client.post("/me/checkin", data={"fatigue": "3", "csrf_token": world.csrf("patient")})
    assert ok.status_code == 303


def test_logout_ends_the_session_server_side(world) -> None:
    client = world.client("patient")
    cookie = world.sessions["patient"][0]
    assert client.post("/logout", data={"csrf_token": world.csrf("patient")}).status_code == 303
    again = world.client(None)
    again.cookies.set(SESSION_COOKIE, cookie)  # a copied cookie is useless after sign-out
    assert again.get("/api/me").status_code == 401


def test_password_change_checks_the_old_one_and_ends_other_sessions(
    engine: Engine, settings: Settings
) -> None:
    world = make_world(engine, settings, passwords=True)
    client = world.client("patient")
    csrf = world.csrf("patient")
    bad = client.post(
        "/account/password",
        data={
            "current_password": "nope",
            "new_password": "long enough password",
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert bad.status_code == 422 and "is not your current password" in bad.text
    short = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "csrf_token": csrf},
        headers=HTML,
    )
    assert short.status_code == 422 and "must be at least 10 characters" in short.text
    # sign in on a second "device", then change the password from the first
    second = _client(engine, settings)
    assert _login(second, "patient@example.org", PASSWORD).status_code == 303
    changed = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert client.get("/api/me").status_code == 200  # this session stays
    assert second.get("/api/me").status_code == 401  # the other one is gone
    assert sign_in.authenticate(engine, "patient@example.org", "a brand new passphrase")


def test_api_tokens_are_hashed_at_rest_and_revocable(world) -> None:
    client = world.client("patient")
    created = client.post(
        "/account/tokens",
        data={"name": "my script", "csrf_token": world.csrf("patient")},
        headers=HTML,
    )
    plain = re.search(r'id="new-token">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    from sqlalchemy.orm import Session

    with Session(world.engine) as session:
        stored = session.scalars(select(ApiTokenRow.token_hash)).all()
    assert plain not in stored and accounts.digest(plain) in stored
    bearer = world.client(None)
    me = bearer.get("/api/me", headers={"authorization": f"Bearer {plain}"})
    assert me.status_code == 200 and me.json()["via"] == "token"
    token_id = api_tokens.list_api_tokens(world.engine, world.accounts["patient"].id)[0].id
    # another account cannot revoke it
    other = world.client("clinician")
    denied = other.post(
        "/account/tokens/revoke",
        data={"token_id": str(token_id), "csrf_token": world.csrf("clinician")},
    )
    assert denied.status_code == 404
    client.post(
        "/account/tokens/revoke",
        data={"token_id": str(token_id), "csrf_token": world.csrf("patient")},
    )
    assert bearer.get("/api/me", headers={"authorization": f"Bearer {plain}"}).status_code == 401


def test_sessions_are_stored_hashed(world) -> None:
    from sqlalchemy.orm import Session

    cookie = world.sessions["patient"][0]
    with Session(world.engine) as session:
        ids = session.scalars(select(WebSessionRow.id_hash)).all()
        logins = session.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.action == "login")
        )
    assert cookie not in ids and accounts.digest(cookie) in ids
    assert logins == len(world.sessions)


def test_security_headers(world) -> None:
    response = world.client(None).get("/", headers=HTML)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "<script" not in response.text


def test_docs_are_served_without_a_cdn(world) -> None:
    response = world.client(None).get("/docs", headers=HTML)
    assert response.status_code == 200
    assert "cdn" not in response.text.lower() and "/api/patients/{patient_id}" in response.text
    assert world.client(None).get("/openapi.json").status_code == 200
