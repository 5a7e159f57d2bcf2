"""Doses print as a person writes them ("3 mg", "4.5 mg"), never as the stored decimal
("3.0000 mg"): every page the demo patient and the demo clinician reach by links, with the
forms prefilled from stored regimens."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ldn_outcomes.services.demo import build_demo
from ldn_outcomes.settings import Settings
from ldn_outcomes.store import accounts, sign_in
from ldn_outcomes.templating import dose_text
from ldn_outcomes.web.app import create_app
from ldn_outcomes.web.auth import SESSION_COOKIE

#: A stored decimal printed raw: "3.0000 mg", or a dose field prefilled with "4.5000".
RAW_DOSE = re.compile(r"\d\.\d*00 ?mg\b|name=\"[a-z_]*dose_mg\"[^>]*value=\"\d+\.\d*00\"")
SKIPPED = ("/logout", "/static/", ".ics", ".csv", ".json", ".pdf", ".svg", "/export")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and not href.startswith("//"):
            self.hrefs.append(href.split("#")[0])


def _crawl(client: TestClient, start: list[str], limit: int = 120) -> dict[str, str]:
    pages: dict[str, str] = {}
    queue = list(start)
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in pages or not url or any(s in url for s in SKIPPED):
            continue
        response = client.get(url, headers={"accept": "text/html"})
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        pages[url] = response.text
        parser = _Links()
        parser.feed(response.text)
        queue.extend(h for h in parser.hrefs if h not in pages)
    return pages


def test_the_dose_filter_drops_trailing_zeros() -> None:
    from decimal import Decimal

    assert dose_text(Decimal("3.0000")) == "3 mg"
    assert dose_text(Decimal("4.5000")) == "4.5 mg"
    assert dose_text(Decimal("0.7500")) == "0.75 mg"
    assert RAW_DOSE.search("LDN 3.0000 mg daily") and not RAW_DOSE.search("LDN 3 mg daily")


def test_no_page_of_the_demo_patient_or_clinician_prints_a_raw_dose(engine: Engine) -> None:
    build_demo(engine, patients=0, password="demo pages only")
    settings = Settings(mode="test", secret_key="test-secret-not-default", min_cell_size=5)
    app = create_app(settings, engine)
    by_email = {a.email: a for a in accounts.list_accounts(engine)}
    offenders: dict[str, list[str]] = {}
    crawled = 0
    for email, start in (
        ("patient@demo.invalid", ["/me", "/me/records", "/me/summary"]),
        ("clinician@demo.invalid", ["/clinic", "/patients"]),
    ):
        client = TestClient(app, base_url="https://testserver", follow_redirects=True)
        cookie, _csrf = sign_in.create_session(engine, by_email[email].id, 3600)
        client.cookies.set(SESSION_COOKIE, cookie)
        pages = _crawl(client, start)
        crawled += len(pages)
        for url, text in pages.items():
            if found := RAW_DOSE.findall(text):
                offenders[url] = found
    assert crawled > 20  # the crawl reached the records, regimen forms and summaries
    assert offenders == {}
