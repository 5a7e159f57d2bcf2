"""The analyses read the store through ``frames.load_frames`` and agree with the in-memory run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ldn_outcomes.analysis import AnalysisPlan, analyze_database, results_to_dict, run_all
from ldn_outcomes.analysis.data.frames import load_frames
from ldn_outcomes.analysis.results import ResultWarning
from ldn_outcomes.cli.main import app
from ldn_outcomes.simulate import SimulationParams, load_into_db, simulate_registry


@pytest.fixture(scope="module")
def registry():
    return simulate_registry(SimulationParams(patients=400, years=5, seed=21))


def test_database_run_matches_frames_run(engine, registry):
    load_into_db(registry, engine)
    frames = load_frames(engine, chunk_patients=150)  # several chunks
    assert len(frames["patients"]) == 400
    assert "answers" in frames["questionnaires"] and "item_0" in frames["checkins"]
    from_db, timings = analyze_database(engine, AnalysisPlan())
    in_memory = run_all(registry.frames, AnalysisPlan())
    assert "read_store" in timings and timings["total"] >= timings["read_store"]
    for name in ("relapses", "progression", "adverse_events", "symptoms", "matched"):
        a, b = from_db[name], in_memory[name]
        assert a.status == b.status, name
        if a.headline is not None:
            assert a.headline.value == pytest.approx(b.headline.value, rel=1e-9), name


def test_parallel_run_gives_the_same_numbers(engine, registry):
    """``ldn analyze`` reads the check-ins and matches the negative control in a second
    process (where it can): every number is the same as in one process."""
    load_into_db(registry, engine)
    plan = AnalysisPlan()
    forked, timings = analyze_database(engine, plan)
    alone = run_all(load_frames(engine, plan=plan, parallel=False), plan, parallel=False)
    assert "negative_control_matching" in timings
    assert json.dumps(
        results_to_dict(forked, plan, details=True), sort_keys=True, default=str
    ) == json.dumps(results_to_dict(alone, plan, details=True), sort_keys=True, default=str)


def test_cli_analyze_json_and_report(db_url, registry, tmp_path):
    from ldn_outcomes.store.db import make_engine

    engine = make_engine(db_url)
    load_into_db(registry, engine)
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in (
        "progression",
        "relapses",
        "symptoms",
        "relapse_recovery",
        "matched",
        "adverse_events",
        "labs",
    ):
        assert {"method", "population", "estimate", "ci", "caveats"} <= set(out[key])
    assert out["plan"]["hash"] == AnalysisPlan().plan_hash
    table = runner.invoke(app, ["analyze", "--db", db_url])
    assert table.exit_code == 0 and "relapses" in table.stdout
    # warnings are named in the report's words, never by their class name
    kinds = {w["kind"] for r in out.values() if isinstance(r, dict) for w in r.get("warnings", [])}
    words = {k.__name__: k.words for k in ResultWarning.__subclasses__()}
    assert kinds, "the registry should give at least one warning"
    for kind in kinds:
        assert f": {words[kind]}: " in table.stdout and f": {kind}: " not in table.stdout
    page = tmp_path / "report.html"
    written = runner.invoke(app, ["report", "--out", str(page), "--db", db_url])
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_cli_analyze_on_empty_registry_says_what_is_missing(db_url):
    result = CliRunner().invoke(app, ["analyze", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["relapses"]["status"] == "insufficient_data"
    assert "LDN users" in out["relapses"]["message"]
