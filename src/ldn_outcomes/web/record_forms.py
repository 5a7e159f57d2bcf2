"""Forms for clinical records shared by patient and clinician pages, and their parsers.

Each parser turns submitted text into a validated domain record or raises ValidationFailed
naming the form field; the opioid interaction check runs before an exposure is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain.codes import (
    ADVERSE_EVENT_TERMS,
    Confirmation,
    DrugClass,
    Formulation,
    FunctionalSystem,
    Severity,
    TimeOfDay,
)
from ..domain.definitions.dose_safety import (
    OpioidIngredient,
    check_ldn_dose,
    check_new_interactions,
    check_opioid_interaction,
    match_opioid,
    opioid_ingredients,
)
from ..domain.definitions.exposure import is_naltrexone
from ..domain.models import AdverseEvent, DoseLog, EdssAssessment, Exposure, Relapse
from ..domain.validation import parse_record
from ..errors import InteractionError, Problem, ValidationFailed
from .forms import (
    YES_NO_UNKNOWN,
    Field,
    blank_to_none,
    checkbox,
    enum_options,
    functional_system_fields,
    tri_state,
)

EXPOSURE_FIELDS = [
    Field("drug_name", "Medicine name", required=True, help="For LDN write “naltrexone”."),
    Field("drug_class", "Kind of medicine", "select", enum_options(DrugClass), required=True),
    Field("dose_mg", "Dose (mg)", "number", step="any", min="0", help="Needed for LDN, e.g. 4.5"),
    Field("frequency", "How often", help="e.g. daily"),
    Field("time_of_day", "Time of day", "select", enum_options(TimeOfDay)),
    Field("formulation", "Form", "select", enum_options(Formulation, "not recorded")),
    Field("start_date", "Started on", "date", required=True),
    Field("stop_date", "Stopped on", "date", help="Leave empty if you still take it."),
    Field("stop_reason", "Why stopped"),
]
DOSE_FIELDS = [
    Field("date", "Date", "date", required=True),
    Field("taken", "I took my LDN dose", "checkbox"),
    Field("clock_time", "At (time)", "time"),
]
RELAPSE_FIELDS = [
    Field("onset_date", "Symptoms started on", "date", required=True),
    Field("recovery_date", "Recovered on", "date", help="Leave empty if not yet recovered."),
    Field("severity", "Severity", "select", enum_options(Severity, "not recorded")),
    Field("lasted_24h", "Lasted at least 24 hours?", "select", YES_NO_UNKNOWN),
    Field("fever_or_infection", "Fever or infection at the start?", "select", YES_NO_UNKNOWN),
    Field("steroid_treated", "Treated with steroids?", "select", YES_NO_UNKNOWN),
]
#: A clinician records a relapse with the symptoms by functional system (confirmed by them).
CLINICIAN_RELAPSE_FIELDS = RELAPSE_FIELDS + [
    Field(f"symptom_{fs.value}", f"Symptoms: {fs.value.replace('_', ' ')}", "checkbox")
    for fs in FunctionalSystem
]
SIDE_EFFECT_FIELDS = [
    Field(
        "term",
        "Side effect",
        "select",
        [(t, t.replace("_", " ")) for t in ADVERSE_EVENT_TERMS],
        required=True,
    ),
    Field("onset_date", "Started on", "date", required=True),
    Field("severity", "Severity", "select", enum_options(Severity), required=True),
    Field("free_text", "Describe it (optional)", "textarea"),
    Field(
        "other_medicines",
        "Other medicines you took recently (optional)",
        help="Painkillers especially: opioids and naltrexone must not be combined.",
    ),
]
EDSS_FIELDS = [
    Field("date", "Assessment date", "date", required=True),
    Field(
        "score",
        "EDSS score",
        "number",
        step="0.5",
        min="0",
        max="10",
        required=True,
        help="0, or 1.0 to 10 in half steps (there is no 0.5).",
    ),
    Field("rater", "Rater"),
    *functional_system_fields("fs_", "Leave empty for a system not assessed."),
]


def names(fields: list[Field]) -> list[str]:
    return [f.name for f in fields]


def parse_exposure(
    values: dict[str, str], patient_id: str, existing: list[Exposure]
) -> tuple[Exposure, str | None]:
    """The exposure, plus a dose note for LDN outside the low-dose range. Refuses (with the
    interaction named on ``drug_name``) an opioid overlapping naltrexone, either way round."""
    data: dict[str, Any] = blank_to_none(values, names(EXPOSURE_FIELDS))
    data["frequency"] = data["frequency"] or "daily"
    data["time_of_day"] = data["time_of_day"] or "unknown"
    data["patient_id"] = patient_id
    record = parse_record(Exposure, data)
    try:  # only what this exposure adds; an old recorded overlap does not block
        check_new_interactions(existing, [record])
    except InteractionError as failure:
        raise InteractionError(
            [
                Problem("exposure", "drug_name", p.rule, value=record.drug_name)
                for p in failure.problems
            ]
        ) from None
    return record, dose_note_for(record)


def parse_dose(values: dict[str, str], patient_id: str) -> DoseLog:
    return parse_record(
        DoseLog,
        {
            "patient_id": patient_id,
            "date": values.get("date") or None,
            "taken": values.get("taken") in ("on", "true", "1", "yes"),
            "clock_time": values.get("clock_time") or None,
        },
    )


def parse_relapse(values: dict[str, str], patient_id: str, confirmed_by: Confirmation) -> Relapse:
    data: dict[str, Any] = blank_to_none(values, ["onset_date", "recovery_date", "severity"])
    for name in ("lasted_24h", "fever_or_infection", "steroid_treated"):
        data[name] = tri_state(values, name)
    data["functional_systems"] = [
        fs.value for fs in FunctionalSystem if checkbox(values, f"symptom_{fs.value}")
    ]
    data.update(patient_id=patient_id, confirmed_by=confirmed_by)
    return parse_record(Relapse, data)


def parse_side_effect(values: dict[str, str], patient_id: str) -> AdverseEvent:
    data: dict[str, Any] = blank_to_none(values, ["term", "onset_date", "severity", "free_text"])
    data["patient_id"] = patient_id
    return parse_record(AdverseEvent, data)


def opioid_named(
    values: dict[str, str], exposures: list[Exposure], on: dt.date
) -> OpioidIngredient | None:
    """An opioid named among the other medicines while naltrexone is current, if any."""
    text = values.get("other_medicines", "")
    current_ldn = [
        e
        for e in exposures
        if is_naltrexone(e) and e.start_date <= on and (e.stop_date is None or e.stop_date >= on)
    ]
    if not text or not current_ldn:
        return None
    for word in text.replace(";", ",").split(","):
        found = match_opioid(word.strip())
        if found is not None:
            return found
    return None


def opioid_message(ingredient: str, rxcui: str) -> str:
    return (
        f"A medicine you named contains {ingredient}, an opioid (RxCUI {rxcui}). "
        "Naltrexone, including LDN, is contraindicated with opioid painkillers: it "
        "can block them or bring on withdrawal. Contact your doctor or pharmacist "
        "before taking both."
    )


def opioid_by_rxcui(rxcui: str) -> OpioidIngredient | None:
    """A known opioid ingredient by its RxNorm code (from the curated list), else None."""
    return next((o for o in opioid_ingredients() if o.rxcui == rxcui), None) if rxcui else None


def dose_note_for(record: Exposure) -> str | None:
    """A note for a naltrexone dose outside the low-dose range (None inside it); any dose,
    since 50 mg is not LDN."""
    if not is_naltrexone(record) or record.dose_mg is None:
        return None
    result = check_ldn_dose(float(record.dose_mg))
    if result.band == "within":
        return None
    return f"Note: {result.message} ({result.source})."


def interaction_status(exposures: list[Exposure]) -> str | None:
    """The opioid interaction check over the recorded medicines (None = nothing found)."""
    try:
        check_opioid_interaction(exposures)
    except ValidationFailed as failure:
        return "; ".join(p.rule for p in failure.problems)
    return None


def parse_edss(values: dict[str, str], patient_id: str, rater: str | None) -> EdssAssessment:
    systems: dict[str, Any] = {}
    problems = []
    for fs in FunctionalSystem:
        raw = values.get(f"fs_{fs.value}", "")
        if raw == "":
            continue
        try:
            systems[fs.value] = int(raw)
        except ValueError:
            problems.append(Problem("edss", f"fs_{fs.value}", "must be a whole number", value=raw))
    if problems:
        raise ValidationFailed(problems)
    try:
        return parse_record(
            EdssAssessment,
            {
                "patient_id": patient_id,
                "date": values.get("date") or None,
                "score": values.get("score") or None,
                "functional_systems": systems,
                "rater": values.get("rater") or rater,
            },
        )
    except ValidationFailed as failure:
        raise ValidationFailed(
            [Problem(p.record, _edss_field(p), p.rule, value=p.value) for p in failure.problems]
        ) from None


def _edss_field(problem: Problem) -> str:
    if problem.field.startswith("functional_systems"):
        for fs in FunctionalSystem:
            if fs.value in problem.rule or fs.value in problem.field:
                return f"fs_{fs.value}"
    return problem.field
