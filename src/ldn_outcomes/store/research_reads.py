"""Reads behind the research pages: the frames of the de-identified data set and the
registry-wide counts of research-consented patients (suppression is the report's job)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, distinct, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from ..domain.definitions.exposure import is_ldn_drug
from .frames import plausible_only, read_frames
from .tables import ConsentRow, EdssRow, ExposureRow, PatientRow, QuestionnaireRow, RelapseRow


def research_frames(
    engine: Engine, *, checkin_instrument: str, items: Mapping[str, int]
) -> dict[str, pd.DataFrame]:
    """Only the columns the data set needs; the check-in ``items`` (column name: answer
    index) are read out of the JSON answers by the database, not decoded row by row."""
    frames = read_frames(engine, ["patients", "exposures", "relapses", "consents"])
    with engine.connect() as connection:
        frames["edss"] = pd.read_sql_query(
            select(EdssRow.patient_id, EdssRow.date, EdssRow.score).where(
                EdssRow.removed_at.is_(None)
            ),
            connection,
        )
        frames["questionnaires"] = pd.read_sql_query(
            select(
                QuestionnaireRow.patient_id,
                QuestionnaireRow.instrument_id,
                QuestionnaireRow.date,
                *(
                    QuestionnaireRow.answers[index].as_float().label(name)
                    for name, index in items.items()
                ),
            ).where(
                QuestionnaireRow.instrument_id == checkin_instrument,
                QuestionnaireRow.removed_at.is_(None),
            ),
            connection,
        )
    for kind in ("edss", "questionnaires"):
        frames[kind] = plausible_only(frames[kind], ("date",))  # pandas cannot hold 1600
        frames[kind]["date"] = pd.to_datetime(frames[kind]["date"])
    return frames


@dataclass(frozen=True)
class ResearchCounts:
    """Unsuppressed counts of the patients whose research consent is active on a day."""

    by_phenotype: dict[str, int]
    by_sex: dict[str, int]
    ldn_users: int
    with_relapses: int
    keeping_a_diary: int

    @property
    def patients(self) -> int:
        return sum(self.by_phenotype.values())


def research_counts(engine: Engine, on: dt.date) -> ResearchCounts:
    """Counts over research-consented patients (consent given on or before ``on``, not
    withdrawn by then), a few aggregate queries."""
    consented = (
        select(ConsentRow.patient_id)
        .where(
            ConsentRow.scope == "research",
            ConsentRow.removed_at.is_(None),
            ConsentRow.given_date <= on,
            or_(ConsentRow.withdrawn_date.is_(None), ConsentRow.withdrawn_date > on),
        )
        .distinct()
        .scalar_subquery()
    )
    with Session(engine) as session:

        def grouped(column: QueryableAttribute[Any]) -> dict[str, int]:
            rows = session.execute(
                select(column, func.count())
                .select_from(PatientRow)
                .where(PatientRow.patient_id.in_(consented), PatientRow.removed_at.is_(None))
                .group_by(column)
            ).all()
            return {str(a): int(b) for a, b in rows}

        def patients_with(column: QueryableAttribute[str], *where: ColumnElement[bool]) -> int:
            found = session.scalar(
                select(func.count(distinct(column))).where(*where, column.in_(consented))
            )
            return int(found or 0)

        return ResearchCounts(
            by_phenotype=grouped(PatientRow.phenotype),
            by_sex=grouped(PatientRow.sex),
            ldn_users=len(
                {
                    pid
                    for pid, name, dose in session.execute(
                        select(
                            ExposureRow.patient_id, ExposureRow.drug_name, ExposureRow.dose_mg
                        ).where(
                            ExposureRow.patient_id.in_(consented), ExposureRow.removed_at.is_(None)
                        )
                    )
                    if is_ldn_drug(name, dose)  # the domain's rule, whatever class was entered
                }
            ),
            with_relapses=patients_with(RelapseRow.patient_id, RelapseRow.removed_at.is_(None)),
            keeping_a_diary=patients_with(
                QuestionnaireRow.patient_id, QuestionnaireRow.removed_at.is_(None)
            ),
        )
