"""Record forms in words, never JSON: a questionnaire names its instrument (kept by a
correction, picked before a new one's questions), an EDSS has one field per functional system
with its range (Kurtzke 1983, ``domain.codes.FUNCTIONAL_SYSTEM_MAX``)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ldn_outcomes.domain.codes import FUNCTIONAL_SYSTEM_MAX, FunctionalSystem
from ldn_outcomes.store.tables import EdssRow, QuestionnaireRow

from .conftest import World, days_ago

HTML = {"accept": "text/html"}


def _post(world: World, who: str, url: str, data: dict[str, str]):
    return world.client(who).post(url, data={**data, "csrf_token": world.csrf(who)}, headers=HTML)


def _add_fss(world: World, who: str, answer: str = "4") -> int:
    answers = {f"answers.{i}": answer for i in range(9)}
    added = _post(
        world,
        who,
        "/patients/P-OWN/questionnaires/new",
        {"instrument_id": "fss", "instrument_version": "1", "date": days_ago(2).isoformat()}
        | answers,
    )
    assert added.status_code == 303, added.text
    return int(re.search(r"/questionnaires/(\d+)\?", added.headers["location"]).group(1))  # type: ignore[union-attr]


def test_a_new_questionnaire_is_picked_first_then_answered_item_by_item(world: World) -> None:
    picker = world.client("clinician").get("/patients/P-OWN/questionnaires/new", headers=HTML)
    assert picker.status_code == 200 and "Fatigue Severity Scale" in picker.text
    assert 'href="/patients/P-OWN/questionnaires/new?instrument=fss"' in picker.text
    assert "?instrument=edss" not in picker.text  # an EDSS is a record kind of its own
    assert 'name="answers"' not in picker.text and "JSON" not in picker.text
    form = world.client("clinician").get(
        "/patients/P-OWN/questionnaires/new?instrument=fss", headers=HTML
    )
    assert form.status_code == 200 and "Fatigue Severity Scale (version 1)" in form.text
    assert len(re.findall(r'name="answers\.\d+"', form.text)) == 9
    assert 'type="hidden" name="instrument_id" value="fss"' in form.text
    assert 'name="instrument_id" value="fss" required' not in form.text  # not a text field
    out_of_range = _post(
        world,
        "clinician",
        "/patients/P-OWN/questionnaires/new",
        {"instrument_id": "fss", "instrument_version": "1", "date": days_ago(2).isoformat()}
        | {f"answers.{i}": "9" for i in range(9)},
    )
    assert out_of_range.status_code == 422 and 'id="f-answers.0-error"' in out_of_range.text
    assert len(re.findall(r'name="answers\.\d+"', out_of_range.text)) == 9  # still item by item
    record_id = _add_fss(world, "patient")
    with Session(world.engine) as session:
        row = session.get(QuestionnaireRow, record_id)
        assert row is not None and row.instrument_id == "fss" and list(row.answers) == [4.0] * 9
    mfis5 = world.client("clinician").get(
        "/patients/P-OWN/questionnaires/new?instrument=mfis5", headers=HTML
    )  # an item's label in parentheses that is not a range still gets its range
    assert "1. MFIS-5 item 1 (MFIS item 1) (0 to 4)" in mfis5.text
    unknown = world.client("clinician").get(
        "/patients/P-OWN/questionnaires/new?instrument=nope", headers=HTML
    )
    assert unknown.status_code == 422 and "unknown instrument" in unknown.text
    assert "Fatigue Severity Scale" in unknown.text  # the list to pick from again


def test_a_questionnaire_correction_names_its_instrument_and_keeps_it(world: World) -> None:
    record_id = _add_fss(world, "patient")
    url = f"/patients/P-OWN/questionnaires/{record_id}"
    page = world.client("patient").get(url, headers=HTML).text
    assert "Fatigue Severity Scale (version 1)" in page
    assert 'name="instrument_id"' not in page and 'name="instrument_version"' not in page
    assert "Instrument id" not in page  # the record's values name it in words too
    # the total is worked out from the answers: shown, never a field left stale by a correction
    assert 'name="total"' not in page and "Total (worked out from the answers)" in page
    answers = {f"answers.{i}": "5" for i in range(9)}
    refused = _post(
        world, "patient", f"{url}/correct",
        {"date": days_ago(2).isoformat(), "reason": "misread"} | answers | {"answers.3": "8"},
    )  # fmt: skip
    assert refused.status_code == 422 and 'id="f-answers.3-error"' in refused.text  # item 4
    assert "Fatigue Severity Scale (version 1)" in refused.text  # still named on the form
    done = _post(
        world,
        "patient",
        f"{url}/correct",
        {"date": days_ago(2).isoformat(), "instrument_id": "mfis", "reason": "misread"} | answers,
    )
    assert done.status_code == 303, done.text
    with Session(world.engine) as session:
        row = session.get(QuestionnaireRow, record_id)
        assert row is not None and row.instrument_id == "fss" and list(row.answers) == [5.0] * 9
        assert row.total == 5.0  # scored again from the corrected answers


def test_an_edss_has_one_field_per_functional_system_with_its_range(world: World) -> None:
    page = world.client("clinician").get("/patients/P-OWN/edss/1", headers=HTML).text
    assert "JSON" not in page
    for fs in FunctionalSystem:
        top = FUNCTIONAL_SYSTEM_MAX[fs]
        assert re.search(rf'name="functional_systems\.{fs.value}" value="" step="1" min="0" '
                         rf'max="{top}"', page), fs  # fmt: skip
    assert "Bowel and bladder functional system (0 to 6)" in page
    base = {"date": days_ago(300).isoformat(), "score": "3.0", "reason": "re-scored"}
    too_high = _post(
        world, "clinician", "/patients/P-OWN/edss/1/correct",
        base | {"functional_systems.cerebellar": "6"},
    )  # fmt: skip
    assert too_high.status_code == 422
    assert re.search(r'id="f-functional_systems\.cerebellar-error">[^<]*0-5', too_high.text)
    not_whole = _post(
        world, "clinician", "/patients/P-OWN/edss/1/correct",
        base | {"functional_systems.visual": "1.5"},
    )  # fmt: skip
    assert not_whole.status_code == 422
    assert 'id="f-functional_systems.visual-error"' in not_whole.text
    ok = _post(
        world, "clinician", "/patients/P-OWN/edss/1/correct",
        base | {"functional_systems.pyramidal": "2", "functional_systems.visual": "",
                "functional_systems.bowel_bladder": "1"},
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    with Session(world.engine) as session:
        row = session.scalars(select(EdssRow).where(EdssRow.id == 1)).one()
        assert dict(row.functional_systems) == {"pyramidal": 2, "bowel_bladder": 1}
    again = world.client("clinician").get("/patients/P-OWN/edss/1", headers=HTML).text
    assert 'name="functional_systems.pyramidal" value="2"' in again
    assert "pyramidal 2" in again and "bowel and bladder 1" in again  # the values, in words
    assert "{" not in again[again.index('class="facts record-values"') :].split("</dl>")[0]
