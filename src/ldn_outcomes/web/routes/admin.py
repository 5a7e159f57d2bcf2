"""Administration: accounts, links between accounts and patients, and sites.

Administrators manage who may sign in and *request* which account cares for (or owns) which
patient record; a request takes effect only when the patient, or a clinician already caring
for them, accepts it (:mod:`ldn_outcomes.store.link_requests`). Administrators are never shown
clinical records and cannot give anyone access to them on their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ...domain.access import ACCOUNT_ROLES, Role
from ...domain.models import Site
from ...domain.validation import parse_record
from ...errors import DuplicateRecord, NotFound, Problem, ValidationFailed
from ...store import accounts, care_links, link_requests
from ...store.uow import UnitOfWork
from ..auth import Viewer, require
from ..deps import EngineDep
from ..forms import Field, errors_by_field, form_id, form_values
from ..rendering import render
from ._common import add_records, dumped, flash_of, saved

router = APIRouter(tags=["admin"])
Admin = Annotated[Viewer, require(Role.ADMIN)]
ACCOUNT_FIELDS = [
    Field("email", "E-mail", "email", required=True),
    Field("role", "Role", "select", [(r.value, r.value) for r in ACCOUNT_ROLES], required=True),
    Field("display_name", "Name shown"),
    Field(
        "password",
        "Initial password",
        "password",
        required=True,
        help=f"At least {accounts.MIN_PASSWORD} characters; ask the person to change it.",
    ),
    Field("patient_id", "Patient record (patient accounts only)"),
]
LINK_FIELDS = [
    Field("email", "Account e-mail", "email", required=True),
    Field(
        "patient_id",
        "Patient id",
        required=True,
        help="A patient account owns this record; a clinician account is linked to care.",
    ),
]
SITE_FIELDS = [
    Field("site_id", "Site id", required=True),
    Field("name", "Name", required=True),
    Field("country", "Country (2 letters)"),
]


def _accounts_page(
    request: Request,
    engine: Engine,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form: str = "",
    status_code: int = 200,
) -> Response:
    rows = [
        {
            "id": a.id,
            "email": a.email,
            "role": a.role.value,
            "display_name": a.display_name,
            "active": a.active,
            "linked": a.patient_id
            if a.role is Role.PATIENT
            else len(care_links.linked_patient_ids(engine, a.id))
            if a.role is Role.CLINICIAN
            else None,
        }
        for a in accounts.list_accounts(engine)
    ]
    return render(
        request,
        "admin/accounts.html",
        {
            "accounts": rows,
            "fields": ACCOUNT_FIELDS,
            "link_fields": LINK_FIELDS,
            "values": {form: values or {}},
            "errors": {form: errors or {}},
            "flash": flash_of(request),
        },
        status_code=status_code,
    )


@router.get("/admin/accounts")
def accounts_page(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    return _accounts_page(request, engine)


@router.post("/admin/accounts")
async def create_account(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    values = form_values(await request.form())
    try:
        patient_id = values.get("patient_id") or None
        if patient_id is not None and values.get("role") != Role.PATIENT.value:
            raise ValidationFailed(
                Problem("account", "patient_id", "only a patient account owns a patient record")
            )
        if patient_id is not None:
            with UnitOfWork(engine) as uow:
                if not uow.registry.has_patient(patient_id):
                    raise NotFound(f"no patient {patient_id}")
        account = accounts.create_account(
            engine,
            email=values.get("email", ""),
            role=values.get("role", ""),
            password=values.get("password", ""),
            display_name=values.get("display_name") or None,
            actor=viewer.actor,
        )
        if patient_id is not None:  # requested only: the patient's side must accept it
            link_requests.request_link(engine, account.id, patient_id, actor=viewer.actor)
    except ValidationFailed as failure:
        return _accounts_page(
            request,
            engine,
            values=values,
            form="create",
            status_code=422,
            errors=errors_by_field(failure, [f.name for f in ACCOUNT_FIELDS]),
        )
    except (DuplicateRecord, NotFound) as failure:
        field = "email" if "account" in str(failure) else "patient_id"
        return _accounts_page(
            request,
            engine,
            values=values,
            form="create",
            status_code=422,
            errors={field: str(failure)},
        )
    return saved("/admin/accounts", "account")


@router.post("/admin/accounts/link")
async def link(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    values = form_values(await request.form())
    account = accounts.find_account(engine, values.get("email", ""))
    try:
        if account is None:
            raise ValidationFailed(Problem("account", "email", "no account with this e-mail"))
        link_requests.request_link(
            engine, account.id, values.get("patient_id", ""), actor=viewer.actor
        )
    except ValidationFailed as failure:
        return _accounts_page(
            request,
            engine,
            values=values,
            form="link",
            status_code=422,
            errors=errors_by_field(failure, ["email", "patient_id"]),
        )
    except (NotFound, DuplicateRecord) as failure:
        return _accounts_page(
            request,
            engine,
            values=values,
            form="link",
            status_code=422,
            errors={"patient_id": str(failure)},
        )
    return saved("/admin/accounts", "link")


@router.post("/admin/accounts/active")
async def set_active(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    """Deactivate (or reactivate) an account: sessions end and API tokens are revoked at
    once; audited. An administrator cannot lock themselves out."""
    assert viewer.principal is not None
    values = form_values(await request.form())
    account_id = form_id(values, "account_id", "account")
    if account_id == viewer.principal.account_id:
        raise ValidationFailed(
            Problem("account", "account_id", "you cannot deactivate your own account")
        )
    active = values.get("active") == "yes"
    accounts.set_active(engine, account_id, active, actor=viewer.actor)
    return saved("/admin/accounts", "activated" if active else "deactivated")


def _sites_page(
    request: Request,
    engine: Engine,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with UnitOfWork(engine) as uow:
        sites = uow.registry.records(Site)
    return render(
        request,
        "admin/sites.html",
        {
            "sites": dumped(sites),
            "fields": SITE_FIELDS,
            "values": values or {},
            "errors": errors or {},
            "flash": flash_of(request),
        },
        status_code=status_code,
    )


@router.get("/admin/sites")
def sites_page(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    return _sites_page(request, engine)


@router.post("/admin/sites")
async def add_site(request: Request, engine: EngineDep, viewer: Admin) -> Response:
    values = form_values(await request.form())
    try:
        site = parse_record(
            Site,
            {
                "site_id": values.get("site_id", ""),
                "name": values.get("name", ""),
                "country": (values.get("country") or "").upper() or None,
            },
        )
        add_records(engine, viewer, site)
    except ValidationFailed as failure:
        return _sites_page(
            request,
            engine,
            values=values,
            status_code=422,
            errors=errors_by_field(failure, [f.name for f in SITE_FIELDS]),
        )
    except DuplicateRecord as failure:
        return _sites_page(
            request, engine, values=values, status_code=422, errors={"site_id": str(failure)}
        )
    return saved("/admin/sites", "site")
