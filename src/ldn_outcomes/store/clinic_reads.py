"""Reads behind the clinician's pages: the linked-patient list and the per-patient figures of
the clinic view, each a few batched queries (not one per patient), returned as typed rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..domain.access import consent_active
from ..domain.checkin import checkin_answer
from ..domain.codes import ConsentScope
from ..domain.definitions.exposure import is_ldn_drug
from ..domain.models import Consent
from .convert import row_to_record
from .tables import ConsentRow, EdssRow, ExposureRow, PatientRow, QuestionnaireRow, RelapseRow


class PatientListing(NamedTuple):
    """A patient as the clinician's list shows it (no names: the registry holds none)."""

    patient_id: str
    year_of_birth: int | None
    sex: str | None
    phenotype: str | None
    diagnosis_date: dt.date | None
    #: Whether the patient's care consent is active on the day asked about.
    care_consent: bool


def patient_listings(engine: Engine, ids: Sequence[str], on: dt.date) -> list[PatientListing]:
    """The patients ``ids`` (ordered by id) with whether their care consent is active on
    ``on``; the consent rule is the domain's (``Consent.active_on``)."""
    if not ids:
        return []
    with Session(engine) as session:
        rows = session.scalars(
            select(PatientRow)
            .where(PatientRow.patient_id.in_(ids), PatientRow.removed_at.is_(None))
            .order_by(PatientRow.patient_id)
        ).all()
        consents = [
            row_to_record("consents", c)
            for c in session.scalars(
                select(ConsentRow).where(
                    ConsentRow.patient_id.in_(ids),
                    ConsentRow.scope == ConsentScope.CARE.value,
                    ConsentRow.removed_at.is_(None),
                )
            )
        ]
    active = {
        c.patient_id
        for c in consents
        if isinstance(c, Consent) and consent_active([c], ConsentScope.CARE, on)
    }
    return [
        PatientListing(
            r.patient_id,
            r.year_of_birth,
            r.sex,
            r.phenotype,
            r.diagnosis_date,
            r.patient_id in active,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class PatientFigures:
    """What the clinic view shows per patient."""

    on_ldn: bool = False
    relapses: int = 0
    edss_latest: float | None = None
    #: Mean of the check-in's fatigue item (0-10) over the last 30 days, one decimal.
    fatigue_recent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def clinic_figures(
    engine: Engine, ids: Sequence[str], today: dt.date, *, checkin_instrument: str
) -> dict[str, PatientFigures]:
    """Per patient: on LDN today, relapses recorded, latest EDSS, mean fatigue (30 days) from
    the daily check-in ``checkin_instrument``."""
    on_ldn: set[str] = set()
    relapses: dict[str, int] = {}
    edss: dict[str, float] = {}
    fatigue: dict[str, list[float]] = {}
    if ids:
        since = today - dt.timedelta(days=30)
        with Session(engine) as session:
            for pid, name, dose in session.execute(
                select(ExposureRow.patient_id, ExposureRow.drug_name, ExposureRow.dose_mg).where(
                    ExposureRow.patient_id.in_(ids),
                    ExposureRow.removed_at.is_(None),
                    ExposureRow.start_date <= today,
                    (ExposureRow.stop_date.is_(None)) | (ExposureRow.stop_date >= today),
                )
            ):
                if is_ldn_drug(name, dose):  # the domain's rule, whatever class was entered
                    on_ldn.add(pid)
            for pid, n in session.execute(
                select(RelapseRow.patient_id, func.count())
                .where(RelapseRow.patient_id.in_(ids), RelapseRow.removed_at.is_(None))
                .group_by(RelapseRow.patient_id)
            ):
                relapses[pid] = int(n)
            for pid, _day, score in session.execute(
                select(EdssRow.patient_id, EdssRow.date, EdssRow.score)
                .where(EdssRow.patient_id.in_(ids), EdssRow.removed_at.is_(None))
                .order_by(EdssRow.date, EdssRow.id)
            ):
                edss[pid] = score  # ordered by date: the last one wins
            for pid, answers in session.execute(
                select(QuestionnaireRow.patient_id, QuestionnaireRow.answers).where(
                    QuestionnaireRow.patient_id.in_(ids),
                    QuestionnaireRow.instrument_id == checkin_instrument,
                    QuestionnaireRow.removed_at.is_(None),
                    QuestionnaireRow.date >= since,
                )
            ):
                value = checkin_answer(answers, "fatigue")
                if value is not None:
                    fatigue.setdefault(pid, []).append(value)
    return {
        pid: PatientFigures(
            on_ldn=pid in on_ldn,
            relapses=relapses.get(pid, 0),
            edss_latest=edss.get(pid),
            fatigue_recent=(
                round(sum(fatigue[pid]) / len(fatigue[pid]), 1) if pid in fatigue else None
            ),
        )
        for pid in ids
    }
