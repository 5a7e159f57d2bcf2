"""Sites and clinicians that several files of one import each carry a copy of: every copy must
agree, one already in the registry is kept if equal and refused if not, all in the load's one
transaction, so a refused import writes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from tests.factories import demo_patient

from ldn_outcomes.domain.models import Clinician, Site
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.importers.fhir_import import import_fhir
from ldn_outcomes.importers.fhir_map import patient_bundle
from ldn_outcomes.importers.redcap_files import DATA_FILE, export_redcap_dir, import_redcap
from ldn_outcomes.store.bulk import load_records
from ldn_outcomes.store.shared_records import SHARED_KINDS
from ldn_outcomes.store.tables import ROW_TYPES
from ldn_outcomes.store.uow import UnitOfWork

BERGEN = Site(site_id="S1", name="Neurology, Bergen", country="NO")


def _bundles(folder: Path, sites: dict[str, Site]) -> Path:
    """One Bundle per patient, each carrying its own copy of the patient's site."""
    folder.mkdir()
    for patient_id, site in sites.items():
        bundle = patient_bundle(demo_patient(patient_id, site_id=site.site_id), {}, [site])
        (folder / f"{patient_id}.json").write_text(json.dumps(bundle), encoding="utf-8")
    return folder


def _count(engine: Engine, kind: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ROW_TYPES[kind])).scalar())


def test_a_site_copy_that_differs_from_another_is_refused_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    renamed = BERGEN.model_copy(update={"name": "Neurology, Haukeland"})
    folder = _bundles(tmp_path / "in", {"P001": BERGEN, "P002": renamed})
    with pytest.raises(ValidationFailed) as failure:
        import_fhir(engine, folder, actor="test")
    [problem] = failure.value.problems
    assert "every copy must agree" in problem.rule and "P001.json" in problem.rule
    assert problem.source == "P002.json" and problem.record == "Organization/S1"
    assert _count(engine, "sites") == 0 and _count(engine, "patients") == 0


def test_a_site_the_registry_holds_is_kept_if_equal_and_refused_if_not(
    engine: Engine, tmp_path: Path
) -> None:
    load_records(engine, {"sites": [(None, BERGEN)]}, actor="test")
    counts = import_fhir(engine, _bundles(tmp_path / "same", {"P001": BERGEN}), actor="test")
    assert counts["patients"] == 1 and "sites" not in counts
    renamed = BERGEN.model_copy(update={"name": "Neurology, Haukeland"})
    with pytest.raises(ValidationFailed, match="differs from the registry's record"):
        import_fhir(engine, _bundles(tmp_path / "other", {"P002": renamed}), actor="test")
    assert _count(engine, "patients") == 1 and _count(engine, "sites") == 1


def test_load_records_writes_one_copy_of_equal_shared_records(engine: Engine) -> None:
    clinician = Clinician(clinician_id="C1", display_name="Dr Test", site_id="S1")
    counts = load_records(
        engine,
        {
            "sites": [(0, BERGEN), (1, BERGEN)],
            "clinicians": [(2, clinician), (3, clinician)],
            "patients": [(4, demo_patient("P001", site_id="S1", clinician_id="C1"))],
        },
        actor="test",
        shared=SHARED_KINDS,
    )
    assert counts == {"sites": 1, "clinicians": 1, "patients": 1}


def test_a_redcap_row_whose_site_differs_from_an_earlier_row_is_refused_and_nothing_written(
    engine: Engine, tmp_path: Path
) -> None:
    patients = [demo_patient(p, site_id="S1") for p in ("P001", "P002")]
    load_records(
        engine,
        {"sites": [(None, BERGEN)], "patients": [(None, p) for p in patients]},
        actor="test",
    )
    export_redcap_dir(engine, tmp_path / "out")
    with engine.begin() as connection:  # an empty registry to import into
        for kind in ("patients", "sites"):
            connection.execute(ROW_TYPES[kind].__table__.delete())
    data = tmp_path / "out" / DATA_FILE
    with data.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[1]["site_name"] = "Neurology, Haukeland"  # P002's copy of site S1
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValidationFailed) as failure:
        import_redcap(engine, tmp_path / "out", actor="test")
    [problem] = failure.value.problems
    assert "every copy must agree" in problem.rule and "row 2" in problem.rule
    assert problem.row == 3 and problem.field == "site_id"
    with UnitOfWork(engine) as uow:
        assert uow.registry.count("patients") == 0 and uow.registry.count("sites") == 0
