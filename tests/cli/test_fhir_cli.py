"""``ldn export --format fhir`` and ``ldn import --format fhir`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app

runner = CliRunner()


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_fhir_export_then_import_into_an_empty_registry(tmp_path: Path) -> None:
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for url in (first, second):
        assert ldn("init", "--db", url)[0] == 0
    code, _, err = ldn(
        "patient", "add", "P_1:a", "--year-of-birth", "1978", "--phenotype", "PPMS", "--db", first
    )
    assert code == 0, err
    code, out, err = ldn(
        "export", "--format", "fhir", str(tmp_path / "out"), "--db", first, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["exported"] == {"bundles": 1, "resources": 2}
    bundle = json.loads((tmp_path / "out" / "P_1:a.json").read_text())
    assert bundle["entry"][0]["resource"]["identifier"][0]["value"] == "P_1:a"
    code, out, err = ldn(
        "import", "--format", "fhir", str(tmp_path / "out"), "--db", second, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["imported"]["patients"] == 1


def test_a_bad_bundle_exits_2_naming_file_resource_and_element(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert ldn("init", "--db", url)[0] == 0
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "P1", "gender": "sometimes"}}],
    }
    (tmp_path / "p.json").write_text(json.dumps(bad))
    code, _, err = ldn("import", "--format", "fhir", str(tmp_path / "p.json"), "--db", url)
    assert code == 2
    assert "p.json" in err and "Patient/P1" in err and "gender" in err


def test_ndjson_export_then_import_and_a_high_dose_notice(tmp_path: Path) -> None:
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for url in (first, second):
        assert ldn("init", "--db", url)[0] == 0
    code, _, err = ldn(
        "patient", "add", "P1", "--year-of-birth", "1978", "--phenotype", "RRMS", "--db", first
    )
    assert code == 0, err
    out_dir = tmp_path / "bulk"
    code, out, err = ldn("export", "--format", "fhir-ndjson", str(out_dir), "--db", first)
    assert code == 0, err
    assert "wrote 2 resources in 2 NDJSON files" in out
    assert "exporting" not in out + err  # no progress bar when the output is not a terminal
    assert sorted(p.name for p in out_dir.iterdir()) == ["Condition.ndjson", "Patient.ndjson"]
    statement = {
        "resourceType": "MedicationStatement",
        "id": "exposure-1",
        "status": "active",
        "category": {"coding": [{"system": "urn:ldn-outcomes:drug-class", "code": "ldn"}]},
        "medicationCodeableConcept": {"text": "naltrexone"},
        "subject": {"reference": "Patient/P1"},
        "effectivePeriod": {"start": "2021-01-10"},
        "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}],
    }
    (out_dir / "MedicationStatement.ndjson").write_text(json.dumps(statement) + "\n")
    code, out, err = ldn("import", "--format", "fhir", str(out_dir), "--db", second, "--json")
    assert code == 0, err
    [notice] = json.loads(out)["notices"]
    assert notice["record"] == "MedicationStatement/exposure-1"
    assert notice["source"] == "MedicationStatement.ndjson line 1"
    assert "50 mg/day is above the low-dose range" in notice["rule"]
