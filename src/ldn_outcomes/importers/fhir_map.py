"""One patient's registry records as FHIR R4 resources, and back: pure mapping, no I/O.

Each record becomes one resource whose ``id`` carries the record's key (``exposure-12``), so a
Bundle read back gives the same records and an export after an import is identical. Codes come
only from :mod:`ldn_outcomes.domain.codes` or from the record itself (a lab's LOINC code, an
exposure's RxNorm code as recorded); what has no verified outside code is written with the
project's own code system (``urn:ldn-outcomes:...``) and its text. The mapping table, with the
source of every code, is in ``docs/interoperability.md``.

What a FHIR element cannot hold is kept in an extension named ``urn:ldn-outcomes:fhir:<field>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..domain.codes import MULTIPLE_SCLEROSIS_SNOMED, PHENOTYPE_SNOMED, Phenotype
from ..domain.instruments.registry import get_instrument
from ..domain.models import (
    AdverseEvent,
    Clinician,
    Consent,
    EdssAssessment,
    Exposure,
    LabObservation,
    Patient,
    QuestionnaireResponse,
    Record,
    Site,
)

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
#: HL7 terminology code systems (https://terminology.hl7.org/).
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
#: FHIR core extension for the date a condition was first asserted (here: the diagnosis date).
ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
#: The project's own code systems and extensions (no outside code is claimed for these).
OWN = "urn:ldn-outcomes"
PATIENT_ID_SYSTEM = f"{OWN}:patient-id"
SITE_ID_SYSTEM = f"{OWN}:site-id"
CLINICIAN_ID_SYSTEM = f"{OWN}:clinician-id"
PHENOTYPE_SYSTEM = f"{OWN}:ms-phenotype"
DRUG_CLASS_SYSTEM = f"{OWN}:drug-class"
EDSS_SYSTEM = f"{OWN}:observation"
FUNCTIONAL_SYSTEM_SYSTEM = f"{OWN}:edss-functional-system"
AE_TERM_SYSTEM = f"{OWN}:adverse-event-term"
CONSENT_SCOPE_SYSTEM = f"{OWN}:consent-scope"
INSTRUMENT_PREFIX = f"{OWN}:instrument:"


def ext(field: str) -> str:
    return f"{OWN}:fhir:{field}"


#: Our time-of-day words as FHIR EventTiming codes (http://hl7.org/fhir/R4B/valueset-event-timing.html).
EVENT_TIMING = {"morning": "MORN", "midday": "NOON", "evening": "EVE", "bedtime": "HS"}
#: Our adverse-event outcomes as the HL7 adverse-event-outcome codes.
AE_OUTCOMES = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
#: Our consent scopes as the HL7 consentscope codes.
CONSENT_SCOPES = {"care": "treatment", "research": "research"}


CONDITION_TEXT = {
    Phenotype.CIS: "Clinically isolated syndrome",
    Phenotype.RRMS: "Relapsing-remitting multiple sclerosis",
    Phenotype.SPMS: "Secondary progressive multiple sclerosis",
    Phenotype.PPMS: "Primary progressive multiple sclerosis",
}


def _reverse(mapping: Mapping[str, str]) -> dict[str, str]:
    return {value: key for key, value in mapping.items()}


def _ref(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{fhir_id(patient_id)}"}


def _extensions(values: Mapping[str, tuple[str, Any]]) -> list[dict[str, Any]]:
    """Extensions for the values that are set: ``{field: (value type, value)}``."""
    return [
        {"url": ext(field), kind: value}
        for field, (kind, value) in values.items()
        if value is not None
    ]


def _with(resource: dict[str, Any], extensions: list[dict[str, Any]]) -> dict[str, Any]:
    if extensions:
        resource["extension"] = extensions
    return resource


def resource_id(kind: str, key: int | None) -> str:
    """The resource id of a record: its kind and key, so the key survives a round trip."""
    return f"{kind.replace('_', '-')}-{key}"


def fhir_id(patient_id: str) -> str:
    """A patient id in FHIR's id alphabet (letters, digits, '-', '.'); the registry's own id,
    which may also hold '_' and ':', travels unchanged in ``Patient.identifier``."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", patient_id)


# -- records -> resources -----------------------------------------------------------------------


def patient_resource(patient: Patient) -> dict[str, Any]:
    """Only what the registry holds: pseudonym, sex, year of birth; never contact details."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id(patient.patient_id),
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient.patient_id}],
        "gender": patient.sex.value,
        "birthDate": f"{patient.year_of_birth:04d}",
    }
    if patient.clinician_id is not None:
        resource["generalPractitioner"] = [{"reference": f"Practitioner/{patient.clinician_id}"}]
    if patient.site_id is not None:
        resource["managingOrganization"] = {"reference": f"Organization/{patient.site_id}"}
    return resource


def organization_resource(site: Site) -> dict[str, Any]:
    """A registry site, carried so a patient's reference to it can be imported elsewhere."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": fhir_id(site.site_id),
        "identifier": [{"system": SITE_ID_SYSTEM, "value": site.site_id}],
        "name": site.name,
    }
    if site.country is not None:
        resource["address"] = [{"country": site.country}]
    return resource


def practitioner_resource(clinician: Clinician) -> dict[str, Any]:
    """A clinician by display name only (the registry keeps no other identifier)."""
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": fhir_id(clinician.clinician_id),
        "identifier": [{"system": CLINICIAN_ID_SYSTEM, "value": clinician.clinician_id}],
        "name": [{"text": clinician.display_name}],
    }
    return _with(resource, _extensions({"site_id": ("valueString", clinician.site_id)}))


def condition_resource(patient: Patient) -> dict[str, Any]:
    """Multiple sclerosis with its phenotype: the phenotype's SNOMED CT concept where one is
    verified, else "Multiple sclerosis" itself; a CIS (not yet MS, and without a verified
    concept) carries only the project's phenotype code and its text."""
    phenotype = patient.phenotype
    snomed = PHENOTYPE_SNOMED[phenotype]
    if snomed is None and phenotype is not Phenotype.CIS:
        snomed = MULTIPLE_SCLEROSIS_SNOMED
    coding = [] if snomed is None else [{"system": SNOMED, "code": snomed}]
    coding.append({"system": PHENOTYPE_SYSTEM, "code": phenotype.value})
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"ms-{fhir_id(patient.patient_id)}",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "code": {"coding": coding, "text": CONDITION_TEXT[phenotype]},
        "subject": _ref(patient.patient_id),
    }
    if patient.first_symptoms_date is not None:
        resource["onsetDateTime"] = patient.first_symptoms_date.isoformat()
    if patient.diagnosis_date is not None:
        resource["extension"] = [
            {"url": ASSERTED_DATE, "valueDateTime": patient.diagnosis_date.isoformat()}
        ]
    return resource


def medication_statement(exposure: Exposure) -> dict[str, Any]:
    """One exposure: drug (text, and its RxNorm code only as recorded), dose, timing, period."""
    medication: dict[str, Any] = {"text": exposure.drug_name}
    if exposure.rxnorm_cui is not None:
        medication["coding"] = [{"system": RXNORM, "code": exposure.rxnorm_cui}]
    timing: dict[str, Any] = {"code": {"text": exposure.frequency}}
    when = EVENT_TIMING.get(exposure.time_of_day.value)
    if when is not None:
        timing["repeat"] = {"when": [when]}
    dosage: dict[str, Any] = {"timing": timing}
    if exposure.dose_mg is not None:
        dose = {"value": float(exposure.dose_mg), "unit": "mg", "system": UCUM, "code": "mg"}
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    period = {"start": exposure.start_date.isoformat()}
    if exposure.stop_date is not None:
        period["end"] = exposure.stop_date.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": resource_id("exposure", exposure.id),
        "status": "completed" if exposure.stop_date is not None else "active",
        "category": {"coding": [{"system": DRUG_CLASS_SYSTEM, "code": exposure.drug_class}]},
        "medicationCodeableConcept": medication,
        "subject": _ref(exposure.patient_id),
        "effectivePeriod": period,
        "dosage": [dosage],
    }
    if exposure.stop_reason is not None:
        resource["statusReason"] = [{"text": exposure.stop_reason}]
    formulation = exposure.formulation.value if exposure.formulation else None
    return _with(resource, _extensions({"formulation": ("valueCode", formulation)}))


def edss_observation(edss: EdssAssessment) -> dict[str, Any]:
    """EDSS with its functional-system grades as components (no LOINC code is verified)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id("edss", edss.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam"}]}],
        "code": {"coding": [{"system": EDSS_SYSTEM, "code": "edss"}], "text": "EDSS"},
        "subject": _ref(edss.patient_id),
        "effectiveDateTime": edss.date.isoformat(),
        "valueQuantity": {"value": edss.score},
    }
    if edss.rater is not None:
        resource["performer"] = [{"display": edss.rater}]
    if edss.functional_systems:
        resource["component"] = [
            {
                "code": {"coding": [{"system": FUNCTIONAL_SYSTEM_SYSTEM, "code": system.value}]},
                "valueInteger": grade,
            }
            for system, grade in sorted(edss.functional_systems.items())
        ]
    return resource


def lab_observation(lab: LabObservation) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": LOINC, "code": lab.loinc_code}
    code: dict[str, Any] = {"coding": [coding]}
    if lab.name is not None:
        code["text"] = lab.name
    return {
        "resourceType": "Observation",
        "id": resource_id("lab", lab.id),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": code,
        "subject": _ref(lab.patient_id),
        "effectiveDateTime": lab.date.isoformat(),
        "valueQuantity": {"value": lab.value, "unit": lab.unit},
    }


def questionnaire_response(response: QuestionnaireResponse) -> dict[str, Any]:
    """Answers item by item, by the instrument's item keys (never its wording); a blank
    answer is an item without an answer."""
    keys = item_keys(response.instrument_id, response.instrument_version)
    items = []
    for key, answer in zip(keys, response.answers, strict=True):
        item: dict[str, Any] = {"linkId": key}
        if answer is not None:
            item["answer"] = [{"valueDecimal": answer}]
        items.append(item)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": resource_id("questionnaire", response.id),
        "questionnaire": (
            f"{INSTRUMENT_PREFIX}{response.instrument_id}|{response.instrument_version}"
        ),
        "status": "completed",
        "subject": _ref(response.patient_id),
        "authored": response.date.isoformat(),
        "item": items,
    }
    return _with(resource, _extensions({"total": ("valueDecimal", response.total)}))


def item_keys(instrument_id: str, version: str) -> tuple[str, ...]:
    return tuple(item.key for item in get_instrument(instrument_id, version).items)


def adverse_event(event: AdverseEvent) -> dict[str, Any]:
    """The term by the project's controlled list (MedDRA is licensed and not shipped)."""
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": resource_id("adverse_event", event.id),
        "actuality": "actual",
        "subject": _ref(event.patient_id),
        "event": {"coding": [{"system": AE_TERM_SYSTEM, "code": event.term}]},
        "date": event.onset_date.isoformat(),
        "severity": {"coding": [{"system": AE_SEVERITY, "code": event.severity.value}]},
        "outcome": {"coding": [{"system": AE_OUTCOME, "code": AE_OUTCOMES[event.outcome.value]}]},
    }
    if event.free_text is not None:
        resource["event"]["text"] = event.free_text
    values = {
        "causality": ("valueCode", event.relationship.value),
        "term_code": ("valueString", event.term_code),
    }
    return _with(resource, _extensions(values))


def consent_resource(consent: Consent) -> dict[str, Any]:
    period = {"start": consent.given_date.isoformat()}
    if consent.withdrawn_date is not None:
        period["end"] = consent.withdrawn_date.isoformat()
    return {
        "resourceType": "Consent",
        "id": resource_id("consent", consent.id),
        "status": "active" if consent.withdrawn_date is None else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": CONSENT_SCOPES[consent.scope]}]},
        "category": [{"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": consent.scope.value}]}],
        "patient": _ref(consent.patient_id),
        "dateTime": consent.given_date.isoformat(),
        "policyRule": {"text": "LDN Outcomes registry consent"},
        "provision": {"period": period},
    }


#: Record kinds carried in a Bundle and the function that maps each record.
EXPORTED_KINDS: dict[str, Any] = {
    "exposures": medication_statement,
    "questionnaires": questionnaire_response,
    "edss": edss_observation,
    "labs": lab_observation,
    "adverse_events": adverse_event,
    "consents": consent_resource,
}


def patient_bundle(
    patient: Patient,
    records: Mapping[str, list[Record]],
    sites: Sequence[Site] = (),
    clinicians: Sequence[Clinician] = (),
) -> dict[str, Any]:
    """One patient's Bundle (type collection): the sites and clinician it refers to, Patient,
    Condition, then each kind of record in order."""
    resources = [organization_resource(site) for site in sites]
    resources.extend(practitioner_resource(clinician) for clinician in clinicians)
    resources.extend(patient_resources(patient, records))
    return {
        "resourceType": "Bundle",
        "id": fhir_id(patient.patient_id),
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources],
    }


def patient_resources(
    patient: Patient, records: Mapping[str, list[Record]]
) -> list[dict[str, Any]]:
    """A patient's own resources: Patient, Condition, then each kind of record in order."""
    resources = [patient_resource(patient), condition_resource(patient)]
    for kind, to_resource in EXPORTED_KINDS.items():
        resources.extend(to_resource(record) for record in records.get(kind, ()))
    return resources
