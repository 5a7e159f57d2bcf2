"""The pharmacy's pages: the trials assigned to its account, and each one's bottle sheet.

A pharmacy account sees nothing else: no patient record, no trial of another pharmacy (the
store refuses with 403). Each sheet view opens the sealed allocation and is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.access import Principal, Role
from ...errors import PermissionDenied
from ...services import nof1_flow as flow
from ..auth import Viewer, require
from ..deps import EngineDep, SettingsDep
from ..rendering import render

router = APIRouter(tags=["n-of-1 trials"])
Pharmacy = Annotated[Viewer, require(Role.PHARMACY)]


def pharmacy_actor(viewer: Viewer) -> Principal:
    if viewer.principal is None:  # require() has already refused anonymous requests
        raise PermissionDenied("sign in as the pharmacy")
    return viewer.principal


@router.get("/pharmacy")
def assigned_trials(
    request: Request, engine: EngineDep, settings: SettingsDep, viewer: Pharmacy
) -> Response:
    """The trials assigned to this pharmacy, with what to prepare and from when."""
    secret = settings.secret_key.get_secret_value().encode()
    trials = flow.pharmacy_trials(engine, secret, pharmacy_actor(viewer))
    return render(request, "nof1/pharmacy.html", {"trials": trials})


@router.get("/pharmacy/trials/{trial_id}/sheet")
def bottle_sheet(
    request: Request, trial_id: str, engine: EngineDep, settings: SettingsDep, viewer: Pharmacy
) -> Response:
    """The printable bottle sheet of one assigned trial (audited read of the allocation)."""
    secret = settings.secret_key.get_secret_value().encode()
    sheet = flow.pharmacy_sheet(engine, secret, trial_id, pharmacy_actor(viewer))
    return render(request, "nof1/sheet.html", sheet)
