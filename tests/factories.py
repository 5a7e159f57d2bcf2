"""Hypothesis strategies and small builders for valid registries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from ldn_outcomes.domain.codes import (
    ADVERSE_EVENT_TERMS,
    AeOutcome,
    Causality,
    Confirmation,
    ConsentScope,
    DrugClass,
    Formulation,
    FunctionalSystem,
    Phenotype,
    Severity,
    Sex,
    TimeOfDay,
)
from ldn_outcomes.domain.models import (
    EDSS_VALID_SCORES,
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

TODAY = dt.date(2026, 1, 1)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2025, 12, 31))
text = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def registries(draw: st.DrawFn, max_patients: int = 4) -> dict[str, list]:
    """A valid registry: sites, clinicians, patients, and every kind of patient record."""
    sites = [Site(site_id="S1", name=draw(text), country="NO")]
    clinicians = [Clinician(clinician_id="C1", display_name=draw(text), site_id="S1")]
    n = draw(st.integers(1, max_patients))
    patients, out = (
        [],
        {
            k: []
            for k in (
                "exposures",
                "dose_logs",
                "questionnaires",
                "relapses",
                "edss",
                "adverse_events",
                "labs",
                "consents",
            )
        },
    )
    next_id = 1
    for index in range(n):
        pid = f"P{index + 1:03d}"
        diagnosis = draw(st.one_of(st.none(), dates))
        patients.append(
            Patient(
                patient_id=pid,
                year_of_birth=draw(st.integers(1940, 1999)),
                sex=draw(st.sampled_from(Sex)),
                phenotype=draw(st.sampled_from(Phenotype)),
                first_symptoms_date=diagnosis,
                diagnosis_date=diagnosis,
                clinician_id=draw(st.sampled_from([None, "C1"])),
                site_id=draw(st.sampled_from([None, "S1"])),
            )
        )
        ongoing_ldn = False  # a patient has at most one ongoing LDN regimen
        for _ in range(draw(st.integers(0, 2))):
            start = draw(dates)
            stop = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=TODAY)))
            cls = draw(st.sampled_from([DrugClass.LDN, DrugClass.DMT, DrugClass.SUPPLEMENT]))
            if cls is DrugClass.LDN and stop is None:
                stop, ongoing_ldn = (start if ongoing_ldn else None), True
            out["exposures"].append(
                Exposure(
                    id=next_id,
                    patient_id=pid,
                    drug_name="naltrexone" if cls is DrugClass.LDN else draw(text),
                    rxnorm_cui="7243" if cls is DrugClass.LDN else None,
                    drug_class=cls,
                    dose_mg=draw(st.decimals(Decimal("0.5"), Decimal("4.5"), places=2)),
                    time_of_day=draw(st.sampled_from(TimeOfDay)),
                    formulation=draw(st.sampled_from([None, *Formulation])),
                    start_date=start,
                    stop_date=stop,
                    stop_reason=draw(st.one_of(st.none(), text)) if stop else None,
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 2))):
            out["dose_logs"].append(
                DoseLog(
                    id=next_id,
                    patient_id=pid,
                    date=draw(dates),
                    taken=draw(st.booleans()),
                    clock_time=draw(
                        st.one_of(
                            st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0))
                        )
                    ),
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 2))):
            instrument, items, low, high = draw(
                st.sampled_from([("mfis", 21, 0, 4), ("fss", 9, 1, 7), ("checkin", 5, 0, 1)])
            )
            answers = draw(
                st.lists(
                    st.one_of(st.none(), st.integers(low, high).map(float)),
                    min_size=items,
                    max_size=items,
                ).filter(lambda a: any(x is not None for x in a))
            )
            out["questionnaires"].append(
                QuestionnaireResponse(
                    id=next_id,
                    patient_id=pid,
                    instrument_id=instrument,
                    instrument_version="1",
                    date=draw(dates),
                    answers=tuple(answers),
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 2))):
            onset = draw(dates)
            out["relapses"].append(
                Relapse(
                    id=next_id,
                    patient_id=pid,
                    onset_date=onset,
                    recovery_date=draw(
                        st.one_of(st.none(), st.dates(min_value=onset, max_value=TODAY))
                    ),
                    severity=draw(st.one_of(st.none(), st.sampled_from(Severity))),
                    functional_systems=tuple(
                        draw(st.lists(st.sampled_from(FunctionalSystem), max_size=3, unique=True))
                    ),
                    steroid_treated=draw(st.one_of(st.none(), st.booleans())),
                    confirmed_by=draw(st.sampled_from(Confirmation)),
                    lasted_24h=draw(st.one_of(st.none(), st.booleans())),
                    fever_or_infection=draw(st.one_of(st.none(), st.booleans())),
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 3))):
            out["edss"].append(
                EdssAssessment(
                    id=next_id,
                    patient_id=pid,
                    date=draw(dates),
                    score=draw(st.sampled_from(EDSS_VALID_SCORES)),
                    functional_systems=draw(
                        st.dictionaries(
                            st.sampled_from([FunctionalSystem.VISUAL, FunctionalSystem.SENSORY]),
                            st.integers(0, 5),
                        )
                    ),
                    rater=draw(st.one_of(st.none(), text)),
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 1))):
            out["adverse_events"].append(
                AdverseEvent(
                    id=next_id,
                    patient_id=pid,
                    onset_date=draw(dates),
                    term=draw(st.sampled_from(ADVERSE_EVENT_TERMS)),
                    free_text=draw(st.one_of(st.none(), text)),
                    severity=draw(st.sampled_from(Severity)),
                    relationship=draw(st.sampled_from(Causality)),
                    outcome=draw(st.sampled_from(AeOutcome)),
                )
            )
            next_id += 1
        for _ in range(draw(st.integers(0, 1))):
            out["labs"].append(
                LabObservation(
                    id=next_id,
                    patient_id=pid,
                    date=draw(dates),
                    loinc_code="731-0",
                    name="Lymphocytes [#/volume] in Blood by Automated count",
                    value=draw(st.floats(0.1, 10, allow_nan=False).map(lambda x: round(x, 3))),
                    unit="10*3/uL",
                )
            )
            next_id += 1
        given = draw(dates)
        out["consents"].append(
            Consent(
                id=next_id,
                patient_id=pid,
                scope=draw(st.sampled_from(ConsentScope)),
                given_date=given,
                withdrawn_date=draw(
                    st.one_of(st.none(), st.dates(min_value=given, max_value=TODAY))
                ),
            )
        )
        next_id += 1
    return {"sites": sites, "clinicians": clinicians, "patients": patients, **out}


def demo_patient(pid: str = "P001", **overrides: object) -> Patient:
    data = {
        "patient_id": pid,
        "year_of_birth": 1975,
        "sex": "female",
        "phenotype": "RRMS",
        "diagnosis_date": dt.date(2010, 5, 1),
    }
    data.update(overrides)
    return Patient.model_validate(data)
