"""REDCap: our data dictionary, real dictionaries read right, export -> import -> export
identical, all or nothing with every problem named by row, record, instance and field."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from tests.factories import demo_patient, registries

from ldn_outcomes.domain.codes import DrugClass, FunctionalSystem
from ldn_outcomes.domain.instruments.registry import get_instrument
from ldn_outcomes.domain.models import (
    RECORD_TYPES,
    Clinician,
    EdssAssessment,
    Exposure,
    QuestionnaireResponse,
    Record,
    Relapse,
    Site,
)
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.redcap_data import (
    EVENT,
    INSTANCE,
    INSTRUMENT,
    patient_rows,
    read_row,
    where,
)
from ldn_outcomes.importers.redcap_dictionary import (
    csv_rows,
    dictionary_text,
    mapping,
    missing_required,
    parse_choices,
    read_dictionary,
)
from ldn_outcomes.importers.redcap_files import (
    DATA_FILE,
    DICTIONARY_FILE,
    export_redcap_dir,
    import_redcap,
)
from ldn_outcomes.importers.redcap_project import (
    CODES,
    HEADER,
    RECORD_ID,
    VOCABULARIES,
    project,
)
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.tables import ROW_TYPES
from ldn_outcomes.store.uow import UnitOfWork

FIXTURES = Path(__file__).parent.parent / "fixtures" / "redcap"


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))


def _load(engine: Engine, registry: dict[str, list[Record]]) -> None:
    load_records(
        engine,
        {kind: [(None, r) for r in records] for kind, records in registry.items()},
        actor="test",
    )


# -- our dictionary ------------------------------------------------------------------------


def test_header_is_redcaps_own_header_exactly() -> None:
    for name in (
        "redcap_datadictionary_REDCapR_simple.csv",
        "redcap_datadictionary_IeDEA_tblCENTER_2020-06-30.csv",
        "redcaprits_ExampleProject_DataDictionary_2018-06-07.csv",
    ):
        header, _, _ = csv_rows((FIXTURES / name).read_bytes(), name, "dictionary")
        assert tuple(header) == HEADER, name
    # and written with REDCap's own quoting, byte for byte
    real = (FIXTURES / "redcap_datadictionary_REDCapR_simple.csv").read_text().splitlines()[0]
    assert dictionary_text().splitlines()[0] == real


def test_every_code_list_covers_its_vocabulary_and_names_are_unique() -> None:
    for name, values in VOCABULARIES.items():
        assert set(CODES[name]) == {str(v) for v in values}, name
    proj = project()
    names = [f.name for f in proj.fields]
    assert len(names) == len(set(names))
    assert names[0] == RECORD_ID
    for item in proj.fields:
        assert item.name.isascii() and item.name == item.name.lower(), item.name


def test_our_dictionary_reads_back_as_written() -> None:
    text = dictionary_text()
    fields, problems = read_dictionary("ours.csv", text.encode())
    assert problems == []
    assert [f.row() for f in fields] == [f.row() for f in project().fields]
    assert dictionary_text(fields) == text
    assert {m.status for m in mapping(fields)} == {"maps"}


def test_questionnaire_labels_are_the_shipped_item_labels() -> None:
    """No questionnaire wording beyond the labels the instrument definitions ship."""
    proj = project()
    for form, (instrument_id, version) in proj.instruments.items():
        definition = get_instrument(instrument_id, version)
        labels = {f.label for f in proj.form_fields(form) if f.attr.startswith("item.")}
        assert labels == {item.label for item in definition.items}, form
    fss = proj.by_name["fss_v1_item1"]
    assert fss.label == "FSS item 1" and (fss.validation, fss.minimum, fss.maximum) == (
        "integer",
        "1",
        "7",
    )


def test_validation_types_and_branching() -> None:
    by_name = project().by_name
    assert by_name["exposure_start_date"].validation == "date_ymd"
    assert by_name["exposure_start_date"].maximum == "today"
    assert by_name["exposure_dose_mg"].validation == "number"
    assert by_name["year_of_birth"].validation == "integer"
    assert by_name["dose_log_clock_time"].validation == "time"
    assert by_name["exposure_stop_reason"].branching == '[exposure_stop_date] <> ""'
    assert by_name["relapse_fs"].field_type == "checkbox"
    assert by_name["sex"].choices == (
        ("1", "Female"),
        ("2", "Male"),
        ("3", "Other"),
        ("4", "Unknown"),
    )


# -- real dictionaries written by others ---------------------------------------------------


def test_real_dictionaries_parse_types_choices_validation_and_branching() -> None:
    fields, problems = read_dictionary(
        "longitudinal.csv",
        (FIXTURES / "redcap_datadictionary_REDCapR_longitudinal.csv").read_bytes(),
    )
    assert problems == [] and len(fields) == 95
    by_name = {f.name: f for f in fields}
    assert by_name["study_id"].form == "demographics"
    assert by_name["dob"].validation == "date_ymd" and by_name["dob"].identifier
    assert by_name["height"].validation == "number"
    assert (by_name["height"].minimum, by_name["height"].maximum) == ("130", "215")
    assert by_name["sex"].choices == (("0", "Female"), ("1", "Male"))
    assert by_name["num_children"].branching == '[sex] = "0" and [given_birth] = "1"'
    assert by_name["gym"].field_type == "checkbox" and len(by_name["gym"].choices) == 5
    assert by_name["bmi"].extra["calculation"] == "round(([weight]*10000)/(([height])^(2)),1)"
    assert by_name["specify_mood"].extra["labels"] == "Very sad | Indifferent | Very happy"
    assert {f.field_type for f in fields} >= {"text", "radio", "dropdown", "checkbox", "calc"}

    iedea, problems = read_dictionary(
        "iedea.csv",
        (FIXTURES / "redcap_datadictionary_IeDEA_tblCENTER_2020-06-30.csv").read_bytes(),
    )
    assert problems == []
    level = {f.name: f for f in iedea}["level"]
    # a label with commas: only the first comma separates the code
    assert level.choices[2] == ("3", "Regional, provincial or university hospital")
    assert {f.name: f for f in iedea}["last_reviewed_d"].label.startswith("Last Reviewed Date")


def test_mapping_report_names_what_maps_and_what_needs_a_person() -> None:
    fields, _ = read_dictionary(
        "simple.csv", (FIXTURES / "redcap_datadictionary_REDCapR_simple.csv").read_bytes()
    )
    report = {m.field: m for m in mapping(fields)}
    assert report["record_id"].status == "maps"
    # their sex codes 0/1 are not ours (1-4): a recoding a person must do
    assert report["sex"].status == "differs" and "choice codes not ours: 0" in report["sex"].note
    assert report["dob"].status == "manual"
    assert report["mugshot"].status == "manual"
    assert "year_of_birth" in missing_required(fields)
    longitudinal, _ = read_dictionary(
        "l.csv", (FIXTURES / "redcap_datadictionary_REDCapR_longitudinal.csv").read_bytes()
    )
    first = mapping(longitudinal)[0]
    assert (first.field, first.status, first.ours) == ("study_id", "maps", RECORD_ID)


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_no_dictionary_bytes_make_the_reader_raise(data: bytes) -> None:
    fields, problems = read_dictionary("x.csv", data)
    assert all(p.source == "x.csv" for p in problems)
    assert isinstance(fields, list)


@settings(max_examples=80, deadline=None)
@given(
    choices=st.lists(
        st.tuples(
            st.from_regex(r"[a-z0-9]{1,4}", fullmatch=True),
            st.text(
                st.characters(blacklist_characters="|\r\n", blacklist_categories=["Cs"]),
                min_size=1,
                max_size=12,
            )
            .map(str.strip)
            .filter(bool),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda c: c[0],
    )
)
def test_choices_read_back_as_written(choices: list[tuple[str, str]]) -> None:
    text = " | ".join(f"{code}, {label}" for code, label in choices)
    assert parse_choices(text) == (tuple(choices), None)


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(1, 12),
    column=st.sampled_from(list(HEADER)),
    value=st.text(max_size=20),
)
def test_no_edit_of_a_dictionary_cell_makes_the_reader_raise(
    row: int, column: str, value: str
) -> None:
    import csv
    import io

    lines = list(csv.reader(io.StringIO(dictionary_text(), newline="")))
    lines[row][HEADER.index(column)] = value
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    fields, problems = read_dictionary("edited.csv", out.getvalue().encode())
    for p in problems:
        assert p.row is not None and p.source == "edited.csv"


# -- export -> import -> export ------------------------------------------------------------


def _canonical(relapse: Record) -> Record:
    systems = sorted(getattr(relapse, "functional_systems", ()), key=list(FunctionalSystem).index)
    return relapse.model_copy(update={"functional_systems": tuple(systems)})


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries())
def test_export_import_export_is_identical(engine: Engine, registry: dict) -> None:
    _empty(engine)
    _load(engine, registry)
    work = Path(tempfile.mkdtemp())
    try:
        counts = export_redcap_dir(engine, work / "first")
        assert counts["records"] == len(registry["patients"])
        _empty(engine)
        imported, _ = import_redcap(engine, work / "first", actor="test")
        assert imported["patients"] == len(registry["patients"])
        with UnitOfWork(engine) as uow:
            for kind in RECORD_TYPES:
                if kind in ("sites", "clinicians"):
                    continue  # only those a patient refers to travel
                back = uow.registry.records(RECORD_TYPES[kind])
                if kind == "relapses":  # a checkbox reads back in its choices' order
                    assert [_canonical(r) for r in back] == [_canonical(r) for r in registry[kind]]
                    continue
                assert back == registry[kind], kind
        export_redcap_dir(engine, work / "second")
        for name in (DICTIONARY_FILE, DATA_FILE):
            assert (work / "first" / name).read_bytes() == (work / "second" / name).read_bytes()
    finally:
        shutil.rmtree(work)


# -- all or nothing, every problem named -----------------------------------------------------


def _small_registry() -> dict[str, list[Record]]:
    """Two patients at one site; LDN, a relapse, an EDSS and a fatigue rating."""
    return {
        "sites": [Site(site_id="S1", name="Neurology, Bergen", country="NO")],
        "clinicians": [Clinician(clinician_id="C1", display_name="Dr Test", site_id="S1")],
        "patients": [
            demo_patient("P001", site_id="S1", clinician_id="C1"),
            demo_patient("P002", phenotype="SPMS"),
        ],
        "exposures": [
            Exposure(
                id=1,
                patient_id="P001",
                drug_name="naltrexone",
                drug_class=DrugClass.LDN,
                dose_mg=Decimal("4.5"),
                start_date=dt.date(2020, 1, 1),
            )
        ],
        "relapses": [
            Relapse(
                id=2,
                patient_id="P001",
                onset_date=dt.date(2021, 3, 1),
                functional_systems=(FunctionalSystem.VISUAL, FunctionalSystem.SENSORY),
            )
        ],
        "edss": [EdssAssessment(id=3, patient_id="P002", date=dt.date(2021, 1, 1), score=3.5)],
        "questionnaires": [
            QuestionnaireResponse(
                id=4,
                patient_id="P001",
                instrument_id="nrs-fatigue",
                instrument_version="1",
                date=dt.date(2021, 2, 1),
                answers=(6,),
            )
        ],
    }


@pytest.fixture
def exported(engine: Engine, tmp_path: Path) -> Path:
    _empty(engine)
    _load(engine, _small_registry())
    export_redcap_dir(engine, tmp_path / "out")
    _empty(engine)
    return tmp_path / "out"


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / DATA_FILE).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(folder: Path, rows: list[dict[str, str]], extra: dict[str, str] | None = None) -> None:
    header = list(rows[0])
    if extra:
        header = [header[0], *extra, *header[1:]]
    with (folder / DATA_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({**(extra or {}), **row})


def test_export_writes_repeating_instruments_and_checkboxes(exported: Path) -> None:
    rows = _rows(exported)
    assert [(r["record_id"], r[INSTRUMENT], r[INSTANCE]) for r in rows] == [
        ("P001", "", ""),
        ("P001", "exposure", "1"),
        ("P001", "relapse", "1"),
        ("P001", "nrs_fatigue_v1", "1"),
        ("P002", "", ""),
        ("P002", "edss", "1"),
    ]
    relapse = rows[2]
    assert relapse["relapse_fs___4"] == "1" and relapse["relapse_fs___6"] == "1"  # sensory, visual
    assert relapse["relapse_fs___1"] == "0" and rows[1]["relapse_fs___1"] == ""
    assert rows[0]["site_name"] == "Neurology, Bergen" and rows[0]["patient_complete"] == "2"
    assert rows[1]["exposure_dose_mg"] == "4.5" and rows[1]["exposure_drug_class"] == "1"
    assert rows[3]["nrs_fatigue_v1_rating"] == "6" and rows[3]["nrs_fatigue_v1_total"] == "6"


def test_import_is_all_or_nothing_and_names_row_record_instance_and_field(
    engine: Engine, exported: Path
) -> None:
    rows = _rows(exported)
    rows[1]["exposure_start_date"] = "01/02/2020"  # not date_ymd
    rows[2]["relapse_confirmed_by"] = "7"  # no such code
    rows[3]["nrs_fatigue_v1_rating"] = "11"  # out of the scale's range
    rows[5]["edss_score"] = "0.5"  # no 0.5 on the EDSS
    _write(exported, rows)
    with pytest.raises(ValidationFailed) as caught:
        import_redcap(engine, exported, actor="test")
    found = {(p.row, p.record, p.field) for p in caught.value.problems}
    assert (3, "record P001, exposure #1", "exposure_start_date") in found
    assert (4, "record P001, relapse #1", "relapse_confirmed_by") in found
    assert (5, "record P001, nrs_fatigue_v1 #1", "nrs_fatigue_v1_rating") in found
    assert (7, "record P002, edss #1", "edss_score") in found
    assert all(p.source == DATA_FILE for p in caught.value.problems)
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0


def test_longitudinal_export_names_the_event(engine: Engine, exported: Path) -> None:
    rows = _rows(exported)
    rows[5]["edss_score"] = "11"
    _write(exported, rows, extra={EVENT: "baseline_arm_1"})
    with pytest.raises(ValidationFailed) as caught:
        import_redcap(engine, exported, actor="test")
    assert [(p.record, p.field) for p in caught.value.problems] == [
        ("record P002, event baseline_arm_1, edss #1", "edss_score")
    ]
    rows[5]["edss_score"] = "3.5"
    _write(exported, rows, extra={EVENT: "baseline_arm_1"})
    counts, _ = import_redcap(engine, exported, actor="test")
    assert counts["edss"] == 1 and counts["sites"] == 1


def test_a_record_already_in_the_registry_is_named_by_row_and_field(
    engine: Engine, exported: Path
) -> None:
    import_redcap(engine, exported, actor="test")
    with pytest.raises(ValidationFailed) as caught:
        import_redcap(engine, exported, actor="test")
    first = caught.value.problems[0]
    assert first.source == DATA_FILE and first.row == 2
    assert (first.record, first.field) == ("record P001", "record_id")


def test_data_on_the_wrong_row_and_a_repeated_instance_are_refused(
    engine: Engine, exported: Path
) -> None:
    rows = _rows(exported)
    rows[1]["edss_score"] = "2"  # EDSS data on an exposure row
    rows.append(dict(rows[5]))  # P002's EDSS instance twice
    _write(exported, rows)
    with pytest.raises(ValidationFailed) as caught:
        import_redcap(engine, exported, actor="test")
    rules = {(p.row, p.field): p.rule for p in caught.value.problems}
    assert "repeating instrument exposure" in rules[(3, "edss_score")]
    assert "more than once (first at row 7)" in rules[(8, "edss")]


def test_a_foreign_export_is_refused_with_every_unmapped_field_named(
    engine: Engine, tmp_path: Path
) -> None:
    """A real REDCap export (repeating instrument "sale") with its own dictionary."""
    for name in (
        "redcaprits_ExampleProject_DATA_2018-06-07_1129.csv",
        "redcaprits_ExampleProject_DataDictionary_2018-06-07.csv",
    ):
        shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(ValidationFailed) as caught:
        import_redcap(engine, tmp_path, actor="test")
    named = {p.field for p in caught.value.problems if p.record == "dictionary"}
    assert {"mpg", "color_available", "price", "customer"} <= named
    assert "row" not in named  # their record id field maps onto ours


def test_real_exports_read_as_rows_with_repeat_and_event_columns() -> None:
    header, rows, problems = csv_rows(
        (FIXTURES / "redcaprits_WARRIORtestForSoftwa_DATA_2018-06-21_1431.csv").read_bytes(),
        "warrior.csv",
        "data",
    )
    assert problems == [] and header[:4] == [RECORD_ID, EVENT, INSTRUMENT, INSTANCE]
    assert [where(r) for _, r in rows][
        3
    ] == "record 806-1, event baseline_arm_1, informed_consent_and_addendum #1"
    _, simple, problems = csv_rows(
        (FIXTURES / "redcap_data_REDCapR_simple.csv").read_bytes(), "simple.csv", "data"
    )
    assert problems == [] and len(simple) == 5
    assert simple[3][1]["comments"].startswith("This record doesn't have a DAG assigned\n")
    assert [n for n, _ in simple] == [2, 3, 4, 5, 6]


def test_cli_export_import_and_check(tmp_path: Path, engine: Engine) -> None:
    from typer.testing import CliRunner

    from ldn_outcomes.cli.main import app

    _empty(engine)
    _load(engine, _small_registry())
    db = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--format", "redcap", str(tmp_path / "out"), "--db", db])
    assert result.exit_code == 0, result.output
    assert "6 data rows for 2 records" in result.output
    _empty(engine)
    result = runner.invoke(
        app, ["import", "--format", "redcap", str(tmp_path / "out"), "--db", db, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"patients": 2' in result.output
    result = runner.invoke(
        app,
        ["redcap", "check", str(FIXTURES / "redcap_datadictionary_REDCapR_simple.csv"), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {f["field"]: f["status"] for f in report["fields"]}["sex"] == "differs"
    assert "year_of_birth" in report["missing_required"]


def test_a_high_naltrexone_dose_is_imported_and_named_for_checking(
    engine: Engine, exported: Path
) -> None:
    rows = _rows(exported)
    rows[1]["exposure_dose_mg"] = "50"
    _write(exported, rows)
    counts, notices = import_redcap(engine, exported, actor="test")
    assert counts["exposures"] == 1
    assert [(n.row, n.record, n.field) for n in notices] == [
        (3, "record P001, exposure #1", "exposure_dose_mg")
    ]


def _exported_rows() -> list[dict[str, str]]:
    registry = _small_registry()
    proj = project()
    rows = []
    for patient in registry["patients"]:
        own = {
            k: [r for r in v if getattr(r, "patient_id", None) == patient.patient_id]
            for k, v in registry.items()
        }
        rows.extend(patient_rows(proj, patient, own))
    return rows


@settings(max_examples=150, deadline=None)
@given(
    index=st.integers(0, 5),
    column=st.sampled_from(project().data_header(longitudinal=True)),
    value=st.text(max_size=12)
    | st.sampled_from(["", "0", "1", "2", "-1", "1.5", "2020-02-30", "99"]),
)
def test_no_cell_makes_the_row_reader_raise(index: int, column: str, value: str) -> None:
    """Whatever a cell holds, a row reads to records or to problems naming its field."""
    rows = _exported_rows()
    row = {**rows[index], column: value}
    read = read_row(project(), index + 2, row, "data.csv")
    for problem in read.problems:
        assert problem.row == index + 2 and problem.source == "data.csv"
        assert problem.record.startswith("record ")


def test_every_real_dictionary_reads_without_a_problem() -> None:
    counts = {}
    for path in sorted(FIXTURES.glob("*DataDictionary*.csv")) + sorted(
        FIXTURES.glob("redcap_datadictionary_*.csv")
    ):
        fields, problems = read_dictionary(path.name, path.read_bytes())
        assert problems == [], path.name
        counts[path.name] = fields
    example = {f.name: f for f in counts["redcaprits_ExampleProject_DataDictionary_2018-06-07.csv"]}
    assert example["color_available"].choices[0] == ("red", "Red")  # letter codes
    assert example["price"].validation == "number_2dp" and example["price"].form == "sale"
    warrior = counts["redcaprits_WARRIORtestForSoftwareUpgrades_DataDictionary_2018-06-21.csv"]
    assert len(warrior) == 86
    assert sum(1 for f in warrior if f.branching) == 16
    assert any("@READONLY" in f.annotation for f in warrior)
    assert {f.validation for f in warrior} >= {"date_mdy", "signature"}
