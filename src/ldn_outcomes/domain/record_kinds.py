"""The names of the record kinds that belong to one patient, without the record models.

``ldn record --help`` lists them; keeping them apart from ``domain.models`` (pydantic models
built at import) lets the help start without building those models. ``domain.models`` imports
them from here and maps every kind to its model in ``RECORD_TYPES``.
"""

from __future__ import annotations

#: The record kinds that belong to one patient (every kind but sites, clinicians and patients),
#: in dependency order.
PATIENT_KINDS = (
    "exposures",
    "dose_logs",
    "questionnaires",
    "relapses",
    "edss",
    "adverse_events",
    "labs",
    "consents",
)

#: The columns of each kind that the outcome analyses are computed from, and so what the OMOP
#: export reads to give ``ldn analyze --omop`` the registry's own numbers: one list for both, so
#: neither can read a column the other leaves out. Drug name and dose are here because the
#: domain's LDN rule decides what counts as LDN, not the entered class alone; dose and time of
#: day also feed the within-person dose and timing comparisons.
ANALYSED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "year_of_birth",
        "sex",
        "phenotype",
        "first_symptoms_date",
        "diagnosis_date",
    ),
    "exposures": (
        "patient_id",
        "drug_name",
        "drug_class",
        "dose_mg",
        "time_of_day",
        "start_date",
        "stop_date",
    ),
    "relapses": ("patient_id", "onset_date", "recovery_date", "lasted_24h", "fever_or_infection"),
    "edss": ("patient_id", "date", "score"),
    "adverse_events": ("patient_id", "onset_date", "term"),
    "labs": ("patient_id", "date", "loinc_code", "name", "value", "unit"),
    "consents": ("patient_id", "given_date"),
}
