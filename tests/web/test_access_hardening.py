"""Access hardening: consent changes reach cached aggregates at once, the health check and
error messages name nothing they need not, and ``ldn report`` covers research-consented
patients only."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from typer.testing import CliRunner

from ldn_outcomes import analysis
from ldn_outcomes.cli.main import app as cli_app
from ldn_outcomes.domain.models import Consent
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.uow import UnitOfWork
from ldn_outcomes.web.cache import cached

from .conftest import World, days_ago, seed_registry


def test_consent_change_invalidates_cached_aggregates(engine: Engine) -> None:
    seed_registry(engine)
    app = FastAPI()
    calls = iter(range(100))
    first = cached(app, "figures", lambda: next(calls), ttl=600, engine=engine)
    assert cached(app, "figures", lambda: next(calls), ttl=600, engine=engine) == first
    with UnitOfWork(engine, actor="test") as uow:
        research = [
            c
            for c in uow.registry.records(Consent, patient_id="P-OWN")
            if isinstance(c, Consent) and c.scope.value == "research"
        ][0]
        uow.registry.update(research.model_copy(update={"withdrawn_date": dt.date.today()}))
        uow.commit()
    assert cached(app, "figures", lambda: next(calls), ttl=600, engine=engine) == first + 1
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Consent(patient_id="P-OTHER", scope="research", given_date=days_ago(1)))
        uow.commit()
    assert cached(app, "figures", lambda: next(calls), ttl=600, engine=engine) == first + 2


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "care"},  # corrected from research to care: no longer research-consented
        {"given_date": "shift"},  # an earlier consent's date, not the latest one
    ],
)
def test_a_corrected_consent_invalidates_cached_aggregates(engine: Engine, change: dict) -> None:
    """A correction that keeps every count and latest date (a scope moved, an older date
    moved) still reaches the cache: the fingerprint sees the scopes and the audit."""
    seed_registry(engine)
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Consent(patient_id="P-OTHER", scope="research", given_date=days_ago(400)))
        uow.registry.add(Consent(patient_id="P-NOCARE", scope="research", given_date=days_ago(1)))
        uow.commit()
    app = FastAPI()
    calls = iter(range(100))
    first = cached(app, "figures", lambda: next(calls), ttl=600, engine=engine)
    with UnitOfWork(engine, actor="test") as uow:
        older = [
            c
            for c in uow.registry.records(Consent, patient_id="P-OTHER")
            if isinstance(c, Consent) and c.scope.value == "research"
        ][0]
        update = {"given_date": days_ago(300)} if change.get("given_date") else change
        uow.registry.correct(older.model_copy(update=update), "entered wrongly")
        uow.commit()
    assert cached(app, "figures", lambda: next(calls), ttl=600, engine=engine) == first + 1


def test_consent_withdrawal_on_the_web_reaches_the_research_page(world: World) -> None:
    researcher = world.client("researcher")
    before = researcher.get("/research/outcomes?format=json")
    assert before.status_code == 200
    patient = world.client("patient")
    withdrawn = patient.post(
        "/me/consents",
        data={"scope": "research", "action": "withdraw", "csrf_token": world.csrf("patient")},
    )
    assert withdrawn.status_code == 303
    app = researcher.app
    store = app.state.__dict__.get("aggregate_cache", {})
    stale_version = store["research_outcomes"][1]
    researcher.get("/research/outcomes?format=json")
    assert app.state.__dict__["aggregate_cache"]["research_outcomes"][1] != stale_version


def test_healthz_does_not_name_the_database_engine(world: World) -> None:
    response = world.client(None).get("/healthz")
    assert response.status_code == 200
    text = response.text.lower()
    assert "sqlite" not in text and "postgres" not in text


def test_ldn_report_covers_research_consented_patients_only(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    engine = make_engine(db_url)
    seed_registry(engine)  # research consent: P-OWN only
    seen: list[set[str]] = []
    real = analysis.run_all

    def spy(frames, plan, *args, **kwargs):
        seen.append(set(frames["patients"]["patient_id"]))
        return real(frames, plan, *args, **kwargs)

    monkeypatch.setattr(analysis, "run_all", spy)  # the command imports it when it runs
    result = CliRunner().invoke(
        cli_app, ["report", "--out", str(tmp_path / "r.html"), "--db", db_url], terminal_width=300
    )
    assert seen == [{"P-OWN"}], result.output
    assert "1 research-consented patient(s)" in result.stdout
    engine.dispose()


def test_research_csv_neutralises_formula_cells(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from ldn_outcomes.reports.deidentify import DeidentifiedData
    from ldn_outcomes.web.routes import research

    frame = pd.DataFrame({"study_code": ["=HYPERLINK(1)", "@SUM(A1)", "S3"], "value": [-1.5, 2, 3]})
    monkeypatch.setattr(
        research,
        "deidentified_dataset",
        lambda engine, min_cell_size: DeidentifiedData(frame, 3, 0, min_cell_size),
    )
    monkeypatch.setattr(research, "small_cells", lambda *args: [])
    response = world.client("researcher").get("/research/export.csv")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[1:] == ["'=HYPERLINK(1),-1.5", "'@SUM(A1),2.0", "S3,3.0"]
