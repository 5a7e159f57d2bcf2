"""The "Add" form for any record kind, built from the same fields as its correction; for a
questionnaire, the instrument is picked first (one link each), then its items are shown.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ...domain.models import RECORD_TYPES
from ...domain.record_writers import confirmation_problem
from ...domain.validation import parse_record
from ...errors import NotFound, Problem, ValidationFailed
from ...store import record_actions
from ...store.registry import Registry
from ..auth import Viewer
from ..forms import form_values
from ..record_edit import (
    addable_instruments,
    chosen_instrument,
    edit_errors,
    edit_fields,
    instrument_values,
    parse_edit,
)
from ..record_summary import TITLES, record_url
from ..rendering import render
from ..writes import in_transaction
from ._common import saved


def new_record_page(
    request: Request,
    patient_id: str,
    kind: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The form to add a record; for a questionnaire, first the list of instruments to pick
    from (``?instrument=fss``), then one field per item of the one picked."""
    definition = None
    instrument_id = values.get("instrument_id") or request.query_params.get("instrument")
    if kind == "questionnaires" and instrument_id:
        try:
            definition = chosen_instrument(instrument_id, values.get("instrument_version"))
        except NotFound as error:
            errors = {**errors, "_form": str(error)}
            status_code = 422 if status_code == 200 else status_code
        else:
            values = {**values, **instrument_values(definition)}
    instruments = None
    if kind == "questionnaires" and definition is None:
        instruments = [
            {"id": d.id, "name": d.name, "measures": d.measures, "items": len(d.items)}
            for d in addable_instruments()
        ]
    return render(
        request,
        "patients/new_record.html",
        {
            "patient_id": patient_id,
            "kind": kind,
            "kind_title": TITLES[kind],
            "fields": edit_fields(kind, instrument=definition),
            "instruments": instruments,
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


async def add_from_form(
    request: Request, engine: Engine, viewer: Viewer, patient_id: str, kind: str
) -> Response:
    """Any record kind from the same form as its correction (for kinds without a form of
    their own, such as laboratory results); a check-in for a day that has one corrects it."""
    values = form_values(await request.form())
    try:
        blank = RECORD_TYPES[kind].model_construct(patient_id=patient_id)
        data = {**parse_edit(kind, values, blank), "patient_id": patient_id, "id": None}
        if kind == "edss" and not data.get("rater") and viewer.principal is not None:
            data["rater"] = viewer.principal.email
        record = parse_record(RECORD_TYPES[kind], data)
        problem = confirmation_problem(viewer.role, record)
        if problem:
            raise ValidationFailed(Problem(record.record_name, "confirmed_by", problem))

        def work(reg: Registry) -> Any:  # a record of this kind: its id names its page
            if getattr(record, "instrument_id", None) == record_actions.CHECKIN:
                return record_actions.save_checkin(reg, record)[0]  # type: ignore[arg-type]
            return reg.add(record)

        stored = in_transaction(engine, viewer.actor, work)
    except ValidationFailed as failure:
        try:
            picked = chosen_instrument(values["instrument_id"], values.get("instrument_version"))
        except (KeyError, NotFound):
            picked = None
        fields = edit_fields(kind, instrument=picked if kind == "questionnaires" else None)
        return new_record_page(request, patient_id, kind, values, edit_errors(failure, fields), 422)
    return saved(record_url(patient_id, kind, stored.id), "added")
