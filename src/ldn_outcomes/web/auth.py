"""Who is asking, and may they: sessions, API tokens, CSRF, and per-route access policies.

Every route declares its policy with exactly one dependency, :func:`public` or :func:`require`;
the authorization matrix test reads these declarations from the route table, so a route
without one fails the test. The rules themselves live in :mod:`ldn_outcomes.domain.access`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ..domain.access import Principal, Role, may_access_patient
from ..errors import LdnError, PermissionDenied
from ..store import api_tokens, care_links, sign_in
from ..store.audit import audit_event
from .coalesce import coalescer

SESSION_COOKIE = "ldn_session"
PRESESSION_COOKIE = "ldn_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticated(LdnError):
    """No valid session or token; pages redirect to the sign-in form, the API answers 401."""

    exit_code = 4
    http_status = 401


class CsrfFailed(PermissionDenied):
    """A form came without the token of the session that served it."""


@dataclass(frozen=True)
class Policy:
    """A route's access rule. ``roles`` None means public; ``patient_param`` names the path
    parameter holding the patient whose records the route reads or writes."""

    roles: frozenset[Role] | None
    patient_param: str | None = None

    @property
    def is_public(self) -> bool:
        return self.roles is None

    def describe(self) -> str:
        if self.roles is None:
            return "public"
        names = ", ".join(sorted(r.value for r in self.roles))
        scope = (
            f"; only their own/linked patient ({{{self.patient_param}}})"
            if self.patient_param
            else ""
        )
        return names + scope


@dataclass
class Viewer:
    """The request's account (None when anonymous) and how it authenticated."""

    principal: Principal | None = None
    via: str | None = None  # "session" or "token"
    csrf_token: str | None = None
    session_token: str | None = None

    @property
    def actor(self) -> str:
        return self.principal.audit_name if self.principal else "anonymous"

    @property
    def role(self) -> Role | None:
        return self.principal.role if self.principal else None


def _bearer(request: Request) -> str | None:
    """The API token the request presents (None without an Authorization header)."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("use 'Authorization: Bearer <token>'")
    return value.strip()


def _resolve_session(request: Request) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = sign_in.session_account(request.app.state.engine, cookie)
        if found is not None:
            account, csrf = found
            return Viewer(account.principal, "session", csrf, cookie)
    return Viewer()


async def _token_viewer(engine: Engine, token: str) -> Viewer:
    """Tokens of concurrent API requests are looked up together: one thread hop and one
    indexed query for all of them (see :mod:`ldn_outcomes.web.coalesce`); never cached."""
    lookup = coalescer(("api-tokens", engine), partial(api_tokens.token_accounts, engine))
    account = await lookup.submit(token)
    if account is None:
        raise NotAuthenticated("invalid or revoked API token")
    return Viewer(account.principal, "token")


async def current_viewer(request: Request) -> Viewer:
    """Resolve the viewer once per request (cached on ``request.state``): an API token if
    the request presents one, else the session cookie, else anonymous."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is not None:
        viewer = await _token_viewer(request.app.state.engine, token)
    else:
        viewer = await run_in_threadpool(_resolve_session, request)
    request.state.viewer = viewer
    return viewer


async def _check_csrf(request: Request, viewer: Viewer) -> None:
    """Synchronizer token: a session's unsafe request must echo the session's CSRF token."""
    if request.method not in UNSAFE_METHODS or viewer.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not viewer.csrf_token or not hmac.compare_digest(sent, viewer.csrf_token):
        raise CsrfFailed("the form has expired or did not come from this site; reload it")


def _check_patient(request: Request, principal: Principal, patient_id: str) -> None:
    engine = request.app.state.engine
    linked, consent = False, False
    if principal.role is Role.CLINICIAN:
        linked, consent = care_links.care_status(
            engine, principal.account_id, patient_id, dt.date.today()
        )
    decision = may_access_patient(principal, patient_id, linked=linked, care_consent_active=consent)
    if not decision:
        raise PermissionDenied(f"not allowed: {decision.reason}")


async def _audit_read(request: Request, viewer: Viewer, patient_id: str) -> None:
    await run_in_threadpool(
        audit_event,
        request.app.state.engine,
        actor=viewer.actor,
        action="read",
        table="patients",
        key=patient_id,
        after={"path": request.url.path},
    )


def _dependency(policy: Policy) -> Callable[..., Any]:
    async def enforce(request: Request) -> Viewer:
        viewer = await current_viewer(request)
        await _check_csrf(request, viewer)
        if policy.roles is None:
            return viewer
        if viewer.principal is None:
            raise NotAuthenticated("sign in to see this page")
        if viewer.principal.role not in policy.roles:
            raise PermissionDenied(f"not allowed for the {viewer.principal.role.value} role")
        if policy.patient_param is not None:
            patient_id = request.path_params.get(policy.patient_param, "")
            if viewer.principal.role is Role.CLINICIAN:  # needs the database: link, consent
                await run_in_threadpool(_check_patient, request, viewer.principal, patient_id)
            else:
                _check_patient(request, viewer.principal, patient_id)
            if request.method == "GET":  # a read of a clinical record: audited
                await _audit_read(request, viewer, patient_id)
        elif policy.roles == {Role.PATIENT} and request.method == "GET":
            # A patient's own pages (/me...) read their own record: audited like any read.
            own = viewer.principal.patient_id
            if own is not None:
                await _audit_read(request, viewer, own)
        return viewer

    enforce.access_policy = policy  # type: ignore[attr-defined]
    return enforce


def public() -> Any:
    """Anyone may use this route (the viewer is still resolved, for the page header)."""
    return Depends(_dependency(Policy(None)))


def require(*roles: Role, patient: str | None = None) -> Any:
    """Signed-in accounts of these roles; with ``patient``, only for the patient named by that
    path parameter (a patient: their own; a clinician: linked, with care consent active)."""
    if not roles:
        raise ValueError("require() needs at least one role; use public() for open routes")
    return Depends(_dependency(Policy(frozenset(roles), patient)))


@dataclass(frozen=True)
class RouteInfo:
    """One (method, path) the app answers, with the access policy it declared (or None)."""

    method: str
    path: str
    name: str
    policy: Policy | None
    include_in_schema: bool


def policy_of(route: Any) -> Policy | None:
    """The policy a route declared (searched through its dependency tree), or None."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    found: list[Policy] = []
    while stack:
        item = stack.pop()
        policy = getattr(item.call, "access_policy", None)
        if policy is not None:
            found.append(policy)
        stack.extend(item.dependencies)
    if len(set(found)) > 1:
        raise ValueError(f"{route.path} declares more than one access policy: {found}")
    return found[0] if found else None


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every API route of the app (routers included) with its declared policy. Non-API
    routes (static files, the OpenAPI schema) are listed with ``policy=None``."""
    contexts = iter_route_contexts(app.routes)
    table = []
    for route in contexts:
        methods = route.methods or set()
        for method in sorted(methods - {"HEAD"}) or ["GET"]:
            is_api = getattr(route, "dependant", None) is not None
            table.append(
                RouteInfo(
                    method,
                    route.path or "",
                    route.name or "",
                    policy_of(route) if is_api else None,
                    bool(getattr(route, "include_in_schema", False)) and is_api,
                )
            )
    return table


# -- CSRF for anonymous forms (sign-in): a signed double-submit token ----------------------
def presession_token(secret: str, cookie: str) -> str:
    return hmac.new(secret.encode(), cookie.encode(), hashlib.sha256).hexdigest()


def new_presession() -> str:
    return secrets.token_urlsafe(24)


def check_presession(secret: str, cookie: str | None, sent: str | None) -> None:
    if not cookie or not sent or not hmac.compare_digest(presession_token(secret, cookie), sent):
        raise CsrfFailed("the sign-in form has expired; reload the page and try again")
