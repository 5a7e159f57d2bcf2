"""Editors reword catalogue text in the web app: editor accounts only, a reason, CSRF, typed
bodies refusing unknown keys, the change shown on the page and kept in the history."""

from __future__ import annotations

import pytest

from ldn_outcomes.evidence import edits
from ldn_outcomes.evidence.catalogue import load_catalogue
from ldn_outcomes.web.auth import CSRF_HEADER

from .conftest import World

HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}
PLAIN = "A short trial. It found a small change. We are not sure it is real."
EDIT = "/evidence/edit/study/cree-2010"


def test_an_editor_changes_a_plain_summary_and_the_page_shows_it(world: World) -> None:
    editor = world.client("editor")
    form = editor.get(EDIT, headers=HTML)
    assert form.status_code == 200
    assert 'name="reason"' in form.text and 'name="csrf_token"' in form.text
    saved = editor.post(
        EDIT,
        data={
            "csrf_token": world.csrf("editor"),
            "field": "plain_summary",
            "text": PLAIN,
            "reason": "simpler words",
        },
        headers=HTML,
    )
    assert saved.status_code == 303 and saved.headers["location"] == EDIT
    page = world.client(None).get("/evidence/cree-2010", headers=JSON).json()
    assert page["plain"]["text"] == PLAIN
    history = editor.get(EDIT, headers=JSON).json()["history"]
    assert history[0]["reason"] == "simpler words" and history[0]["by"].endswith(":editor")
    assert "simpler words" in editor.get(EDIT, headers=HTML).text
    assert "/evidence/edit/study/cree-2010" in editor.get("/evidence/review", headers=HTML).text


def test_a_claim_is_reworded_through_the_json_api(world: World) -> None:
    editor = world.client("editor")
    claim_id = "ninety-eight-percent-no-progression"
    headers = {**JSON, CSRF_HEADER: world.csrf("editor")}
    done = editor.post(
        f"/evidence/edit/claim/{claim_id}",
        json={"field": "claim", "text": "Reworded.", "reason": "quote shortened"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["after"] == "Reworded."
    page = world.client(None).get(f"/claims/{claim_id}", headers=JSON).json()
    assert page["claim"]["claim"] == "Reworded."
    listed = world.client(None).get("/claims", headers=JSON).json()
    assert {c["id"]: c["claim"] for c in listed["claims"]}[claim_id] == "Reworded."


def test_unknown_keys_missing_reasons_and_bad_fields_are_refused(world: World) -> None:
    editor = world.client("editor")
    headers = {**JSON, CSRF_HEADER: world.csrf("editor")}
    body = {"field": "capsule", "text": "New text.", "reason": "x", "reson": "typo"}
    unknown = editor.post(EDIT, json=body, headers=headers)
    assert unknown.status_code == 422 and "reson" in unknown.text and "unknown key" in unknown.text
    form = editor.post(
        EDIT,
        data={"field": "capsule", "text": "New text.", "reason": "x", "extra": "1"},
        headers=headers,
    )
    assert form.status_code == 422 and "extra" in form.text
    no_reason = editor.post(
        EDIT, json={"field": "capsule", "text": "New text.", "reason": ""}, headers=headers
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    bad_field = editor.post(
        EDIT, json={"field": "title", "text": "New.", "reason": "x"}, headers=headers
    )
    assert bad_field.status_code == 422 and "field" in bad_field.text
    assert editor.get(EDIT, headers=JSON).json()["history"] == []


def test_non_editors_get_403_and_a_form_without_its_csrf_token_is_refused(world: World) -> None:
    body = {"field": "capsule", "text": "New text.", "reason": "x"}
    for name in ("admin", "clinician", "researcher", "patient"):
        client = world.client(name)
        assert client.get(EDIT, headers=JSON).status_code == 403
        refused = client.post(EDIT, json=body, headers={**JSON, CSRF_HEADER: world.csrf(name)})
        assert refused.status_code == 403
    assert world.client(None).get(EDIT, headers=JSON).status_code == 401
    editor = world.client("editor")
    no_token = editor.post(EDIT, data=body, headers=JSON)
    assert no_token.status_code == 403
    assert editor.get(EDIT, headers=JSON).json()["history"] == []


def _save(world: World, field: str, text: str) -> None:
    headers = {**JSON, CSRF_HEADER: world.csrf("editor")}
    body = {"field": field, "text": text, "reason": "clearer"}
    assert world.client("editor").post(EDIT, json=body, headers=headers).status_code == 200


def test_the_public_change_feed_names_an_editor_by_role_and_the_audit_keeps_the_account(
    world: World,
) -> None:
    _save(world, "capsule", "A new capsule text.")
    anonymous = world.client(None)
    events = anonymous.get("/evidence/changes.atom", headers=JSON).json()
    edited = [e for e in events if e["kind"] == "edited"]
    assert edited and all(e["detail"]["by"] == "an editor" for e in edited)
    for page in ("/evidence/changes.atom", "/evidence/cree-2010", "/claims"):
        assert "account:" not in anonymous.get(page).text, page
    history = world.client("editor").get(EDIT, headers=JSON).json()["history"]
    assert history[0]["by"].startswith("account:") and history[0]["by"].endswith(":editor")


def test_an_edit_of_text_a_release_corrected_is_listed_for_redoing_not_shown(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(world, "capsule", "An editor's wording of the older text.")
    catalogue = load_catalogue()
    corrected = catalogue.model_copy(
        update={
            "studies": [
                s.model_copy(update={"capsule": "Corrected by the release."})
                if s.id == "cree-2010"
                else s
                for s in catalogue.studies
            ]
        }
    )
    monkeypatch.setattr(edits, "load_catalogue", lambda: corrected)
    page = world.client(None).get("/evidence/cree-2010", headers=JSON).json()
    assert page["study"]["capsule"] == "Corrected by the release."
    editor = world.client("editor")
    queue = editor.get("/evidence/review", headers=JSON).json()
    assert [(s["entry"], s["field"]) for s in queue["stale_edits"]] == [
        ("study:cree-2010", "capsule")
    ]
    assert edits.STALE_NOTE in editor.get("/evidence/review", headers=HTML).text
    form = editor.get(EDIT, headers=HTML).text
    assert edits.STALE_NOTE in form and "An editor&#39;s wording of the older text." in form
