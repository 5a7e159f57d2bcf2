"""How a record is named on pages: the title of each record kind, one line naming a record
(for lists and headings) and the address of its page."""

from __future__ import annotations

from typing import Any

from ..domain.checkin import CHECKIN_INSTRUMENT
from ..templating import dose_text

TITLES = {
    "patients": "Patient details",
    "exposures": "Medicines",
    "dose_logs": "Dose log",
    "questionnaires": "Questionnaires and check-ins",
    "relapses": "Relapses",
    "edss": "EDSS assessments",
    "adverse_events": "Side effects",
    "labs": "Laboratory results",
    "consents": "Consents",
}


def _instrument_words(instrument_id: str) -> str:
    """ "daily check-in" for the check-in, else the questionnaire's short name (FSS, MFIS)."""
    return "daily check-in" if instrument_id == CHECKIN_INSTRUMENT else instrument_id.upper()


def summary(kind: str, record: dict[str, Any]) -> str:
    """One line naming a record, for lists and headings."""
    when = next(
        (record.get(k) for k in ("date", "onset_date", "start_date", "given_date") if k in record),
        None,
    )
    detail = {
        "exposures": lambda r: (
            r["drug_name"]
            + (f" {dose_text(r['dose_mg'])}" if r.get("dose_mg") else "")
            + (f", until {r['stop_date']}" if r.get("stop_date") else ", ongoing")
        ),
        "dose_logs": lambda r: "taken" if r["taken"] else "not taken",
        "questionnaires": lambda r: (
            _instrument_words(r["instrument_id"])
            + (f": {r['total']:g}" if r.get("total") is not None else "")
        ),
        "relapses": lambda r: f"relapse ({r['confirmed_by']}-reported)",
        "edss": lambda r: f"EDSS {r['score']}",
        "adverse_events": lambda r: f"{r['term'].replace('_', ' ')} ({r['severity']})",
        "labs": lambda r: f"{r.get('name') or r['loinc_code']}: {r['value']:g} {r['unit']}",
        "consents": lambda r: (
            f"{r['scope']} consent"
            + (f", withdrawn {r['withdrawn_date']}" if r.get("withdrawn_date") else "")
        ),
        "patients": lambda r: f"{r['phenotype']}, born {r['year_of_birth']}",
    }[kind](record)
    return f"{when}: {detail}" if when else detail


def record_url(patient_id: str, kind: str, key: Any) -> str:
    if kind == "patients":
        return f"/patients/{patient_id}/details"
    return f"/patients/{patient_id}/{kind}/{key}"
