"""Who may write each record kind (create, correct, remove), for a patient they may access.

Reading follows :func:`ldn_outcomes.domain.access.may_access_patient` (a patient their own
records; a clinician their linked patients with active care consent). Writing is narrower for
what only a clinician can assess: the EDSS is rated by a clinician, laboratory results come
from the clinic, and the patient's registration details are kept by their clinician.
"""

from __future__ import annotations

from .access import Role
from .codes import Confirmation
from .models import Record, Relapse

BOTH = frozenset({Role.PATIENT, Role.CLINICIAN})
CLINICIAN_ONLY = frozenset({Role.CLINICIAN})

#: Roles that may create, correct and remove each kind of a patient's records.
WRITERS: dict[str, frozenset[Role]] = {
    "patients": CLINICIAN_ONLY,
    "exposures": BOTH,
    "dose_logs": BOTH,
    "questionnaires": BOTH,
    "relapses": BOTH,
    "edss": CLINICIAN_ONLY,
    "adverse_events": BOTH,
    "labs": CLINICIAN_ONLY,
    "consents": BOTH,
}


def may_write(role: Role | None, kind: str) -> bool:
    return role is not None and role in WRITERS.get(kind, frozenset())


def confirmation_problem(role: Role | None, record: Record) -> str | None:
    """A patient reports a relapse; only a clinician can record it as clinician-confirmed."""
    if (
        isinstance(record, Relapse)
        and role is Role.PATIENT
        and record.confirmed_by is not Confirmation.PATIENT
    ):
        return "a patient records a relapse as patient-reported; your clinician confirms it"
    return None
