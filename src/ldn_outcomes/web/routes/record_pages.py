"""Every record of a patient, for the patient and their clinician: the list (with removed
records and why), one record with its full history, and the forms to correct it or remove it
with a reason (for whoever may write that kind). Pages are post/redirect/get.
"""

# No ``from __future__ import annotations``: endpoints are built per kind in a loop.

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ...domain.access import Role
from ...domain.models import RECORD_TYPES, DatabaseId, Record
from ...domain.record_writers import WRITERS, confirmation_problem, may_write
from ...domain.validation import parse_record
from ...errors import NotFound, Problem, ValidationFailed
from ...store import record_actions
from ...store.registry import PATIENT_KINDS, Registry
from ...store.uow import UnitOfWork
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import form_values
from ..record_edit import edit_errors, edit_fields, facts_of, form_values_of, parse_edit
from ..record_summary import TITLES, record_url, summary
from ..rendering import render
from ..writes import in_transaction
from ._common import flash_of, saved
from .record_new import add_from_form, new_record_page

router = APIRouter(tags=["record pages"])
Reader = Annotated[Viewer, require(Role.PATIENT, Role.CLINICIAN, patient="patient_id")]


def _own(registry: Registry, kind: str, patient_id: str, key: Any) -> Record:
    record = registry.get(kind, key, include_removed=True)
    if getattr(record, "patient_id", None) != patient_id:
        raise NotFound(f"no {RECORD_TYPES[kind].record_name} {key} for this patient")
    return record


def record_page(
    request: Request,
    engine: Engine,
    viewer: Viewer,
    patient_id: str,
    kind: str,
    key: Any,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """One record: its values, its history (every version, who, when, why) and the forms."""
    with UnitOfWork(engine) as uow:
        record = _own(uow.registry, kind, patient_id, key)
        entries = record_actions.history(uow.registry, kind, key)
        table = uow.registry._row(kind, key, include_removed=True)
        removed = (
            {"at": table.removed_at.isoformat(), "reason": table.removed_reason}
            if table.removed_at is not None
            else None
        )
    shown = record.model_dump(mode="json")
    url = record_url(patient_id, kind, key)
    fields = edit_fields(kind, record)
    stored = form_values_of(record)
    if values is not None:  # a refused correction: as submitted, with the values only shown
        values = {
            **values,
            **{f.name: stored.get(f.name, "") for f in fields if f.kind == "static"},
        }
    return render(
        request,
        "patients/record.html",
        {
            "patient_id": patient_id,
            "kind": kind,
            "kind_title": TITLES[kind],
            "record": shown,
            "facts": facts_of(record, shown),
            "title": summary(kind, shown),
            "removed": removed,
            "history": [e.as_dict() for e in entries],
            "may_write": may_write(viewer.role, kind) and removed is None,
            "fields": fields,
            "values": stored if values is None else values,
            "errors": errors or {},
            "correct_url": f"{url}/correct",
            "remove_url": f"{url}/remove",
            "flash": flash_of(request),
        },
        status_code=status_code,
    )


def _check_writer(viewer: Viewer, kind: str) -> None:
    if not may_write(viewer.role, kind):
        from ...errors import PermissionDenied

        raise PermissionDenied(f"not allowed: {TITLES[kind].lower()} are written by clinicians")


async def correct_from_form(
    request: Request, engine: Engine, viewer: Viewer, patient_id: str, kind: str, key: Any
) -> Response:
    _check_writer(viewer, kind)
    values = form_values(await request.form())
    reason = values.pop("reason", "")
    loaded: list[Record] = []  # the record as it was, for the form's fields on a refusal
    try:

        def work(reg: Registry) -> Record:
            current = _own(reg, kind, patient_id, key)
            loaded.append(current)
            record = parse_record(RECORD_TYPES[kind], parse_edit(kind, values, current))
            problem = confirmation_problem(viewer.role, record)
            if problem:
                raise ValidationFailed(Problem(record.record_name, "confirmed_by", problem))
            return reg.correct(record, reason)

        in_transaction(engine, viewer.actor, work)
    except ValidationFailed as failure:
        errors = edit_errors(failure, edit_fields(kind, loaded[0] if loaded else None))
        return record_page(
            request,
            engine,
            viewer,
            patient_id,
            kind,
            key,
            values={**values, "reason": reason},
            errors=errors,
            status_code=422,
        )
    return saved(record_url(patient_id, kind, key), "corrected")


async def remove_from_form(
    request: Request, engine: Engine, viewer: Viewer, patient_id: str, kind: str, key: Any
) -> Response:
    _check_writer(viewer, kind)
    values = form_values(await request.form())
    try:

        def work(reg: Registry) -> None:
            _own(reg, kind, patient_id, key)
            reg.remove(kind, key, values.get("reason", ""))

        in_transaction(engine, viewer.actor, work)
    except ValidationFailed as failure:
        return record_page(
            request,
            engine,
            viewer,
            patient_id,
            kind,
            key,
            errors={"remove_reason": "; ".join(p.rule for p in failure.problems)},
            status_code=422,
        )
    if kind == "patients":
        return saved("/patients" if viewer.role is Role.CLINICIAN else "/", "removed")
    return saved(f"/patients/{patient_id}/records", "removed")


def add_kind_pages(kind: str) -> None:
    writer = Annotated[Viewer, require(*WRITERS[kind], patient="patient_id")]
    base = f"/patients/{{patient_id}}/{kind}/{{record_id}}"

    def new_form(
        request: Request,
        patient_id: str,
        viewer: writer,  # type: ignore[valid-type]
    ) -> Response:
        return new_record_page(request, patient_id, kind, {}, {})

    async def add(
        request: Request,
        patient_id: str,
        engine: EngineDep,
        viewer: writer,  # type: ignore[valid-type]
    ) -> Response:
        return await add_from_form(request, engine, viewer, patient_id, kind)

    router.add_api_route(
        f"/patients/{{patient_id}}/{kind}/new", new_form, methods=["GET"], name=f"{kind}_new"
    )
    router.add_api_route(
        f"/patients/{{patient_id}}/{kind}/new", add, methods=["POST"], name=f"{kind}_add"
    )

    def show(
        request: Request,
        patient_id: str,
        record_id: DatabaseId,
        engine: EngineDep,
        viewer: Reader,
    ) -> Response:
        return record_page(request, engine, viewer, patient_id, kind, record_id)

    async def correct(
        request: Request,
        patient_id: str,
        record_id: DatabaseId,
        engine: EngineDep,
        viewer: writer,  # type: ignore[valid-type]
    ) -> Response:
        return await correct_from_form(request, engine, viewer, patient_id, kind, record_id)

    async def remove(
        request: Request,
        patient_id: str,
        record_id: DatabaseId,
        engine: EngineDep,
        viewer: writer,  # type: ignore[valid-type]
    ) -> Response:
        return await remove_from_form(request, engine, viewer, patient_id, kind, record_id)

    router.add_api_route(base, show, methods=["GET"], name=f"{kind}_record_page")
    router.add_api_route(f"{base}/correct", correct, methods=["POST"], name=f"{kind}_correct")
    router.add_api_route(f"{base}/remove", remove, methods=["POST"], name=f"{kind}_remove")


for _kind in PATIENT_KINDS:
    add_kind_pages(_kind)

DetailsWriter = Annotated[Viewer, require(*WRITERS["patients"], patient="patient_id")]


@router.get("/patients/{patient_id}/details")
def details_page(request: Request, patient_id: str, engine: EngineDep, viewer: Reader) -> Response:
    return record_page(request, engine, viewer, patient_id, "patients", patient_id)


@router.post("/patients/{patient_id}/details/correct")
async def correct_details(
    request: Request, patient_id: str, engine: EngineDep, viewer: DetailsWriter
) -> Response:
    return await correct_from_form(request, engine, viewer, patient_id, "patients", patient_id)


@router.post("/patients/{patient_id}/details/remove")
async def remove_details(
    request: Request, patient_id: str, engine: EngineDep, viewer: DetailsWriter
) -> Response:
    return await remove_from_form(request, engine, viewer, patient_id, "patients", patient_id)


#: Records of one kind shown on one page of ``/patients/{id}/records``.
PER_PAGE = 50


def _paging(patient_id: str, kind: str, page: int, total: int) -> dict[str, Any]:
    """Which records of ``total`` this page shows, and the links to the pages around it."""
    first = (page - 1) * PER_PAGE
    last = min(first + PER_PAGE, total)

    def url(number: int) -> str:
        return f"/patients/{patient_id}/records?kind={kind}&page={number}#records-{kind}"

    return {
        "page": page,
        "total": total,
        "first": first + 1 if total else 0,
        "last": last,
        "newer_url": url(page - 1) if page > 1 else None,
        "older_url": url(page + 1) if last < total else None,
    }


@router.get("/patients/{patient_id}/records")
def all_records(
    request: Request,
    patient_id: str,
    engine: EngineDep,
    viewer: Reader,
    kind: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """Every record of the patient by kind, latest first, with links to each one's history,
    and the removed records with when and why. A long list (years of daily check-ins) shows
    ``PER_PAGE`` records at a time; ``kind`` and ``page`` page through one kind."""
    if kind is not None and kind not in PATIENT_KINDS:
        raise ValidationFailed(
            Problem("request", "kind", f"must be one of {', '.join(PATIENT_KINDS)}", value=kind)
        )
    with UnitOfWork(engine) as uow:
        uow.registry.patient(patient_id)
        sections = []
        for section_kind in PATIENT_KINDS:
            everything = [
                r.model_dump(mode="json")
                for r in uow.registry.records(RECORD_TYPES[section_kind], patient_id=patient_id)
            ]
            everything.reverse()  # latest first
            shown_page = page if section_kind == kind else 1
            first = (shown_page - 1) * PER_PAGE
            live = everything[first : first + PER_PAGE]
            removed = record_actions.removed_records(uow.registry, section_kind, patient_id)
            sections.append(
                {
                    "kind": section_kind,
                    "title": TITLES[section_kind],
                    "records": [
                        {
                            "id": r["id"],
                            "summary": summary(section_kind, r),
                            "url": record_url(patient_id, section_kind, r["id"]),
                        }
                        for r in live
                    ],
                    "removed": [
                        {
                            "id": r["record"]["id"],
                            "summary": summary(section_kind, r["record"]),
                            "url": record_url(patient_id, section_kind, r["record"]["id"]),
                            "removed_at": r["removed_at"],
                            "reason": r["removed_reason"],
                        }
                        for r in removed
                    ],
                    "may_write": may_write(viewer.role, section_kind),
                    "new_url": f"/patients/{patient_id}/{section_kind}/new",
                    "paging": _paging(patient_id, section_kind, shown_page, len(everything)),
                }
            )
    return render(
        request,
        "patients/records.html",
        {"patient_id": patient_id, "sections": sections, "flash": flash_of(request)},
    )
