"""Record pages: the patient and their clinician see every record with its history; whoever
may write a kind corrects it or removes it with a reason; forms are post/redirect/get."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ldn_outcomes.store.tables import EdssRow, ExposureRow, QuestionnaireRow, RelapseRow

from .conftest import World, days_ago

HTML = {"accept": "text/html"}


def _post(world: World, who: str, url: str, data: dict[str, str]):
    return world.client(who).post(url, data={**data, "csrf_token": world.csrf(who)}, headers=HTML)


def test_a_patient_corrects_and_removes_their_relapse_with_its_history(world: World) -> None:
    page = world.client("patient").get("/patients/P-OWN/relapses/1", headers=HTML)
    assert page.status_code == 200 and "Correct this record" in page.text
    onset = days_ago(100).isoformat()
    no_reason = _post(world, "patient", "/patients/P-OWN/relapses/1/correct", {"onset_date": onset})
    assert no_reason.status_code == 422 and "say why" in no_reason.text
    response = _post(
        world,
        "patient",
        "/patients/P-OWN/relapses/1/correct",
        {
            "onset_date": onset,
            "severity": "moderate",
            "lasted_24h": "yes",
            "confirmed_by": "patient",
            "functional_systems": "[]",
            "reason": "forgot the severity",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/patients/P-OWN/relapses/1?saved=corrected"
    page = world.client("clinician").get("/patients/P-OWN/relapses/1", headers=HTML)
    assert "forgot the severity" in page.text and "severity: — → moderate" in page.text
    removed = _post(
        world, "patient", "/patients/P-OWN/relapses/1/remove", {"reason": "it was a cold"}
    )
    assert removed.status_code == 303
    with Session(world.engine) as session:
        row = session.scalars(select(RelapseRow).where(RelapseRow.id == 1)).one()
    assert row.removed_at is not None and row.removed_reason == "it was a cold"
    listing = world.client("patient").get("/patients/P-OWN/records", headers=HTML)
    assert "it was a cold" in listing.text
    timeline = world.client("clinician").get("/patients/P-OWN?format=json")
    assert timeline.json()["records"]["relapses"] == []


def test_a_relapses_functional_systems_are_check_boxes_not_json(world: World) -> None:
    """A person ticks the systems affected; nobody types ["visual"] on a phone."""
    page = world.client("patient").get("/patients/P-OWN/relapses/1", headers=HTML).text
    assert "Functional systems affected" in page and "(JSON)" not in page
    assert 'name="functional_systems.visual"' in page and 'type="checkbox"' in page
    response = _post(
        world,
        "patient",
        "/patients/P-OWN/relapses/1/correct",
        {
            "onset_date": days_ago(100).isoformat(),
            "confirmed_by": "patient",
            "functional_systems.visual": "on",
            "functional_systems.sensory": "on",
            "reason": "forgot the eyes",
        },
    )
    assert response.status_code == 303, response.text
    with Session(world.engine) as session:
        row = session.scalars(select(RelapseRow).where(RelapseRow.id == 1)).one()
        assert set(row.functional_systems) == {"visual", "sensory"}
    again = world.client("patient").get("/patients/P-OWN/relapses/1", headers=HTML).text
    assert re.search(r'name="functional_systems\.visual" checked', again)
    assert not re.search(r'name="functional_systems\.bowel_bladder" checked', again)


def test_only_clinicians_correct_an_edss(world: World) -> None:
    page = world.client("patient").get("/patients/P-OWN/edss/1", headers=HTML)
    assert page.status_code == 200 and "Correct this record" not in page.text
    refused = _post(
        world, "patient", "/patients/P-OWN/edss/1/correct", {"score": "3", "reason": "x y z"}
    )
    assert refused.status_code == 403
    ok = _post(
        world,
        "clinician",
        "/patients/P-OWN/edss/1/correct",
        {"date": days_ago(300).isoformat(), "score": "3.0", "functional_systems": "{}",
         "reason": "re-scored"},
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    with Session(world.engine) as session:
        assert session.scalars(select(EdssRow.score).where(EdssRow.id == 1)).one() == 3.0


def test_a_second_checkin_the_same_day_updates_the_first_and_says_so(world: World) -> None:
    first = _post(world, "patient", "/me/checkin", {"fatigue": "6"})
    assert first.headers["location"] == "/me?saved=checkin"
    form = world.client("patient").get("/me/checkin", headers=HTML)
    assert "You already checked in today" in form.text and 'value="6" checked' in form.text
    again = _post(world, "patient", "/me/checkin", {"fatigue": "4"})
    assert again.headers["location"] == "/me?saved=checkin_updated"
    page = world.client("patient").get(again.headers["location"], headers=HTML)
    assert "your check-in was updated" in page.text
    with Session(world.engine) as session:
        rows = session.scalars(
            select(QuestionnaireRow).where(QuestionnaireRow.instrument_id == "checkin")
        ).all()
    assert [r.answers[0] for r in rows] == [4.0]


def test_a_checkin_is_corrected_one_question_at_a_time_not_as_json(world: World) -> None:
    """Each check-in question is a number field named in words; an empty one is skipped (None,
    never 0); an answer out of range is refused by the first item's field, nothing stored."""
    _post(world, "patient", "/me/checkin", {"fatigue": "6", "spasms": "2"})
    with Session(world.engine) as session:
        row = session.scalars(
            select(QuestionnaireRow).where(QuestionnaireRow.instrument_id == "checkin")
        ).one()
    url = f"/patients/P-OWN/questionnaires/{row.id}"
    page = world.client("patient").get(url, headers=HTML).text
    assert 'name="answers.0"' in page and "(JSON" not in page
    assert re.search(r'name="answers\.0" value="6"', page)
    count = len(re.findall(r'name="answers\.\d+"', page))
    fixed = {"date": days_ago(0).isoformat(), "instrument_id": "checkin", "reason": "typo"}
    fixed["instrument_version"] = row.instrument_version
    answers = {f"answers.{i}": "" for i in range(count)}
    refused = _post(world, "patient", f"{url}/correct", {**fixed, **answers, "answers.0": "11"})
    assert refused.status_code == 422 and 'id="f-answers.0-error"' in refused.text
    done = _post(world, "patient", f"{url}/correct", {**fixed, **answers, "answers.0": "5"})
    assert done.status_code == 303, done.text
    with Session(world.engine) as session:
        stored = session.get(QuestionnaireRow, row.id)
        assert stored is not None and list(stored.answers) == [5.0] + [None] * (count - 1)


def test_the_patient_changes_the_dose_and_stops_ldn_from_the_records_page(world: World) -> None:
    page = world.client("patient").get("/me/records", headers=HTML)
    assert "Change my LDN dose" in page.text and "keep the current timing" in page.text
    changed = _post(
        world,
        "patient",
        "/me/records/regimen/change",
        {"exposure_id": "1", "change_date": days_ago(20).isoformat(), "dose_mg": "3"},
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/me/records?saved=regimen"
    stopped = _post(
        world,
        "patient",
        "/me/records/regimen/stop",
        {"exposure_id": "2", "last_day": days_ago(5).isoformat(), "stop_reason": "sleep"},
    )
    assert stopped.status_code == 303
    with Session(world.engine) as session:
        rows = session.scalars(select(ExposureRow).order_by(ExposureRow.id)).all()
    assert [(r.stop_date, r.stop_reason) for r in rows] == [
        (days_ago(21), "dose change"),
        (days_ago(5), "sleep"),
    ]
    assert str(rows[1].dose_mg).rstrip("0").rstrip(".") == "3"
    bad = _post(
        world,
        "patient",
        "/me/records/regimen/stop",
        {"exposure_id": "2", "last_day": days_ago(1).isoformat()},
    )
    assert bad.status_code == 422 and "already stopped" in bad.text


def test_regimen_form_errors_sit_on_the_field_the_user_filled(world: World) -> None:
    """The stored exposure's start and stop dates are checked, but the error is shown on the
    form's own field (change_date, last_day), not on a field the form does not have."""
    early_change = _post(
        world,
        "patient",
        "/me/records/regimen/change",
        {"exposure_id": "1", "change_date": "2000-01-01", "dose_mg": "3"},
    )
    assert early_change.status_code == 422
    assert 'id="change-change_date-error"' in early_change.text
    early_stop = _post(
        world,
        "patient",
        "/me/records/regimen/stop",
        {"exposure_id": "1", "last_day": "2000-01-01"},
    )
    assert early_stop.status_code == 422
    assert 'id="stop-last_day-error"' in early_stop.text, early_stop.text


def test_the_clinicians_day_add_a_patient_record_a_relapse_regimen_keeps_timing(
    world: World,
) -> None:
    form = world.client("clinician").get("/clinic/patients/new", headers=HTML)
    assert form.status_code == 200 and "Care consent given on" in form.text
    missing = _post(
        world,
        "clinician",
        "/clinic/patients/new",
        {"patient_id": "P-NEW", "year_of_birth": "1985", "sex": "female", "phenotype": "RRMS"},
    )
    assert missing.status_code == 422 and "care consent" in missing.text
    added = _post(
        world,
        "clinician",
        "/clinic/patients/new",
        {
            "patient_id": "P-NEW",
            "year_of_birth": "1985",
            "sex": "female",
            "phenotype": "RRMS",
            "care_consent_date": days_ago(0).isoformat(),
        },
    )
    assert added.status_code == 303 and added.headers["location"] == "/patients/P-NEW?saved=patient"
    assert world.client("clinician").get("/patients/P-NEW", headers=HTML).status_code == 200
    relapse = _post(
        world,
        "clinician",
        "/patients/P-NEW/relapses",
        {
            "onset_date": days_ago(3).isoformat(),
            "lasted_24h": "yes",
            "fever_or_infection": "no",
            "steroid_treated": "yes",
            "symptom_visual": "on",
        },
    )
    assert relapse.status_code == 303, relapse.text
    with Session(world.engine) as session:
        row = session.scalars(select(RelapseRow).where(RelapseRow.patient_id == "P-NEW")).one()
    assert row.confirmed_by == "clinician" and row.functional_systems == ["visual"]
    assert (row.lasted_24h, row.fever_or_infection, row.steroid_treated) == (True, False, True)
    # a bedtime regimen: the change form offers to keep bedtime, not a silent "morning"
    from ldn_outcomes.domain.models import Exposure
    from ldn_outcomes.store.uow import UnitOfWork

    with UnitOfWork(world.engine, actor="t") as uow:
        uow.registry.add(
            Exposure(
                patient_id="P-NEW",
                drug_name="naltrexone",
                drug_class="ldn",  # type: ignore[arg-type]
                dose_mg="1.5",  # type: ignore[arg-type]
                time_of_day="bedtime",  # type: ignore[arg-type]
                start_date=days_ago(40),
            )
        )
        uow.commit()
    page = world.client("clinician").get("/patients/P-NEW", headers=HTML)
    assert "keep the current timing (bedtime)" in page.text
    exposure_id = re.search(r'name="exposure_id"[^>]*>\s*<option value="(\d+)"', page.text)
    assert exposure_id is not None
    changed = _post(
        world,
        "clinician",
        "/patients/P-NEW/regimen",
        {
            "exposure_id": exposure_id.group(1),
            "change_date": days_ago(10).isoformat(),
            "dose_mg": "3",
            "time_of_day": "",
        },
    )
    assert changed.status_code == 303, changed.text
    with Session(world.engine) as session:
        rows = session.scalars(
            select(ExposureRow).where(ExposureRow.patient_id == "P-NEW").order_by(ExposureRow.id)
        ).all()
    assert [r.time_of_day for r in rows] == ["bedtime", "bedtime"]
    stopped = _post(
        world,
        "clinician",
        "/patients/P-NEW/regimen/stop",
        {"exposure_id": str(rows[1].id), "last_day": days_ago(1).isoformat()},
    )
    assert stopped.status_code == 303


def test_any_kind_can_be_added_from_the_records_page(world: World) -> None:
    listing = world.client("clinician").get("/patients/P-OWN/records", headers=HTML)
    assert 'href="/patients/P-OWN/labs/new"' in listing.text
    patient_listing = world.client("patient").get("/patients/P-OWN/records", headers=HTML)
    assert 'href="/patients/P-OWN/labs/new"' not in patient_listing.text
    form = world.client("clinician").get("/patients/P-OWN/labs/new", headers=HTML)
    assert form.status_code == 200 and "LOINC code" in form.text
    bad = _post(world, "clinician", "/patients/P-OWN/labs/new", {"loinc_code": "x"})
    assert bad.status_code == 422
    added = _post(
        world,
        "clinician",
        "/patients/P-OWN/labs/new",
        {"date": days_ago(2).isoformat(), "loinc_code": "1742-6", "value": "31", "unit": "U/L"},
    )
    assert added.status_code == 303 and added.headers["location"].endswith("?saved=added")
    page = world.client("patient").get(added.headers["location"].split("?")[0], headers=HTML)
    assert "31" in page.text and "create" in page.text
    assert _post(world, "patient", "/patients/P-OWN/labs/new", {}).status_code == 403


def test_a_long_list_is_paged_fifty_at_a_time_latest_first(world: World) -> None:
    import datetime as _dt
    import re as _re

    from ldn_outcomes.web.routes.record_pages import PER_PAGE

    from .nof1_world import add_checkins

    first_day = _dt.date.today() - _dt.timedelta(days=130)
    add_checkins(world.engine, "P-OWN", first_day, [5.0] * 120)
    client = world.client("patient")
    link = _re.compile(r'href="/patients/P-OWN/questionnaires/\d+">(\d{4}-\d\d-\d\d)')

    page = client.get("/patients/P-OWN/records")
    assert page.status_code == 200
    days = link.findall(page.text)
    total = int(_re.search(r"Showing 1–50 of (\d+)", page.text).group(1))  # type: ignore[union-attr]
    assert len(days) == PER_PAGE == 50 and total >= 120
    assert days == sorted(days, reverse=True)  # latest first
    assert "kind=questionnaires&amp;page=2" in page.text and 'rel="prev"' not in page.text

    last = -(-total // PER_PAGE)
    end = client.get(f"/patients/P-OWN/records?kind=questionnaires&page={last}")
    old_days = link.findall(end.text)
    assert len(old_days) == total - (last - 1) * PER_PAGE
    assert min(old_days) == first_day.isoformat() and max(old_days) < min(days)
    assert 'rel="prev"' in end.text and 'rel="next"' not in end.text
    assert client.get("/patients/P-OWN/records?kind=nonsense").status_code == 422
    assert client.get("/patients/P-OWN/records?kind=questionnaires&page=0").status_code == 422
