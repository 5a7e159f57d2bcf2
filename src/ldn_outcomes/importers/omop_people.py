"""The persons an OMOP analysis reads: concept sets widened by ``concept_ancestor``, and
the rows of the MS persons only (filtered in the database)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from ..store.omop_tables import read_omop


def descendants(
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


def dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce")


def read_people(
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
    frame[date_column] = dates(frame[date_column])
    return frame
