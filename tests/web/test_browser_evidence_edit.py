"""Browser test: an editor rewords a plain summary on a phone (390 px), by keyboard and form,
and the public study page shows the new text. A small server of its own: migrated, one
editor account, no demo registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ldn_outcomes.domain.access import Role
from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, migrate
from ldn_outcomes.store.db import make_engine

from .test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, PASSWORD, _overflow, serve, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]
EDITOR = "editor@example.invalid"
NEW = "A short trial. It found a small change. We are not sure it is real."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from argon2 import PasswordHasher

    from ldn_outcomes.web.app import create_app

    saved = accounts.PASSWORD_HASHER
    accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('edit') / 'hub.sqlite3'}")
    migrate.upgrade(engine)
    accounts.create_account(engine, email=EDITOR, role=Role.EDITOR, password=PASSWORD, actor="test")
    try:
        with serve(
            create_app(Settings(mode="test", secret_key="browser-edit-secret"), engine)
        ) as url:
            yield url
    finally:
        engine.dispose()
        accounts.PASSWORD_HASHER = saved


def test_an_editor_rewords_a_plain_summary_on_a_phone(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(10_000)
            sign_in(page, server, EDITOR)
            page.wait_for_load_state()
            page.goto(f"{server}/evidence/review")
            page.click("summary:has-text('Studies and claims')")  # opens without JavaScript
            page.click("a[href='/evidence/edit/study/cree-2010']")
            page.wait_for_url("**/evidence/edit/study/cree-2010")
            assert _overflow(page) == 0, "the edit page scrolls sideways at 390 px"
            page.fill("#text-plain_summary", NEW)
            page.fill("#reason-plain_summary", "shorter sentences")
            page.click("button:has-text('Save plain-language summary')")
            page.wait_for_url("**/evidence/edit/study/cree-2010")
            assert "shorter sentences" in page.inner_text("main")
            assert _overflow(page) == 0
            page.screenshot(path=str(ARTIFACTS / "phone-editor-edit.png"), full_page=True)
            page.goto(f"{server}/evidence/cree-2010")
            assert NEW in page.inner_text("main")
        finally:
            browser.close()
