"""Personal trials from the web, step by step and role by role: the patient asks, the
clinician previews (detectable effect) and seals, the assigned pharmacy prints the bottle
sheet, patient and clinician see the blinded schedule and reminders, unblinding and the
analysis at the end; every step audited, in the pages and in the JSON API."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ldn_outcomes.store.nof1_tables import NOf1RequestRow, NOf1TrialRow
from ldn_outcomes.store.tables import AuditRow

from .conftest import World
from .nof1_world import add_checkins, add_pharmacy, seal_default_trial

TODAY = dt.date.today()
START = TODAY + dt.timedelta(days=7)


@pytest.fixture
def trial_world(world: World) -> World:
    """P-OWN keeps a fatigue diary for the last 30 days; two pharmacy accounts exist."""
    rng = np.random.default_rng(3)
    add_checkins(
        world.engine,
        "P-OWN",
        TODAY - dt.timedelta(days=30),
        [float(v) for v in np.clip(np.rint(6 + rng.normal(0, 1.2, 30)), 0, 10)],
    )
    add_pharmacy(world, "pharmacy")
    add_pharmacy(world, "pharmacy2")
    return world


def _audit(world: World, action: str) -> list[AuditRow]:
    with Session(world.engine) as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action)))


def _design_form(world: World, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": world.csrf("clinician"),
        "outcome": "fatigue_nrs",
        "pairs": "3",
        "period_days": "28",
        "washout_days": "7",
        "start_date": START.isoformat(),
        "dose_mg": "4.5",
        "mcid": "",
        "trial_id": "T-WEB",
        "detectable_effect_reviewed": "yes",
        "pharmacy_account_id": str(world.accounts["pharmacy"].id),
        **extra,
    }


def _seal(world: World, **extra: str) -> None:
    response = world.client("clinician").post(
        "/patients/P-OWN/nof1/trials", data=_design_form(world, **extra)
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/patients/P-OWN/nof1?saved=trial"


def test_patient_asks_once_and_the_clinician_sees_the_request(trial_world: World) -> None:
    world = trial_world
    patient = world.client("patient")
    form = {"csrf_token": world.csrf("patient"), "outcome": "fatigue_nrs", "note": "evenings"}
    response = patient.post("/patients/P-OWN/nof1/request", data=form)
    assert response.status_code == 303
    assert "Trial requested on" in patient.get(response.headers["location"]).text
    again = patient.post(
        "/patients/P-OWN/nof1/request", data=form, headers={"accept": "application/json"}
    )
    assert again.status_code == 422 and "already asked" in again.text
    assert "evenings" in world.client("clinician").get("/clinic/nof1").text
    assert len(_audit(world, "create")) >= 1
    assert [r.record_key for r in _audit(world, "create") if r.table_name == "nof1_requests"]


def test_clinician_previews_the_detectable_effect_without_storing(trial_world: World) -> None:
    world = trial_world
    query = {k: v for k, v in _design_form(world).items() if k not in ("csrf_token",)}
    page = world.client("clinician").get(
        "/patients/P-OWN/nof1/design", params={**query, "preview": "1"}
    )
    assert page.status_code == 200
    assert "Smallest detectable effect:" in page.text and "Seal this design" in page.text
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1TrialRow.trial_id)) is None  # nothing sealed yet


def test_sealing_assigns_the_pharmacy_and_closes_the_request(trial_world: World) -> None:
    world = trial_world
    world.client("patient").post(
        "/patients/P-OWN/nof1/request",
        data={"csrf_token": world.csrf("patient"), "outcome": "fatigue_nrs"},
    )
    with Session(world.engine) as session:
        request_id = session.scalar(select(NOf1RequestRow.id))
    _seal(world, request_id=str(request_id))
    with Session(world.engine) as session:
        trial = session.get(NOf1TrialRow, "T-WEB")
        request = session.get(NOf1RequestRow, request_id)
        assert trial is not None and trial.pharmacy_account_id == world.accounts["pharmacy"].id
        assert request is not None and (request.status, request.trial_id) == ("designed", "T-WEB")


def test_sealing_needs_the_preview_and_a_pharmacy_account(trial_world: World) -> None:
    world = trial_world
    client = world.client("clinician")
    headers = {"accept": "application/json"}
    skipped = _design_form(world, detectable_effect_reviewed="")
    response = client.post("/patients/P-OWN/nof1/trials", data=skipped, headers=headers)
    assert response.status_code == 422 and "detectable_effect_reviewed" in response.text
    not_pharmacy = _design_form(world, pharmacy_account_id=str(world.accounts["admin"].id))
    response = client.post("/patients/P-OWN/nof1/trials", data=not_pharmacy, headers=headers)
    assert response.status_code == 422 and "pharmacy_account_id" in response.text


def test_only_the_assigned_pharmacy_reads_the_sheet_and_each_read_is_audited(
    trial_world: World,
) -> None:
    world = trial_world
    _seal(world)
    pharmacy = world.client("pharmacy")
    assert "T-WEB" in pharmacy.get("/pharmacy").text
    sheet = pharmacy.get("/pharmacy/trials/T-WEB/sheet")
    assert sheet.status_code == 200
    assert sheet.text.count("Naltrexone 4.5 mg capsules") == 3
    assert sheet.text.count("Placebo capsules") == 3
    reads = _audit(world, "read_allocation")
    assert [r.actor for r in reads] == [f"account:{world.accounts['pharmacy'].id}:pharmacy"]
    other = world.client("pharmacy2")
    assert "T-WEB" not in other.get("/pharmacy").text
    assert other.get("/pharmacy/trials/T-WEB/sheet").status_code == 403
    assert other.get("/api/pharmacy/trials/T-WEB/sheet").status_code == 403
    # the pharmacy never sees clinical records, and nobody else sees the sheet
    for path in ("/patients/P-OWN/nof1", "/api/patients/P-OWN", "/patients/P-OWN"):
        assert pharmacy.get(path).status_code == 403, path
    for name in ("patient", "clinician", "admin", "researcher"):
        assert world.client(name).get("/pharmacy/trials/T-WEB/sheet").status_code == 403


def test_patient_and_clinician_see_the_blinded_schedule_and_reminders(trial_world: World) -> None:
    world = trial_world
    _seal(world)
    for name in ("patient", "clinician"):
        data = world.client(name).get("/api/patients/P-OWN/nof1").json()
        trial = data[0]
        assert trial["status"] == "blinded" and trial["results"] is None
        assert len(trial["schedule"]) == 6 and "reminders" in trial
        assert "ldn" not in str(trial["schedule"]).lower()
        assert "seed" not in str(data)
    page = world.client("patient").get("/patients/P-OWN/nof1")
    assert "The trial has not started yet" in page.text and "T-WEB period 1" in page.text
    link = "/patients/P-OWN/nof1/calendar.ics?trial_id=T-WEB"
    assert link in page.text
    ics = world.client("patient").get(link)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "RRULE:FREQ=DAILY;COUNT=168" in ics.text and "T-WEB period 6" in ics.text
    assert "altrexone" not in ics.text and "lacebo" not in ics.text
    missing = world.client("patient").get("/patients/P-OWN/nof1/calendar.ics?trial_id=NOPE")
    assert missing.status_code == 404


def test_unblinding_early_is_refused_with_the_date_and_audited(trial_world: World) -> None:
    world = trial_world
    _seal(world)
    response = world.client("patient").post(
        "/patients/P-OWN/nof1/unblind",
        data={"csrf_token": world.csrf("patient"), "trial_id": "T-WEB"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 403 and "still blinded" in response.text
    assert [r.record_key for r in _audit(world, "unblind_refused")] == ["T-WEB"]


def test_unblinding_after_the_end_shows_the_audited_analysis(trial_world: World) -> None:
    world = trial_world
    start = TODAY - dt.timedelta(days=200)
    rng = np.random.default_rng(8)
    add_checkins(
        world.engine,
        "P-OWN",
        start - dt.timedelta(days=20),
        list(np.rint(6 + rng.normal(0, 1, 180))),
    )
    seal_default_trial(world, "T-DONE", "P-OWN", seed=4, start_date=start)
    client = world.client("clinician")
    response = client.post(
        "/api/patients/P-OWN/nof1/unblind",
        json={"trial_id": "T-DONE"},
        headers={"x-csrf-token": world.csrf("clinician")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "unblinded"
    assert {p["treatment"] for p in response.json()["periods"]} == {"ldn", "placebo"}
    trials = {t["trial_id"]: t for t in client.get("/api/patients/P-OWN/nof1").json()}
    assert trials["T-DONE"]["results"]["estimate"]["pairs_used"] == 3
    assert [r.record_key for r in _audit(world, "unblind")] == ["T-DONE"]
    assert [r.record_key for r in _audit(world, "read_analysis")] == ["T-DONE"]


def test_the_json_api_walks_every_step(trial_world: World) -> None:
    world = trial_world
    patient, clinician = world.client("patient"), world.client("clinician")
    patient_h = {"x-csrf-token": world.csrf("patient")}
    clinician_h = {"x-csrf-token": world.csrf("clinician")}
    made = patient.post(
        "/api/patients/P-OWN/nof1/requests", json={"outcome": "fatigue_nrs"}, headers=patient_h
    )
    assert made.status_code == 201 and made.json()["status"] == "open"
    design = {"start_date": START.isoformat(), "pairs": 3, "period_days": 28}
    preview = clinician.post("/api/patients/P-OWN/nof1/preview", json=design, headers=clinician_h)
    assert preview.status_code == 200, preview.text
    assert preview.json()["detectable_effect"]["effect"] > 0
    unknown = clinician.post(
        "/api/patients/P-OWN/nof1/preview", json={**design, "seed": 7}, headers=clinician_h
    )
    assert unknown.status_code == 422  # extra fields are refused: the server draws the seed
    unreviewed = {**design, "trial_id": "T-API", "detectable_effect_reviewed": False}
    assert (
        clinician.post(
            "/api/patients/P-OWN/nof1/trials", json=unreviewed, headers=clinician_h
        ).status_code
        == 422
    )
    sealed = clinician.post(
        "/api/patients/P-OWN/nof1/trials",
        json={
            **unreviewed,
            "detectable_effect_reviewed": True,
            "pharmacy_account_id": world.accounts["pharmacy"].id,
            "request_id": made.json()["request_id"],
        },
        headers=clinician_h,
    )
    assert sealed.status_code == 201, sealed.text
    assert len(sealed.json()["periods"]) == 6 and sealed.json()["detectable_effect"]
    pharmacy = world.client("pharmacy")
    assert [t["trial_id"] for t in pharmacy.get("/api/pharmacy/trials").json()] == ["T-API"]
    sheet = pharmacy.get("/api/pharmacy/trials/T-API/sheet").json()
    contents = [b["contents"] for b in sheet["bottles"]]
    assert len(contents) == 6 and sum("Naltrexone" in c for c in contents) == 3
    assert (
        patient.post("/api/patients/P-OWN/nof1/preview", json=design, headers=patient_h).status_code
        == 403
    )


def test_a_broken_design_is_shown_again_with_the_message_by_its_field(trial_world: World) -> None:
    world = trial_world
    client = world.client("clinician")
    query = {k: v for k, v in _design_form(world).items() if k != "csrf_token"}
    page = client.get("/patients/P-OWN/nof1/design", params={**query, "preview": "1", "pairs": "1"})
    assert page.status_code == 422
    assert 'id="pairs-error"' in page.text and "Seal this design" not in page.text
    _seal(world)
    again = client.post("/patients/P-OWN/nof1/trials", data=_design_form(world))
    assert again.status_code == 422
    assert 'id="trial_id-error"' in again.text and "already exists" in again.text
    assert "Seal this design" in again.text  # the preview is shown again, ready to correct


def test_reminders_count_the_trial_days_without_a_check_in(trial_world: World) -> None:
    """The diary starts 30 days ago; a trial that began 40 days ago misses its first 10."""
    world = trial_world
    start = TODAY - dt.timedelta(days=40)
    seal_default_trial(world, "T-RUN", "P-OWN", seed=9, start_date=start)
    client = world.client("patient")
    reminders = client.get("/api/patients/P-OWN/nof1").json()[0]["reminders"]
    assert reminders == {
        "due_today": True,
        "done_today": False,
        "missed_count": 10,
        "missed_recent": [(start + dt.timedelta(days=n)).isoformat() for n in range(3, 10)],
    }
    assert "today's check-in is not in yet" in client.get("/patients/P-OWN/nof1").text
    add_checkins(world.engine, "P-OWN", TODAY, [4.0])
    assert client.get("/api/patients/P-OWN/nof1").json()[0]["reminders"]["done_today"]
    assert "Today's check-in is in" in client.get("/patients/P-OWN/nof1").text


def test_a_broken_trial_request_is_shown_again_with_the_message_by_its_field(
    trial_world: World,
) -> None:
    """Not the generic error page: the trials page, error summary, message by the field, the
    patient's note kept; nothing stored."""
    world = trial_world
    patient = world.client("patient")
    form = {"csrf_token": world.csrf("patient"), "outcome": "nonsense", "note": "evenings"}
    page = patient.post("/patients/P-OWN/nof1/request", data=form)
    assert page.status_code == 422
    assert 'class="error-summary"' in page.text and 'href="#request-outcome"' in page.text
    assert 'id="request-outcome-error"' in page.text and "must be one of" in page.text
    assert ">evenings</textarea>" in page.text and "Personal (n-of-1) trials" in page.text
    long_note = {**form, "outcome": "fatigue_nrs", "note": "x" * 1001}
    page = patient.post("/patients/P-OWN/nof1/request", data=long_note)
    assert page.status_code == 422 and 'id="request-note-error"' in page.text
    assert '<option value="fatigue_nrs" selected>' in page.text
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1RequestRow.id)) is None


def test_a_patient_without_a_diary_gets_a_preview_that_says_so(world: World) -> None:
    """No check-in yet: the detectable effect cannot be computed, and page and API say why
    (it was a server error)."""
    client = world.client("clinician")
    design = {"start_date": START.isoformat(), "pairs": 3, "period_days": 28, "washout_days": 7}
    preview = client.post(
        "/api/patients/P-OWN/nof1/preview",
        json=design,
        headers={"x-csrf-token": world.csrf("clinician")},
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["detectable_effect"] is None
    assert "no diary values of Fatigue (0-10) yet" in preview.json()["detectable_note"]
    page = client.get(
        "/patients/P-OWN/nof1/design", params={**design, "preview": "1", "outcome": "fatigue_nrs"}
    )
    assert page.status_code == 200
    assert "The detectable effect cannot be computed: the patient has no diary values" in page.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("period_days", "10000000"), ("period_days", "181"), ("washout_days", "91")],
)
def test_an_overlong_design_is_refused_by_its_field_in_the_api_and_the_page(
    trial_world: World, field: str, value: str
) -> None:
    world = trial_world
    client = world.client("clinician")
    headers = {"x-csrf-token": world.csrf("clinician")}
    design = {"start_date": START.isoformat(), "period_days": 120, field: int(value)}
    for path in ("/api/patients/P-OWN/nof1/preview", "/api/patients/P-OWN/nof1/trials"):
        body = {**design, "trial_id": "T-LONG", "detectable_effect_reviewed": True}
        response = client.post(
            path, json=body if path.endswith("trials") else design, headers=headers
        )
        assert response.status_code == 422, response.text
        assert [p["field"] for p in response.json()["problems"]] == [field]
        assert "at most" in response.json()["problems"][0]["rule"]
    query = {k: v for k, v in _design_form(world, **{field: value}).items() if k != "csrf_token"}
    page = client.get("/patients/P-OWN/nof1/design", params={**query, "preview": "1"})
    assert page.status_code == 422 and f'id="{field}-error"' in page.text
    sealed = client.post("/patients/P-OWN/nof1/trials", data=_design_form(world, **{field: value}))
    assert sealed.status_code == 422 and f'id="{field}-error"' in sealed.text
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1TrialRow.trial_id)) is None


@pytest.mark.parametrize(
    "trial_id", ["T\r\nX-Injected: 1", "../../x", "x\u0000y", "T\u001b[31m", "a/b", "T 1"]
)
def test_a_trial_id_outside_the_pattern_is_refused_in_the_api_and_the_form(
    trial_world: World, trial_id: str
) -> None:
    world = trial_world
    response = world.client("clinician").post(
        "/api/patients/P-OWN/nof1/trials",
        json={
            "start_date": START.isoformat(),
            "trial_id": trial_id,
            "detectable_effect_reviewed": True,
        },
        headers={"x-csrf-token": world.csrf("clinician")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "trial_id"
    page = world.client("clinician").post(
        "/patients/P-OWN/nof1/trials", data=_design_form(world, trial_id=trial_id)
    )
    assert page.status_code == 422
    if "\0" in trial_id or "\x1b" in trial_id:  # refused by the app-wide guard, before the page
        assert page.json()["problems"][0]["field"] == "trial_id"
    else:  # by the design rule, next to the field
        assert 'id="trial_id-error"' in page.text
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1TrialRow.trial_id)) is None


def test_a_trial_request_note_keeps_line_breaks_and_refuses_control_characters(
    trial_world: World,
) -> None:
    world = trial_world
    patient = world.client("patient")
    headers = {"x-csrf-token": world.csrf("patient")}
    path = "/api/patients/P-OWN/nof1/requests"
    for note in ("a\u0000b", "red \u001b[31m", "x\u0085y"):
        refused = patient.post(path, json={"note": note}, headers=headers)
        assert refused.status_code == 422, note
        assert refused.json()["problems"][0]["field"] == "note"
    unknown = patient.post(path, json={"note": "", "priority": "high"}, headers=headers)
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "priority"
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1RequestRow.id)) is None
    made = patient.post(path, json={"note": "evenings\r\nand weekends"}, headers=headers)
    assert made.status_code == 201 and made.json()["note"] == "evenings\r\nand weekends"


def test_the_calendar_download_names_its_file_safely(trial_world: World) -> None:
    world = trial_world
    _seal(world)
    ics = world.client("patient").get("/patients/P-OWN/nof1/calendar.ics?trial_id=T-WEB")
    assert ics.headers["content-disposition"] == (
        "attachment; filename=\"T-WEB.ics\"; filename*=UTF-8''T-WEB.ics"
    )


@pytest.mark.parametrize("raw", ["99999999999999999999", "0", "²"])
def test_an_impossible_pharmacy_or_request_id_is_refused_by_its_field(
    trial_world: World, raw: str
) -> None:
    world = trial_world
    client = world.client("clinician")
    for field in ("pharmacy_account_id", "request_id"):
        page = client.post(
            "/patients/P-OWN/nof1/trials",
            data=_design_form(world, **{field: raw}),
            headers={"accept": "application/json"},
        )
        assert page.status_code == 422, page.text
        assert page.json()["problems"][0]["field"] == field
        body = {
            "start_date": START.isoformat(),
            "trial_id": "T-API",
            "detectable_effect_reviewed": True,
            field: int(raw) if raw.isascii() else raw,
        }
        response = client.post(
            "/api/patients/P-OWN/nof1/trials",
            json=body,
            headers={"x-csrf-token": world.csrf("clinician")},
        )
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == field
    with Session(world.engine) as session:
        assert session.scalar(select(NOf1TrialRow.trial_id)) is None


def test_another_patients_trial_looks_missing_to_the_api_too(trial_world: World) -> None:
    """Unblinding another patient's trial answers the same 404, in the same words, as a trial
    that does not exist (it was a 403 "may not see this trial": an existence oracle)."""
    world = trial_world
    add_checkins(world.engine, "P-OTHER", TODAY - dt.timedelta(days=5), [5.0, 6.0, 5.0])
    seal_default_trial(
        world, "T-OTHER", "P-OTHER", seed=5, start_date=TODAY - dt.timedelta(days=200)
    )
    answers = {}
    for name in ("clinician", "patient"):
        for trial_id in ("T-OTHER", "T-NOPE"):
            response = world.client(name).post(
                "/api/patients/P-OWN/nof1/unblind",
                json={"trial_id": trial_id},
                headers={"x-csrf-token": world.csrf(name)},
            )
            assert response.status_code == 404, response.text
            answers[name, trial_id] = response.json()["message"].replace(trial_id, "ID")
    assert len(set(answers.values())) == 1 and "P-OTHER" not in str(answers)
    with Session(world.engine) as session:
        assert session.get(NOf1TrialRow, "T-OTHER").status == "blinded"  # type: ignore[union-attr]


def test_a_taken_trial_id_is_refused_alike_whoever_holds_it_and_only_after_the_rules(
    trial_world: World,
) -> None:
    """Trial ids are unique across patients (bottle labels at the pharmacy), so a taken id is
    refused, but the refusal does not tell another patient's trial from this patient's own,
    and a design that breaks a rule says so first (no existence answer without a valid
    design)."""
    world = trial_world
    _seal(world)  # T-WEB, this patient's
    add_checkins(world.engine, "P-OTHER", TODAY - dt.timedelta(days=5), [5.0, 6.0, 5.0])
    seal_default_trial(world, "T-OTHER", "P-OTHER", seed=5, start_date=START)
    client = world.client("clinician")
    headers = {"x-csrf-token": world.csrf("clinician")}
    messages = []
    for trial_id in ("T-WEB", "T-OTHER"):
        body = {"start_date": START.isoformat(), "trial_id": trial_id}
        taken = client.post(
            "/api/patients/P-OWN/nof1/trials",
            json={**body, "detectable_effect_reviewed": True},
            headers=headers,
        )
        assert taken.status_code == 409, taken.text
        messages.append(taken.json()["message"].replace(trial_id, "ID"))
        never_recorded = {"outcome": "spasm_nrs", "mcid": 1.5}  # a rule of the store's
        broken = client.post(
            "/api/patients/P-OWN/nof1/trials",
            json={**body, "detectable_effect_reviewed": True, **never_recorded},
            headers=headers,
        )
        assert broken.status_code == 422, broken.text
        assert broken.json()["problems"][0]["field"] == "outcome"
    assert messages[0] == messages[1] and "P-OTHER" not in messages[1]


def _ask(world: World) -> int:
    patient = world.client("patient")
    form = {"csrf_token": world.csrf("patient"), "outcome": "fatigue_nrs", "note": "evenings"}
    assert patient.post("/patients/P-OWN/nof1/request", data=form).status_code == 303
    with Session(world.engine) as session:
        return int(session.scalar(select(NOf1RequestRow.id).order_by(NOf1RequestRow.id.desc())))


def test_a_patient_withdraws_a_request_and_may_ask_again(trial_world: World) -> None:
    """An open request no one will design would otherwise block every new one."""
    world = trial_world
    request_id = _ask(world)
    patient = world.client("patient")
    page = patient.get("/patients/P-OWN/nof1")
    assert "Withdraw this request" in page.text
    close = f"/patients/P-OWN/nof1/requests/{request_id}/close"
    short = patient.post(
        close,
        data={"csrf_token": world.csrf("patient"), "reason": "no"},
        headers={"accept": "application/json"},
    )
    assert short.status_code == 422 and short.json()["problems"][0]["field"] == "reason"
    done = patient.post(close, data={"csrf_token": world.csrf("patient"), "reason": "moving"})
    assert done.status_code == 303 and done.headers["location"].endswith("saved=withdrawn")
    page = patient.get("/patients/P-OWN/nof1")
    assert "was withdrawn: moving" in page.text and "Withdraw this request" not in page.text
    rows = [r for r in _audit(world, "update") if r.table_name == "nof1_requests"]
    assert [(r.after, r.reason) for r in rows] == [({"status": "withdrawn"}, "moving")]
    again = patient.post(
        close,
        data={"csrf_token": world.csrf("patient"), "reason": "moving"},
        headers={"accept": "application/json"},
    )
    assert again.status_code == 422 and "already withdrawn" in again.text
    assert _ask(world) != request_id  # a new request is taken


def test_the_clinician_declines_a_request_through_the_api(trial_world: World) -> None:
    world = trial_world
    request_id = _ask(world)
    clinician = world.client("clinician")
    headers = {"x-csrf-token": world.csrf("clinician")}
    path = f"/api/patients/P-OWN/nof1/requests/{request_id}/close"
    assert clinician.post(path, json={"reason": "ok", "x": 1}, headers=headers).status_code == 422
    other = f"/api/patients/P-OWN/nof1/requests/{request_id + 1000}/close"
    assert clinician.post(other, json={"reason": "not now"}, headers=headers).status_code == 404
    declined = clinician.post(path, json={"reason": "relapse first"}, headers=headers)
    assert declined.status_code == 200, declined.text
    body = declined.json()
    assert body["status"] == "declined" and body["closed_reason"] == "relapse first"
    page = world.client("patient").get("/patients/P-OWN/nof1")
    assert "was declined: relapse first" in page.text


def test_another_patients_request_looks_missing(trial_world: World) -> None:
    """A request of P-OTHER, named under P-OWN's path by its own clinician: 404, unchanged."""
    from ldn_outcomes.domain.access import Principal, Role
    from ldn_outcomes.errors import NotFound, PermissionDenied
    from ldn_outcomes.store.nof1_requests import add_request, close_request

    world = trial_world
    other = Principal(99, "other@example.org", Role.PATIENT, patient_id="P-OTHER")
    made = add_request(world.engine, "P-OTHER", "fatigue_nrs", "", other)
    clinician = Principal(
        98, "c@example.org", Role.CLINICIAN, authorised_patients=frozenset({"P-OWN"})
    )
    with pytest.raises(NotFound):
        close_request(world.engine, "P-OWN", made.request_id, clinician, "not yours")
    with pytest.raises(PermissionDenied):  # the clinician is not cleared for P-OTHER
        close_request(world.engine, "P-OTHER", made.request_id, clinician, "not yours")
    with Session(world.engine) as session:
        assert session.get(NOf1RequestRow, made.request_id).status == "open"
