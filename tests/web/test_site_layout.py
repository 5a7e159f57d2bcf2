"""The site's frame on every page: one menu with the evidence for everyone, the outcome reports
inside the layout, a page (not JSON) for a browser that follows a dead link, and no Python
object text leaking into a page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ldn_outcomes.domain.models import Exposure
from ldn_outcomes.domain.validation import parse_record
from ldn_outcomes.store.uow import UnitOfWork
from ldn_outcomes.web.auth import route_table

from .conftest import World, days_ago

HTML = {"accept": "text/html"}
ROLES = [None, "patient", "clinician", "researcher", "admin"]
#: What a Python object looks like when a template prints it by mistake.
OBJECT_TEXT = re.compile(r"<built-in|<bound method|object at 0x")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "visitor")
def test_evidence_and_claims_are_in_everyones_menu(world: World, role: str | None) -> None:
    page = world.client(role).get("/", headers=HTML).text
    nav = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    assert 'href="/evidence"' in nav and 'href="/claims"' in nav
    assert '<details class="menu"><summary>Menu</summary>' in nav


@pytest.mark.parametrize(
    ("role", "path"),
    [("researcher", "/research/outcomes"), ("clinician", "/clinic/analysis/report")],
)
def test_outcome_reports_sit_inside_the_site_layout(world: World, role: str, path: str) -> None:
    response = world.client(role).get(path, headers=HTML)
    if response.status_code == 422:  # the tiny test registry may be too small to analyse
        pytest.skip(response.text[:200])
    assert response.status_code == 200
    page = response.text
    assert '<header class="site">' in page and '<nav aria-label="Main">' in page
    assert page.count("<main") == 1 and 'class="report"' in page
    assert "<style>" not in page  # the site's stylesheet, not the file's inline copy


def test_unknown_url_is_a_page_for_browsers_and_json_for_scripts(world: World) -> None:
    client = world.client("patient")
    page = client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text and "<main" in page.text
    api = client.get("/no/such/page", headers={"accept": "application/json"})
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}


#: Codes a patient should never have to read (issue 17), as they appeared on pages.
RAW_TOKENS = re.compile(
    r"\bdmt\b|\d\.\d{3,} mg|outcome_switch|not_rated|start_date:|mfis: mean change"
)


def _visible_text(page: str) -> str:
    """What a person reads in ``<main>``: the tags, attributes and option values dropped."""
    main = page[page.find("<main") :]
    return re.sub(r"<[^>]*>", " ", main)


def test_patient_pages_speak_in_words(world: World) -> None:
    with UnitOfWork(world.engine, actor="test") as uow:
        uow.registry.add(
            parse_record(
                Exposure,
                {
                    "patient_id": "P-OWN",
                    "drug_name": "ocrelizumab",
                    "drug_class": "dmt",
                    "start_date": days_ago(50),
                },
            )
        )
        uow.commit()
    client = world.client("patient")
    found = []
    for path in ("/me", "/me/records", "/me/summary", "/me/questionnaires", "/evidence"):
        text = _visible_text(client.get(path, headers=HTML).text)
        found += [f"{path}: {m[0]}" for m in RAW_TOKENS.finditer(text)]
    assert not found, "\n".join(found)
    records = _visible_text(client.get("/me/records", headers=HTML).text)
    assert "4.5 mg" in records and "disease-modifying therapy" in records


def test_no_page_prints_a_python_object(world: World) -> None:
    """A template reading ``d.items`` on a dict prints '<built-in method items of dict ...>'."""
    app_client = world.client(None)
    routes = route_table(app_client.app)  # type: ignore[arg-type]
    leaks = []
    for role in ROLES:
        client = world.client(role)
        for route in routes:
            if route.method != "GET" or "{" in route.path and "{patient_id}" not in route.path:
                continue
            if route.path.startswith(("/static", "/openapi")) or route.path.endswith(".csv"):
                continue
            response = client.get(route.path.replace("{patient_id}", "P-OWN"), headers=HTML)
            if OBJECT_TEXT.search(response.text):
                leaks.append(f"{route.path} as {role}: {OBJECT_TEXT.search(response.text)[0]}")
    for instrument in ("fss", "mfis"):
        text = world.client("patient").get(f"/me/questionnaires/{instrument}", headers=HTML).text
        if OBJECT_TEXT.search(text):
            leaks.append(f"/me/questionnaires/{instrument}")
    assert not leaks, "\n".join(leaks)
    listing = world.client("patient").get("/me/questionnaires", headers=HTML).text
    assert re.search(r"\(\d+ questions?\)", listing)


def test_public_statistics_come_with_a_plain_explanation(world: World) -> None:
    page = world.client(None).get("/figures/audits", headers=HTML).text
    assert "A 95% confidence interval (CI) is the range of values that fit the data" in page
    assert "&#34;Matched&#34; means each LDN user is compared" in page or (
        '"Matched" means each LDN user is compared' in page
    )


def test_demo_mode_lists_the_demo_accounts_on_the_sign_in_page(world: World) -> None:
    from ldn_outcomes.services.demo import DEMO_PASSWORD
    from ldn_outcomes.settings import Settings

    plain = world.client(None).get("/login", headers=HTML).text
    assert DEMO_PASSWORD not in plain and "make run" in plain
    world.settings = Settings(mode="test", secret_key="test-secret-not-default", demo=True)
    demo = world.client(None).get("/login", headers=HTML).text
    assert DEMO_PASSWORD in demo
    assert all(f"{r}@demo.invalid" in demo for r in ("patient", "clinician", "researcher"))


def test_the_demo_password_is_refused_outside_demo_mode(world: World) -> None:
    from ldn_outcomes.services.demo import DEMO_PASSWORD
    from ldn_outcomes.store import accounts

    accounts.create_account(
        world.engine,
        email="researcher@demo.invalid",
        role="researcher",
        password=DEMO_PASSWORD,
        actor="test",
    )
    client = world.client(None)
    form = client.get("/login", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    refused = client.post(
        "/login",
        data={
            "email": "researcher@demo.invalid",
            "password": DEMO_PASSWORD,
            "csrf_token": token[1],
        },
        headers=HTML,
    )
    assert refused.status_code == 401
    assert "works only on a demo server" in refused.text


def test_demo_mode_is_refused_in_production() -> None:
    from ldn_outcomes.settings import Settings

    with pytest.raises(ValueError, match="LDN_DEMO"):
        Settings(mode="production", secret_key="a-real-secret-value", demo=True)


def test_every_cell_of_a_stacked_table_names_its_column() -> None:
    """A table of class ``stack`` becomes one block per row on a phone, each value named by
    its column's ``data-label``: a cell without one would stand there unnamed."""
    import ldn_outcomes

    unnamed = []
    stacked = 0
    for package in ("web", "evidence"):
        for path in (Path(ldn_outcomes.__file__).parent / package / "templates").rglob("*.html"):
            text = path.read_text("utf-8")
            for table in re.findall(r'<table class="[^"]*\bstack\b.*?</table>', text, re.S):
                stacked += 1
                unnamed += [
                    f"{path.name}: {td}"
                    for td in re.findall(r"<td(?![^>]*data-label)[^>]*>", table)
                ]
    assert stacked >= 9 and not unnamed, unnamed
