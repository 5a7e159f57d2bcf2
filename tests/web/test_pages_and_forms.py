"""Pages and forms: good input is stored and audited with the acting account; bad input shows
a message next to the field (pages) or a 422 naming the field (API), and stores nothing."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ldn_outcomes.store.tables import (
    AdverseEventRow,
    AuditRow,
    ConsentRow,
    EdssRow,
    ExposureRow,
    QuestionnaireRow,
    RelapseRow,
)

from .conftest import TODAY, World

HTML = {"accept": "text/html"}


def _count(world: World, table: type, **where: object) -> int:
    with Session(world.engine) as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return int(session.scalar(query) or 0)


def _last_audit(world: World, table: str) -> AuditRow:
    with Session(world.engine) as session:
        row = session.scalars(
            select(AuditRow).where(AuditRow.table_name == table).order_by(AuditRow.id.desc())
        ).first()
        assert row is not None
        session.expunge(row)
        return row


def _post(world: World, who: str, url: str, data: dict[str, str]):
    return world.client(who).post(url, data={**data, "csrf_token": world.csrf(who)}, headers=HTML)


def test_daily_checkin_is_stored_audited_and_charted(world: World) -> None:
    response = _post(
        world, "patient", "/me/checkin", {"fatigue": "6", "spasms": "3", "vivid_dreams": "1"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/me?saved=checkin"
    with Session(world.engine) as session:
        row = session.scalars(
            select(QuestionnaireRow).where(QuestionnaireRow.instrument_id == "checkin")
        ).one()
    assert row.answers == [6.0, 3.0, None, 1.0, None]  # blanks stay blank, never 0
    assert row.date == TODAY
    audit = _last_audit(world, "questionnaires")
    assert audit.actor == f"account:{world.accounts['patient'].id}:patient"
    dashboard = world.client("patient").get("/me?saved=checkin", headers=HTML)
    assert f'data-date="{TODAY.isoformat()}" data-value="6"' in dashboard.text
    assert "Check-in saved" in dashboard.text


def test_checkin_bad_input_shows_the_field_and_stores_nothing(world: World) -> None:
    response = _post(world, "patient", "/me/checkin", {"fatigue": "11", "spasms": "2"})
    assert response.status_code == 422
    assert 'id="f-fatigue-error"' in response.text and "outside 0–10" in response.text
    assert 'value="2" checked' in response.text  # what was entered is kept
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    response = _post(world, "patient", "/me/checkin", {"fatigue": "2", "date": future})
    assert response.status_code == 422 and "in the future" in response.text
    empty = _post(world, "patient", "/me/checkin", {})
    assert empty.status_code == 422 and "answer at least one question" in empty.text
    assert _count(world, QuestionnaireRow) == 0


def test_checkin_api_422_names_the_field(world: World) -> None:
    client = world.client("patient")
    headers = {"x-csrf-token": world.csrf("patient")}
    bad = client.post("/api/patients/P-OWN/checkins", json={"fatigue": 12}, headers=headers)
    assert bad.status_code == 422
    body = bad.json()
    assert body["error"] == "ValidationFailed"
    assert body["problems"][0]["field"] == "fatigue"
    assert _count(world, QuestionnaireRow) == 0
    good = client.post(
        "/api/patients/P-OWN/checkins", json={"fatigue": 4, "dose_taken": 1}, headers=headers
    )
    assert good.status_code == 201 and good.json()["answers"] == [4.0, None, None, None, 1.0]


def test_api_create_patient_422_names_the_field(world: World) -> None:
    client = world.client("clinician")
    headers = {"x-csrf-token": world.csrf("clinician")}
    bad = client.post(
        "/api/patients",
        json={"patient_id": "P-NEW", "year_of_birth": 1850, "phenotype": "RRMS"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "year_of_birth"
    ok = client.post(
        "/api/patients",
        json={
            "patient_id": "P-NEW",
            "year_of_birth": 1990,
            "phenotype": "RRMS",
            "care_consent_date": TODAY.isoformat(),
        },
        headers=headers,
    )
    assert ok.status_code == 201
    assert client.get("/api/patients/P-NEW").status_code == 200  # linked, consent active


def test_opioid_with_ldn_is_refused_at_entry(world: World) -> None:
    before = _count(world, ExposureRow)
    response = _post(
        world,
        "patient",
        "/me/records/exposure",
        {"drug_name": "tramadol", "drug_class": "opioid", "start_date": TODAY.isoformat()},
    )
    assert response.status_code == 422
    assert 'id="exposure-drug_name-error"' in response.text and "tramadol" in response.text
    assert "contraindicated" in response.text
    assert _count(world, ExposureRow) == before


def test_ldn_dose_outside_low_dose_range_is_stored_with_a_note(world: World) -> None:
    response = _post(
        world,
        "patient",
        "/me/records/exposure",
        {
            "drug_name": "naltrexone",
            "drug_class": "ldn",
            "dose_mg": "50",
            "start_date": TODAY.isoformat(),
            "stop_date": TODAY.isoformat(),  # P-OWN's 4.5 mg regimen is ongoing
        },
    )
    assert response.status_code == 303  # post/redirect/get, the note rebuilt from the record
    response = world.client("patient").get(response.headers["location"], headers=HTML)
    assert response.status_code == 200 and "above the low-dose range" in response.text


def test_a_second_ongoing_ldn_regimen_is_refused_on_the_form(world: World) -> None:
    response = _post(
        world,
        "patient",
        "/me/records/exposure",
        {"drug_name": "naltrexone", "drug_class": "ldn", "dose_mg": "3", "start_date": TODAY},
    )
    assert response.status_code == 422
    assert "already has an ongoing LDN regimen" in response.text


def test_ldn_without_dose_is_refused(world: World) -> None:
    response = _post(
        world,
        "patient",
        "/me/records/exposure",
        {"drug_name": "naltrexone", "drug_class": "ldn", "start_date": TODAY.isoformat()},
    )
    assert response.status_code == 422 and 'id="exposure-dose_mg-error"' in response.text


def test_side_effect_entry_shows_the_opioid_check(world: World) -> None:
    page = world.client("patient").get("/me/records", headers=HTML)
    assert "Opioid interaction check" in page.text
    response = _post(
        world,
        "patient",
        "/me/records/side-effect",
        {
            "term": "nausea",
            "onset_date": TODAY.isoformat(),
            "severity": "mild",
            "other_medicines": "paracetamol, codeine",
        },
    )
    assert response.status_code == 303  # post/redirect/get: a reload does not store it twice
    response = world.client("patient").get(response.headers["location"], headers=HTML)
    assert response.status_code == 200 and "codeine" in response.text
    assert "contraindicated" in response.text
    assert _count(world, AdverseEventRow) == 1
    bad = _post(
        world,
        "patient",
        "/me/records/side-effect",
        {"term": "bad-term", "onset_date": TODAY.isoformat(), "severity": "mild"},
    )
    assert bad.status_code == 422 and 'id="se-term-error"' in bad.text
    assert _count(world, AdverseEventRow) == 1


def test_relapse_entry_and_clinician_confirmation(world: World) -> None:
    bad = _post(
        world,
        "patient",
        "/me/records/relapse",
        {
            "onset_date": TODAY.isoformat(),
            "recovery_date": (TODAY - dt.timedelta(days=5)).isoformat(),
        },
    )
    assert bad.status_code == 422 and "before onset_date" in bad.text
    ok = _post(
        world,
        "patient",
        "/me/records/relapse",
        {"onset_date": TODAY.isoformat(), "lasted_24h": "yes"},
    )
    assert ok.status_code == 303
    with Session(world.engine) as session:
        relapse = session.scalars(select(RelapseRow).where(RelapseRow.onset_date == TODAY)).one()
    assert relapse.lasted_24h is True and relapse.fever_or_infection is None
    done = _post(
        world, "clinician", "/patients/P-OWN/relapses/confirm", {"relapse_id": str(relapse.id)}
    )
    assert done.status_code == 303
    assert _count(world, RelapseRow, confirmed_by="clinician") == 1
    assert _last_audit(world, "relapses").actor.endswith(":clinician")
    other = _post(world, "clinician", "/patients/P-OWN/relapses/confirm", {"relapse_id": "999"})
    assert other.status_code == 404


def test_clinician_edss_entry(world: World) -> None:
    bad = _post(
        world, "clinician", "/patients/P-OWN/edss", {"date": TODAY.isoformat(), "score": "0.5"}
    )
    assert bad.status_code == 422 and 'id="f-score-error"' in bad.text
    assert "there is no 0.5" in bad.text
    fs = _post(
        world,
        "clinician",
        "/patients/P-OWN/edss",
        {"date": TODAY.isoformat(), "score": "3", "fs_visual": "9"},
    )
    assert fs.status_code == 422 and 'id="f-fs_visual-error"' in fs.text
    assert _count(world, EdssRow, patient_id="P-OWN") == 1
    ok = _post(
        world,
        "clinician",
        "/patients/P-OWN/edss",
        {"date": TODAY.isoformat(), "score": "3.5", "fs_pyramidal": "2"},
    )
    assert ok.status_code == 303
    assert _count(world, EdssRow, patient_id="P-OWN") == 2
    page = world.client("clinician").get("/patients/P-OWN", headers=HTML)
    assert f'data-date="{TODAY.isoformat()}" data-value="3.5"' in page.text


def test_clinician_regimen_change_splits_the_exposure(world: World) -> None:
    with Session(world.engine) as session:
        current = session.scalars(
            select(ExposureRow).where(ExposureRow.patient_id == "P-OWN")
        ).one()
    response = _post(
        world,
        "clinician",
        "/patients/P-OWN/regimen",
        {"exposure_id": str(current.id), "change_date": TODAY.isoformat(), "dose_mg": "3"},
    )
    assert response.status_code == 303
    with Session(world.engine) as session:
        rows = session.scalars(
            select(ExposureRow)
            .where(ExposureRow.patient_id == "P-OWN")
            .order_by(ExposureRow.start_date)
        ).all()
    assert [float(r.dose_mg) for r in rows] == [4.5, 3.0]
    assert rows[0].stop_date == TODAY - dt.timedelta(days=1) and rows[1].stop_date is None
    bad = _post(
        world,
        "clinician",
        "/patients/P-OWN/regimen",
        {"exposure_id": "0", "change_date": TODAY.isoformat(), "dose_mg": "3"},
    )
    assert bad.status_code == 422 and 'id="change-exposure_id-error"' in bad.text


def test_consent_withdrawal_closes_the_record_to_the_clinician(world: World) -> None:
    clinician = world.client("clinician")
    assert clinician.get("/api/patients/P-OWN").status_code == 200
    _post(world, "patient", "/me/consents", {"scope": "care", "action": "withdraw"})
    assert clinician.get("/api/patients/P-OWN").status_code == 403
    listing = clinician.get("/patients", headers=HTML)
    assert "record closed" in listing.text
    _post(world, "patient", "/me/consents", {"scope": "care", "action": "give"})
    # given again today: active again (given_date <= today)
    assert clinician.get("/api/patients/P-OWN").status_code == 200
    assert _count(world, ConsentRow, patient_id="P-OWN", scope="care") == 2


def test_questionnaire_is_scored_and_stored(world: World) -> None:
    page = world.client("patient").get("/me/questionnaires/nrs-fatigue", headers=HTML)
    assert page.status_code == 200 and "<label" in page.text
    response = _post(world, "patient", "/me/questionnaires/nrs-fatigue", {"item1": "7"})
    assert response.status_code == 303
    with Session(world.engine) as session:
        row = session.scalars(select(QuestionnaireRow)).one()
    assert row.instrument_id == "nrs-fatigue" and row.total == 7.0
    blank = _post(world, "patient", "/me/questionnaires/nrs-fatigue", {})
    assert blank.status_code == 422 and "refusing to score" in blank.text
    edss = world.client("patient").get("/me/questionnaires/edss", headers=HTML)
    assert edss.status_code == 404  # clinician-rated, not a self-report


def test_every_input_has_a_label(world: World) -> None:
    import re

    pages = [
        ("patient", "/me/checkin"),
        ("patient", "/me/records"),
        ("patient", "/me/questionnaires/fss"),
        ("patient", "/account"),
        ("clinician", "/patients/P-OWN"),
        ("admin", "/admin/accounts"),
        ("admin", "/admin/sites"),
        (None, "/login"),
    ]
    for who, url in pages:
        html = world.client(who).get(url, headers=HTML).text
        if who is not None:  # every form carries this session's synchronizer token
            forms = html.count("<form")
            tokens = html.count(f'name="csrf_token" value="{world.csrf(who)}"')
            assert forms == tokens, f"{url}: {forms} forms, {tokens} with the CSRF token"
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
            assert input_id in labelled or input_id == "q", f"{url}: #{input_id} has no label"
        assert not re.search(
            r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*\bid=)', html
        ), url


def test_summary_and_public_pages(world: World) -> None:
    summary = world.client("patient").get("/me/summary", headers=HTML)
    assert summary.status_code == 200 and "Summary for my doctor" in summary.text
    assert "naltrexone 4.5" in summary.text
    figures = world.client(None).get("/figures?format=json").json()
    assert figures["patients"] is None  # one research-consented patient: suppressed


def test_admin_creates_and_links_accounts(world: World) -> None:
    bad = _post(
        world,
        "admin",
        "/admin/accounts",
        {"email": "x", "role": "patient", "password": "long enough pass"},
    )
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.text
    ok = _post(
        world,
        "admin",
        "/admin/accounts",
        {"email": "new@example.org", "role": "clinician", "password": "long enough pass"},
    )
    assert ok.status_code == 303
    linked = _post(
        world,
        "admin",
        "/admin/accounts/link",
        {"email": "new@example.org", "patient_id": "P-OTHER"},
    )
    assert linked.status_code == 303
    assert _last_audit(world, "care_links").actor.endswith(":admin")
    site = _post(
        world, "admin", "/admin/sites", {"site_id": "S1", "name": "Clinic", "country": "gb"}
    )
    assert site.status_code == 303


def test_outcome_reports_come_from_the_analysis_engine(world: World) -> None:
    research = world.client("researcher").get("/research/outcomes", headers=HTML)
    assert research.status_code in (200, 422)
    if research.status_code == 200:
        # shown inside the site layout: the site's stylesheet, no inline styles
        assert "style-src 'self'" in research.headers["content-security-policy"]
        assert "unsafe-inline" not in research.headers["content-security-policy"]
        assert "script-src" not in research.headers["content-security-policy"]
        assert "<script" not in research.text and "id=adverse_events" not in research.text
        assert "id=after_stopping" not in research.text and "id=combination" not in research.text
    clinic = world.client("clinician").get("/clinic/analysis/report?format=json")
    assert clinic.status_code in (200, 422)
    analysis = world.client("clinician").get("/clinic/analysis?format=json").json()
    assert [p["patient_id"] for p in analysis["patients"]] == ["P-OWN"]
    assert analysis["patients"][0]["on_ldn"] is True and analysis["patients"][0]["relapses"] == 1


def test_clinic_report_without_eligible_patients_says_no_data(world: World) -> None:
    """One linked patient, nobody eligible for matching: never "All bias checks passed" and
    no chart with NaN coordinates."""
    report = world.client("clinician").get("/clinic/analysis/report", headers=HTML)
    assert report.status_code in (200, 422)
    assert "All bias checks passed" not in report.text
    assert not re.search(r'="nan"|="-?nan\b|\bnan,', report.text.lower())


def test_an_old_recorded_overlap_does_not_block_other_medicines(world: World) -> None:
    """Imported history may hold an opioid overlapping LDN; only new overlaps are refused."""
    from sqlalchemy import insert

    from ldn_outcomes.store.tables import ExposureRow

    # The store now refuses such an overlap at entry, so plant it as data written before the
    # rule existed (or loaded through the column-oriented bulk path).
    with world.engine.begin() as connection:
        connection.execute(
            insert(ExposureRow).values(
                patient_id="P-OWN",
                drug_name="codeine",
                drug_class="opioid",
                frequency="daily",
                time_of_day="unknown",
                start_date=TODAY - dt.timedelta(days=150),
                stop_date=TODAY - dt.timedelta(days=140),
            )
        )
    ok = _post(
        world,
        "patient",
        "/me/records/exposure",
        {"drug_name": "vitamin D", "drug_class": "supplement", "start_date": TODAY.isoformat()},
    )
    assert ok.status_code == 303
    refused = _post(
        world,
        "patient",
        "/me/records/exposure",
        {"drug_name": "morphine", "drug_class": "opioid", "start_date": TODAY.isoformat()},
    )
    assert refused.status_code == 422 and "morphine" in refused.text


def test_patient_api_with_every_edss_inside_a_relapse_window(world: World) -> None:
    """Regression: the only EDSS 15 days after a relapse crashed the CDW rule (HTTP 500)."""
    from ldn_outcomes.domain.models import Relapse
    from ldn_outcomes.domain.validation import parse_record
    from ldn_outcomes.store.uow import UnitOfWork

    onset = (dt.date.today() - dt.timedelta(days=45)).isoformat()
    with UnitOfWork(world.engine, actor="test") as uow:
        relapse = {
            "patient_id": "P-OTHER",
            "onset_date": onset,
            "lasted_24h": True,
            "fever_or_infection": False,
        }
        uow.registry.add(parse_record(Relapse, relapse))
        uow.commit()
    response = world.client("clinician2").get("/api/patients/P-OTHER")
    assert response.status_code == 200
    assert response.json()["clinical"]["progression"]["events"] == []
