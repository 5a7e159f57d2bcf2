"""The authorization matrix: every route x every role x own/other record -> expected status.

Generated from the app's route table: a route that declares no access policy, or has a path
parameter this test cannot fill, fails here. Expected statuses follow from the declared
policy; the rules behind the policy (own records, linked + care consent) are the domain's.
Canary values stored on patients nobody in the matrix may see must never appear in a response.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import AdverseEvent, DoseLog, LabObservation, QuestionnaireResponse
from ldn_outcomes.store import api_tokens, sign_in
from ldn_outcomes.store.uow import UnitOfWork
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import CSRF_HEADER, SESSION_COOKIE, Policy, route_table

from .conftest import CANARY_NOCARE, CANARY_OTHER, World
from .nof1_world import MATRIX_TRIAL, add_matrix_trial

#: Routes that are not API routes and carry no policy: the schema and the static files.
NON_API = {"/openapi.json", "/static"}
#: Values for path parameters. ``patient_id`` is the one that scopes records: own vs other.
PATIENT_SAMPLES = {"own": "P-OWN", "other": "P-OTHER", "no-care-consent": "P-NOCARE"}
OTHER_SAMPLES = {
    "instrument_id": "fss",
    "claim_id": "unknown-claim",
    "study_id": "unknown-study",
    "outcome_id": "unknown-outcome",
    "trial_id": MATRIX_TRIAL,
    "nct_id": "NCT00000000",
    "kind": "study",  # an editor's edit form: /evidence/edit/{kind}/{entry_id}
    "entry_id": "cree-2010",
    # every kind's record 1 belongs to P-OWN (see ``seed_one_of_each``): a read answers 200
    "record_id": "1",
    # a trial request: none may exist, then an allowed role gets 404 or 422, never 401/403
    "request_id": "1",
}
ROLES = [None, "patient", "clinician", "researcher", "admin", "pharmacy", "editor"]
AUTH_DENIALS = {401, 403}


def _params(path: str) -> list[str]:
    return re.findall(r"{([^}:]+)(?::[^}]*)?}", path)


def _fill(path: str, patient_id: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return patient_id if name == "patient_id" else OTHER_SAMPLES[name]

    return re.sub(r"{([^}:]+)(?::[^}]*)?}", value, path)


def _expected_allowed(policy: Policy, role: str | None, variant: str) -> bool:
    if policy.is_public:
        return True
    if role is None or Role(role) not in (policy.roles or ()):
        return False
    if policy.patient_param is None:
        return True
    return variant == "own"


def test_every_route_declares_a_policy_and_fillable_parameters(world: World) -> None:
    app = create_app(world.settings, world.engine)
    missing = []
    for route in route_table(app):
        if route.path in NON_API:
            continue
        if route.policy is None:
            missing.append(
                f"{route.method} {route.path}: no access policy; add public() or "
                "require(...) (see docs/web.md, 'Access policies')"
            )
        for name in _params(route.path):
            if name != "patient_id" and name not in OTHER_SAMPLES:
                missing.append(
                    f"{route.method} {route.path}: add a sample value for "
                    f"{{{name}}} to OTHER_SAMPLES in this test"
                )
    assert not missing, "\n".join(missing)


def test_patient_scoped_paths_are_declared_scoped(world: World) -> None:
    """A {patient_id} route must check the patient; researchers, admins and editors never get
    one."""
    app = create_app(world.settings, world.engine)
    for route in route_table(app):
        policy = route.policy
        if policy is None or policy.is_public:
            assert "patient_id" not in _params(route.path), route.path
            continue
        if "patient_id" in _params(route.path):
            assert policy.patient_param == "patient_id", route.path
            assert not (policy.roles or set()) & {
                Role.RESEARCHER,
                Role.ADMIN,
                Role.PHARMACY,
                Role.EDITOR,
            }, route.path
        if route.path.startswith("/me"):
            assert policy.roles == {Role.PATIENT}, route.path


def seed_one_of_each(world: World) -> None:
    """The world has P-OWN's exposure, relapse, EDSS and consent as record 1 of their kind;
    this adds record 1 of the other kinds, so every record route has a record to read."""
    day = dt.date.today() - dt.timedelta(days=60)
    records = [
        DoseLog(patient_id="P-OWN", date=day, taken=True),
        QuestionnaireResponse(
            patient_id="P-OWN",
            instrument_id="fss",
            instrument_version="1",
            date=day,
            answers=(4,) * 9,
        ),
        AdverseEvent(patient_id="P-OWN", onset_date=day, term="insomnia", severity="mild"),  # type: ignore[arg-type]
        LabObservation(patient_id="P-OWN", date=day, loinc_code="1742-6", value=21.0, unit="U/L"),
    ]
    with UnitOfWork(world.engine, actor="test") as uow:
        for record in records:
            assert uow.registry.add(record).id == 1  # type: ignore[attr-defined]
        uow.commit()


def test_authorization_matrix(world: World) -> None:
    seed_one_of_each(world)
    add_matrix_trial(world)
    app = create_app(world.settings, world.engine)
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    failures: list[str] = []
    checked = 0
    for route in route_table(app):
        if route.path in NON_API or route.policy is None:
            continue
        variants = PATIENT_SAMPLES if "patient_id" in _params(route.path) else {"own": "P-OWN"}
        for role in ROLES:
            for variant, patient_id in variants.items():
                url = _fill(route.path, patient_id)
                headers = {"accept": "application/json"}
                client.cookies.clear()
                if role is not None:
                    # a fresh session each time: POST /logout must not end the next check's
                    cookie, csrf = sign_in.create_session(
                        world.engine, world.accounts[role].id, 600
                    )
                    client.cookies.set(SESSION_COOKIE, cookie)
                    headers[CSRF_HEADER] = csrf
                response = client.request(route.method, url, headers=headers)
                checked += 1
                allowed = _expected_allowed(route.policy, role, variant)
                status = response.status_code
                where = f"{route.method} {url} as {role or 'anonymous'} ({variant})"
                if allowed:
                    if status in AUTH_DENIALS and not _csrf_on_public(route.policy, response):
                        failures.append(f"{where}: expected access, got {status}")
                    elif route.method == "GET" and not route.policy.is_public and status != 200:
                        failures.append(f"{where}: expected 200, got {status}")
                else:
                    expected = 401 if role is None else 403
                    if status != expected:
                        failures.append(f"{where}: expected {expected}, got {status}")
                for canary in (CANARY_OTHER, CANARY_NOCARE):
                    if canary in response.text:
                        failures.append(f"{where}: LEAK of {canary}")
    assert checked > 100
    assert not failures, "\n".join(failures)


def _csrf_on_public(policy: Policy, response: object) -> bool:
    """Public forms (sign-in) refuse a missing CSRF token with 403; that is not a denial."""
    return (
        policy.is_public
        and getattr(response, "status_code", 0) == 403
        and response.json().get("error") == "CsrfFailed"
    )  # type: ignore[attr-defined]


@pytest.mark.parametrize("variant", ["own", "other"])
def test_api_tokens_follow_the_same_rules(world: World, variant: str) -> None:
    """Bearer tokens get exactly the access of their account (no CSRF needed, none granted)."""
    _token, plain = api_tokens.create_api_token(
        world.engine, world.accounts["patient"].id, "t", actor="test"
    )
    client = world.client(None)
    pid = PATIENT_SAMPLES[variant]
    response = client.get(f"/api/patients/{pid}", headers={"authorization": f"Bearer {plain}"})
    assert response.status_code == (200 if variant == "own" else 403)
    assert CANARY_OTHER not in response.text


def test_a_route_without_a_policy_is_caught(world: World) -> None:
    """The guard itself: a router added without public()/require() shows up as undeclared."""
    app = create_app(world.settings, world.engine)

    @app.get("/forgotten/{patient_id}")
    def forgotten(patient_id: str) -> dict[str, str]:
        return {"patient_id": patient_id}

    undeclared = [r.path for r in route_table(app) if r.policy is None and r.path not in NON_API]
    assert undeclared == ["/forgotten/{patient_id}"]


def test_editors_reach_no_clinical_record(world: World) -> None:
    """The editor role curates the evidence hub: every route naming a patient refuses it."""
    app = create_app(world.settings, world.engine)
    for route in route_table(app):
        policy = route.policy
        if policy is not None and not policy.is_public and policy.patient_param is not None:
            assert Role.EDITOR not in (policy.roles or ()), route.path
    client = world.client("editor")
    assert client.get("/api/patients/P-OWN").status_code == 403
    assert client.get("/evidence/review", headers={"accept": "application/json"}).status_code == 200
