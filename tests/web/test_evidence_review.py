"""A trial the sync finds but the catalogue does not hold: automatic capsule, review queue,
logged decision (editor accounts only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ldn_outcomes.evidence import mirror
from ldn_outcomes.evidence.sync import import_files
from ldn_outcomes.web.auth import CSRF_HEADER

from .conftest import World

FIXTURES = Path(__file__).parents[1] / "fixtures"
UNCURATED = "NCT03934567"  # a real ClinicalTrials.gov record that is not an LDN catalogue entry
HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}


def _import(world: World) -> None:
    import_files(
        world.engine,
        [FIXTURES / "ctgov" / f"ctgov_v2_{UNCURATED}.json"],
        now=lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )


def test_an_uncurated_trial_gets_an_automatic_capsule_marked_not_yet_reviewed(
    world: World,
) -> None:
    _import(world)
    anonymous = world.client(None)
    page = anonymous.get(f"/evidence/{UNCURATED}", headers=HTML)
    assert page.status_code == 200
    assert "Not yet reviewed" in page.text and f"ClinicalTrials.gov {UNCURATED}" in page.text
    data = anonymous.get(f"/evidence/{UNCURATED}", headers=JSON).json()
    assert data["review"] == "not yet reviewed" and data["nct_id"] == UNCURATED
    assert anonymous.get("/evidence/NCT99999999", headers=JSON).status_code == 404


def test_an_editor_promotes_it_and_the_decision_is_logged(world: World) -> None:
    _import(world)
    editor = world.client("editor")
    queue = editor.get("/evidence/review", headers=JSON).json()
    assert queue["waiting"] == 1 and queue["trials"][0]["nct_id"] == UNCURATED
    headers = {**JSON, CSRF_HEADER: world.csrf("editor")}
    refused = editor.post(
        f"/evidence/review/{UNCURATED}", data={"decision": "dismissed"}, headers=headers
    )
    assert refused.status_code == 422 and "note" in refused.text
    for note in ("no", "x" * 501, "a\x00b"):  # the one reason rule (domain.text)
        bad = editor.post(
            f"/evidence/review/{UNCURATED}",
            data={"decision": "dismissed", "note": note},
            headers=headers,
        )
        assert bad.status_code == 422 and "note" in bad.text, note
    done = editor.post(
        f"/evidence/review/{UNCURATED}",
        data={"decision": "promoted", "note": "registered LDN-adjacent trial"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["decision"] == "promoted"
    assert done.json()["by"].endswith(":editor")
    queue = editor.get("/evidence/review", headers=JSON).json()
    assert queue["waiting"] == 0 and queue["trials"][0]["decision"] == "promoted"
    logged = [e for e in mirror.changes_since(world.engine) if e.kind.value == "reviewed"]
    assert [e.key for e in logged] == [UNCURATED]
    page = world.client(None).get(f"/evidence/{UNCURATED}", headers=HTML).text
    assert "Reviewed: promoted" in page


def test_other_roles_cannot_use_the_review_queue(world: World) -> None:
    _import(world)
    for role in ("patient", "clinician", "researcher", "admin"):
        client = world.client(role)
        assert client.get("/evidence/review", headers=JSON).status_code == 403, role
        headers = {**JSON, CSRF_HEADER: world.csrf(role)}
        posted = client.post(
            f"/evidence/review/{UNCURATED}", data={"decision": "promoted"}, headers=headers
        )
        assert posted.status_code == 403, role
    assert world.client(None).get("/evidence/review", headers=JSON).status_code == 401


def test_the_catalogue_page_lists_uncurated_trials_with_their_review_state(world: World) -> None:
    _import(world)
    page = world.client(None).get("/evidence", headers=HTML).text
    assert "not in the curated catalogue" in page
    assert f'href="/evidence/{UNCURATED}"' in page and "not yet reviewed" in page


def test_an_editor_records_a_check_and_the_page_shows_it(world: World) -> None:
    _import(world)
    editor = world.client("editor")
    headers = {**JSON, CSRF_HEADER: world.csrf("editor")}
    bad = editor.post("/evidence/review/check", data={"entry": "cree-2010"}, headers=headers)
    assert bad.status_code == 422
    missing = editor.post("/evidence/review/check", data={"entry": "claim:nope"}, headers=headers)
    assert missing.status_code == 404
    done = editor.post(
        "/evidence/review/check",
        data={"entry": "claim:improves-quality-of-life", "note": "abstracts re-read"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["entry"] == "claim:improves-quality-of-life"
    bad = editor.post(
        "/evidence/review/check",
        data={"entry": "claim:improves-quality-of-life", "note": "a\x07b"},
        headers=headers,
    )
    assert bad.status_code == 422 and "U+0007" in bad.text
    today = dt.datetime.now(dt.UTC).date().isoformat()
    claim = world.client(None).get("/claims/improves-quality-of-life", headers=JSON).json()
    assert claim["checked"]["on"] == today and claim["checked"]["by"] == "an editor"
    study_id = "anecdote-bihari-90-percent-fewer-exacerbations"  # 52 characters with its prefix
    done = editor.post(
        "/evidence/review/check", data={"entry": f"study:{study_id}"}, headers=headers
    )
    assert done.status_code == 200
    study = world.client(None).get(f"/evidence/{study_id}", headers=JSON).json()
    assert study["checked"]["on"] == today
    patient = world.client("patient")
    refused = patient.post(
        "/evidence/review/check",
        data={"entry": "claim:improves-quality-of-life"},
        headers={**JSON, CSRF_HEADER: world.csrf("patient")},
    )
    assert refused.status_code == 403
