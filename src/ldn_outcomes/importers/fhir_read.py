"""FHIR resources back to registry records: the inverse of :mod:`.fhir_map`, pure, no I/O.

Each reader returns the record kind, the record's fields (validated later by the domain
model, so the same rules refuse the same values as every other input path) and, for each
field, the FHIR element it came from, so a broken rule is named by resource and element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..domain.identifiers import parse_database_id
from ..errors import NotFound
from . import fhir_map as m

#: Domain field -> FHIR element, per resource kind (for naming problems).
Elements = dict[str, str]


@dataclass
class Read:
    """What one resource says: a record kind and its fields, or a problem with an element."""

    kind: str
    data: dict[str, Any]
    elements: Elements
    problems: list[tuple[str, str]] = field(default_factory=list)  # (element, rule)


def _get(node: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return None
        elif not isinstance(node, dict):
            return None
        node = node[step] if isinstance(step, int) else node.get(step)
    return node


def _code(concept: Any, system: str) -> str | None:
    """The code of ``system`` in a CodeableConcept, if any."""
    for coding in _get(concept, "coding") or []:
        if isinstance(coding, dict) and coding.get("system") == system:
            code = coding.get("code")
            return str(code) if code is not None else None
    return None


def _extension(resource: dict[str, Any], url: str, kind: str) -> Any:
    for item in resource.get("extension") or []:
        if isinstance(item, dict) and item.get("url") == url:
            return item.get(kind)
    return None


def _patient_id(resource: dict[str, Any], element: str, read: Read) -> str | None:
    reference = _get(resource, element, "reference")
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        read.problems.append((f"{element}.reference", "must be Patient/<patient id>"))
        return None
    return reference.removeprefix("Patient/")


def _key(resource: dict[str, Any], kind: str, read: Read) -> int | None:
    """The record id from a resource id ``<kind>-<n>``."""
    rid = str(resource.get("id") or "")
    prefix, _, number = rid.rpartition("-")
    rule = f"must be {kind.replace('_', '-')}-<number> (the record's id)"
    if prefix != kind.replace("_", "-"):
        read.problems.append(("id", rule))
        return None
    try:  # a number the database can hold: beyond 64 bits the driver fails (OverflowError)
        return parse_database_id(number)
    except ValueError as error:
        read.problems.append(("id", f"{rule}: the number {error}"))
        return None


def read_patient(patient: dict[str, Any], condition: dict[str, Any] | None) -> Read:
    """A Patient and its MS Condition make one patient record."""
    read = Read("patients", {}, {})
    birth = str(patient.get("birthDate") or "")
    read.data = {
        "patient_id": _identifier(patient),
        "sex": patient.get("gender") or "unknown",
        "year_of_birth": int(birth[:4]) if birth[:4].isdigit() else None,
    }
    clinician = str(_get(patient, "generalPractitioner", 0, "reference") or "")
    site = str(_get(patient, "managingOrganization", "reference") or "")
    read.data["clinician_id"] = clinician.removeprefix("Practitioner/") or None
    read.data["site_id"] = site.removeprefix("Organization/") or None
    read.elements = {
        "clinician_id": "Patient.generalPractitioner",
        "site_id": "Patient.managingOrganization",
        "patient_id": "Patient.identifier",
        "sex": "Patient.gender",
        "year_of_birth": "Patient.birthDate",
        "phenotype": "Condition.code",
        "first_symptoms_date": "Condition.onsetDateTime",
        "diagnosis_date": "Condition.extension(assertedDate)",
    }
    if condition is None:
        read.problems.append(("Condition", "no multiple sclerosis Condition for this patient"))
        return read
    read.data["phenotype"] = _code(condition.get("code"), m.PHENOTYPE_SYSTEM)
    read.data["first_symptoms_date"] = _date(condition.get("onsetDateTime"))
    read.data["diagnosis_date"] = _date(_extension(condition, m.ASSERTED_DATE, "valueDateTime"))
    return read


def _identifier(resource: dict[str, Any], system: str = m.PATIENT_ID_SYSTEM) -> Any:
    """The registry's own id of a resource (its identifier in ``system``), else its id."""
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == system:
            return identifier.get("value")
    return resource.get("id")


def read_organization(resource: dict[str, Any]) -> Read:
    read = Read("sites", {}, {})
    read.data = {
        "site_id": _identifier(resource, m.SITE_ID_SYSTEM),
        "name": resource.get("name"),
        "country": _get(resource, "address", 0, "country"),
    }
    read.elements = {"site_id": "identifier", "name": "name", "country": "address[0].country"}
    return read


def read_practitioner(resource: dict[str, Any]) -> Read:
    read = Read("clinicians", {}, {})
    read.data = {
        "clinician_id": _identifier(resource, m.CLINICIAN_ID_SYSTEM),
        "display_name": _get(resource, "name", 0, "text"),
        "site_id": _extension(resource, m.ext("site_id"), "valueString"),
    }
    read.elements = {
        "clinician_id": "identifier",
        "display_name": "name[0].text",
        "site_id": "extension(site_id)",
    }
    return read


def _date(value: Any) -> Any:
    """A FHIR date or dateTime as its date part (the registry keeps dates)."""
    return value[:10] if isinstance(value, str) else value


def read_medication_statement(resource: dict[str, Any]) -> Read:
    read = Read("exposures", {}, {})
    dosage = _get(resource, "dosage", 0) or {}
    dose = _get(dosage, "doseAndRate", 0, "doseQuantity")
    if dose is not None and dose.get("unit") != "mg":
        read.problems.append(("dosage[0].doseAndRate[0].doseQuantity.unit", "must be mg"))
    when = _get(dosage, "timing", "repeat", "when", 0)
    time_of_day = m._reverse(m.EVENT_TIMING).get(when, "unknown") if when else "unknown"
    read.data = {
        "id": _key(resource, "exposure", read),
        "patient_id": _patient_id(resource, "subject", read),
        "drug_name": _get(resource, "medicationCodeableConcept", "text"),
        "rxnorm_cui": _code(resource.get("medicationCodeableConcept"), m.RXNORM),
        "drug_class": _code(resource.get("category"), m.DRUG_CLASS_SYSTEM) or "other",
        "dose_mg": None if dose is None else _decimal(dose.get("value")),
        "frequency": _get(dosage, "timing", "code", "text") or "daily",
        "time_of_day": time_of_day,
        "formulation": _extension(resource, m.ext("formulation"), "valueCode"),
        "start_date": _date(_get(resource, "effectivePeriod", "start")),
        "stop_date": _date(_get(resource, "effectivePeriod", "end")),
        "stop_reason": _get(resource, "statusReason", 0, "text"),
    }
    read.elements = {
        "id": "id",
        "patient_id": "subject",
        "drug_name": "medicationCodeableConcept.text",
        "rxnorm_cui": "medicationCodeableConcept.coding",
        "drug_class": "category",
        "dose_mg": "dosage[0].doseAndRate[0].doseQuantity.value",
        "frequency": "dosage[0].timing.code.text",
        "time_of_day": "dosage[0].timing.repeat.when",
        "formulation": "extension(formulation)",
        "start_date": "effectivePeriod.start",
        "stop_date": "effectivePeriod.end",
        "stop_reason": "statusReason[0].text",
    }
    return read


def _decimal(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, (int, float, str)) else value


def read_observation(resource: dict[str, Any]) -> Read:
    """EDSS (the project's code) or a lab (LOINC)."""
    if _code(resource.get("code"), m.EDSS_SYSTEM) == "edss":
        return _read_edss(resource)
    read = Read("labs", {}, {})
    read.data = {
        "id": _key(resource, "lab", read),
        "patient_id": _patient_id(resource, "subject", read),
        "date": _date(resource.get("effectiveDateTime")),
        "loinc_code": _code(resource.get("code"), m.LOINC),
        "name": _get(resource, "code", "text"),
        "value": _get(resource, "valueQuantity", "value"),
        "unit": _get(resource, "valueQuantity", "unit"),
    }
    read.elements = {
        "id": "id",
        "patient_id": "subject",
        "date": "effectiveDateTime",
        "loinc_code": "code.coding(LOINC)",
        "name": "code.text",
        "value": "valueQuantity.value",
        "unit": "valueQuantity.unit",
    }
    return read


def _read_edss(resource: dict[str, Any]) -> Read:
    read = Read("edss", {}, {})
    systems: dict[str, Any] = {}
    for number, component in enumerate(resource.get("component") or []):
        system = _code(component.get("code"), m.FUNCTIONAL_SYSTEM_SYSTEM)
        if system is None:
            read.problems.append((f"component[{number}].code", "not an EDSS functional system"))
            continue
        systems[system] = component.get("valueInteger")
    read.data = {
        "id": _key(resource, "edss", read),
        "patient_id": _patient_id(resource, "subject", read),
        "date": _date(resource.get("effectiveDateTime")),
        "score": _get(resource, "valueQuantity", "value"),
        "functional_systems": systems,
        "rater": _get(resource, "performer", 0, "display"),
    }
    read.elements = {
        "id": "id",
        "patient_id": "subject",
        "date": "effectiveDateTime",
        "score": "valueQuantity.value",
        "functional_systems": "component",
        "rater": "performer[0].display",
    }
    return read


def read_questionnaire_response(resource: dict[str, Any]) -> Read:
    read = Read("questionnaires", {}, {})
    canonical = str(resource.get("questionnaire") or "")
    instrument, _, version = canonical.removeprefix(m.INSTRUMENT_PREFIX).partition("|")
    if not canonical.startswith(m.INSTRUMENT_PREFIX) or not version:
        read.problems.append(
            ("questionnaire", f"must be {m.INSTRUMENT_PREFIX}<instrument>|<version>")
        )
    answers: list[Any] = []
    items = resource.get("item") or []
    try:
        keys: tuple[str, ...] | None = m.item_keys(instrument, version) if version else None
    except NotFound as error:
        read.problems.append(("questionnaire", str(error)))
        keys = None
    if keys is not None:
        found = [_get(item, "linkId") for item in items]
        if tuple(found) != keys:
            read.problems.append(
                ("item", f"linkIds must be the instrument's items in order: {', '.join(keys)}")
            )
    for item in items:
        answers.append(_get(item, "answer", 0, "valueDecimal"))
    read.data = {
        "id": _key(resource, "questionnaire", read),
        "patient_id": _patient_id(resource, "subject", read),
        "instrument_id": instrument,
        "instrument_version": version,
        "date": _date(resource.get("authored")),
        "answers": tuple(answers),
        "total": _extension(resource, m.ext("total"), "valueDecimal"),
    }
    read.elements = {
        "id": "id",
        "patient_id": "subject",
        "instrument_id": "questionnaire",
        "instrument_version": "questionnaire",
        "date": "authored",
        "answers": "item.answer",
        "total": "extension(total)",
    }
    return read


def read_adverse_event(resource: dict[str, Any]) -> Read:
    read = Read("adverse_events", {}, {})
    outcome = _code(resource.get("outcome"), m.AE_OUTCOME)
    read.data = {
        "id": _key(resource, "adverse_event", read),
        "patient_id": _patient_id(resource, "subject", read),
        "onset_date": _date(resource.get("date")),
        "term": _code(resource.get("event"), m.AE_TERM_SYSTEM),
        "term_code": _extension(resource, m.ext("term_code"), "valueString"),
        "free_text": _get(resource, "event", "text"),
        "severity": _code(resource.get("severity"), m.AE_SEVERITY),
        "relationship": _extension(resource, m.ext("causality"), "valueCode") or "unassessable",
        "outcome": m._reverse(m.AE_OUTCOMES).get(outcome or "unknown", outcome),
    }
    read.elements = {
        "id": "id",
        "patient_id": "subject",
        "onset_date": "date",
        "term": "event.coding",
        "term_code": "extension(term_code)",
        "free_text": "event.text",
        "severity": "severity",
        "relationship": "extension(causality)",
        "outcome": "outcome",
    }
    return read


def read_consent(resource: dict[str, Any]) -> Read:
    read = Read("consents", {}, {})
    read.data = {
        "id": _key(resource, "consent", read),
        "patient_id": _patient_id(resource, "patient", read),
        "scope": _code(_get(resource, "category", 0), m.CONSENT_SCOPE_SYSTEM),
        "given_date": _date(_get(resource, "provision", "period", "start")),
        "withdrawn_date": _date(_get(resource, "provision", "period", "end")),
    }
    read.elements = {
        "id": "id",
        "patient_id": "patient",
        "scope": "category",
        "given_date": "provision.period.start",
        "withdrawn_date": "provision.period.end",
    }
    return read


READERS = {
    "MedicationStatement": read_medication_statement,
    "Observation": read_observation,
    "QuestionnaireResponse": read_questionnaire_response,
    "AdverseEvent": read_adverse_event,
    "Consent": read_consent,
}
