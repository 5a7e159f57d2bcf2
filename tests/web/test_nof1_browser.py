"""Browser test of a personal trial, walked as its four people do it in Chromium: the patient
asks for a trial, the clinician previews the design (its smallest detectable effect shown
before sealing) and seals it for a pharmacy, the pharmacy prints the bottle sheet, the patient
sees the blinded schedule, and after the last period the clinician unblinds and reads the
analysis.

The trial is dated in the past (it began 200 days ago over a diary the patient already kept)
so that it has ended when the test runs: unblinding is refused until the last period is over.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, migrate
from ldn_outcomes.store.db import make_engine

from .conftest import PASSWORD, make_world
from .nof1_world import add_checkins, add_pharmacy, seal_default_trial
from .test_browser import ARTIFACTS, LAUNCH_ARGS, PHONE, WIDE_TABLES, _overflow, serve

CHROMIUM = Path(os.environ.get("LDN_CHROMIUM", "/usr/bin/chromium"))
TODAY = dt.date.today()
TRIAL_START = TODAY - dt.timedelta(days=200)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Chromium (set LDN_CHROMIUM to its path)"
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from argon2 import PasswordHasher

    from ldn_outcomes.web.app import create_app

    saved = accounts.PASSWORD_HASHER
    accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('nof1') / 'trial.sqlite3'}")
    migrate.upgrade(engine)
    settings = Settings(mode="test", secret_key="browser-nof1-secret", min_cell_size=5)
    world = make_world(engine, settings, passwords=True)
    add_pharmacy(world, "pharmacy", password=PASSWORD)
    rng = np.random.default_rng(21)
    diary = np.clip(np.rint(6 + rng.normal(0, 1.0, 195)), 0, 10)
    add_checkins(engine, "P-OWN", TRIAL_START - dt.timedelta(days=20), [float(v) for v in diary])
    # Another patient's trial, running today, for the phone test of stopping a trial early.
    add_checkins(engine, "P-OTHER", TODAY - dt.timedelta(days=40), [5.0] * 40)
    seal_default_trial(
        world, "T-PHONE", "P-OTHER", seed=8, start_date=TODAY - dt.timedelta(days=10)
    )
    try:
        with serve(create_app(settings, engine)) as url:
            yield url
    finally:
        engine.dispose()
        accounts.PASSWORD_HASHER = saved


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        instance.close()


def _signed_in(browser: object, base: str, email: str) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(lambda url: "/login" not in url)  # the sign-in POST has landed
    return page


def test_request_design_sheet_schedule_unblind_analysis(server: str, browser: object) -> None:
    # 1. The patient asks, from the navigation.
    patient = _signed_in(browser, server, "patient@example.org")
    patient.click("nav a:has-text('My trial')")  # type: ignore[attr-defined]
    assert patient.locator("details[open] summary:has-text('Ask my clinician')").count()  # type: ignore
    patient.select_option("#request-outcome", "fatigue_nrs")  # type: ignore[attr-defined]
    patient.fill("#request-note", "worse in the evenings")  # type: ignore[attr-defined]
    patient.click("button:has-text('Ask for a trial')")  # type: ignore[attr-defined]
    patient.wait_for_url(re.compile(r"/patients/P-OWN/nof1\?saved=request$"))  # type: ignore
    assert "Trial requested on" in patient.inner_text("main")  # type: ignore[attr-defined]

    # 2. The clinician finds the request, previews the design and seals it for the pharmacy.
    clinician = _signed_in(browser, server, "clinician@example.org")
    clinician.click("nav a:has-text('Personal trials')")  # type: ignore[attr-defined]
    assert "worse in the evenings" in clinician.inner_text("main")  # type: ignore
    clinician.click("a:has-text('design it')")  # type: ignore[attr-defined]
    clinician.fill("#start_date", TRIAL_START.isoformat())  # type: ignore[attr-defined]
    clinician.click("button:has-text('Preview the design')")  # type: ignore[attr-defined]
    effect = clinician.inner_text("#detectable-effect")  # type: ignore[attr-defined]
    assert re.search(r"Smallest detectable effect: \d+\.\d\d points", effect), effect
    clinician.screenshot(path=str(ARTIFACTS / "nof1-design-preview.png"), full_page=True)  # type: ignore
    clinician.fill("#trial_id", "T-BROWSER")  # type: ignore[attr-defined]
    clinician.click("button:has-text('Seal this design')")  # type: ignore[attr-defined]
    clinician.wait_for_url(re.compile(r"/patients/P-OWN/nof1\?saved=trial$"))  # type: ignore

    # 3. The pharmacy prints the bottle sheet of the trial assigned to it.
    pharmacy = _signed_in(browser, server, "pharmacy@example.org")
    pharmacy.wait_for_url(re.compile(r"/pharmacy$"))  # type: ignore[attr-defined]
    pharmacy.click("a:has-text('T-BROWSER')")  # type: ignore[attr-defined]
    sheet = pharmacy.inner_text("#bottle-sheet")  # type: ignore[attr-defined]
    assert sheet.count("Naltrexone 4.5 mg capsules") == 3 and sheet.count("Placebo") == 3
    pharmacy.screenshot(path=str(ARTIFACTS / "nof1-pharmacy-sheet.png"), full_page=True)  # type: ignore

    # 4. The patient sees the blinded schedule (bottle labels only) and the unblind button.
    patient.goto(f"{server}/patients/P-OWN/nof1")  # type: ignore[attr-defined]
    main = patient.inner_text("main")  # type: ignore[attr-defined]
    assert "T-BROWSER period 1" in main and "Naltrexone" not in main and "blinded" in main
    assert "Trial requested on" not in main  # the request was answered

    # 5. The clinician unblinds (the last period has ended) and reads the analysis.
    clinician.goto(f"{server}/patients/P-OWN/nof1")  # type: ignore[attr-defined]
    clinician.click("button:has-text('Unblind trial T-BROWSER')")  # type: ignore[attr-defined]
    clinician.wait_for_url(re.compile(r"saved=unblinded$"))  # type: ignore[attr-defined]
    results = clinician.inner_text("main")  # type: ignore[attr-defined]
    assert "LDN − placebo" in results and "Randomisation test" in results
    assert clinician.locator("main svg").count() >= 1  # type: ignore[attr-defined]
    clinician.screenshot(path=str(ARTIFACTS / "nof1-analysis.png"), full_page=True)  # type: ignore

    # 6. On a phone (390x844) the chart's text renders at 12 px or more.
    clinician.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    smallest = clinician.evaluate(  # type: ignore[attr-defined]
        """() => Math.min(...[...document.querySelectorAll('main svg text')]
            .filter(t => t.getBoundingClientRect().width > 0)
            .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"""
    )
    assert 12 <= smallest < 100, f"n-of-1 chart text renders at {smallest:.1f} px on a phone"
    clinician.screenshot(path=str(ARTIFACTS / "phone-nof1-analysis.png"), full_page=True)  # type: ignore


def test_on_a_phone_a_request_is_withdrawn_and_a_running_trial_stopped(
    server: str, browser: object
) -> None:
    """At 390x844 the trial page fits the screen with its forms; the patient asks for a
    trial and withdraws the request, then stops the running trial, each with a reason."""
    patient = _signed_in(browser, server, "patient2@example.org")
    patient.set_viewport_size(PHONE)  # type: ignore[attr-defined]
    patient.goto(f"{server}/patients/P-OTHER/nof1")  # type: ignore[attr-defined]
    summary = patient.locator("summary:has-text('Ask my clinician')")  # type: ignore
    if not summary.locator("xpath=..").get_attribute("open"):
        summary.click()
    patient.select_option("#request-outcome", "fatigue_nrs")  # type: ignore[attr-defined]
    patient.click("button:has-text('Ask for a trial')")  # type: ignore[attr-defined]
    patient.wait_for_url(re.compile(r"saved=request$"))  # type: ignore[attr-defined]
    patient.click("summary:has-text('Withdraw this request')")  # type: ignore[attr-defined]
    patient.fill("input[id^=close-reason-]", "changed my mind")  # type: ignore[attr-defined]
    patient.click("button:has-text('Withdraw the request')")  # type: ignore[attr-defined]
    patient.wait_for_url(re.compile(r"saved=withdrawn$"))  # type: ignore[attr-defined]
    assert "was withdrawn: changed my mind" in patient.inner_text("main")  # type: ignore
    patient.click("summary:has-text('Stop this trial early')")  # type: ignore[attr-defined]
    assert _overflow(patient) == 0 and not patient.evaluate(WIDE_TABLES)  # type: ignore
    patient.screenshot(path=str(ARTIFACTS / "phone-nof1-stop.png"), full_page=True)  # type: ignore
    patient.fill("#stop-reason-T-PHONE", "nausea every morning")  # type: ignore[attr-defined]
    patient.click("button:has-text('Stop trial T-PHONE')")  # type: ignore[attr-defined]
    patient.wait_for_url(re.compile(r"saved=stopped$"))  # type: ignore[attr-defined]
    main = patient.inner_text("main")  # type: ignore[attr-defined]
    assert f"The trial was stopped on {TODAY.isoformat()}" in main
    assert "nausea every morning" in main
    assert patient.locator("button:has-text('Unblind trial T-PHONE')").count() == 1  # type: ignore
    assert _overflow(patient) == 0
