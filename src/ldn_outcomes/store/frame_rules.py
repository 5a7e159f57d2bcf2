"""The domain's single-record rules, checked column-wise for bulk loads.

The rules are the same as :mod:`ldn_outcomes.domain.models` (a test feeds both the same bad
rows); this module only makes them fast enough for millions of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..domain.dates import EARLIEST_DATE
from ..domain.models import EDSS_VALID_SCORES, RECORD_TYPES
from ..errors import Problem, ValidationFailed

MAX_REPORTED = 20


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def _early(series: pd.Series) -> np.ndarray:
    """Dates before the plausible range (compared as text/dates: pandas cannot hold 1600)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return (series < pd.Timestamp(EARLIEST_DATE)).to_numpy(dtype=bool)
    values = [
        v.date() if isinstance(v, dt.datetime) else v
        for v in series.astype(object).where(series.notna(), None)
    ]
    earliest = EARLIEST_DATE
    return np.array(
        [
            (isinstance(v, dt.date) and v < earliest)
            or (isinstance(v, str) and v[:10] < earliest.isoformat())
            for v in values
        ],
        dtype=bool,
    )


def check_frames(frames: Mapping[str, pd.DataFrame], today: dt.date | None = None) -> None:
    today_ts = pd.Timestamp(today or dt.date.today())
    problems: list[Problem] = []

    def flag(kind: str, field: str, rule: str, mask: np.ndarray | pd.Series, frame: pd.DataFrame):
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        name = RECORD_TYPES[kind].record_name
        for index in rows[:MAX_REPORTED]:
            value = frame[field].iloc[index] if field in frame else None
            problems.append(Problem(name, field, rule, int(index) + 1, value, f"{kind} frame"))
        if len(rows) > MAX_REPORTED:
            problems.append(
                Problem(name, field, f"{rule} ({len(rows) - MAX_REPORTED} more rows)", None)
            )

    patients = frames.get("patients")
    known_patients = set(patients["patient_id"]) if patients is not None else set()

    for kind, frame in frames.items():
        cls = RECORD_TYPES[kind]
        for field in cls.past_dates:
            if field in frame:
                flag(kind, field, "date is in the future", _dates(frame[field]) > today_ts, frame)
                early = _early(frame[field])
                flag(kind, field, f"date is before {EARLIEST_DATE.isoformat()}", early, frame)
        if "patient_id" in frame and kind != "patients":
            missing = ~frame["patient_id"].isin(known_patients)
            flag(kind, "patient_id", "refers to a patient that does not exist", missing, frame)
    births = (
        patients.set_index("patient_id")["year_of_birth"]
        if patients is not None and "year_of_birth" in patients and not patients.empty
        else None
    )
    for kind, frame in frames.items():  # no record of a patient before their year of birth
        if births is None or kind == "patients" or "patient_id" not in frame or frame.empty:
            continue
        born = frame["patient_id"].map(births).to_numpy(dtype=float)
        for field in RECORD_TYPES[kind].past_dates:
            if field in frame:
                years = _dates(frame[field]).dt.year.to_numpy(dtype=float)
                flag(kind, field, "date is before the patient's year of birth", years < born, frame)
    if (frame := frames.get("exposures")) is not None and not frame.empty:
        stop, start = _dates(frame["stop_date"]), _dates(frame["start_date"])
        flag("exposures", "stop_date", "stop_date is before start_date", stop < start, frame)
        if "dose_mg" in frame:
            dose = pd.to_numeric(frame["dose_mg"], errors="coerce")
            flag("exposures", "dose_mg", "dose must be greater than 0 mg", dose <= 0, frame)
    if (frame := frames.get("relapses")) is not None and not frame.empty:
        onset, recovery = _dates(frame["onset_date"]), _dates(frame["recovery_date"])
        flag(
            "relapses",
            "recovery_date",
            "recovery_date is before onset_date",
            recovery < onset,
            frame,
        )
    if (frame := frames.get("edss")) is not None and not frame.empty:
        score = frame["score"].to_numpy(dtype=float)
        valid = np.isin(np.round(score * 2) / 2, EDSS_VALID_SCORES) & (
            np.abs(score * 2 - np.round(score * 2)) < 1e-9
        )
        flag(
            "edss",
            "score",
            "EDSS must be 0, 1.0, 1.5, ... 9.5 or 10 (half steps from 1.0; there is no 0.5)",
            ~valid,
            frame,
        )
    if problems:
        raise ValidationFailed(problems)
