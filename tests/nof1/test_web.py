"""The trial pages: patient and clinician see schedule and progress; results after unblinding."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ldn_outcomes.domain.access import Role
from ldn_outcomes.domain.models import Consent
from ldn_outcomes.services import nof1 as service
from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, care_links, sign_in
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.tables import AuditRow
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import CSRF_HEADER, SESSION_COOKIE

from .conftest import add_diary, add_patient

SETTINGS = Settings(mode="test", secret_key="test-secret-not-default-nof1")
SECRET = SETTINGS.secret_key.get_secret_value().encode()
TODAY = dt.date.today()
ENDED_START = TODAY - dt.timedelta(days=200)


@pytest.fixture
def sessions(engine: Engine) -> dict[str, tuple[str, str]]:
    for pid in ("P1", "P2"):
        add_patient(engine, pid)
    load_records(
        engine,
        {
            "consents": [
                (
                    None,
                    Consent(
                        patient_id=pid, scope="care", given_date=TODAY - dt.timedelta(days=400)
                    ),
                )
                for pid in ("P1", "P2")
            ]
        },
        actor="test",
    )
    add_diary(
        engine,
        "P1",
        ENDED_START - dt.timedelta(days=10),
        210,
        pairs=3,
        seed=5,
        effect=-2.0,
        trial_start=ENDED_START,
    )
    add_diary(engine, "P2", TODAY - dt.timedelta(days=40), 40, seed=6)
    service.design_trial(
        engine,
        SECRET,
        trial_id="DONE",
        patient_id="P1",
        pairs=3,
        period_days=28,
        washout_days=7,
        outcome="fatigue_nrs",
        seed=5,
        start_date=ENDED_START,
        dose_mg="4.5",
    )
    service.design_trial(
        engine,
        SECRET,
        trial_id="RUNNING",
        patient_id="P2",
        pairs=3,
        period_days=28,
        washout_days=7,
        outcome="fatigue_nrs",
        seed=6,
        start_date=TODAY - dt.timedelta(days=30),
        dose_mg="4.5",
    )
    out = {}
    for name, role, pid in (
        ("p1", Role.PATIENT, "P1"),
        ("p2", Role.PATIENT, "P2"),
        ("clin", Role.CLINICIAN, None),
        ("clin2", Role.CLINICIAN, None),
    ):
        account = accounts.create_account(
            engine,
            email=f"{name}@example.org",
            role=role,
            password=None,
            patient_id=pid,
            actor="test",
        )
        out[name] = sign_in.create_session(engine, account.id, 3600)
        if name == "clin":
            for linked in ("P1", "P2"):
                care_links.link_patient(engine, account.id, linked, actor="test")
    return out


def client(engine: Engine, session: tuple[str, str] | None) -> TestClient:
    c = TestClient(
        create_app(SETTINGS, engine), base_url="https://testserver", follow_redirects=False
    )
    if session:
        c.cookies.set(SESSION_COOKIE, session[0])
    return c


def test_patient_sees_running_trial_blinded(engine: Engine, sessions) -> None:
    page = client(engine, sessions["p2"]).get("/patients/P2/nof1")
    assert page.status_code == 200
    assert "Period 2: take bottle" in page.text and "RUNNING period 2" in page.text
    assert "settling-in" in page.text  # day 31 is in period 2's washout
    assert "Naltrexone" not in page.text and "blinded" in page.text
    data = client(engine, sessions["p2"]).get("/patients/P2/nof1?format=json").json()
    trial = data["trials"][0]
    assert trial["progress"]["period"] == 2 and trial["results"] is None
    assert "allocation" not in str(data) and "seed" not in str(data)


def test_other_patients_and_unlinked_clinicians_are_refused(engine: Engine, sessions) -> None:
    assert client(engine, sessions["p1"]).get("/patients/P2/nof1").status_code == 403
    assert client(engine, sessions["clin2"]).get("/patients/P1/nof1").status_code == 403
    assert (
        client(engine, None)
        .get("/patients/P1/nof1", headers={"accept": "application/json"})
        .status_code
        == 401
    )


def test_early_unblinding_refused_then_ended_trial_unblinded(engine: Engine, sessions) -> None:
    p2 = client(engine, sessions["p2"])
    early = p2.post(
        "/patients/P2/nof1/unblind",
        data={"trial_id": "RUNNING"},
        headers={CSRF_HEADER: sessions["p2"][1], "accept": "application/json"},
    )
    assert early.status_code == 403 and "still blinded" in early.json()["message"]
    with Session(engine) as session:
        refused = session.scalars(
            select(AuditRow).where(AuditRow.action == "unblind_refused")
        ).all()
    assert [(r.record_key, r.actor.endswith(":patient")) for r in refused] == [("RUNNING", True)]
    # Another patient's trial cannot be unblinded through one's own path.
    p1 = client(engine, sessions["p1"])
    wrong = p1.post(
        "/patients/P1/nof1/unblind",
        data={"trial_id": "RUNNING"},
        headers={CSRF_HEADER: sessions["p1"][1], "accept": "application/json"},
    )
    assert wrong.status_code in (403, 404)
    done = p1.post(
        "/patients/P1/nof1/unblind",
        data={"trial_id": "DONE"},
        headers={CSRF_HEADER: sessions["p1"][1]},
    )
    assert done.status_code == 303
    page = p1.get("/patients/P1/nof1")
    assert page.status_code == 200
    assert "Likely helps" in page.text and "<svg" in page.text
    assert "Randomisation test" in page.text


def test_clinician_overview_lists_linked_patients_trials(engine: Engine, sessions) -> None:
    page = client(engine, sessions["clin"]).get("/clinic/nof1?format=json")
    assert page.status_code == 200
    assert sorted(t["trial_id"] for t in page.json()["trials"]) == ["DONE", "RUNNING"]
    assert client(engine, sessions["clin2"]).get("/clinic/nof1?format=json").json() == {
        "trials": [],
        "requests": [],
    }
    assert client(engine, sessions["p1"]).get("/clinic/nof1").status_code == 403


def test_clinician_overview_links_reach_each_trial(engine: Engine, sessions) -> None:
    clinician = client(engine, sessions["clin"])
    page = clinician.get("/clinic/nof1")
    assert page.status_code == 200
    links = re.findall(r'href="(/patients/[^"]+)"', page.text)
    assert len(links) == 2
    for link in links:
        path, _, anchor = link.partition("#")
        target = clinician.get(path)
        assert target.status_code == 200, link
        assert anchor and f'id="{anchor}"' in target.text


def test_unblinding_someone_elses_trial_does_not_name_its_owner(engine: Engine, sessions) -> None:
    p1 = client(engine, sessions["p1"])
    for trial in ("RUNNING", "NO-SUCH-TRIAL"):
        wrong = p1.post(
            "/patients/P1/nof1/unblind",
            data={"trial_id": trial},
            headers={CSRF_HEADER: sessions["p1"][1], "accept": "application/json"},
        )
        assert wrong.status_code == 404  # someone else's trial looks like a missing one
        assert "P2" not in wrong.text and "p2@" not in wrong.text
    clin2 = client(engine, sessions["clin2"])
    refused = clin2.post(
        "/patients/P1/nof1/unblind",
        data={"trial_id": "DONE"},
        headers={CSRF_HEADER: sessions["clin2"][1], "accept": "application/json"},
    )
    assert refused.status_code == 403 and "P1" not in refused.json()["message"].replace(
        "/patients/P1", ""
    )


def test_a_running_trial_is_stopped_on_the_page_and_can_then_be_unblinded(
    engine: Engine, sessions
) -> None:
    """The clinician stops the running trial with a reason; the page says so, no check-in is
    due, the clinic list and the API show it, and the trial can be unblinded that day."""
    clin = client(engine, sessions["clin"])
    page = clin.get("/patients/P2/nof1")
    assert "Stop this trial early" in page.text
    bad = clin.post(
        "/patients/P2/nof1/stop",
        data={"trial_id": "RUNNING", "stopped_on": "yesterday", "reason": "rash"},
        headers={CSRF_HEADER: sessions["clin"][1], "accept": "application/json"},
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "stopped_on"
    stopped = clin.post(
        "/patients/P2/nof1/stop",
        data={"trial_id": "RUNNING", "stopped_on": TODAY.isoformat(), "reason": "rash"},
        headers={CSRF_HEADER: sessions["clin"][1]},
    )
    assert stopped.status_code == 303
    page = client(engine, sessions["p2"]).get("/patients/P2/nof1")
    assert f"The trial was stopped on {TODAY.isoformat()}" in page.text and "rash" in page.text
    assert "Stop this trial early" not in page.text and "take bottle" not in page.text
    trial = client(engine, sessions["p2"]).get("/api/patients/P2/nof1").json()[0]
    assert trial["stopped_on"] == TODAY.isoformat() and trial["progress"]["state"] == "stopped"
    assert trial["reminders"]["due_today"] is False
    clinic = clin.get("/clinic/nof1?format=json").json()["trials"]
    assert any(t["trial_id"] == "RUNNING" and t["can_unblind"] for t in clinic)
    opened = client(engine, sessions["p2"]).post(
        "/patients/P2/nof1/unblind",
        data={"trial_id": "RUNNING"},
        headers={CSRF_HEADER: sessions["p2"][1]},
    )
    assert opened.status_code == 303


def test_the_stop_api_takes_a_typed_body_and_hides_other_patients_trials(
    engine: Engine, sessions
) -> None:
    p1 = client(engine, sessions["p1"])
    headers = {CSRF_HEADER: sessions["p1"][1]}
    body = {"trial_id": "RUNNING", "stopped_on": TODAY.isoformat(), "reason": "moving away"}
    assert p1.post("/api/patients/P1/nof1/stop", json=body, headers=headers).status_code == 404
    extra = {**body, "trial_id": "DONE", "undo": True}
    assert p1.post("/api/patients/P1/nof1/stop", json=extra, headers=headers).status_code == 422
    ended = {**body, "trial_id": "DONE"}
    refused = p1.post("/api/patients/P1/nof1/stop", json=ended, headers=headers)
    assert refused.status_code == 422  # DONE ran to its end: it ended, it was not stopped
    assert refused.json()["problems"][0]["field"] == "stopped_on"
    p2 = client(engine, sessions["p2"])
    ok = p2.post(
        "/api/patients/P2/nof1/stop",
        json={**body, "stopped_on": (TODAY - dt.timedelta(days=2)).isoformat()},
        headers={CSRF_HEADER: sessions["p2"][1]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["stopped_by"].endswith(":patient")
    assert ok.json()["stop_reason"] == "moving away"
