"""Exported text never runs as a spreadsheet formula, and import restores it exactly.

OWASP's CSV injection guidance (https://owasp.org/www-community/attacks/CSV_Injection): a cell
starting with =, +, -, @, tab or carriage return is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from ldn_outcomes.domain.layout import (
    FORMULA_TRIGGERS,
    format_cell,
    neutralise_formula,
    restore_formula,
)
from ldn_outcomes.domain.models import AdverseEvent, Exposure, Patient
from ldn_outcomes.importers.registry_csv import export_dir, import_path
from ldn_outcomes.store.uow import UnitOfWork

from .test_roundtrip import _empty, _same_files


@given(st.text())
def test_neutralise_then_restore_is_the_identity(text: str) -> None:
    safe = neutralise_formula(text)
    assert restore_formula(safe) == text
    assert not safe.startswith(FORMULA_TRIGGERS)


def test_numbers_are_not_prefixed() -> None:
    assert format_cell(-1.5) == "-1.5"
    assert format_cell("-1.5") == "'-1.5"


def test_export_neutralises_and_import_restores(engine: Engine, tmp_path: Path) -> None:
    risky = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "'quoted", "''twice"]
    with UnitOfWork(engine, actor="test") as uow:
        uow.registry.add(Patient(patient_id="P1", year_of_birth=1980, phenotype="RRMS"))
        for i, text in enumerate(risky):
            uow.registry.add(
                Exposure(
                    patient_id="P1",
                    drug_name=text,
                    start_date=dt.date(2020, 1, 1 + i),
                    stop_reason=text,
                )
            )
        uow.registry.add(
            AdverseEvent(
                patient_id="P1",
                onset_date=dt.date(2021, 1, 1),
                term="headache",
                severity="mild",
                free_text="=cmd|' /C calc'!A0",
            )
        )
        uow.commit()
    export_dir(engine, tmp_path / "first")
    with (tmp_path / "first" / "exposures.csv").open(newline="", encoding="utf-8") as handle:
        cells = [row["drug_name"] for row in csv.DictReader(handle)]
    assert cells == [f"'{text}" for text in risky]
    assert all(not c.startswith(FORMULA_TRIGGERS) for c in cells)
    _empty(engine)
    import_path(engine, tmp_path / "first", actor="test")
    with UnitOfWork(engine) as uow:
        names = [e.drug_name for e in uow.registry.records(Exposure)]
        events = uow.registry.records(AdverseEvent)
    assert names == risky
    assert events[0].free_text == "=cmd|' /C calc'!A0"  # type: ignore[attr-defined]
    export_dir(engine, tmp_path / "second")
    _same_files(tmp_path / "first", tmp_path / "second")
