"""An OMOP CDM v5.4 database read into the record frames the analyses use (``analysis.run_all``).

Who: persons with a condition in the OHDSI Phenotype Library's multiple sclerosis concept set
(``domain.omop.multiple_sclerosis_concepts``) or, where the database has ``concept_ancestor``,
any descendant of it. Only their rows are read; everything else stays in the database.

LDN: drug exposures of the naltrexone ingredient (1714319, or its descendants through
``concept_ancestor``: clinical drugs and brands) whose daily dose can be computed:

    daily dose (mg) = quantity / days_supply, when dose_unit_source_value is "mg" (the layout
    ``ldn export --format omop`` writes: quantity is the milligrams supplied), else
    daily dose (mg) = quantity x amount_value / days_supply, with the drug's naltrexone amount
    per unit in milligram (8576) from ``drug_strength`` (quantity then counts units, e.g.
    tablets).

Drug concepts that ``drug_strength`` lists with the naltrexone ingredient count as naltrexone
too. The domain's LDN rule then decides, as for the registry (naltrexone above 0 and at most
5 mg a day; Toljan & Vrooman 2018). A naltrexone exposure whose daily dose cannot be computed
either way is left out and counted: in a general database undosed naltrexone is more often
addiction treatment than LDN. A drug with concept 0 whose source value says naltrexone is
left out too (counted): the OMOP path goes by concept, not by name.

An exposure runs to ``verbatim_end_date`` when there is one; one ending on or after the end
of the person's observation is read as still running (censored), as the export writes it.
Follow-up starts where this registry's layout says (an observation with source value
``follow-up-start``: enrolment, the first consent of any scope, else the first clinical
record); a database without any such row (written elsewhere) starts it at the person's first
``observation_period_start_date``. The export's observation period itself starts at the
earliest record (diagnosis included), so it cannot stand for enrolment.

Outcomes come from this registry's OMOP layout (``domain.omop``: EDSS, relapses, symptom
scores and check-in ratings are written with concept 0 and our source values, since no OMOP
concept id for them could be verified). A database written elsewhere holds them under concepts
this reader cannot name, and the findings say "the OMOP database holds no ..." for each.
Labs: measurements whose source value is a LOINC code. Steroid courses (methylprednisolone,
prednisone) are counted and reported, not used as relapses: no validated relapse proxy built
on them was verified.

The persons' rows are read by ``omop_people``, drugs and doses by ``omop_drugs``, and the
findings worded by ``omop_findings``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..domain.checkin import scale_positions
from ..domain.codes import Phenotype
from ..domain.instruments.registry import list_instruments
from ..domain.omop import (
    ADVERSE_EVENT_STATUS,
    CHECKIN_SOURCE_PREFIX,
    EDSS_SOURCE,
    FIRST_SYMPTOMS_SOURCE,
    FOLLOW_UP_START_SOURCE,
    RELAPSE_SOURCE,
    concept_id,
    multiple_sclerosis_concepts,
)
from ..errors import Problem, ValidationFailed
from ..store.omop_tables import count_rows, present_tables, read_omop
from .omop_drugs import read_exposures
from .omop_findings import OmopFindings, headlines
from .omop_people import dates, descendants, read_people

LOINC = re.compile(r"^\d{1,7}-\d(\|.*)?$")
PHENOTYPES = frozenset(p.value for p in Phenotype)


def _flag(text: str, name: str) -> bool | None:
    match = re.search(rf"{name}=(yes|no)", text or "")
    return None if match is None else match.group(1) == "yes"


def omop_frames(engine: Engine) -> tuple[dict[str, pd.DataFrame], OmopFindings]:
    """The record frames (patients, exposures, relapses, edss, questionnaires, checkins,
    adverse_events, labs, consents) of the MS persons in an OMOP database, and the findings."""
    have = present_tables(engine)
    for needed in ("person", "condition_occurrence"):
        if needed not in have:
            raise ValidationFailed(
                Problem(needed, "table", "an OMOP CDM database needs this table; it is missing")
            )
    findings = OmopFindings()
    ms_ids, ms_by_ancestor = descendants(engine, multiple_sclerosis_concepts(), have)
    findings.ms_concepts = (
        f"{len(ms_ids)} concepts: the MS concept set and its descendants (concept_ancestor)"
        if ms_by_ancestor
        else f"the {len(ms_ids)} concepts of the MS concept set; no concept_ancestor to add "
        "descendants"
    )
    conditions = read_omop(
        engine,
        "condition_occurrence",
        (
            "person_id",
            "condition_concept_id",
            "condition_start_date",
            "condition_end_date",
            "condition_source_value",
            "condition_status_source_value",
        ),
        with_condition=ms_ids,
    )
    assert conditions is not None
    conditions["condition_start_date"] = dates(conditions["condition_start_date"])
    ms_rows = conditions[conditions["condition_concept_id"].isin(ms_ids)]
    ms_people = set(ms_rows["person_id"].astype(int))
    persons = read_omop(
        engine,
        "person",
        ("person_id", "gender_concept_id", "year_of_birth", "person_source_value"),
        with_condition=ms_ids,
    )
    assert persons is not None
    findings.persons = count_rows(engine, "person")
    persons = persons[persons["person_id"].isin(ms_people)].sort_values("person_id")
    findings.ms_persons = len(persons)
    source = persons["person_source_value"]
    use_source = source.notna().all() and source.is_unique
    ids = np.where(use_source, source.astype(str), persons["person_id"].astype(str))
    patient_of = dict(zip(persons["person_id"].astype(int), ids, strict=True))
    conditions = conditions[conditions["person_id"].isin(ms_people)].copy()
    conditions["patient_id"] = conditions["person_id"].map(patient_of)

    first_ms = ms_rows.sort_values("condition_start_date").drop_duplicates("person_id")
    diagnosis = dict(zip(first_ms["person_id"], first_ms["condition_start_date"], strict=True))
    phenotype = {
        person: value if value in PHENOTYPES else None
        for person, value in zip(
            first_ms["person_id"], first_ms["condition_source_value"], strict=True
        )
    }
    observations = read_people(
        engine,
        "observation",
        (
            "person_id",
            "observation_concept_id",
            "observation_date",
            "value_as_number",
            "observation_source_value",
            "observation_event_id",
        ),
        ms_people,
        patient_of,
        "observation_date",
        ms_ids,
    )
    onset_rows = observations[observations["observation_source_value"] == FIRST_SYMPTOMS_SOURCE]
    onset = onset_rows.groupby("person_id")["observation_date"].min().to_dict()
    gender = {concept_id("female"): "female", concept_id("male"): "male"}
    frames: dict[str, pd.DataFrame] = {
        "patients": pd.DataFrame(
            {
                "patient_id": ids,
                "year_of_birth": pd.to_numeric(
                    persons["year_of_birth"], errors="coerce"
                ).to_numpy(),
                "sex": [
                    gender.get(int(g), "unknown") if pd.notna(g) else "unknown"
                    for g in persons["gender_concept_id"]
                ],
                "phenotype": [phenotype.get(p) for p in persons["person_id"]],
                "first_symptoms_date": pd.to_datetime([onset.get(p) for p in persons["person_id"]]),
                "diagnosis_date": pd.to_datetime([diagnosis.get(p) for p in persons["person_id"]]),
            }
        )
    }
    periods = read_people(
        engine,
        "observation_period",
        ("person_id", "observation_period_start_date", "observation_period_end_date"),
        ms_people,
        patient_of,
        "observation_period_start_date",
        ms_ids,
    )
    periods["observation_period_end_date"] = dates(periods["observation_period_end_date"])
    marked = observations[observations["observation_source_value"] == FOLLOW_UP_START_SOURCE]
    starts = (
        marked.groupby("patient_id")["observation_date"].min()
        if not marked.empty
        else periods.groupby("patient_id")["observation_period_start_date"].min()
    )
    frames["consents"] = pd.DataFrame(
        {"patient_id": starts.index.astype(str), "given_date": starts.to_numpy()}
    )
    ends = periods.groupby("person_id")["observation_period_end_date"].max().to_dict()

    frames["exposures"] = read_exposures(
        engine, have, ms_people, ms_ids, patient_of, ends, findings
    )
    relapse_rows = conditions[conditions["condition_source_value"] == RELAPSE_SOURCE]
    status = relapse_rows["condition_status_source_value"].fillna("").astype(str)
    frames["relapses"] = pd.DataFrame(
        {
            "patient_id": relapse_rows["patient_id"].to_numpy(),
            "onset_date": relapse_rows["condition_start_date"].to_numpy(),
            "recovery_date": dates(relapse_rows["condition_end_date"]).to_numpy(),
            "lasted_24h": [_flag(s, "lasted_24h") for s in status],
            "fever_or_infection": [_flag(s, "fever") for s in status],
        }
    )
    events = conditions[conditions["condition_status_source_value"] == ADVERSE_EVENT_STATUS]
    frames["adverse_events"] = pd.DataFrame(
        {
            "patient_id": events["patient_id"].to_numpy(),
            "onset_date": events["condition_start_date"].to_numpy(),
            "term": events["condition_source_value"].astype(str).to_numpy(),
        }
    )
    measurements = read_people(
        engine,
        "measurement",
        (
            "person_id",
            "measurement_date",
            "value_as_number",
            "measurement_source_value",
            "unit_source_value",
        ),
        ms_people,
        patient_of,
        "measurement_date",
        ms_ids,
    )
    edss = measurements[measurements["measurement_source_value"] == EDSS_SOURCE]
    frames["edss"] = pd.DataFrame(
        {
            "patient_id": edss["patient_id"].to_numpy(),
            "date": edss["measurement_date"].to_numpy(),
            "score": pd.to_numeric(edss["value_as_number"], errors="coerce").to_numpy(dtype=float),
        }
    )
    labs = measurements[
        measurements["measurement_source_value"].fillna("").astype(str).str.match(LOINC)
    ]
    parts = [str(v).partition("|") for v in labs["measurement_source_value"]]
    codes = [code for code, _, _ in parts]
    frames["labs"] = pd.DataFrame(
        {
            "patient_id": labs["patient_id"].to_numpy(),
            "date": labs["measurement_date"].to_numpy(),
            "loinc_code": np.array(codes, dtype=object),
            "name": np.array([name or code for code, _, name in parts], dtype=object),
            "value": pd.to_numeric(labs["value_as_number"], errors="coerce").to_numpy(dtype=float),
            "unit": labs["unit_source_value"].to_numpy(),
        }
    )
    frames["questionnaires"], frames["checkins"] = _scores(observations)
    headlines(frames, findings)
    return frames, findings


def _scores(observations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    instruments = {i.id for i in list_instruments()}
    source = observations["observation_source_value"].fillna("").astype(str)
    scored = observations[source.isin(instruments)]
    questionnaires = pd.DataFrame(
        {
            "patient_id": scored["patient_id"].to_numpy(),
            "instrument_id": source[source.isin(instruments)].to_numpy(),
            "date": scored["observation_date"].to_numpy(),
            "total": pd.to_numeric(scored["value_as_number"], errors="coerce").to_numpy(
                dtype=float
            ),
            "answers": np.full(len(scored), None, dtype=object),
        }
    )
    position_of = {instrument: position for position, instrument in scale_positions().items()}
    items = observations[source.str.startswith(CHECKIN_SOURCE_PREFIX)].copy()
    items["column"] = [
        f"item_{position_of[s[len(CHECKIN_SOURCE_PREFIX) :]]}"
        if s[len(CHECKIN_SOURCE_PREFIX) :] in position_of
        else None
        for s in items["observation_source_value"].astype(str)
    ]
    items = items.dropna(subset=["column"])
    columns = [f"item_{p}" for p in sorted(position_of.values())]
    if items.empty:
        checkins = pd.DataFrame(columns=["patient_id", "date", *columns])
        return questionnaires, checkins
    key = items["observation_event_id"].fillna(-1).astype(np.int64)
    items = items.assign(event=np.where(key >= 0, key, -np.arange(1, len(items) + 1)))
    wide = items.pivot_table(
        index=["event", "patient_id", "observation_date"],
        columns="column",
        values="value_as_number",
        aggfunc="first",
    ).reset_index()
    for column in columns:
        if column not in wide:
            wide[column] = np.nan
    checkins = wide.sort_values("event").rename(columns={"observation_date": "date"})
    return questionnaires, checkins[["patient_id", "date", *columns]].reset_index(drop=True)
