"""The write rules that need other rows: every record's references (patient, clinician, site)
exist and are live, or are pending in the same batch, and no record of a patient predates
their year of birth. :class:`~ldn_outcomes.store.registry.Registry` and the bulk path
(:mod:`.bulk`) both check through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.dates import record_birth_problems
from ..domain.models import PATIENT_KINDS, Record
from ..errors import Problem, ValidationFailed
from .tables import ClinicianRow, PatientRow, SiteRow


def check_references(
    session: Session,
    kind: str,
    records: Sequence[Record],
    *,
    first_row: int | None = None,
    pending: dict[str, set[str]] | None = None,
    pending_birth_years: dict[str, int] | None = None,
) -> None:
    """Every referenced patient, clinician and site must exist (or be pending in the batch),
    and no record of a patient may predate their year of birth."""
    pending = pending or {}
    checks: list[tuple[str, Any, str]] = []
    if kind in PATIENT_KINDS:
        checks.append(("patient_id", PatientRow.patient_id, "patients"))
    if kind in ("patients", "clinicians"):
        checks.append(("site_id", SiteRow.site_id, "sites"))
    if kind == "patients":
        checks.append(("clinician_id", ClinicianRow.clinician_id, "clinicians"))
    problems: list[Problem] = []
    for field, column, target in checks:
        keys = {getattr(r, field) for r in records} - pending.get(target, set()) - {None}
        missing = keys - _existing(session, column, keys)
        removed = _removed_patients(session, keys - missing) if target == "patients" else set()
        for index, record in enumerate(records):
            if getattr(record, field) in removed:
                problems.append(
                    Problem(
                        record=record.record_name,
                        field=field,
                        rule="refers to a patient that was removed",
                        row=None if first_row is None else first_row + index,
                        value=getattr(record, field),
                    )
                )
        if not missing:
            continue
        for index, record in enumerate(records):
            value = getattr(record, field)
            if value in missing:
                problems.append(
                    Problem(
                        record=record.record_name,
                        field=field,
                        rule=f"refers to a {target[:-1]} that does not exist",
                        row=None if first_row is None else first_row + index,
                        value=value,
                    )
                )
    if kind in PATIENT_KINDS:
        problems.extend(birth_problems(session, records, first_row, pending_birth_years or {}))
    if problems:
        raise ValidationFailed(problems)


def birth_problems(
    session: Session, records: Sequence[Record], first_row: int | None, known: dict[str, int]
) -> list[Problem]:
    """Dates before the patient's year of birth (the one date rule that needs the patient)."""
    patient_ids = [str(getattr(r, "patient_id")) for r in records]  # noqa: B009
    wanted = sorted(set(patient_ids) - set(known))
    years = dict(known)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(PatientRow.patient_id, PatientRow.year_of_birth).where(
            PatientRow.patient_id.in_(chunk)
        )
        years.update({pid: int(year) for pid, year in session.execute(query)})
    problems = []
    for index, (record, patient_id) in enumerate(zip(records, patient_ids, strict=True)):
        year = years.get(patient_id)
        if year is None:
            continue
        for field, rule in record_birth_problems(record, year):
            problems.append(
                Problem(
                    record=record.record_name,
                    field=field,
                    rule=rule,
                    row=None if first_row is None else first_row + index,
                    value=getattr(record, field).isoformat(),
                )
            )
    return problems


def _existing(session: Session, column: Any, keys: Iterable[str]) -> set[str]:
    wanted = sorted({k for k in keys if k is not None})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _removed_patients(session: Session, keys: set[str]) -> set[str]:
    wanted = sorted(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(PatientRow.patient_id).where(
                    PatientRow.patient_id.in_(chunk), PatientRow.removed_at.is_not(None)
                )
            )
        )
    return found
