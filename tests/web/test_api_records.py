"""The records API: every kind created, corrected and removed with a reason, its history read;
regimen changes in one call; Idempotency-Key; strict typed bodies listed in the OpenAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ldn_outcomes.store import api_tokens
from ldn_outcomes.store.registry import PATIENT_KINDS

from .conftest import World, days_ago


def api(world: World, name: str) -> TestClient:
    _token, plain = api_tokens.create_api_token(
        world.engine, world.accounts[name].id, "t", actor="t"
    )
    client = world.client(None)
    client.headers["authorization"] = f"Bearer {plain}"
    return client


def test_a_clinician_creates_corrects_and_removes_an_edss(world: World) -> None:
    client = api(world, "clinician")
    created = client.post(
        "/api/patients/P-OWN/edss", json={"date": days_ago(5).isoformat(), "score": 3.0}
    )
    assert created.status_code == 201, created.text
    edss = created.json()
    assert edss["rater"] == "clinician@example.org"
    url = f"/api/patients/P-OWN/edss/{edss['id']}"
    no_reason = client.put(url, json={"record": {"date": edss["date"], "score": 3.5}})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    corrected = client.put(
        url, json={"reason": "misread the form", "record": {"date": edss["date"], "score": 3.5}}
    )
    assert corrected.status_code == 200 and corrected.json()["score"] == 3.5
    assert client.request("DELETE", url, json={"reason": "wrong patient"}).status_code == 200
    assert client.get(url).status_code == 404
    assert edss["id"] not in [e["id"] for e in client.get("/api/patients/P-OWN/edss").json()]
    detail = client.get("/api/patients/P-OWN").json()
    assert edss["id"] not in [e["id"] for e in detail["records"]["edss"]]
    history = client.get(f"{url}/history").json()
    assert [h["action"] for h in history] == ["create", "correct", "remove"]
    assert history[1]["reason"] == "misread the form" and history[1]["changed"] == ["score"]
    assert history[1]["actor"].startswith("account:")
    # the patient sees the same history of their own record
    assert api(world, "patient").get(f"{url}/history").json() == history


def test_writers_follow_the_domain_rules(world: World) -> None:
    patient = api(world, "patient")
    edss = patient.post("/api/patients/P-OWN/edss", json={"date": "2024-01-01", "score": 2.0})
    assert edss.status_code == 403
    relapse = patient.post(
        "/api/patients/P-OWN/relapses",
        json={"onset_date": days_ago(3).isoformat(), "confirmed_by": "clinician"},
    )
    assert relapse.status_code == 422 and "confirmed_by" in relapse.text
    ok = patient.post(
        "/api/patients/P-OWN/relapses",
        json={"onset_date": days_ago(3).isoformat(), "lasted_24h": True},
    )
    assert ok.status_code == 201 and ok.json()["confirmed_by"] == "patient"
    other = patient.post("/api/patients/P-OTHER/relapses", json={"onset_date": "2024-01-01"})
    assert other.status_code == 403


def test_unknown_keys_and_broken_rules_are_422_naming_the_field(world: World) -> None:
    client = api(world, "clinician")
    unknown = client.post(
        "/api/patients/P-OWN/labs",
        json={"date": "2024-01-01", "loinc_code": "1742-6", "value": 20, "unit": "U/L", "x": 1},
    )
    assert unknown.status_code == 422
    assert any(p["field"] == "x" for p in unknown.json()["problems"])
    future = client.post(
        "/api/patients/P-OWN/labs",
        json={"date": "2999-01-01", "loinc_code": "1742-6", "value": 20, "unit": "U/L"},
    )
    assert future.status_code == 422 and "future" in future.text


def test_a_record_of_another_patient_is_not_found_through_this_patient(world: World) -> None:
    client = api(world, "clinician")
    # EDSS 2 belongs to P-OTHER; asking for it under P-OWN must not show it
    response = client.get("/api/patients/P-OWN/edss/2")
    assert response.status_code == 404 and "canary" not in response.text


def test_change_and_stop_ldn_are_one_call_each(world: World) -> None:
    client = api(world, "patient")
    second = client.post(
        "/api/patients/P-OWN/exposures",
        json={
            "drug_name": "naltrexone",
            "drug_class": "ldn",
            "dose_mg": "3",
            "start_date": days_ago(1).isoformat(),
        },
    )
    assert second.status_code == 422 and "already has an ongoing LDN regimen" in second.text
    changed = client.post(
        "/api/patients/P-OWN/regimen/change",
        json={"from_date": days_ago(10).isoformat(), "dose_mg": "3"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["ended"]["stop_date"] == days_ago(11).isoformat()
    assert body["new"]["dose_mg"] == "3" and body["new"]["time_of_day"] == "unknown"
    stopped = client.post(
        "/api/patients/P-OWN/regimen/stop",
        json={"last_day": days_ago(2).isoformat(), "reason": "sleep problems"},
    )
    assert stopped.status_code == 200 and stopped.json()["stop_reason"] == "sleep problems"


def test_a_retried_request_with_the_same_key_creates_nothing(world: World) -> None:
    client = api(world, "clinician")
    body = {"date": days_ago(4).isoformat(), "score": 4.0}
    headers = {"Idempotency-Key": "visit-42"}
    first = client.post("/api/patients/P-OWN/edss", json=body, headers=headers)
    again = client.post("/api/patients/P-OWN/edss", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
    scores = [e["score"] for e in client.get("/api/patients/P-OWN/edss").json()]
    assert scores.count(4.0) == 1
    changed = client.post("/api/patients/P-OWN/edss", json={**body, "score": 4.5}, headers=headers)
    assert changed.status_code == 422 and "different request" in changed.text
    # keys belong to their account: another account's same key is its own
    other = api(world, "patient").post(
        "/api/patients/P-OWN/relapses", json={"onset_date": "2024-01-01"}, headers=headers
    )
    assert other.status_code == 201


def test_the_same_checkin_day_twice_keeps_one_checkin(world: World) -> None:
    client = api(world, "patient")
    day = days_ago(1).isoformat()
    for fatigue in (3, 6):
        response = client.post(
            "/api/patients/P-OWN/questionnaires",
            json={
                "instrument_id": "checkin",
                "instrument_version": "1",
                "date": day,
                "answers": [fatigue, None, None, None, None],
            },
        )
        assert response.status_code == 201, response.text
    checkins = [
        q
        for q in client.get("/api/patients/P-OWN/questionnaires").json()
        if q["instrument_id"] == "checkin" and q["date"] == day
    ]
    assert len(checkins) == 1 and checkins[0]["answers"][0] == 6


def test_a_clinician_corrects_and_removes_patient_details(world: World) -> None:
    client = api(world, "clinician")
    patient = client.get("/api/patients/P-OWN").json()["patient"]
    fixed = {k: v for k, v in patient.items() if k != "patient_id"} | {"year_of_birth": 1979}
    response = client.put("/api/patients/P-OWN", json={"reason": "typo", "record": fixed})
    assert response.status_code == 200 and response.json()["year_of_birth"] == 1979
    history = client.get("/api/patients/P-OWN/history").json()
    assert history[-1]["changed"] == ["year_of_birth"]
    assert (
        api(world, "patient")
        .put("/api/patients/P-OWN", json={"reason": "typo", "record": fixed})
        .status_code
        == 403
    )


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_every_kind_is_in_the_openapi_with_strict_models(world: World, kind: str) -> None:
    schema = world.client(None).get("/openapi.json").json()
    paths = schema["paths"]
    base = f"/api/patients/{{patient_id}}/{kind}"
    assert {"get", "post"} <= set(paths[base])
    assert {"get", "put", "delete"} <= set(paths[f"{base}/{{record_id}}"])
    assert "get" in paths[f"{base}/{{record_id}}/history"]
    ref = paths[base]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    model = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert model.get("additionalProperties") is False


def test_moving_a_checkin_onto_a_day_that_has_one_names_the_date_and_the_rule(
    world: World,
) -> None:
    client = api(world, "patient")
    ids = {}
    for day in (days_ago(3), days_ago(2)):
        response = client.post(
            "/api/patients/P-OWN/questionnaires",
            json={
                "instrument_id": "checkin",
                "instrument_version": "1",
                "date": day.isoformat(),
                "answers": [4, None, None, None, None],
            },
        )
        assert response.status_code == 201, response.text
        ids[day] = response.json()["id"]
    moved = {
        "instrument_id": "checkin",
        "instrument_version": "1",
        "date": days_ago(2).isoformat(),
        "answers": [4, None, None, None, None],
    }
    response = client.put(
        f"/api/patients/P-OWN/questionnaires/{ids[days_ago(3)]}",
        json={"reason": "wrong day", "record": moved},
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["problems"]
    assert problem["field"] == "date" and "one check-in a day" in problem["rule"]
    # the form says the same, on the date field, instead of an error page
    page = world.client("patient").post(
        f"/patients/P-OWN/questionnaires/{ids[days_ago(3)]}/correct",
        data={
            "date": days_ago(2).isoformat(),
            "instrument_id": "checkin",
            "instrument_version": "1",
            "answers": "[4, null, null, null, null]",
            "reason": "wrong day",
        },
        headers={"x-csrf-token": world.csrf("patient")},
    )
    assert page.status_code == 422, page.text[:2000]
    assert "one check-in a day" in page.text
