"""Sign in, sign out, password change and API tokens for the signed-in account."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ...domain.access import ACCOUNT_ROLES, Role
from ...domain.models import DatabaseId
from ...errors import ValidationFailed
from ...services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from ...settings import Settings
from ...store import accounts, api_tokens, sign_in
from ...store.audit import audit_event
from ..auth import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    Viewer,
    check_presession,
    new_presession,
    presession_token,
    public,
    require,
)
from ..deps import EngineDep, SettingsDep
from ..forms import Field, errors_by_field
from ..rendering import render

router = APIRouter(tags=["account"])
ANY_ROLE = ACCOUNT_ROLES
LOGIN_FIELDS = [
    Field("email", "E-mail", "email", required=True, attrs={"autocomplete": "username"}),
    Field(
        "password",
        "Password",
        "password",
        required=True,
        attrs={"autocomplete": "current-password"},
    ),
]
PASSWORD_FIELDS = [
    Field(
        "current_password",
        "Current password",
        "password",
        required=True,
        attrs={"autocomplete": "current-password"},
    ),
    Field(
        "new_password",
        "New password",
        "password",
        required=True,
        help=f"At least {accounts.MIN_PASSWORD} characters.",
        attrs={"autocomplete": "new-password"},
    ),
]
HOME_BY_ROLE = {
    Role.PATIENT: "/me",
    Role.CLINICIAN: "/patients",
    Role.RESEARCHER: "/research",
    Role.ADMIN: "/admin/accounts",
    Role.PHARMACY: "/pharmacy",
    Role.EDITOR: "/evidence/review",
}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: an open redirect would help phishing."""
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


class _CookieArgs(TypedDict):
    httponly: bool
    samesite: Literal["lax"]
    path: str
    secure: bool


def _cookie_args(settings: Settings) -> _CookieArgs:
    return {
        "httponly": True,
        "samesite": "lax",
        "path": "/",
        "secure": settings.mode != "dev",
    }


def _login_page(
    request: Request,
    settings: Settings,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    next_path: str | None = None,
    status_code: int = 200,
) -> Response:
    cookie = request.cookies.get(PRESESSION_COOKIE) or new_presession()
    secret = settings.secret_key.get_secret_value()
    response = render(
        request,
        "account/login.html",
        {
            "fields": LOGIN_FIELDS,
            "errors": errors or {},
            "values": values or {},
            "next": next_path or "",
            "login_csrf": presession_token(secret, cookie),
            "demo_accounts": (
                [{"role": r.value, "email": e} for r, e in DEMO_ACCOUNTS]
                if getattr(settings, "demo", False)
                else []
            ),
            "demo_password": DEMO_PASSWORD if getattr(settings, "demo", False) else None,
        },
        status_code=status_code,
    )
    response.set_cookie(PRESESSION_COOKIE, cookie, max_age=3600, **_cookie_args(settings))
    return response


@router.get("/login", include_in_schema=False)
def login_form(
    request: Request,
    settings: SettingsDep,
    viewer: Annotated[Viewer, public()],
    next: str | None = None,
) -> Response:
    if viewer.principal is not None:
        return RedirectResponse(_safe_next(next) or HOME_BY_ROLE[viewer.principal.role], 303)
    return _login_page(request, settings, next_path=_safe_next(next))


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    _viewer: Annotated[Viewer, public()],
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    secret = settings.secret_key.get_secret_value()
    check_presession(secret, request.cookies.get(PRESESSION_COOKIE), csrf_token)
    errors = {}
    if not email:
        errors["email"] = "enter your e-mail address"
    if not password:
        errors["password"] = "enter your password"
    if errors:
        return _login_page(
            request,
            settings,
            errors=errors,
            values={"email": email},
            next_path=_safe_next(next),
            status_code=422,
        )
    if password == DEMO_PASSWORD and not settings.demo:
        return _login_page(
            request,
            settings,
            errors={"_form": "the published demo password works only on a demo server"},
            values={"email": email},
            next_path=_safe_next(next),
            status_code=401,
        )
    client = request.client.host if request.client else "unknown"
    try:
        account = await run_in_threadpool(
            sign_in.authenticate, engine, email, password, client=client
        )
    except sign_in.BadCredentials as failure:
        await run_in_threadpool(  # who tried, from where; never the password
            audit_event,
            engine,
            actor="anonymous",
            action="login_failed",
            table="accounts",
            key="".join(c for c in email.strip().lower() if c.isprintable())[:120],
            after={"client": client, "reason": str(failure)},
        )
        return _login_page(
            request,
            settings,
            errors={"_form": str(failure)},
            values={"email": email},
            next_path=_safe_next(next),
            status_code=401,
        )
    await run_in_threadpool(sign_in.purge_expired, engine)  # keep the tables small
    token, _csrf = await run_in_threadpool(
        sign_in.create_session, engine, account.id, settings.session_max_age_seconds
    )
    response = RedirectResponse(_safe_next(next) or HOME_BY_ROLE[account.role], status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_max_age_seconds, **_cookie_args(settings)
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout", include_in_schema=False)
def logout(engine: EngineDep, viewer: Annotated[Viewer, require(*ANY_ROLE)]) -> Response:
    if viewer.session_token:
        sign_in.end_session(engine, viewer.session_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account_page(request: Request, engine: Engine, viewer: Viewer, **extra: Any) -> Response:
    assert viewer.principal is not None
    tokens = api_tokens.list_api_tokens(engine, viewer.principal.account_id)
    status = int(extra.pop("status_code", 200))
    data = {
        "account": {
            "email": viewer.principal.email,
            "role": viewer.principal.role.value,
            "patient_id": viewer.principal.patient_id,
        },
        "tokens": [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(timespec="seconds"),
                "revoked": t.revoked_at is not None,
            }
            for t in tokens
        ],
        "password_fields": PASSWORD_FIELDS,
        "errors": {},
        "values": {},
        **extra,
    }
    return render(request, "account/account.html", data, status_code=status)


@router.get("/account", tags=["pages"])
def account_page(
    request: Request, engine: EngineDep, viewer: Annotated[Viewer, require(*ANY_ROLE)]
) -> Response:
    return _account_page(request, engine, viewer)


@router.post("/account/password", include_in_schema=False)
def change_password(
    request: Request,
    engine: EngineDep,
    viewer: Annotated[Viewer, require(*ANY_ROLE)],
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    assert viewer.principal is not None
    try:
        accounts.change_password(
            engine,
            viewer.principal.account_id,
            current_password,
            new_password,
            actor=viewer.actor,
            keep_session=viewer.session_token,
        )
    except ValidationFailed as failure:
        errors = errors_by_field(failure, ["current_password", "new_password"])
        return _account_page(request, engine, viewer, errors=errors, status_code=422)
    return _account_page(
        request, engine, viewer, flash="Password changed. Your other sessions were signed out."
    )


@router.post("/account/tokens", include_in_schema=False)
def create_token(
    request: Request,
    engine: EngineDep,
    viewer: Annotated[Viewer, require(*ANY_ROLE)],
    name: Annotated[str, Form()] = "",
) -> Response:
    assert viewer.principal is not None
    try:
        _token, plain = api_tokens.create_api_token(
            engine, viewer.principal.account_id, name, actor=viewer.actor
        )
    except ValidationFailed as failure:
        return _account_page(
            request,
            engine,
            viewer,
            status_code=422,
            token_errors=errors_by_field(failure, ["name"]),
        )
    return _account_page(
        request,
        engine,
        viewer,
        new_token=plain,
        flash="Token created. Copy it now: it is not shown again.",
    )


@router.post("/account/tokens/revoke", include_in_schema=False)
def revoke_token(
    request: Request,
    engine: EngineDep,
    viewer: Annotated[Viewer, require(*ANY_ROLE)],
    token_id: Annotated[DatabaseId, Form()],
) -> Response:
    assert viewer.principal is not None
    api_tokens.revoke_api_token(
        engine, token_id, actor=viewer.actor, owner=viewer.principal.account_id
    )
    return _account_page(request, engine, viewer, flash="Token revoked.")


@router.get("/api/me", tags=["api"])
def api_me(viewer: Annotated[Viewer, require(*ANY_ROLE)]) -> dict[str, object]:
    """Who the token or session belongs to."""
    assert viewer.principal is not None
    return {
        "account_id": viewer.principal.account_id,
        "email": viewer.principal.email,
        "role": viewer.principal.role.value,
        "patient_id": viewer.principal.patient_id,
        "via": viewer.via,
    }
