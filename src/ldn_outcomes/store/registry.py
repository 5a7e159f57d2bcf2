"""Repository for registry records: domain records in, domain records out, every write audited.

Nothing is overwritten silently and nothing clinical is deleted: a correction needs a reason
and keeps the earlier version in the audit log (who, when, why, before, after); a removal
marks the record removed with its reason, after which it leaves every read of live data
(see :func:`ldn_outcomes.store.live.live_only`). Removing a patient removes their records too.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.checkin import CHECKIN_INSTRUMENT
from ..domain.definitions.dose_safety import check_new_interactions
from ..domain.definitions.regimen import check_one_ongoing_ldn
from ..domain.models import (
    PATIENT_KINDS,
    RECORD_TYPES,
    Exposure,
    Patient,
    QuestionnaireResponse,
    Record,
    record_kind,
)
from ..domain.text import reason_problem
from ..errors import DuplicateRecord, NotFound, Problem, ValidationFailed
from .audit import write_audit
from .convert import key_column, record_to_values, row_to_record, table_of
from .live import is_removable, live_only
from .patient_lock import lock_patients
from .reference_checks import check_references
from .tables import PatientRow, QuestionnaireRow

#: The record kind (table) of each record type, for typed reads.
KIND_OF: dict[type[Record], str] = {cls: kind for kind, cls in RECORD_TYPES.items()}
R = TypeVar("R", bound=Record)


class DiaryEntry(NamedTuple):
    """One questionnaire of a patient as the patient pages read it (no record object per
    row: a patient may have years of daily check-ins)."""

    date: dt.date
    instrument_id: str
    answers: builtins.list[float | None]
    total: float | None


class Registry:
    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor

    # -- reads -----------------------------------------------------------------
    def get(self, kind: str, key: Any, *, include_removed: bool = False) -> Record:
        return row_to_record(kind, self._row(kind, key, include_removed=include_removed))

    def _row(self, kind: str, key: Any, *, include_removed: bool = False) -> Any:
        if kind not in RECORD_TYPES:
            raise NotFound(f"no record kind {kind!r}; kinds: {', '.join(RECORD_TYPES)}")
        row = self.session.get(table_of(kind), key)
        name = RECORD_TYPES[kind].record_name
        if row is None:
            raise NotFound(f"no {name} with id {key!r}")
        if not include_removed and getattr(row, "removed_at", None) is not None:
            raise NotFound(f"{name} {key!r} was removed ({getattr(row, 'removed_reason', '')})")
        return row

    def patient(self, patient_id: str) -> Patient:
        record = self.get("patients", patient_id)
        assert isinstance(record, Patient)
        return record

    def records(self, record_type: type[R], **filters: Any) -> builtins.list[R]:
        """The live records of one type, typed, filtered by equal columns (``None`` filters
        nothing), in key order: ``registry.records(Exposure, patient_id="P1")``; a loop over
        kinds passes ``RECORD_TYPES[kind]``."""
        kind = KIND_OF[record_type]
        table = table_of(kind)
        query = live_only(select(table), table)
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(table, name) == value)
        query = query.order_by(getattr(table, key_column(kind)))
        found = [row_to_record(kind, row) for row in self.session.scalars(query)]
        return cast(builtins.list[R], found)  # row_to_record builds RECORD_TYPES[kind]

    def diary(self, patient_id: str) -> builtins.list[DiaryEntry]:
        """Every live questionnaire of one patient, by date then entry, as plain rows."""
        rows = self.session.execute(
            select(
                QuestionnaireRow.date,
                QuestionnaireRow.instrument_id,
                QuestionnaireRow.answers,
                QuestionnaireRow.total,
            )
            .where(QuestionnaireRow.patient_id == patient_id, QuestionnaireRow.removed_at.is_(None))
            .order_by(QuestionnaireRow.date, QuestionnaireRow.id)
        )
        return [
            DiaryEntry(day, instrument, list(answers), total)
            for day, instrument, answers, total in rows
        ]

    def count(self, kind: str) -> int:
        table = table_of(kind)
        return self.session.scalar(live_only(select(func.count()).select_from(table), table)) or 0

    def patient_records(self, patient_id: str) -> dict[str, builtins.list[Record]]:
        """Everything recorded for one patient, by kind."""
        self.patient(patient_id)
        return {
            kind: self.records(RECORD_TYPES[kind], patient_id=patient_id) for kind in PATIENT_KINDS
        }

    # -- writes ----------------------------------------------------------------
    def add(self, record: Record, *, row: int | None = None) -> Record:
        """Insert one validated record after checking its references and uniqueness."""
        kind = record_kind(record)
        self.check_references(kind, [record], first_row=row)
        if isinstance(record, Exposure):
            self.check_interactions(record.patient_id, [record])
        values = record_to_values(kind, record)
        table = table_of(kind)
        key_name = key_column(kind)
        key = values.get(key_name)
        if key is not None and self.session.get(table, key) is not None:
            raise DuplicateRecord(
                f"{record.record_name} {key_name} {key!r} already exists"
                + (f" (row {row})" if row is not None else "")
            )
        stored = table(**values)
        self.session.add(stored)
        try:
            self.session.flush()
        except IntegrityError as error:
            raise DuplicateRecord(_duplicate_message(record, error)) from None
        result = row_to_record(kind, stored)
        write_audit(
            self.session,
            actor=self.actor,
            action="create",
            table=kind,
            key=str(getattr(stored, key_name)),
            before=None,
            after=record_to_values(kind, result),
        )
        return result

    def update(self, record: Record, *, reason: str | None = None) -> Record:
        """Replace a live record's values (the earlier version stays in the audit log)."""
        return self._replace(record, action="update", reason=reason)

    def correct(self, record: Record, reason: str) -> Record:
        """A correction: the record as it should have been, and why. The earlier version is
        kept in the audit log with who, when, why, before and after."""
        return self._replace(record, action="correct", reason=require_reason(record, reason))

    def _replace(self, record: Record, *, action: str, reason: str | None) -> Record:
        kind = record_kind(record)
        key_name = key_column(kind)
        key = getattr(record, key_name)
        if key is None:
            raise ValidationFailed(
                Problem(record.record_name, key_name, "say which record to correct")
            )
        stored = self._row(kind, key)
        old = row_to_record(kind, stored)
        if kind in PATIENT_KINDS and old.patient_id != record.patient_id:  # type: ignore[attr-defined]
            raise ValidationFailed(
                Problem(
                    record.record_name,
                    "patient_id",
                    "a record cannot be moved to another patient; remove it and add it "
                    "to the right patient",
                )
            )
        self.check_references(kind, [record])
        if isinstance(record, Exposure):
            lock_patients(self.session, [record.patient_id])
            others = [
                e for e in self.records(Exposure, patient_id=record.patient_id) if e.id != record.id
            ]
            check_new_interactions(others, [record])
            check_one_ongoing_ldn(others, [record])
        if isinstance(record, QuestionnaireResponse):
            self._check_one_checkin_a_day(record)
        before = record_to_values(kind, old)
        after = record_to_values(kind, record)
        if before == after:
            return old
        for name, value in after.items():
            setattr(stored, name, value)
        try:
            self.session.flush()
        except IntegrityError as error:
            raise DuplicateRecord(_duplicate_message(record, error)) from None
        write_audit(
            self.session,
            actor=self.actor,
            action=action,
            table=kind,
            key=str(key),
            before=before,
            after=after,
            reason=reason,
        )
        return record

    def _check_one_checkin_a_day(self, record: QuestionnaireResponse) -> None:
        """A correction may not move a daily check-in onto a day that already has one: the
        error names the date field and the rule, as any broken rule does (422), instead of
        the database's refusal (409, no field)."""
        if record.instrument_id != CHECKIN_INSTRUMENT:
            return
        query = select(QuestionnaireRow.id).where(
            QuestionnaireRow.patient_id == record.patient_id,
            QuestionnaireRow.instrument_id == CHECKIN_INSTRUMENT,
            QuestionnaireRow.date == record.date,
            QuestionnaireRow.id != record.id,
        )
        other = self.session.scalar(live_only(query, QuestionnaireRow))
        if other is not None:
            raise ValidationFailed(
                Problem(
                    record.record_name,
                    "date",
                    f"one check-in a day: patient {record.patient_id} already has check-in "
                    f"{other} on {record.date.isoformat()}; correct that one, or choose "
                    "another day",
                    value=record.date.isoformat(),
                )
            )

    def remove(self, kind: str, key: Any, reason: str) -> None:
        """Mark a record removed, with its reason; removing a patient removes their records."""
        if not is_removable(table_of(kind)):
            raise ValidationFailed(
                Problem(kind, "kind", "this kind of record cannot be removed here")
            )
        stored = self._row(kind, key)
        why = require_reason(RECORD_TYPES[kind], reason)
        if kind == "patients":
            for patient_kind in PATIENT_KINDS:
                for record in self.records(RECORD_TYPES[patient_kind], patient_id=key):
                    self._mark_removed(
                        patient_kind,
                        getattr(record, key_column(patient_kind)),
                        f"patient removed: {why}",
                    )
        self._mark_removed(kind, key, why, stored)

    def _mark_removed(self, kind: str, key: Any, reason: str, stored: Any = None) -> None:
        stored = stored if stored is not None else self._row(kind, key)
        stored.removed_at = dt.datetime.now(dt.UTC)
        stored.removed_reason = reason
        self.session.flush()
        write_audit(
            self.session,
            actor=self.actor,
            action="remove",
            table=kind,
            key=str(key),
            before=record_to_values(kind, row_to_record(kind, stored)),
            after=None,
            reason=reason,
        )

    def delete(self, kind: str, key: Any) -> None:
        """Hard delete, for reference tables only (sites, clinicians); clinical records are
        removed with :meth:`remove`, which keeps them and their history."""
        if is_removable(table_of(kind)):
            raise ValidationFailed(
                Problem(kind, "kind", "clinical records are removed with a reason, not deleted")
            )
        table = table_of(kind)
        stored = self.session.get(table, key)
        if stored is None:
            raise NotFound(f"no {RECORD_TYPES[kind].record_name} with id {key!r}")
        before = record_to_values(kind, row_to_record(kind, stored))
        self.session.delete(stored)
        try:
            self.session.flush()
        except IntegrityError:
            raise ValidationFailed(
                Problem(kind, key_column(kind), "other records still refer to this record")
            ) from None
        write_audit(
            self.session,
            actor=self.actor,
            action="delete",
            table=kind,
            key=str(key),
            before=before,
            after=None,
        )

    # -- rules that need other records ------------------------------------------
    def check_references(
        self,
        kind: str,
        records: Sequence[Record],
        *,
        first_row: int | None = None,
        pending: dict[str, set[str]] | None = None,
        pending_birth_years: dict[str, int] | None = None,
    ) -> None:
        """Every referenced patient, clinician and site must exist (or be pending in the batch),
        and no record of a patient may predate their year of birth
        (:func:`.reference_checks.check_references`)."""
        check_references(
            self.session,
            kind,
            records,
            first_row=first_row,
            pending=pending,
            pending_birth_years=pending_birth_years,
        )

    def check_interactions(self, patient_id: str, added: Sequence[Exposure]) -> None:
        """Dose safety at entry: refuse a new naltrexone-opioid overlap (names both drugs) and
        a second ongoing LDN regimen. The patient is locked first (:mod:`.patient_lock`), so
        that two writers cannot both pass the check and both insert."""
        lock_patients(self.session, [patient_id])
        existing = self.records(Exposure, patient_id=patient_id)
        check_new_interactions(existing, added)
        check_one_ongoing_ldn(existing, added)

    def has_patient(self, patient_id: str) -> bool:
        return bool(
            self.session.scalar(select(exists().where(PatientRow.patient_id == patient_id)))
        )


def require_reason(record: Any, reason: str | None) -> str:
    """Corrections and removals say why (``domain.text.reason_problem``); the reason is kept
    in the audit log."""
    rule = reason_problem(reason)
    if rule is not None:
        raise ValidationFailed(Problem(getattr(record, "record_name", "record"), "reason", rule))
    return (reason or "").strip()


def _duplicate_message(record: Record, error: IntegrityError) -> str:
    if "daily_checkin" in str(error.orig) or (
        getattr(record, "instrument_id", None) == "checkin" and "UNIQUE" in str(error.orig)
    ):
        return (
            f"patient {getattr(record, 'patient_id', '?')} already has a check-in on "
            f"{getattr(record, 'date', '?')}; correct that one instead"
        )
    return f"{record.record_name} could not be stored: {error.orig}"
