"""A patient's data as a FHIR Bundle over the API, under the patient-record access rules."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle


def test_a_patient_gets_their_own_data_as_a_valid_fhir_bundle(world) -> None:
    response = world.client("patient").get("/api/me/fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    Bundle.model_validate(body)
    kinds = [entry["resource"]["resourceType"] for entry in body["entry"]]
    assert kinds[:2] == ["Patient", "Condition"] and "Consent" in kinds
    patients = {
        e["resource"]["id"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"
    }
    assert patients == {"P-OWN"}


def test_the_fhir_bundle_follows_the_patient_access_rules(world) -> None:
    assert world.client("patient").get("/api/patients/P-OWN/fhir").status_code == 200
    assert world.client("clinician").get("/api/patients/P-OWN/fhir").status_code == 200
    assert world.client("patient").get("/api/patients/P-OTHER/fhir").status_code == 403
    assert world.client("clinician").get("/api/patients/P-OTHER/fhir").status_code == 403
    assert world.client("researcher").get("/api/patients/P-OWN/fhir").status_code == 403
    assert world.client("clinician").get("/api/me/fhir").status_code == 403
    assert world.client(None).get("/api/me/fhir").status_code == 401
