"""One Jinja environment, one layout and one stylesheet for every HTML page of the project."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ldn_outcomes import templating
from ldn_outcomes.evidence import html
from ldn_outcomes.reports import outcomes
from ldn_outcomes.settings import Settings
from ldn_outcomes.web import rendering
from ldn_outcomes.web.app import create_app


def test_web_evidence_and_reports_share_one_environment() -> None:
    assert rendering.TEMPLATES.env is templating.ENV
    for name in ("layout.html", "base.html", "hub/base.html", "reports/outcomes.html"):
        assert templating.ENV.get_template(name) is not None
    assert outcomes.templating is templating and html.templating is templating


def test_autoescape_is_on_for_every_template_kind() -> None:
    env = templating.ENV
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    for name in ("page.html", "feed.xml", "chart.svg"):
        assert callable(env.autoescape) and env.autoescape(name)


def test_every_page_kind_extends_the_one_layout_and_links_the_one_stylesheet() -> None:
    layout = templating.ENV.loader.get_source(templating.ENV, "layout.html")[0]  # type: ignore[union-attr]
    assert "<main" in layout
    for name in ("base.html", "hub/base.html", "reports/outcomes.html"):
        source = templating.ENV.loader.get_source(templating.ENV, name)[0]  # type: ignore[union-attr]
        assert source.startswith('{% extends "layout.html" %}'), name
    assert html.stylesheet() == templating.stylesheet()


def test_the_web_app_serves_the_one_stylesheet(engine: Engine, settings: Settings) -> None:
    client = TestClient(create_app(settings, engine), base_url="https://testserver")
    served = client.get("/static/site.css")
    assert served.status_code == 200 and served.text == templating.stylesheet()
    assert client.get("/evidence/evidence.css").text == templating.stylesheet()


def test_adding_templates_twice_is_harmless() -> None:
    before = len(templating.ENV.loader.loaders)  # type: ignore[union-attr]
    templating.add_templates("ldn_outcomes.web")
    assert len(templating.ENV.loader.loaders) == before  # type: ignore[union-attr]
