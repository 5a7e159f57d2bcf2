"""The registry as OMOP CDM v5.4 rows: person, observation_period, condition_occurrence,
drug_exposure, measurement and observation, written as one CSV per table or into a database.

Concept ids are only the verified ones of ``domain.omop`` (each with its source in
``domain/data/omop_concepts.json``); a fact without one is written with concept 0 and a source
value of this registry's layout, so ``importers.omop_read`` reads it back. The mapping:

- person: one per patient, numbered 1.. in patient order; ``person_source_value`` is the
  registry's patient id; sex as the Gender concepts (else 0); race and ethnicity 0 (not held).
  A patient without a year of birth (required by the CDM) is left out, with all their rows.
- observation_period: from the earliest dated record of the person (diagnosis, first
  symptoms, consents, clinical records, exposure starts) to the latest (exposure stops and
  relapse recoveries included), so every exported row lies inside it: the CDM v5.4 conventions
  ask that rates and cohorts use only time inside an observation period
  (https://ohdsi.github.io/CommonDataModel/cdm54.html#observation_period: "Incidence or
  prevalence rates should only be calculated for the time of active OBSERVATION_PERIOD
  records"; the usual ETL takes the first and last clinical event); type "Standard algorithm
  from EHR".
- condition_occurrence: the MS diagnosis (Multiple sclerosis, 374919, dated at diagnosis, else
  first symptoms, else the start of observation; the phenotype as source value); each relapse
  (concept 0, ``ms-relapse``, onset to recovery; whether it lasted 24 h and came with fever in
  ``condition_status_source_value``); each adverse event (concept 0, its term, status
  ``adverse-event``).
- drug_exposure: one row per exposure; naltrexone, methylprednisolone and prednisone as their
  RxNorm ingredient concepts, other drugs 0 with ``<class>|<name>`` as source value. The daily
  dose is written as ``quantity`` = daily dose x ``days_supply`` with ``dose_unit_source_value``
  "mg" (the reader divides back); an exposure still running ends at the end of observation with
  no ``verbatim_end_date``; the time of day goes in ``sig``.
- measurement: EDSS (concept 0, ``edss``) and labs (concept 0, ``<LOINC>|<name>``, value, unit).
- observation: where follow-up starts as the analyses count it (concept 0,
  ``follow-up-start``: enrolment, the first consent of any scope, else the first clinical
  record; ``importers.omop_read`` reads it back as enrolment), first symptoms (concept 0,
  ``ms-first-symptoms``), every questionnaire's total
  (concept 0, the instrument id; a missing total scored by the instrument's rule), and each
  daily check-in's 0-10 ratings (``checkin:<instrument>``, one ``observation_event_id`` per
  check-in).
- specimen: not written; the registry records lab results, not specimens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..domain.checkin import CHECKIN_INSTRUMENT, scale_positions
from ..domain.definitions.exposure import is_naltrexone_drug
from ..domain.instruments.scoring import score
from ..domain.omop import (
    ADVERSE_EVENT_STATUS,
    CHECKIN_SOURCE_PREFIX,
    EDSS_SOURCE,
    FIRST_SYMPTOMS_SOURCE,
    FOLLOW_UP_START_SOURCE,
    MILLIGRAM,
    RELAPSE_SOURCE,
    concept_id,
    drug_source_value,
)
from ..errors import LdnError
from ..store.omop_tables import WRITTEN

Rows = dict[str, list[dict[str, Any]]]


#: Date columns that open follow-up (clinical records) and those that only extend it.
OPENING = {
    "edss": ("date",),
    "questionnaires": ("date",),
    "relapses": ("onset_date",),
    "adverse_events": ("onset_date",),
    "labs": ("date",),
}
EXTENDING = {
    **OPENING,
    "relapses": ("onset_date", "recovery_date"),
    "exposures": ("start_date", "stop_date"),
}
#: Every dated record the export writes (the observation period spans them all).
EVERY_DATE = {
    **EXTENDING,
    "patients": ("diagnosis_date", "first_symptoms_date"),
    "consents": ("given_date",),
}
SOURCE_WIDTH = 50


def _date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _flag(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "unknown"
    return "yes" if bool(value) else "no"


def _per_patient(
    frames: Mapping[str, pd.DataFrame], kinds: Mapping[str, Sequence[str]], how: str
) -> pd.Series:
    parts = []
    for kind, columns in kinds.items():
        frame = frames.get(kind)
        if frame is None or frame.empty:
            continue
        for column in columns:
            parts.append(
                pd.DataFrame(
                    {"patient_id": frame["patient_id"], "date": pd.to_datetime(frame[column])}
                )
            )
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    dates = pd.concat(parts).dropna()
    grouped = dates.groupby("patient_id")["date"]
    return grouped.min() if how == "min" else grouped.max()


def observation_spans(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per patient: ``follow`` where follow-up starts as the analyses count it (first consent
    of any scope, else first clinical record), and the observation period, ``start`` to
    ``end``: the earliest and the latest dated record of any kind."""
    follow = _per_patient(frames, OPENING, "min")
    consents = frames.get("consents")
    if consents is not None and not consents.empty:
        enrol = _per_patient(frames, {"consents": ("given_date",)}, "min")
        follow = enrol.combine_first(follow)
    first = _per_patient(frames, EVERY_DATE, "min")
    last = _per_patient(frames, EVERY_DATE, "max")
    return pd.DataFrame({"follow": follow, "start": first, "end": last})


def _total(instrument: str, total: Any, answers: Any) -> float | None:
    value = _number(total) if total is not None else None
    if value is not None:
        return value
    try:
        scored = score(instrument, answers).total
    except (LdnError, ValueError, TypeError):
        return None
    return None if scored is None else float(scored)


def omop_rows(frames: Mapping[str, pd.DataFrame]) -> tuple[Rows, dict[str, int]]:
    """The OMOP rows of the registry frames, and what was left out (patients without a year
    of birth; records of patients not in the patients frame)."""
    rows: Rows = {name: [] for name in WRITTEN}
    left_out = {"patients_without_year_of_birth": 0}
    patients = frames["patients"]
    spans = observation_spans(frames)
    person_of: dict[str, int] = {}
    for patient in patients.itertuples(index=False):
        year = _number(patient.year_of_birth)
        if year is None:
            left_out["patients_without_year_of_birth"] += 1
            continue
        person_id = len(person_of) + 1
        pid = str(patient.patient_id)
        person_of[pid] = person_id
        sex = str(patient.sex or "")
        gender = concept_id(sex) if sex in ("female", "male") else 0
        rows["person"].append(
            {
                "person_id": person_id,
                "gender_concept_id": gender,
                "year_of_birth": int(year),
                "race_concept_id": 0,
                "ethnicity_concept_id": 0,
                "person_source_value": pid[:SOURCE_WIDTH],
                "gender_source_value": sex[:SOURCE_WIDTH] or None,
            }
        )
        start = _date(spans["start"].get(pid)) if pid in spans.index else None
        end = _date(spans["end"].get(pid)) if pid in spans.index else None
        if start is not None and end is not None:
            rows["observation_period"].append(
                {
                    "observation_period_id": len(rows["observation_period"]) + 1,
                    "person_id": person_id,
                    "observation_period_start_date": start,
                    "observation_period_end_date": end,
                    "period_type_concept_id": concept_id("period_from_ehr"),
                }
            )
        follow = _date(spans["follow"].get(pid)) if pid in spans.index else None
        if follow is not None:
            rows["observation"].append(
                _observation(rows, person_id, follow, FOLLOW_UP_START_SOURCE, None)
            )
        diagnosed = _date(patient.diagnosis_date) or _date(patient.first_symptoms_date) or start
        if diagnosed is not None:
            phenotype = patient.phenotype
            rows["condition_occurrence"].append(
                _condition(
                    rows,
                    person_id,
                    concept_id("multiple_sclerosis"),
                    diagnosed,
                    None,
                    None if phenotype is None or pd.isna(phenotype) else str(phenotype),
                    None,
                )
            )
        onset = _date(patient.first_symptoms_date)
        if onset is not None:
            rows["observation"].append(
                _observation(rows, person_id, onset, FIRST_SYMPTOMS_SOURCE, None)
            )
    ends = {pid: _date(spans["end"].get(pid)) for pid in person_of if pid in spans.index}
    _events(frames, rows, person_of, ends)
    return rows, left_out


def _condition(
    rows: Rows,
    person_id: int,
    concept: int,
    start: dt.date,
    end: dt.date | None,
    source: str | None,
    status: str | None,
) -> dict[str, Any]:
    return {
        "condition_occurrence_id": len(rows["condition_occurrence"]) + 1,
        "person_id": person_id,
        "condition_concept_id": concept,
        "condition_start_date": start,
        "condition_end_date": end,
        "condition_type_concept_id": concept_id("ehr"),
        "condition_source_value": None if source is None else source[:SOURCE_WIDTH],
        "condition_status_source_value": status,
    }


def _observation(
    rows: Rows,
    person_id: int,
    day: dt.date,
    source: str,
    value: float | None,
    event: int | None = None,
) -> dict[str, Any]:
    return {
        "observation_id": len(rows["observation"]) + 1,
        "person_id": person_id,
        "observation_concept_id": 0,
        "observation_date": day,
        "observation_type_concept_id": concept_id("ehr"),
        "value_as_number": value,
        "observation_source_value": source[:SOURCE_WIDTH],
        "observation_event_id": event,
    }


def _measurement(
    rows: Rows, person_id: int, day: dt.date, source: str, value: float | None, unit: str | None
) -> dict[str, Any]:
    return {
        "measurement_id": len(rows["measurement"]) + 1,
        "person_id": person_id,
        "measurement_concept_id": 0,
        "measurement_date": day,
        "measurement_type_concept_id": concept_id("ehr"),
        "value_as_number": value,
        "measurement_source_value": source[:SOURCE_WIDTH],
        "unit_source_value": None if unit is None else str(unit)[:SOURCE_WIDTH],
    }


def drug_concept(drug_name: str) -> int:
    """The verified ingredient concept of a drug name, else 0."""
    name = drug_name.strip().lower()
    if is_naltrexone_drug(name) and "methylnaltrexone" not in name:
        return concept_id("naltrexone")
    if "methylprednisolone" in name:
        return concept_id("methylprednisolone")
    if "prednisone" in name:
        return concept_id("prednisone")
    return 0


def _events(
    frames: Mapping[str, pd.DataFrame],
    rows: Rows,
    person_of: Mapping[str, int],
    ends: Mapping[str, dt.date | None],
) -> None:
    for rel in _known(frames.get("relapses"), person_of):
        onset = _date(rel.onset_date)
        if onset is None:
            continue
        status = f"lasted_24h={_flag(rel.lasted_24h)};fever={_flag(rel.fever_or_infection)}"
        rows["condition_occurrence"].append(
            _condition(
                rows,
                person_of[rel.patient_id],
                0,
                onset,
                _date(rel.recovery_date),
                RELAPSE_SOURCE,
                status,
            )
        )
    for ae in _known(frames.get("adverse_events"), person_of):
        onset = _date(ae.onset_date)
        if onset is not None:
            rows["condition_occurrence"].append(
                _condition(
                    rows,
                    person_of[ae.patient_id],
                    0,
                    onset,
                    None,
                    str(ae.term),
                    ADVERSE_EVENT_STATUS,
                )
            )
    for exposure in _known(frames.get("exposures"), person_of):
        start = _date(exposure.start_date)
        if start is None:
            continue
        stop = _date(exposure.stop_date)
        end = stop or max(start, ends.get(exposure.patient_id) or start)
        days = (end - start).days + 1
        dose = _number(exposure.dose_mg)
        name = str(exposure.drug_name or "")
        timing = exposure.time_of_day
        rows["drug_exposure"].append(
            {
                "drug_exposure_id": len(rows["drug_exposure"]) + 1,
                "person_id": person_of[exposure.patient_id],
                "drug_concept_id": drug_concept(name),
                "drug_exposure_start_date": start,
                "drug_exposure_end_date": end,
                "verbatim_end_date": stop,
                "drug_type_concept_id": concept_id("ehr_prescription"),
                "quantity": None if dose is None else round(dose * days, 6),
                "days_supply": days,
                "sig": None if timing is None or pd.isna(timing) else str(timing),
                "drug_source_value": drug_source_value(str(exposure.drug_class or "other"), name),
                "dose_unit_source_value": None if dose is None else MILLIGRAM,
            }
        )
    for edss in _known(frames.get("edss"), person_of):
        day = _date(edss.date)
        if day is not None:
            rows["measurement"].append(
                _measurement(
                    rows, person_of[edss.patient_id], day, EDSS_SOURCE, _number(edss.score), None
                )
            )
    for lab in _known(frames.get("labs"), person_of):
        day = _date(lab.date)
        if day is not None:
            source = f"{lab.loinc_code}|{lab.name}" if lab.name else str(lab.loinc_code)
            rows["measurement"].append(
                _measurement(
                    rows, person_of[lab.patient_id], day, source, _number(lab.value), lab.unit
                )
            )
    positions = scale_positions()
    for event, q in enumerate(_known(frames.get("questionnaires"), person_of), start=1):
        day = _date(q.date)
        if day is None:
            continue
        person = person_of[q.patient_id]
        if q.instrument_id == CHECKIN_INSTRUMENT:
            answers = q.answers if isinstance(q.answers, list) else []
            for position, instrument in positions.items():
                value = answers[position] if position < len(answers) else None
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    rows["observation"].append(
                        _observation(
                            rows,
                            person,
                            day,
                            CHECKIN_SOURCE_PREFIX + instrument,
                            float(value),
                            event,
                        )
                    )
            continue
        total = _total(str(q.instrument_id), q.total, q.answers)
        if total is not None:
            rows["observation"].append(_observation(rows, person, day, str(q.instrument_id), total))


def _known(frame: pd.DataFrame | None, person_of: Mapping[str, int]) -> Iterable[Any]:
    if frame is None or frame.empty:
        return []
    return frame[frame["patient_id"].isin(list(person_of))].itertuples(index=False)
