"""Browser walk through records that stay true (Playwright with Debian's Chromium).

A patient changes the LDN dose, stops LDN, checks in twice on one day (the second time the page
says it updates the first), corrects that check-in and removes it with a reason; a clinician
adds a patient with the care consent, records a relapse, enters an EDSS score and corrects its
functional systems one field each, and adds a questionnaire by picking its instrument first.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from .test_browser import (  # noqa: F401
    ARTIFACTS,
    CHROMIUM,
    SMALL_TARGETS,
    _overflow,
    browser,
    page,
    server,
    sign_in,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def test_patient_changes_dose_stops_ldn_and_corrects_a_checkin(server: str, page: object) -> None:  # noqa: F811
    p: Any = page
    today = dt.date.today()
    sign_in(p, server, "patient@demo.invalid")
    p.wait_for_url(re.compile(r"/me$"))
    p.goto(f"{server}/me/records")
    assert "keep the current timing (bedtime)" in p.inner_text("#form-change")
    p.fill("#change-change_date", (today - dt.timedelta(days=10)).isoformat())
    p.fill("#change-dose_mg", "3")
    p.click("#form-change button[type=submit]")
    p.wait_for_url(re.compile(r"saved=regimen$"))
    rows = p.inner_text("#regimen table")
    # one cell after another (a row of blocks on a phone, of columns on a wide screen)
    assert re.search(r"\b3(\.0+)? mg\s+daily, bedtime\s+[-\d]+\s+ongoing", rows), rows
    p.fill("#stop-last_day", today.isoformat())
    p.fill("#stop-stop_reason", "sleep problems")
    p.click("#form-stop button[type=submit]")
    p.wait_for_url(re.compile(r"saved=stopped$"))
    assert "ongoing" not in p.inner_text("#regimen table")
    p.screenshot(path=str(ARTIFACTS / "patient-regimen.png"), full_page=True)

    p.goto(f"{server}/me/checkin")
    p.click("label[for=f-fatigue-5]")
    p.click("#checkin-form button[type=submit]")
    p.wait_for_url(re.compile(r"/me\?saved=checkin(_updated)?$"))
    p.goto(f"{server}/me/checkin")
    assert "You already checked in today" in p.inner_text("main")
    p.click("label[for=f-fatigue-2]")
    p.click("#checkin-form button[type=submit]")
    p.wait_for_url(re.compile(r"/me\?saved=checkin_updated$"))
    assert "your check-in was updated" in p.inner_text("main")

    p.goto(f"{server}/me/records")
    p.click("nav[aria-label=Sections] >> text=All my records and their history")
    p.wait_for_url(re.compile(r"/patients/[^/]+/records$"))
    p.click(f"#records-questionnaires a:has-text('{today.isoformat()}: daily check-in')")
    history = p.inner_text("#history")
    assert "check-in entered again for the same day" in history
    # one field per check-in question, in words; an empty one is a skipped question
    assert "Leave empty for a question not answered" in p.inner_text("#correct-form")
    for i, answer in enumerate(["3", "", "", "", "1"]):
        p.fill(f"#f-answers\\.{i}", answer)
    p.fill("#f-reason", "tapped the wrong number")
    p.click("#correct-form button[type=submit]")
    p.wait_for_url(re.compile(r"saved=corrected$"))
    assert "tapped the wrong number" in p.inner_text("#history")
    p.fill("#remove-reason", "entered for the wrong day")
    p.click("#remove-form button[type=submit]")
    p.wait_for_url(re.compile(r"/records\?saved=removed$"))
    p.click("#records-questionnaires summary")
    assert "entered for the wrong day" in p.inner_text("#records-questionnaires details")
    p.goto(f"{server}/me")
    assert p.locator(f'#symptoms-chart circle[data-date="{today.isoformat()}"]').count() == 0
    p.screenshot(path=str(ARTIFACTS / "patient-records-history.png"), full_page=True)


def test_clinician_adds_a_patient_records_a_relapse_and_an_edss(server: str, page: object) -> None:  # noqa: F811
    p: Any = page
    today = dt.date.today()
    sign_in(p, server, "clinician@demo.invalid")
    p.wait_for_url(re.compile(r"/patients$"))
    p.click("#add-patient")
    p.fill("#f-patient_id", "BROWSER-01")
    p.fill("#f-year_of_birth", "1984")
    p.select_option("#f-sex", "female")
    p.select_option("#f-phenotype", "RRMS")
    p.fill("#f-diagnosis_date", "2015-03-01")
    p.click("#new-patient-form button[type=submit]")
    p.wait_for_url(re.compile(r"/patients/BROWSER-01\?saved=patient$"))
    p.fill("#relapse-onset_date", (today - dt.timedelta(days=4)).isoformat())
    p.select_option("#relapse-lasted_24h", "yes")
    p.select_option("#relapse-fever_or_infection", "no")
    p.select_option("#relapse-steroid_treated", "yes")
    p.check("#relapse-symptom_visual")
    p.click("#relapse-form button[type=submit]")
    p.wait_for_url(re.compile(r"saved=relapse$"))
    assert "clinician-reported" in p.inner_text("main")
    p.fill("#f-date", today.isoformat())
    p.fill("#f-score", "2.5")
    p.click("#edss-form button[type=submit]")
    p.wait_for_url(re.compile(r"saved=edss$"))
    point = p.locator(f'#edss-chart circle[data-date="{today.isoformat()}"]')
    assert point.get_attribute("data-value") == "2.5"
    p.click("#all-records")
    assert "EDSS 2.5" in p.inner_text("#records-edss")
    p.screenshot(path=str(ARTIFACTS / "clinician-new-patient.png"), full_page=True)
    # the EDSS is corrected one functional system at a time, each with its range, not as JSON
    p.click("#records-edss a:has-text('EDSS 2.5')")
    assert "JSON" not in p.inner_text("#correct-form")
    assert p.get_attribute("#f-functional_systems\\.cerebellar", "max") == "5"
    p.fill("#f-functional_systems\\.pyramidal", "2")
    p.fill("#f-reason", "pyramidal system not entered")
    p.click("#correct-form button[type=submit]")
    p.wait_for_url(re.compile(r"saved=corrected$"))
    assert "pyramidal 2" in p.inner_text(".record-values")
    # a questionnaire: the instrument is picked first, then one field per item, on a phone
    p.goto(f"{server}/patients/BROWSER-01/records")
    p.click("#new-questionnaires")
    p.click("#instrument-choice a:has-text('Fatigue Severity Scale')")
    assert "Fatigue Severity Scale (version 1)" in p.inner_text("#new-record-form")
    assert _overflow(p) == 0 and not p.evaluate(SMALL_TARGETS)
    p.fill("#f-date", today.isoformat())
    for i in range(9):
        p.fill(f"#f-answers\\.{i}", "3")
    p.click("#new-record-form button[type=submit]")
    p.wait_for_url(re.compile(r"/questionnaires/\d+\?saved=added$"))
    assert "Fatigue Severity Scale (version 1)" in p.inner_text("#correct-form")
    p.fill("#f-answers\\.0", "7")  # the total is worked out again, not a stale field
    p.fill("#f-reason", "first answer misread")
    p.click("#correct-form button[type=submit]")
    p.wait_for_url(re.compile(r"saved=corrected$"))
    assert "7, 3, 3" in p.inner_text(".record-values")
    p.screenshot(path=str(ARTIFACTS / "clinician-questionnaire-added.png"), full_page=True)
