"""Drug exposures of the MS persons in an OMOP database: naltrexone by concept with its daily
dose, steroid courses counted, other drugs by their source value (see ``omop_read``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..domain.codes import DrugClass, TimeOfDay
from ..domain.definitions.exposure import is_ldn_drug, is_naltrexone_drug
from ..domain.omop import (
    MILLIGRAM,
    concept_id,
    split_drug_source,
    steroid_concepts,
)
from ..domain.record_kinds import ANALYSED_COLUMNS
from ..store.omop_tables import read_omop
from .omop_findings import OmopFindings
from .omop_people import dates, descendants, read_people

STEROID_NAMES = {
    concept_id("methylprednisolone"): "methylprednisolone",
    concept_id("prednisone"): "prednisone",
}
CLASSES = frozenset(c.value for c in DrugClass)
TIMES = frozenset(t.value for t in TimeOfDay)


def read_exposures(
    engine: Engine,
    have: frozenset[str],
    people: set[int],
    ms_ids: set[int],
    patient_of: dict[int, str],
    ends: dict[int, Any],
    findings: OmopFindings,
) -> pd.DataFrame:
    ingredient = concept_id("naltrexone")
    naltrexone, _ = descendants(engine, frozenset({ingredient}), have)
    strength = _milligrams(engine, ingredient, have)
    naltrexone |= set(strength)
    findings.naltrexone_concepts = (
        f"naltrexone (1714319) and {len(naltrexone) - 1} drug concept(s) containing it "
        "(concept_ancestor, drug_strength)"
        if len(naltrexone) > 1
        else "the naltrexone ingredient concept (1714319) only"
    )
    drugs = read_people(
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
    steroids, _ = descendants(engine, steroid_concepts(), have)
    steroids |= _drugs_with(engine, steroid_concepts(), have)
    out = []
    for row in drugs.itertuples(index=False):
        concept = int(row.drug_concept_id) if pd.notna(row.drug_concept_id) else 0
        drug_class, name = split_drug_source(row.drug_source_value, CLASSES)
        is_naltrexone = concept in naltrexone
        if not is_naltrexone and is_naltrexone_drug(name):
            findings.naltrexone_by_name_only += 1
            continue
        dose = daily_dose(
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
    frame = pd.DataFrame(out, columns=list(ANALYSED_COLUMNS["exposures"]))
    frame["start_date"] = dates(frame["start_date"])
    frame["stop_date"] = dates(frame["stop_date"])
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


def daily_dose(quantity: Any, days: Any, unit: Any, mg_per_unit: float | None) -> float | None:
    """quantity / days_supply when the quantity is in mg, else quantity x the drug's mg per
    unit (``drug_strength``) / days_supply; None when neither applies (see the module doc)."""
    try:
        q, d = float(quantity), float(days)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(q) and np.isfinite(d)) or q <= 0 or d <= 0:
        return None
    if str(unit or "").strip().lower() == MILLIGRAM:
        dose = q / d
    elif mg_per_unit is not None:
        dose = q * mg_per_unit / d
    else:
        return None
    return dose if np.isfinite(dose) else None  # an absurd cell is no dose, not infinity
