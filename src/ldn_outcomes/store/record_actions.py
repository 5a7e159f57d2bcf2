"""Actions on registry records that people think of as one step, each one transaction's work:
change a dose, stop a regimen, enter the day's check-in again, and read a record's history.

They take the :class:`~ldn_outcomes.store.registry.Registry` of an open unit of work, so the
caller decides when to commit (the web, the API and the CLI all call these same functions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from ..domain.checkin import CHECKIN_INSTRUMENT
from ..domain.codes import TimeOfDay
from ..domain.definitions.exposure import is_ldn
from ..domain.definitions.regimen import change_dose, stop_regimen
from ..domain.models import RECORD_TYPES, Exposure, QuestionnaireResponse
from ..errors import NotFound, Problem, ValidationFailed
from .convert import key_column
from .registry import Registry
from .tables import AuditRow, QuestionnaireRow

#: The daily check-in instrument (one per patient per day).
CHECKIN = CHECKIN_INSTRUMENT
#: The reason kept when a second check-in for the same day replaces the first.
CHECKIN_AGAIN = "check-in entered again for the same day"


def current_regimen(registry: Registry, patient_id: str, exposure_id: int | None) -> Exposure:
    """The exposure to change: the one named (it must belong to the patient and be ongoing),
    or the patient's one ongoing LDN regimen."""
    if exposure_id is not None:
        try:
            found = registry.get("exposures", exposure_id)
        except NotFound:
            found = None
        if not isinstance(found, Exposure) or found.patient_id != patient_id:
            raise ValidationFailed(
                Problem(
                    "exposure",
                    "exposure_id",
                    f"patient {patient_id} has no medicine {exposure_id}; choose one of theirs",
                    value=exposure_id,
                )
            )
        return found
    ongoing = [
        e
        for e in registry.records(Exposure, patient_id=patient_id)
        if is_ldn(e) and e.stop_date is None
    ]
    if not ongoing:
        raise ValidationFailed(
            Problem("exposure", "exposure_id", f"patient {patient_id} has no ongoing LDN regimen")
        )
    return ongoing[0]


#: The stored exposure's fields as a dose change or a stop names them (API, CLI and library).
CHANGE_FIELDS = {"stop_date": "from_date", "start_date": "from_date"}
STOP_FIELDS = {"stop_date": "last_day", "stop_reason": "reason"}


def change_regimen(
    registry: Registry,
    patient_id: str,
    *,
    new_dose_mg: Decimal | float | str,
    from_date: dt.date | str,
    exposure_id: int | None = None,
    time_of_day: TimeOfDay | str | None = None,
    frequency: str | None = None,
) -> tuple[Exposure, Exposure]:
    """Change the dose from ``from_date``: the current regimen ends the day before, the new one
    keeps its timing unless ``time_of_day`` says otherwise. Returns (ended, new)."""
    current = current_regimen(registry, patient_id, exposure_id)
    try:
        ended, new = change_dose(
            current,
            new_dose_mg=new_dose_mg,
            from_date=from_date,
            time_of_day=time_of_day or None,
            frequency=frequency or None,
        )
        registry.update(ended, reason="dose change")
        stored = registry.add(new)
    except ValidationFailed as error:  # the ended stop and the new start come from from_date
        raise error.renamed(CHANGE_FIELDS) from None
    assert isinstance(stored, Exposure)
    return ended, stored


def stop(
    registry: Registry,
    patient_id: str,
    *,
    last_day: dt.date | str,
    reason: str | None = None,
    exposure_id: int | None = None,
) -> Exposure:
    """Stop a regimen: ``last_day`` is the last day the medicine was taken."""
    current = current_regimen(registry, patient_id, exposure_id)
    try:
        ended = stop_regimen(current, last_day=last_day, reason=reason)
        registry.update(ended, reason=ended.stop_reason)
    except ValidationFailed as error:
        raise error.renamed(STOP_FIELDS) from None
    return ended


def save_checkin(
    registry: Registry, record: QuestionnaireResponse
) -> tuple[QuestionnaireResponse, bool]:
    """One check-in per patient per day: a second one for the same day corrects the first
    (kept in its history). Returns the stored check-in and whether it replaced one."""
    existing = registry.session.scalar(
        select(QuestionnaireRow.id).where(
            QuestionnaireRow.patient_id == record.patient_id,
            QuestionnaireRow.instrument_id == CHECKIN,
            QuestionnaireRow.date == record.date,
            QuestionnaireRow.removed_at.is_(None),
        )
    )
    if existing is None:
        stored = registry.add(record)
        assert isinstance(stored, QuestionnaireResponse)
        return stored, False
    corrected = registry.correct(record.model_copy(update={"id": existing}), CHECKIN_AGAIN)
    assert isinstance(corrected, QuestionnaireResponse)
    return corrected, True


def has_checkin(engine: Engine, patient_id: str, day: dt.date) -> bool:
    """Whether the patient has a live check-in on ``day`` (one light query)."""
    with engine.connect() as connection:
        found = connection.execute(
            select(QuestionnaireRow.id)
            .where(
                QuestionnaireRow.patient_id == patient_id,
                QuestionnaireRow.instrument_id == CHECKIN,
                QuestionnaireRow.date == day,
                QuestionnaireRow.removed_at.is_(None),
            )
            .limit(1)
        ).first()
    return found is not None


#: Audit actions that make a new version of a record.
VERSION_ACTIONS = ("create", "update", "correct", "remove", "delete")


@dataclass(frozen=True)
class HistoryEntry:
    """One version change of a record: who, when, what, why, and the fields that changed."""

    at: dt.datetime
    actor: str
    action: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changed(self) -> list[str]:
        before, after = self.before or {}, self.after or {}
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "reason": self.reason,
            "changed": self.changed if self.action not in ("create", "remove") else [],
            "before": self.before,
            "after": self.after,
        }


def history(registry: Registry, kind: str, key: Any) -> list[HistoryEntry]:
    """Every version of one record, oldest first (removed records included)."""
    registry.get(kind, key, include_removed=True)
    rows = registry.session.scalars(
        select(AuditRow)
        .where(
            AuditRow.table_name == kind,
            AuditRow.record_key == str(key),
            AuditRow.action.in_(VERSION_ACTIONS),  # not the log of who viewed it
        )
        .order_by(AuditRow.at, AuditRow.id)
    )
    return [HistoryEntry(r.at, r.actor, r.action, r.reason, r.before, r.after) for r in rows]


def removed_records(registry: Registry, kind: str, patient_id: str) -> list[dict[str, Any]]:
    """A patient's removed records of one kind, with when and why (for the history pages)."""
    from .convert import row_to_record, table_of

    table = table_of(kind)
    rows = registry.session.scalars(
        select(table)
        .where(table.patient_id == patient_id, table.removed_at.is_not(None))  # type: ignore[attr-defined]
        .order_by(getattr(table, key_column(kind)))
    )
    return [
        {
            "record": row_to_record(kind, row).model_dump(mode="json"),
            "removed_at": row.removed_at.isoformat(),  # type: ignore[attr-defined]
            "removed_reason": row.removed_reason,  # type: ignore[attr-defined]
        }
        for row in rows
    ]


def known_kind(kind: str) -> str:
    if kind not in RECORD_TYPES:
        raise NotFound(f"no record kind {kind!r}; kinds: {', '.join(RECORD_TYPES)}")
    return kind
