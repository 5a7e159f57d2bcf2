"""Editors' text changes: stored as logged events over the shipped catalogue, with history,
audit rows, the rules of an edit, and an export back to the data files."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.errors import NotFound, ValidationFailed
from ldn_outcomes.evidence import edits
from ldn_outcomes.evidence.catalogue import DATA_PACKAGE, load_catalogue, load_claims
from ldn_outcomes.store import audit_chain
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import AuditRow

PLAIN = "A short trial. It found a small change. We are not sure it is real."
T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _edit(engine: Engine, field: str, text: str, *, at: dt.datetime = T0, **kw: str) -> dict:
    kind = kw.pop("kind", "study")
    ident = kw.pop("ident", "cree-2010")
    return edits.record_edit(
        engine, kind, ident, field=field, text=text, reason="clearer", by="u1:editor", at=at
    )


def test_the_latest_edit_is_laid_over_the_shipped_entry_and_history_keeps_all(
    engine: Engine,
) -> None:
    shipped = load_catalogue().by_id()["cree-2010"].model_extra["plain_summary"]
    first = _edit(engine, "plain_summary", PLAIN)
    assert first["before"] == shipped and first["after"] == PLAIN
    _edit(engine, "plain_summary", PLAIN + " Ask your doctor.", at=T0 + dt.timedelta(hours=1))
    catalogue, register = edits.current(engine)
    study = catalogue.by_id()["cree-2010"]
    assert study.model_extra["plain_summary"] == PLAIN + " Ask your doctor."
    assert study.capsule == load_catalogue().by_id()["cree-2010"].capsule  # other fields kept
    assert load_catalogue().by_id()["cree-2010"].model_extra["plain_summary"] == shipped
    past = edits.history(engine, "study", "cree-2010")
    assert [h["after"] for h in past] == [PLAIN + " Ask your doctor.", PLAIN]
    assert past[0]["before"] == PLAIN and past[0]["by"] == "u1:editor"
    assert edits.current(None)[0] is load_catalogue()  # no database: the shipped data


def test_a_claim_wording_edit_and_its_audit_row(engine: Engine) -> None:
    claim_id = load_claims().claims[0].id
    _edit(engine, "claim", "Reworded claim.", kind="claim", ident=claim_id)
    register = edits.current(engine)[1]
    assert {c.id: c.claim for c in register.claims}[claim_id] == "Reworded claim."
    with engine.connect() as connection:
        rows = list(
            connection.execute(select(AuditRow).where(AuditRow.table_name == "evidence_catalogue"))
        )
        assert audit_chain.verify(connection).ok
    assert len(rows) == 1
    row = rows[0]
    assert row.record_key == f"claim:{claim_id}" and row.reason == "clearer"
    assert row.after == {"claim": "Reworded claim."} and row.before["claim"]


def test_every_broken_rule_is_named_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as failure:
        edits.record_edit(
            engine, "study", "cree-2010", field="title", text=" ", reason="", by="u1:editor"
        )
    fields = {p.field for p in failure.value.problems}
    assert fields == {"field", "text", "reason"}
    hard = (
        "Pharmacological investigations demonstrated considerable heterogeneity regarding "
        "immunomodulatory characteristics notwithstanding methodological deficiencies."
    )
    with pytest.raises(ValidationFailed, match="grade 7"):
        _edit(engine, "plain_summary", hard)
    same = load_catalogue().by_id()["cree-2010"].capsule or ""
    with pytest.raises(ValidationFailed, match="same as the current"):
        _edit(engine, "capsule", same)
    with pytest.raises(NotFound):
        _edit(engine, "capsule", "x", ident="no-such-study")
    with pytest.raises(ValidationFailed, match="study or a claim"):
        _edit(engine, "capsule", "x", kind="trial")
    assert edits.history(engine, "study", "cree-2010") == []


def test_export_writes_the_data_files_with_only_the_edited_fields_changed(
    engine: Engine, tmp_path: Path
) -> None:
    report = edits.export(engine, tmp_path / "none")
    for name in ("studies.json", "claims.json"):  # no edits: byte for byte as shipped
        shipped = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
        assert (tmp_path / "none" / name).read_text(encoding="utf-8") == shipped
    assert report["changed"] == []
    _edit(engine, "capsule", "A new capsule text.")
    report = edits.export(engine, tmp_path / "out")
    assert report["changed"] == ["study:cree-2010 capsule"]
    data = json.loads((tmp_path / "out" / "studies.json").read_text(encoding="utf-8"))
    assert {s["id"]: s for s in data["studies"]}["cree-2010"]["capsule"] == "A new capsule text."
    shipped = resources.files(DATA_PACKAGE).joinpath("studies.json").read_text(encoding="utf-8")
    changed = [
        (a, b)
        for a, b in zip(
            shipped.splitlines(),
            (tmp_path / "out" / "studies.json").read_text(encoding="utf-8").splitlines(),
            strict=True,
        )
        if a != b
    ]
    assert len(changed) == 1 and '"capsule"' in changed[0][1]


def test_cli_export_edits_and_show_read_the_edited_text(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    try:
        _edit(engine, "capsule", "A new capsule text.")
    finally:
        engine.dispose()
    runner = CliRunner()
    result = runner.invoke(
        app, ["evidence", "export-edits", str(tmp_path / "out"), "--db", db_url, "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["changed"] == ["study:cree-2010 capsule"]
    shown = runner.invoke(app, ["evidence", "show", "cree-2010", "--db", db_url, "--json"])
    assert json.loads(shown.stdout)["study"]["capsule"] == "A new capsule text."


def _corrected(capsule: str) -> object:
    """The shipped catalogue as a later release has it: cree-2010's capsule corrected."""
    catalogue = load_catalogue()
    studies = [
        s.model_copy(update={"capsule": capsule}) if s.id == "cree-2010" else s
        for s in catalogue.studies
    ]
    return catalogue.model_copy(update={"studies": studies})


def test_an_edit_of_text_a_release_has_since_corrected_is_not_shown_and_is_listed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit(engine, "capsule", "An editor's wording of the older text.")
    _edit(engine, "plain_summary", PLAIN)  # its shipped text is unchanged: still shown
    corrected = _corrected("Corrected by the release.")
    monkeypatch.setattr(edits, "load_catalogue", lambda: corrected)
    study = edits.current(engine)[0].by_id()["cree-2010"]
    assert study.capsule == "Corrected by the release."
    assert study.model_extra["plain_summary"] == PLAIN
    stale = edits.stale_edits(engine)
    assert [(s["entry"], s["field"]) for s in stale] == [("study:cree-2010", "capsule")]
    assert stale[0]["note"] == edits.STALE_NOTE
    fields = {f["name"]: f for f in edits.edit_page(engine, "study", "cree-2010")["fields"]}
    assert fields["capsule"]["text"] == "Corrected by the release."
    assert fields["capsule"]["stale"]["after"] == "An editor's wording of the older text."
    assert fields["plain_summary"]["stale"] is None
    report = edits.export(engine, tmp_path / "out")
    assert report["changed"] == ["study:cree-2010 plain_summary"]
    assert report["skipped"] == [f"study:cree-2010 capsule: {edits.STALE_NOTE}"]
    # redone against the corrected text, the edit is shown again and nothing is stale
    _edit(engine, "capsule", "The editor's wording of the corrected text.", at=T0 + dt.timedelta(1))
    assert edits.current(engine)[0].by_id()["cree-2010"].capsule.startswith("The editor's")
    assert edits.stale_edits(engine) == []


def test_overlay_applies_a_chain_of_edits_and_skips_one_not_based_on_the_shipped_text() -> None:
    shipped = load_catalogue().by_id()["cree-2010"].capsule

    def edit(before: str | None, after: str, hours: int) -> edits.Edit:
        at = T0 + dt.timedelta(hours=hours)
        return edits.Edit("study", "cree-2010", "capsule", before, after, "r", "u1:editor", at)

    chain = [edit("A", "B", 2), edit(shipped, "A", 1)]  # newest first
    result = edits.overlay(chain, load_catalogue(), load_claims())
    assert result.texts == {("study", "cree-2010"): {"capsule": "B"}} and result.stale == []
    older = [edit("an older shipped text", "an editor's wording", 1)]
    result = edits.overlay(older, load_catalogue(), load_claims())
    assert result.texts == {} and [e.after for e in result.stale] == ["an editor's wording"]
    # the release took the edit in as it was (export-edits, pull request): in place, not stale
    adopted = [edit("an older shipped text", shipped, 1)]
    result = edits.overlay(adopted, load_catalogue(), load_claims())
    assert result.texts == {} and result.stale == []


def test_cli_export_edits_says_which_edits_it_skipped(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    try:
        _edit(engine, "capsule", "An editor's wording of the older text.")
    finally:
        engine.dispose()
    corrected = _corrected("Corrected by the release.")
    monkeypatch.setattr(edits, "load_catalogue", lambda: corrected)
    result = CliRunner().invoke(
        app, ["evidence", "export-edits", str(tmp_path / "out"), "--db", db_url]
    )
    assert result.exit_code == 0, result.stderr
    assert "skipped" in result.stdout and edits.STALE_NOTE in result.stdout
