"""An administrator cannot give any account clinical access on their own.

The probe's attack: an admin creates a clinician account with a password of their choosing,
links it to a patient, signs in as it and reads the record; or relinks a patient account to
someone else's record. Now an admin's link is only a request: it takes effect when the
patient (or a clinician already caring for them) accepts it, and every step is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ldn_outcomes.store import accounts, care_links, link_requests, sign_in
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.web.auth import SESSION_COOKIE

from .conftest import World

JSON = {"accept": "application/json"}


def _post(world: World, name: str, path: str, data: dict[str, str]):
    return world.client(name).post(path, data={**data, "csrf_token": world.csrf(name)})


def _as(world: World, account_id: int):
    cookie, csrf = sign_in.create_session(world.engine, account_id, 3600)
    client = world.client(None)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client, csrf


def _admin_creates_clinician_and_links(world: World, patient_id: str) -> int:
    created = _post(
        world,
        "admin",
        "/admin/accounts",
        {"email": "mole@example.org", "role": "clinician", "password": "admin chose this one"},
    )
    assert created.status_code == 303
    mole = accounts.find_account(world.engine, "mole@example.org")
    assert mole is not None
    linked = _post(
        world, "admin", "/admin/accounts/link", {"email": mole.email, "patient_id": patient_id}
    )
    assert linked.status_code == 303
    return mole.id


def test_an_admin_link_gives_no_access_until_the_patient_accepts(world: World) -> None:
    mole_id = _admin_creates_clinician_and_links(world, "P-OWN")
    mole, _csrf = _as(world, mole_id)
    assert mole.get("/api/patients/P-OWN").status_code == 403
    assert mole.get("/api/patients").json() == []
    requests = world.client("patient").get("/me", headers=JSON).json()["link_requests"]
    assert [r["email"] for r in requests] == ["mole@example.org"]
    assert requests[0]["requested_by"]  # who asked is shown to the patient
    accepted = _post(
        world, "patient", "/me/links", {"account_id": str(mole_id), "decision": "accept"}
    )
    assert accepted.status_code == 303
    assert mole.get("/api/patients/P-OWN").status_code == 200
    with Session(world.engine) as session:
        actions = [
            a.action
            for a in session.scalars(select(AuditRow).where(AuditRow.table_name == "care_links"))
        ]
    assert "request_link" in actions and "accept_link" in actions


def test_a_caring_clinician_may_confirm_and_another_may_not(world: World) -> None:
    mole_id = _admin_creates_clinician_and_links(world, "P-OWN")
    stranger = _post(
        world,
        "clinician2",
        "/patients/P-OWN/links",
        {"account_id": str(mole_id), "decision": "accept"},
    )
    assert stranger.status_code == 403
    admin = _post(
        world, "admin", "/patients/P-OWN/links", {"account_id": str(mole_id), "decision": "accept"}
    )
    assert admin.status_code == 403
    assert not care_links.is_linked(world.engine, mole_id, "P-OWN")
    confirmed = _post(
        world,
        "clinician",
        "/patients/P-OWN/links",
        {"account_id": str(mole_id), "decision": "accept"},
    )
    assert confirmed.status_code == 303
    assert care_links.is_linked(world.engine, mole_id, "P-OWN")


def test_declined_requests_are_gone(world: World) -> None:
    mole_id = _admin_creates_clinician_and_links(world, "P-OWN")
    declined = _post(
        world, "patient", "/me/links", {"account_id": str(mole_id), "decision": "decline"}
    )
    assert declined.status_code == 303
    assert link_requests.pending_requests(world.engine, "P-OWN") == []
    assert not care_links.is_linked(world.engine, mole_id, "P-OWN")


def test_an_admin_cannot_relink_a_patient_account_to_someone_elses_record(world: World) -> None:
    # patient2 owns P-OTHER; the admin relinks that account to P-OWN's record
    relinked = _post(
        world,
        "admin",
        "/admin/accounts/link",
        {"email": "patient2@example.org", "patient_id": "P-OWN"},
    )
    assert relinked.status_code == 303
    patient2 = world.client("patient2")
    assert patient2.get("/api/patients/P-OWN").status_code == 403
    assert patient2.get("/me", headers=JSON).json()["patient"]["patient_id"] == "P-OTHER"
    # a new patient account created by the admin for P-OWN does not own it either
    created = _post(
        world,
        "admin",
        "/admin/accounts",
        {
            "email": "claimant@example.org",
            "role": "patient",
            "password": "admin chose this one",
            "patient_id": "P-OWN",
        },
    )
    assert created.status_code == 303
    claimant = accounts.find_account(world.engine, "claimant@example.org")
    assert claimant is not None and claimant.patient_id is None
    client, _ = _as(world, claimant.id)
    assert client.get("/api/patients/P-OWN").status_code == 403
    # the owner accepts the claim: the record moves to the new account, the old one lets go
    accepted = _post(
        world, "patient", "/me/links", {"account_id": str(claimant.id), "decision": "accept"}
    )
    assert accepted.status_code == 303
    assert accounts.find_account(world.engine, "claimant@example.org").patient_id == "P-OWN"
    assert accounts.find_account(world.engine, "patient@example.org").patient_id is None


def test_nobody_accepts_their_own_request(world: World) -> None:
    mole_id = _admin_creates_clinician_and_links(world, "P-OWN")
    mole, csrf = _as(world, mole_id)
    response = mole.post(
        "/patients/P-OWN/links",
        data={"account_id": str(mole_id), "decision": "accept", "csrf_token": csrf},
    )
    assert response.status_code == 403
    assert not care_links.is_linked(world.engine, mole_id, "P-OWN")
