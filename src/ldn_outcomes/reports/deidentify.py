"""The de-identified analysis data set, and small-cell suppression for every published count.

Method (documented in docs/web.md, "De-identification"):

1. **Who**: only patients whose research consent is active on the export day.
2. **No linking ids**: the registry id is replaced by a random study code drawn fresh for every
   export (``secrets``), not derived from the id, and the link is never stored - so two exports
   cannot be joined and a code cannot be traced back (HIPAA 45 CFR 164.514(c) allows a code
   only if it is not derived from information about the person; we keep no key at all).
3. **No dates**: each patient's dates become whole days relative to their own index date
   (first LDN start; without LDN, their first record). Birth years become 10-year bands and
   anyone 90 or older on the export day falls into one "90 or older" band (Safe Harbor,
   45 CFR 164.514(b)(2)(i)(C), removes all date elements except the year and aggregates ages
   over 89). Relative days are intervals, not dates; Safe Harbor does not name them, so a
   host who needs a formal HIPAA determination should have it confirmed by an expert
   (164.514(b)(1)).
4. **Small cells**: the quasi-identifiers (sex, birth-year band, phenotype, disease-duration
   band) must be shared by at least ``k`` = min_cell_size patients in every combination
   (k-anonymity). Rows in smaller groups lose quasi-identifiers one at a time (duration band,
   then sex, then birth band, then phenotype) and are dropped if even that leaves a group
   under ``k``. Aggregate tables suppress counts under ``k`` and, where a total is shown, also
   the next-smallest count so the hidden one cannot be recovered by subtraction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..store.frames import read_frames

SUPPRESSED = "suppressed"
QUASI_IDENTIFIERS = ("disease_duration_band", "sex", "birth_year_band", "phenotype")
#: Order in which quasi-identifiers are given up for rows in too-small groups.
SUPPRESSION_ORDER = QUASI_IDENTIFIERS
CHECKIN_ID = "checkin"
FATIGUE_ITEM, SPASM_ITEM = 0, 1
WINDOW_DAYS = 180

COLUMNS = [
    "study_code", "sex", "birth_year_band", "phenotype", "disease_duration_band",
    "ldn_ever", "ldn_first_dose_mg", "follow_up_days", "days_on_ldn",
    "relapses_365d_before_index", "relapses_after_index", "relapses_on_ldn", "relapses_off_ldn",
    "edss_at_index", "edss_last", "edss_last_day", "checkins",
    "fatigue_mean_180d_before", "fatigue_mean_180d_after",
    "spasm_mean_180d_before", "spasm_mean_180d_after",
]


@dataclass
class DeidentifiedData:
    frame: pd.DataFrame
    consented: int
    dropped: int
    min_cell_size: int
    method: str = field(default=__doc__ or "")


def suppress_counts(counts: Mapping[str, int], k: int, *, with_total: bool = True
                    ) -> dict[str, int | None]:
    """Counts under ``k`` become None; with a total shown, a lone hidden count drags the next
    smallest with it (secondary suppression) so the total does not reveal it."""
    shown: dict[str, int | None] = {key: (n if n >= k or n == 0 else None)
                                    for key, n in counts.items()}
    hidden = [key for key, n in shown.items() if n is None]
    if with_total and len(hidden) == 1:
        rest = sorted((n, key) for key, n in counts.items() if shown[key] is not None and n > 0)
        if rest:
            shown[rest[0][1]] = None
    return shown


def research_patient_ids(frames: Mapping[str, pd.DataFrame], on: dt.date) -> set[str]:
    consents = frames["consents"]
    if consents.empty:
        return set()
    day = pd.Timestamp(on)
    active = consents[
        (consents["scope"] == "research") & (consents["given_date"] <= day)
        & (consents["withdrawn_date"].isna() | (consents["withdrawn_date"] > day))
    ]
    return set(active["patient_id"])


def _birth_band(year: int, on: dt.date) -> str:
    if on.year - year >= 90:
        return "age 90 or older"
    start = year // 10 * 10
    return f"{start}-{start + 9}"


def _duration_band(years: float) -> str:
    if np.isnan(years):
        return "unknown"
    for low, high in ((0, 5), (5, 10), (10, 20)):
        if years < high:
            return f"{low}-{high - 1} years"
    return "20+ years"


def _ldn_courses(exposures: pd.DataFrame, today: pd.Timestamp) -> dict[str, list[tuple]]:
    ldn = exposures[exposures["drug_class"] == "ldn"].sort_values("start_date")
    courses: dict[str, list[tuple]] = {}
    for pid, start, stop, dose in ldn[["patient_id", "start_date", "stop_date", "dose_mg"]] \
            .itertuples(index=False):
        stop = today if pd.isna(stop) else stop
        courses.setdefault(pid, []).append((start, stop, dose))
    return courses


def _on(courses: list[tuple], day: pd.Timestamp) -> bool:
    return any(start <= day <= stop for start, stop, _ in courses)


def deidentified_dataset(engine: Engine, *, min_cell_size: int, on: dt.date | None = None
                         ) -> DeidentifiedData:
    """One row per research-consented patient, de-identified as described above."""
    frames = read_frames(engine, ["patients", "exposures", "relapses", "edss",
                                  "questionnaires", "consents"])
    return deidentify_frames(frames, min_cell_size=min_cell_size, on=on or dt.date.today())


def deidentify_frames(frames: Mapping[str, pd.DataFrame], *, min_cell_size: int, on: dt.date
                      ) -> DeidentifiedData:
    today = pd.Timestamp(on)
    chosen = research_patient_ids(frames, on)
    patients = frames["patients"][frames["patients"]["patient_id"].isin(chosen)]
    by_patient = {kind: dict(tuple(frames[kind][frames[kind]["patient_id"].isin(chosen)]
                                   .groupby("patient_id")))
                  for kind in ("exposures", "relapses", "edss", "questionnaires")}
    courses = _ldn_courses(frames["exposures"], today)
    rows = []
    for patient in patients.itertuples(index=False):
        rows.append(_patient_row(patient, by_patient, courses.get(patient.patient_id, []),
                                 today, on))
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "study_code"])
    frame, dropped = k_anonymise(frame, QUASI_IDENTIFIERS, min_cell_size)
    frame.insert(0, "study_code", _study_codes(len(frame)))
    frame = frame.sort_values("study_code").reset_index(drop=True)
    return DeidentifiedData(frame, consented=len(chosen), dropped=dropped,
                            min_cell_size=min_cell_size)


def _study_codes(n: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("S" + secrets.token_hex(5))
    return list(codes)


def _days(day: pd.Timestamp | float, index: pd.Timestamp) -> float:
    return float("nan") if pd.isna(day) else float((day - index).days)


def _patient_row(patient: object, by_patient: Mapping[str, Mapping[str, pd.DataFrame]],
                 courses: list[tuple], today: pd.Timestamp, on: dt.date) -> dict[str, object]:
    pid = patient.patient_id  # type: ignore[attr-defined]
    empty = pd.DataFrame()
    exposures = by_patient["exposures"].get(pid, empty)
    relapses = by_patient["relapses"].get(pid, empty)
    edss = by_patient["edss"].get(pid, empty)
    diary = by_patient["questionnaires"].get(pid, empty)
    dates = [d for frame, col in ((exposures, "start_date"), (relapses, "onset_date"),
                                  (edss, "date"), (diary, "date"))
             if not frame.empty for d in frame[col].dropna()]
    index = courses[0][0] if courses else (min(dates) if dates else today)
    last = max(dates) if dates else index
    diagnosis = patient.diagnosis_date  # type: ignore[attr-defined]
    duration = (index - diagnosis).days / 365.25 if not pd.isna(diagnosis) else float("nan")
    onsets = list(relapses["onset_date"]) if not relapses.empty else []
    on_ldn = [d for d in onsets if _on(courses, d)]
    row: dict[str, object] = {
        "sex": patient.sex,  # type: ignore[attr-defined]
        "birth_year_band": _birth_band(int(patient.year_of_birth), on),  # type: ignore[attr-defined]
        "phenotype": patient.phenotype,  # type: ignore[attr-defined]
        "disease_duration_band": _duration_band(duration),
        "ldn_ever": "yes" if courses else "no",
        "ldn_first_dose_mg": float(courses[0][2]) if courses and courses[0][2] is not None
        and not pd.isna(courses[0][2]) else None,
        "follow_up_days": int(max((last - index).days, 0)),
        "days_on_ldn": int(sum((min(stop, today) - start).days + 1 for start, stop, _ in courses)),
        "relapses_365d_before_index": sum(
            1 for d in onsets if index - pd.Timedelta(days=365) <= d < index),
        "relapses_after_index": sum(1 for d in onsets if d >= index),
        "relapses_on_ldn": len(on_ldn),
        "relapses_off_ldn": len(onsets) - len(on_ldn),
        "edss_at_index": None, "edss_last": None, "edss_last_day": None,
        "checkins": 0,
    }
    if not edss.empty:
        ordered = edss.sort_values("date")
        before = ordered[ordered["date"] <= index]
        row["edss_at_index"] = float(before["score"].iloc[-1]) if not before.empty else None
        row["edss_last"] = float(ordered["score"].iloc[-1])
        row["edss_last_day"] = int(_days(ordered["date"].iloc[-1], index))
    checkins = diary[diary["instrument_id"] == CHECKIN_ID] if not diary.empty else diary
    row["checkins"] = len(checkins)
    for name, item in (("fatigue", FATIGUE_ITEM), ("spasm", SPASM_ITEM)):
        for side in ("before", "after"):
            row[f"{name}_mean_180d_{side}"] = _window_mean(checkins, item, index, side)
    return row


def _window_mean(checkins: pd.DataFrame, item: int, index: pd.Timestamp, side: str
                 ) -> float | None:
    if checkins.empty:
        return None
    window = pd.Timedelta(days=WINDOW_DAYS)
    if side == "before":
        chosen = checkins[(checkins["date"] >= index - window) & (checkins["date"] < index)]
    else:
        chosen = checkins[(checkins["date"] >= index) & (checkins["date"] < index + window)]
    values = [a[item] for a in chosen["answers"] if len(a) > item and a[item] is not None]
    return round(float(np.mean(values)), 2) if values else None


def k_anonymise(frame: pd.DataFrame, quasi: Sequence[str], k: int) -> tuple[pd.DataFrame, int]:
    """Give up quasi-identifiers for rows in groups under ``k``; drop rows still under ``k``.

    Returns the new frame and the number of rows dropped. Afterwards every combination of the
    quasi-identifiers (``suppressed`` included) is shared by at least ``k`` rows."""
    out = frame.copy()
    if out.empty:
        return out, 0
    for column in SUPPRESSION_ORDER:
        if column not in quasi:
            continue
        sizes = out.groupby(list(quasi), dropna=False)[quasi[0]].transform("size")
        small = sizes < k
        if not small.any():
            break
        out.loc[small, column] = SUPPRESSED
    sizes = out.groupby(list(quasi), dropna=False)[quasi[0]].transform("size")
    keep = sizes >= k
    return out[keep].reset_index(drop=True), int((~keep).sum())


def small_cells(frame: pd.DataFrame, columns: Sequence[str], k: int) -> list[str]:
    """Every quasi-identifier value (or combination) shared by fewer than ``k`` rows; used by
    tests and by the export as a last check before anything leaves the server."""
    problems = []
    if frame.empty:
        return problems
    for column in columns:
        for value, n in frame[column].value_counts(dropna=False).items():
            if n < k:
                problems.append(f"{column}={value!r}: {n} rows")
    for combo, n in frame.groupby(list(columns), dropna=False).size().items():
        if n < k:
            problems.append(f"{dict(zip(columns, combo, strict=True))}: {n} rows")
    return problems


def cohort_summary(data: DeidentifiedData) -> dict[str, object]:
    """Aggregates for the researcher's cohort page, with small counts suppressed."""
    frame, k = data.frame, data.min_cell_size
    tables = {}
    for column in ("phenotype", "sex", "birth_year_band", "ldn_ever"):
        counts = frame[column].value_counts().to_dict() if not frame.empty else {}
        tables[column] = suppress_counts({str(a): int(b) for a, b in counts.items()}, k)
    users = frame[frame["ldn_ever"] == "yes"] if not frame.empty else frame
    rates = {}
    if not users.empty:
        on_years = users["days_on_ldn"].sum() / 365.25
        rates = {
            "ldn_users": len(users),
            "relapses_on_ldn": int(users["relapses_on_ldn"].sum()),
            "years_on_ldn": round(float(on_years), 1),
            "relapses_per_year_on_ldn": round(float(users["relapses_on_ldn"].sum() / on_years), 3)
            if on_years > 0 else None,
            "relapses_per_year_before": round(
                float(users["relapses_365d_before_index"].sum() / len(users)), 3),
            "fatigue_before": _mean(users["fatigue_mean_180d_before"]),
            "fatigue_after": _mean(users["fatigue_mean_180d_after"]),
            "spasm_before": _mean(users["spasm_mean_180d_before"]),
            "spasm_after": _mean(users["spasm_mean_180d_after"]),
        }
        if len(users) < k:
            rates = {"ldn_users": None}
    return {"rows": len(frame), "consented": data.consented, "dropped": data.dropped,
            "min_cell_size": k, "tables": tables, "ldn": rates}


def _mean(values: pd.Series) -> float | None:
    present = pd.to_numeric(values, errors="coerce").dropna()
    return round(float(present.mean()), 2) if len(present) else None
