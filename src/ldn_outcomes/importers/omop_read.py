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
Follow-up starts at the person's first ``observation_period_start_date``.

Outcomes come from this registry's OMOP layout (``domain.omop``: EDSS, relapses, symptom
scores and check-in ratings are written with concept 0 and our source values, since no OMOP
concept id for them could be verified). A database written elsewhere holds them under concepts
this reader cannot name, and the findings say "the OMOP database holds no ..." for each.
Labs: measurements whose source value is a LOINC code. Steroid courses (methylprednisolone,
prednisone) are counted and reported, not used as relapses: no validated relapse proxy built
on them was verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..domain.checkin import scale_positions
from ..domain.codes import DrugClass, Phenotype, TimeOfDay
from ..domain.definitions.exposure import is_ldn_drug, is_naltrexone_drug
from ..domain.instruments.registry import list_instruments
from ..domain.omop import (
    ADVERSE_EVENT_STATUS,
    CHECKIN_SOURCE_PREFIX,
    EDSS_SOURCE,
    FIRST_SYMPTOMS_SOURCE,
    MILLIGRAM,
    RELAPSE_SOURCE,
    concept_id,
    multiple_sclerosis_concepts,
    split_drug_source,
    steroid_concepts,
)
from ..errors import Problem, ValidationFailed
from ..store.omop_tables import count_rows, present_tables, read_omop

STEROID_NAMES = {
    concept_id("methylprednisolone"): "methylprednisolone",
    concept_id("prednisone"): "prednisone",
}
LOINC = re.compile(r"^\d{1,7}-\d(\|.*)?$")
CLASSES = frozenset(c.value for c in DrugClass)
PHENOTYPES = frozenset(p.value for p in Phenotype)
TIMES = frozenset(t.value for t in TimeOfDay)


@dataclass
class OmopFindings:
    """What the OMOP database holds for the analyses (aggregates only)."""

    persons: int = 0
    ms_persons: int = 0
    ms_concepts: str = ""
    naltrexone_concepts: str = ""
    ldn_users: int = 0
    naltrexone_exposures: int = 0
    naltrexone_without_daily_dose: int = 0
    naltrexone_by_name_only: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    headlines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "persons": self.persons,
            "ms_persons": self.ms_persons,
            "ms_concepts": self.ms_concepts,
            "naltrexone_concepts": self.naltrexone_concepts,
            "ldn_users": self.ldn_users,
            "naltrexone_exposures": self.naltrexone_exposures,
            "naltrexone_without_daily_dose": self.naltrexone_without_daily_dose,
            "naltrexone_by_name_only": self.naltrexone_by_name_only,
            "counts": dict(self.counts),
            "headlines": list(self.headlines),
        }


def _descendants(
    engine: Engine, roots: frozenset[int], have: frozenset[str]
) -> tuple[set[int], bool]:
    ids = set(roots)
    if "concept_ancestor" not in have:
        return ids, False
    found = read_omop(
        engine,
        "concept_ancestor",
        ("ancestor_concept_id", "descendant_concept_id"),
        {"ancestor_concept_id": roots},
    )
    if found is None or found.empty:
        return ids, False
    ids |= {int(v) for v in found["descendant_concept_id"].dropna()}
    return ids, True


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce")


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
    ms_ids, ms_by_ancestor = _descendants(engine, multiple_sclerosis_concepts(), have)
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
    conditions["condition_start_date"] = _dates(conditions["condition_start_date"])
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
    observations = _read_people(
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
    periods = _read_people(
        engine,
        "observation_period",
        ("person_id", "observation_period_start_date", "observation_period_end_date"),
        ms_people,
        patient_of,
        "observation_period_start_date",
        ms_ids,
    )
    periods["observation_period_end_date"] = _dates(periods["observation_period_end_date"])
    starts = periods.groupby("patient_id")["observation_period_start_date"].min()
    frames["consents"] = pd.DataFrame(
        {"patient_id": starts.index.astype(str), "given_date": starts.to_numpy()}
    )
    ends = periods.groupby("person_id")["observation_period_end_date"].max().to_dict()

    frames["exposures"] = _exposures(engine, have, ms_people, ms_ids, patient_of, ends, findings)
    relapse_rows = conditions[conditions["condition_source_value"] == RELAPSE_SOURCE]
    status = relapse_rows["condition_status_source_value"].fillna("").astype(str)
    frames["relapses"] = pd.DataFrame(
        {
            "patient_id": relapse_rows["patient_id"].to_numpy(),
            "onset_date": relapse_rows["condition_start_date"].to_numpy(),
            "recovery_date": _dates(relapse_rows["condition_end_date"]).to_numpy(),
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
    measurements = _read_people(
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
    _headlines(frames, findings)
    return frames, findings


def _read_people(
    engine: Engine,
    table: str,
    columns: tuple[str, ...],
    people: set[int],
    patient_of: dict[int, str],
    date_column: str,
    ms_ids: set[int],
) -> pd.DataFrame:
    """The rows of the MS persons only (filtered in the database)."""
    frame = read_omop(engine, table, columns, with_condition=ms_ids)
    if frame is None:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = frame[frame["person_id"].isin(people)].copy()
    frame["patient_id"] = frame["person_id"].map(patient_of)
    frame[date_column] = _dates(frame[date_column])
    return frame


def _exposures(
    engine: Engine,
    have: frozenset[str],
    people: set[int],
    ms_ids: set[int],
    patient_of: dict[int, str],
    ends: dict[int, Any],
    findings: OmopFindings,
) -> pd.DataFrame:
    ingredient = concept_id("naltrexone")
    naltrexone, _ = _descendants(engine, frozenset({ingredient}), have)
    strength = _milligrams(engine, ingredient, have)
    naltrexone |= set(strength)
    findings.naltrexone_concepts = (
        f"naltrexone (1714319) and {len(naltrexone) - 1} drug concept(s) containing it "
        "(concept_ancestor, drug_strength)"
        if len(naltrexone) > 1
        else "the naltrexone ingredient concept (1714319) only"
    )
    drugs = _read_people(
        engine,
        "drug_exposure",
        (
            "person_id",
            "drug_concept_id",
            "drug_exposure_start_date",
            "drug_exposure_end_date",
            "verbatim_end_date",
            "quantity",
            "days_supply",
            "sig",
            "drug_source_value",
            "dose_unit_source_value",
        ),
        people,
        patient_of,
        "drug_exposure_start_date",
        ms_ids,
    )
    steroids, _ = _descendants(engine, steroid_concepts(), have)
    steroids |= _drugs_with(engine, steroid_concepts(), have)
    out = []
    for row in drugs.itertuples(index=False):
        concept = int(row.drug_concept_id) if pd.notna(row.drug_concept_id) else 0
        drug_class, name = split_drug_source(row.drug_source_value, CLASSES)
        is_naltrexone = concept in naltrexone
        if not is_naltrexone and is_naltrexone_drug(name):
            findings.naltrexone_by_name_only += 1
            continue
        dose = _daily_dose(
            row.quantity, row.days_supply, row.dose_unit_source_value, strength.get(concept)
        )
        if is_naltrexone:
            findings.naltrexone_exposures += 1
            if dose is None:
                findings.naltrexone_without_daily_dose += 1
                continue
            name = name if is_naltrexone_drug(name) else "naltrexone"
        elif concept in steroids:
            findings.counts["steroid_courses"] = findings.counts.get("steroid_courses", 0) + 1
            name = STEROID_NAMES.get(concept, "methylprednisolone or prednisone")
        elif not name:
            name = f"OMOP concept {concept}"
        verbatim = pd.to_datetime(row.verbatim_end_date, errors="coerce")
        end = pd.to_datetime(row.drug_exposure_end_date, errors="coerce")
        period_end = pd.to_datetime(ends.get(row.person_id), errors="coerce")
        if pd.notna(verbatim):
            stop = verbatim
        elif pd.notna(end) and (pd.isna(period_end) or end < period_end):
            stop = end
        else:
            stop = pd.NaT
        out.append(
            {
                "patient_id": row.patient_id,
                "drug_name": name,
                "drug_class": drug_class or DrugClass.OTHER.value,
                "dose_mg": np.nan if dose is None else dose,
                "time_of_day": row.sig if row.sig in TIMES else TimeOfDay.UNKNOWN.value,
                "start_date": row.drug_exposure_start_date,
                "stop_date": stop,
            }
        )
    frame = pd.DataFrame(
        out,
        columns=[
            "patient_id",
            "drug_name",
            "drug_class",
            "dose_mg",
            "time_of_day",
            "start_date",
            "stop_date",
        ],
    )
    frame["start_date"] = _dates(frame["start_date"])
    frame["stop_date"] = _dates(frame["stop_date"])
    ldn = [is_ldn_drug(n, d) for n, d in zip(frame["drug_name"], frame["dose_mg"], strict=True)]
    findings.ldn_users = int(frame.loc[ldn, "patient_id"].nunique()) if len(frame) else 0
    return frame


def _milligrams(engine: Engine, ingredient: int, have: frozenset[str]) -> dict[int, float]:
    """Drug concept -> mg of the ingredient per unit (``drug_strength.amount_value`` in
    milligram, 8576), for the drugs of one ingredient; empty without the table."""
    if "drug_strength" not in have:
        return {}
    rows = read_omop(
        engine,
        "drug_strength",
        ("drug_concept_id", "ingredient_concept_id", "amount_value", "amount_unit_concept_id"),
        {"ingredient_concept_id": [ingredient]},
    )
    if rows is None or rows.empty:
        return {}
    rows = rows[rows["amount_unit_concept_id"] == concept_id("milligram")]
    amounts = pd.to_numeric(rows["amount_value"], errors="coerce")
    return {
        int(drug): float(amount)
        for drug, amount in zip(rows["drug_concept_id"], amounts, strict=True)
        if pd.notna(amount) and amount > 0
    }


def _drugs_with(engine: Engine, ingredients: frozenset[int], have: frozenset[str]) -> set[int]:
    """Drug concepts that ``drug_strength`` lists with one of these ingredients."""
    if "drug_strength" not in have:
        return set()
    rows = read_omop(
        engine, "drug_strength", ("drug_concept_id",), {"ingredient_concept_id": ingredients}
    )
    return set() if rows is None else {int(v) for v in rows["drug_concept_id"].dropna()}


def _daily_dose(quantity: Any, days: Any, unit: Any, mg_per_unit: float | None) -> float | None:
    """quantity / days_supply when the quantity is in mg, else quantity x the drug's mg per
    unit (``drug_strength``) / days_supply; None when neither applies (see the module doc)."""
    try:
        q, d = float(quantity), float(days)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(q) and np.isfinite(d)) or q <= 0 or d <= 0:
        return None
    if str(unit or "").strip().lower() == MILLIGRAM:
        return q / d
    if mg_per_unit is not None:
        return q * mg_per_unit / d
    return None


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


def _headlines(frames: dict[str, pd.DataFrame], findings: OmopFindings) -> None:
    counts = findings.counts
    counts["edss"] = len(frames["edss"])
    counts["relapses"] = len(frames["relapses"])
    counts["adverse_events"] = len(frames["adverse_events"])
    counts["labs"] = len(frames["labs"])
    counts["symptom_scores"] = len(frames["questionnaires"])
    counts["checkins"] = len(frames["checkins"])
    counts.setdefault("steroid_courses", 0)
    say = findings.headlines.append
    say(
        f"{findings.ms_persons} of {findings.persons} persons have multiple sclerosis "
        f"({findings.ms_concepts})"
    )
    if findings.ldn_users:
        say(
            f"{findings.ldn_users} of them took low-dose naltrexone (daily dose = quantity / "
            "days_supply in mg; at most 5 mg a day)"
        )
    else:
        say("the OMOP database holds no low-dose naltrexone exposure of a person with MS")
    if findings.naltrexone_without_daily_dose:
        say(
            f"{findings.naltrexone_without_daily_dose} naltrexone exposure(s) left out: no daily "
            "dose could be computed"
        )
    if findings.naltrexone_by_name_only:
        say(
            f"{findings.naltrexone_by_name_only} exposure(s) named naltrexone without the "
            "naltrexone concept left out"
        )
    for key, what in (
        ("edss", "EDSS scores"),
        ("relapses", "MS relapses"),
        ("symptom_scores", "symptom scores"),
        ("checkins", "daily check-in ratings"),
        ("labs", "lab results with a LOINC code"),
        ("adverse_events", "adverse events"),
    ):
        say(f"{counts[key]} {what}" if counts[key] else f"the OMOP database holds no {what}")
    say(
        f"{counts['steroid_courses']} methylprednisolone or prednisone course(s) (counted only: "
        "not used as relapses)"
    )
