"""``ldn import`` on mutated files: never a traceback, never a partial write.

Each example mutates a valid export (byte flips, truncation, other encodings, huge cells,
wrong headers, byte-order marks, duplicated rows, random bytes, spreadsheet formulas) and
imports it. The import must either succeed or raise ``ValidationFailed`` whose every problem
names its file, row and field; after a refused import the registry is exactly as before.
An outside probe of an earlier version crashed on 478 of 3,496 such inputs.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, func, select
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.domain.models import (
    RECORD_TYPES,
    AdverseEvent,
    Clinician,
    Consent,
    DoseLog,
    EdssAssessment,
    Exposure,
    LabObservation,
    Patient,
    QuestionnaireResponse,
    Relapse,
    Site,
)
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.registry_csv import export_dir, import_contents
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.db import make_engine
from ldn_outcomes.store.tables import ROW_TYPES, AuditRow

EXAMPLES = 3000
DAY = dt.date(2024, 3, 1)


def _base_records() -> dict[str, list]:
    """Two or so records of every kind, with text worth mutating."""
    return {
        "sites": [Site(site_id="S1", name="North clinic", country="GB")],
        "clinicians": [Clinician(clinician_id="C1", display_name="Dr Who", site_id="S1")],
        "patients": [
            Patient(
                patient_id=pid,
                year_of_birth=1980,
                sex="female",
                phenotype="RRMS",
                diagnosis_date=dt.date(2010, 5, 1),
                clinician_id="C1",
                site_id="S1",
            )
            for pid in ("P1", "P2")
        ],
        "exposures": [
            Exposure(
                patient_id="P1",
                drug_name="naltrexone",
                drug_class="ldn",
                dose_mg="4.5",
                start_date=dt.date(2023, 1, 1),
                stop_reason="=1+1 (typed by a patient)",
            ),
            Exposure(patient_id="P2", drug_name="-vitamin D", start_date=dt.date(2022, 6, 1)),
        ],
        "dose_logs": [DoseLog(patient_id="P1", date=DAY, taken=True)],
        "questionnaires": [
            QuestionnaireResponse(
                patient_id="P1",
                instrument_id="checkin",
                instrument_version="1",
                date=DAY,
                answers=(4, None, 6, 0, 1),
            )
        ],
        "relapses": [
            Relapse(
                patient_id="P2",
                onset_date=dt.date(2023, 9, 1),
                recovery_date=dt.date(2023, 10, 1),
                severity="moderate",
                functional_systems=("visual", "sensory"),
            )
        ],
        "edss": [
            EdssAssessment(
                patient_id="P1", date=DAY, score=3.5, functional_systems={"pyramidal": 2}
            )
        ],
        "adverse_events": [
            AdverseEvent(
                patient_id="P1",
                onset_date=DAY,
                term="vivid_dreams",
                severity="mild",
                free_text="@night, vivid\nsecond line",
            )
        ],
        "labs": [
            LabObservation(patient_id="P2", date=DAY, loinc_code="1989-3", value=-1.5, unit="ng/mL")
        ],
        "consents": [Consent(patient_id="P1", scope="research", given_date=DAY)],
    }


def _empty(engine: Engine) -> None:
    """Empty the registry's records (the audit trail is append-only and stays)."""
    with engine.begin() as connection:
        for kind in reversed(list(RECORD_TYPES)):
            connection.execute(delete(ROW_TYPES[kind]))


def _total_rows(engine: Engine) -> int:
    """Rows in every registry table and the audit trail, in one query."""
    tables = [AuditRow, *(ROW_TYPES[kind] for kind in RECORD_TYPES)]
    counts = [select(func.count()).select_from(table).scalar_subquery() for table in tables]
    with engine.connect() as connection:
        return int(connection.execute(select(sum(counts[1:], counts[0]))).scalar_one())


@pytest.fixture(scope="module")
def fuzz_engine(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    path = tmp_path_factory.mktemp("fuzz") / "registry.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection, _record) -> None:  # a scratch database: speed over safety
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def base_export(fuzz_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The valid export every example mutates: generated once."""
    records = _base_records()
    load_records(fuzz_engine, {k: [(None, r) for r in v] for k, v in records.items()}, actor="test")
    directory = tmp_path_factory.mktemp("base")
    export_dir(fuzz_engine, directory)
    _empty(fuzz_engine)
    return {p.stem: p.read_bytes() for p in sorted(directory.iterdir())}


# -- mutations ----------------------------------------------------------------------------
def _flip(data: bytes, draw: st.DrawFn) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


def _truncate(data: bytes, draw: st.DrawFn) -> bytes:
    return data[: draw(st.integers(0, max(len(data) - 1, 0)))]


def _reencode(data: bytes, draw: st.DrawFn) -> bytes:
    text = data.decode("utf-8", errors="surrogateescape")
    at = draw(st.integers(0, len(text)))
    text = text[:at] + draw(st.sampled_from(["é", "ß", "€", "–", "日本", "\U0001f600"])) + text[at:]
    encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")  # lone surrogates become "?"


def _cell(data: bytes, draw: st.DrawFn, value: str) -> bytes:
    """Replace one cell of one data row with ``value`` (quoted as CSV would)."""
    lines = data.decode("utf-8", errors="surrogateescape").split("\n")
    if len(lines) < 3:
        return data
    row = draw(st.integers(1, len(lines) - 2))
    cells = lines[row].split(",")
    column = draw(st.integers(0, len(cells) - 1))
    quoted = '"' + value.replace('"', '""') + '"'
    cells[column] = quoted
    lines[row] = ",".join(cells)
    return "\n".join(lines).encode("utf-8", errors="surrogateescape")


def _huge(data: bytes, draw: st.DrawFn) -> bytes:
    size = draw(st.sampled_from([131_072, 131_073, 200_000, 1_000_001]))
    return _cell(data, draw, draw(st.sampled_from(["x", "=", "9", "1;"])) * size)


def _text_cell(data: bytes, draw: st.DrawFn) -> bytes:
    return _cell(data, draw, draw(st.text(max_size=30)))


def _formula_cell(data: bytes, draw: st.DrawFn) -> bytes:
    first = draw(st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "''"]))
    return _cell(data, draw, first + draw(st.sampled_from(["1+1", "HYPERLINK(x)", "", "2024"])))


def _header(data: bytes, draw: st.DrawFn) -> bytes:
    lines = data.split(b"\n")
    names = lines[0].split(b",")
    how = draw(st.sampled_from(["rename", "drop", "duplicate", "remove_row", "empty", "blank"]))
    if how == "rename":
        names[draw(st.integers(0, len(names) - 1))] += b"x"
    elif how == "drop":
        names.pop(draw(st.integers(0, len(names) - 1)))
    elif how == "duplicate":
        names.append(names[draw(st.integers(0, len(names) - 1))])
    elif how == "remove_row":
        return b"\n".join(lines[1:])
    elif how == "empty":
        return b""
    else:
        return b"\n" + data
    lines[0] = b",".join(names)
    return b"\n".join(lines)


def _bom(data: bytes, draw: st.DrawFn) -> bytes:
    bom = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe"]))
    return bom + data


def _duplicate_rows(data: bytes, draw: st.DrawFn) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 3:
        return data + data
    row = draw(st.integers(1, len(lines) - 2))
    return b"\n".join([*lines[: row + 1], lines[row], *lines[row + 1 :]])


def _insert_bytes(data: bytes, draw: st.DrawFn) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


MUTATIONS = [
    _flip,
    _truncate,
    _reencode,
    _huge,
    _text_cell,
    _formula_cell,
    _header,
    _bom,
    _duplicate_rows,
    _insert_bytes,
]


@st.composite
def mutated_exports(draw: st.DrawFn, base: dict[str, bytes]) -> dict[str, bytes]:
    files = dict(base)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(sorted(files)))
        mutation = draw(st.sampled_from(MUTATIONS))
        files[kind] = mutation(files[kind], draw)
    return files


def _write(directory: Path, files: dict[str, bytes]) -> None:
    for kind, data in files.items():
        (directory / f"{kind}.csv").write_bytes(data)


def _check_problems(failure: ValidationFailed, names: set[str]) -> None:
    assert failure.problems
    for problem in failure.problems:
        assert problem.source in names, problem
        assert problem.row is not None, problem
        assert problem.field, problem


# -- the fuzz ------------------------------------------------------------------------------
def test_mutated_imports_never_crash_or_write_partly(
    fuzz_engine: Engine, base_export: dict[str, bytes]
) -> None:
    names = {f"{kind}.csv" for kind in base_export}
    outcome = {"refused": 0, "imported": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(files=mutated_exports(base_export))
    def run(files: dict[str, bytes]) -> None:
        contents = {kind: (f"{kind}.csv", data) for kind, data in files.items()}
        before = _total_rows(fuzz_engine)  # the audit rows of earlier imports stay
        try:
            import_contents(fuzz_engine, contents, actor="fuzz")
        except ValidationFailed as failure:
            _check_problems(failure, names)
            assert _total_rows(fuzz_engine) == before, "a refused import wrote something"
            outcome["refused"] += 1
        else:
            outcome["imported"] += 1
            _empty(fuzz_engine)

    run()
    assert outcome["refused"] + outcome["imported"] >= EXAMPLES
    assert outcome["refused"] > EXAMPLES // 2  # the mutations do break things
    assert outcome["imported"] > 0  # and harmless ones (a BOM, a formula) still import


def test_the_unmutated_export_imports(fuzz_engine: Engine, base_export: dict[str, bytes]) -> None:
    contents = {kind: (f"{kind}.csv", data) for kind, data in base_export.items()}
    counts, _ = import_contents(fuzz_engine, contents, actor="fuzz")
    assert counts["patients"] == 2
    _empty(fuzz_engine)


runner = CliRunner()


@pytest.mark.parametrize(
    ("kind", "mutate", "expected"),
    [
        ("patients", lambda d: d.replace(b"RRMS", b"RR\xffMS", 1), "not UTF-8"),
        ("exposures", lambda d: d.replace(b"naltrexone", b"n" * 140_000, 1), "drug_name"),
        ("labs", lambda d: d.replace(b"unit", b"units", 1), "unknown column"),
        ("relapses", lambda d: d.decode().encode("utf-16"), "not UTF-8"),
        ("consents", lambda d: d[: len(d) // 2] + b'"', "consents.csv"),
    ],
)
def test_cli_import_of_broken_files_exits_2_naming_file_row_field(
    base_export: dict[str, bytes], db_url: str, tmp_path: Path, kind: str, mutate, expected: str
) -> None:
    files = dict(base_export)
    files[kind] = mutate(files[kind])
    _write(tmp_path, files)
    result = runner.invoke(app, ["import", str(tmp_path), "--db", db_url], terminal_width=200)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{kind}.csv" in result.stderr and "row" in result.stderr
    assert expected in result.stderr
    engine = make_engine(db_url)
    try:
        assert _total_rows(engine) == 0
    finally:
        engine.dispose()
