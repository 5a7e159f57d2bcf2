"""Deciding link requests: an administrator's request takes effect only when accepted.

The patient decides on their own record (``/me/links``); a clinician who already cares for
the patient may confirm or decline for them (``/patients/{id}/links``). See
:mod:`ldn_outcomes.store.link_requests` for the rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ...domain.access import Role
from ...domain.identifiers import parse_database_id
from ...errors import Problem, ValidationFailed
from ...store import link_requests
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import form_values
from ._common import own_patient, saved

router = APIRouter(tags=["links"])
Patient = Annotated[Viewer, require(Role.PATIENT)]
CaringClinician = Annotated[Viewer, require(Role.CLINICIAN, patient="patient_id")]


def _decision(values: dict[str, str]) -> tuple[int, bool]:
    """The requesting account and the decision; every broken rule is named at once."""
    raw, decision = values.get("account_id", ""), values.get("decision", "")
    problems = []
    try:
        account_id = parse_database_id(raw)
    except ValueError as error:
        rule = f"name the requesting account: {error}"
        problems.append(Problem("link_request", "account_id", rule, value=raw))
    if decision not in ("accept", "decline"):
        problems.append(Problem("link_request", "decision", "must be accept or decline"))
    if problems:
        raise ValidationFailed(problems)
    return account_id, decision == "accept"


async def _decide(request: Request, engine: EngineDep, viewer: Viewer, patient_id: str) -> bool:
    assert viewer.principal is not None
    account_id, accept = _decision(form_values(await request.form()))
    await run_in_threadpool(
        link_requests.decide_link,
        engine,
        viewer.principal,
        account_id,
        patient_id,
        accept=accept,
        actor=viewer.actor,
    )
    return accept


@router.post("/me/links")
async def patient_decides(request: Request, engine: EngineDep, viewer: Patient) -> Response:
    """The patient accepts or declines a request for access to their record."""
    accepted = await _decide(request, engine, viewer, own_patient(viewer))
    return saved("/me", "accepted" if accepted else "declined")


@router.post("/patients/{patient_id}/links")
async def clinician_decides(
    request: Request, patient_id: str, engine: EngineDep, viewer: CaringClinician
) -> Response:
    """A clinician already caring for the patient confirms or declines a request."""
    accepted = await _decide(request, engine, viewer, patient_id)
    return saved(f"/patients/{patient_id}", "accepted" if accepted else "declined")
