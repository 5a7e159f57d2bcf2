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
4. **Coarse values**: the first LDN dose is a band (under 3 mg, 3 to under 4.5 mg, 4.5 mg or
   more), follow-up and time on LDN are bands of years, and the day of the last EDSS is a
   whole month after the index date, so exact values cannot join two exports row by row.
5. **Small cells**: the quasi-identifiers (:data:`QUASI_IDENTIFIERS`: time on LDN, follow-up,
   dose band, disease duration, sex, birth-year band, phenotype, LDN ever) must be shared by
   at least ``k`` = min_cell_size patients in every combination (k-anonymity, Sweeney 2002).
   Rows in smaller groups lose quasi-identifiers one at a time, in that order, and are
   dropped if even that leaves a group under ``k``.
6. **Counts**: every aggregate count follows the one disclosure rule (:mod:`.disclosure`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..domain.checkin import CHECKIN_INSTRUMENT, checkin_position
from ..store.ldn_rule import ldn_mask
from ..store.research_reads import research_counts
from ..store.research_reads import research_frames as read_research_frames
from ..store.sqlread import left_out_note
from .disclosure import shown_count, suppress_table

SUPPRESSED = "suppressed"
#: What someone who knows a patient could know and link on: demographics, diagnosis, whether
#: and how much LDN, how long followed. Every combination is shared by at least k rows.
QUASI_IDENTIFIERS = (
    "time_on_ldn_band",
    "follow_up_band",
    "ldn_dose_band",
    "disease_duration_band",
    "sex",
    "birth_year_band",
    "phenotype",
    "ldn_ever",
)
#: Order in which quasi-identifiers are given up for rows in too-small groups.
SUPPRESSION_ORDER = QUASI_IDENTIFIERS
#: Coarse LDN dose bands (mg): low-dose regimens are 0.5 to 4.5 mg, 4.5 the usual target.
DOSE_BANDS = ((3.0, "under 3 mg"), (4.5, "3 to under 4.5 mg"))
DOSE_TOP = "4.5 mg or more"
#: Bands for lengths of time (years).
TIME_BANDS = ((1, "under 1 year"), (2, "1-2 years"), (5, "2-5 years"))
TIME_TOP = "5+ years"
DAYS_PER_MONTH = 30.4375
CHECKIN_ID = CHECKIN_INSTRUMENT
FATIGUE_ITEM, SPASM_ITEM = checkin_position("fatigue"), checkin_position("spasms")
WINDOW_DAYS = 180

COLUMNS = [
    "study_code",
    "sex",
    "birth_year_band",
    "phenotype",
    "disease_duration_band",
    "ldn_ever",
    "ldn_dose_band",
    "follow_up_band",
    "time_on_ldn_band",
    "relapses_365d_before_index",
    "relapses_after_index",
    "relapses_on_ldn",
    "relapses_off_ldn",
    "edss_at_index",
    "edss_last",
    "edss_last_month",
    "checkins",
    "fatigue_mean_180d_before",
    "fatigue_mean_180d_after",
    "spasm_mean_180d_before",
    "spasm_mean_180d_after",
]


@dataclass
class DeidentifiedData:
    frame: pd.DataFrame
    consented: int
    dropped: int
    min_cell_size: int
    method: str = field(default=__doc__ or "")
    #: Set when records with an implausible date were left out of the data set.
    left_out_note: str | None = None
    #: Exact days on LDN of each row (same order), for the cohort page's totals only.
    days_on_ldn: pd.Series | None = None


#: The one rule for published counts (suppression under ``k``, rounding to base ``k``,
#: secondary suppression against a shown total): :mod:`ldn_outcomes.reports.disclosure`.
suppress_counts = suppress_table


def research_patient_ids(frames: Mapping[str, pd.DataFrame], on: dt.date) -> set[str]:
    consents = frames["consents"]
    if consents.empty:
        return set()
    day = pd.Timestamp(on)
    active = consents[
        (consents["scope"] == "research")
        & (consents["given_date"] <= day)
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


def deidentified_dataset(
    engine: Engine, *, min_cell_size: int, on: dt.date | None = None
) -> DeidentifiedData:
    """One row per research-consented patient, de-identified as described above."""
    frames = research_frames(engine)
    data = deidentify_frames(frames, min_cell_size=min_cell_size, on=on or dt.date.today())
    return replace(data, left_out_note=left_out_note(frames))


def research_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    """Only the columns the data set needs (check-in items read by the database)."""
    return read_research_frames(
        engine,
        checkin_instrument=CHECKIN_ID,
        items={"fatigue": FATIGUE_ITEM, "spasm": SPASM_ITEM},
    )


def deidentify_frames(
    frames: Mapping[str, pd.DataFrame], *, min_cell_size: int, on: dt.date
) -> DeidentifiedData:
    """Column-wise (a 10,000-patient registry takes seconds, not minutes)."""
    today = pd.Timestamp(on)
    chosen = research_patient_ids(frames, on)
    patients = frames["patients"][frames["patients"]["patient_id"].isin(chosen)]
    patients = patients.set_index("patient_id")
    ids = patients.index

    def mine(kind: str) -> pd.DataFrame:
        frame = frames.get(kind)
        if frame is None or frame.empty:
            return pd.DataFrame(columns=["patient_id"])
        return frame[frame["patient_id"].isin(chosen)]

    exposures, relapses, edss = mine("exposures"), mine("relapses"), mine("edss")
    diary = mine("questionnaires")
    courses = _merged_courses(exposures, today)
    first_start = (
        courses.groupby("patient_id")["start"].min()
        if not courses.empty
        else pd.Series(dtype="datetime64[ns]")
    )
    event_dates = (
        pd.concat(
            [
                frame[["patient_id", column]].rename(columns={column: "date"})
                for frame, column in (
                    (exposures, "start_date"),
                    (exposures, "stop_date"),
                    (relapses, "onset_date"),
                    (edss, "date"),
                    (diary, "date"),
                )
                if not frame.empty
            ]
        )
        if any(not f.empty for f in (exposures, relapses, edss, diary))
        else pd.DataFrame({"patient_id": [], "date": pd.Series(dtype="datetime64[ns]")})
    )
    first_event = event_dates.groupby("patient_id")["date"].min()
    last_event = event_dates.groupby("patient_id")["date"].max()
    index = first_start.reindex(ids).fillna(first_event.reindex(ids)).fillna(today)
    last = last_event.reindex(ids).fillna(index)
    if not courses.empty:  # LDN time counts only while the patient is observed
        courses["stop"] = courses["stop"].where(
            courses["stop"] <= courses["patient_id"].map(last), courses["patient_id"].map(last)
        )
        courses = courses[courses["stop"] >= courses["start"]]
    out = pd.DataFrame(index=ids)
    out["sex"] = patients["sex"]
    out["birth_year_band"] = [_birth_band(int(y), on) for y in patients["year_of_birth"]]
    out["phenotype"] = patients["phenotype"]
    duration = (index - pd.to_datetime(patients["diagnosis_date"])).dt.days / 365.25
    out["disease_duration_band"] = [_duration_band(float(v)) for v in duration]
    out["ldn_ever"] = np.where(ids.isin(first_start.index), "yes", "no")
    first_dose = (
        courses.sort_values("start").groupby("patient_id")["dose"].first()
        if not courses.empty
        else pd.Series(dtype=float)
    )
    out["ldn_dose_band"] = [
        _dose_band(float(v)) for v in pd.to_numeric(first_dose.reindex(ids), errors="coerce")
    ]
    follow_up_days = (last - index).dt.days.clip(lower=0).astype(int)
    out["follow_up_band"] = [_time_band(int(v)) for v in follow_up_days]
    on_days = (
        ((courses["stop"].clip(upper=today) - courses["start"]).dt.days + 1)
        if not courses.empty
        else pd.Series(dtype=float)
    )
    days_on_ldn = (
        on_days.groupby(courses["patient_id"]).sum().reindex(ids).fillna(0).astype(int)
        if not courses.empty
        else pd.Series(0, index=ids)
    )
    out["time_on_ldn_band"] = [_time_band(int(v)) if v > 0 else "none" for v in days_on_ldn]
    out["_days_on_ldn"] = days_on_ldn  # for the cohort page's sums; never exported
    _relapse_columns(out, relapses, courses, index)
    _edss_columns(out, edss, index)
    _diary_columns(out, diary, index)
    frame = out.reset_index(drop=True)[[c for c in COLUMNS if c != "study_code"] + ["_days_on_ldn"]]
    frame, dropped = k_anonymise(frame, QUASI_IDENTIFIERS, min_cell_size)
    frame.insert(0, "study_code", _study_codes(len(frame)))
    frame = frame.sort_values("study_code").reset_index(drop=True)
    exact_days = frame.pop("_days_on_ldn")
    return DeidentifiedData(
        frame,
        consented=len(chosen),
        dropped=dropped,
        min_cell_size=min_cell_size,
        days_on_ldn=exact_days,
    )


def _dose_band(mg: float) -> str:
    if np.isnan(mg):
        return "none"
    return next((label for upper, label in DOSE_BANDS if mg < upper), DOSE_TOP)


def _time_band(days: int) -> str:
    years = days / 365.25
    return next((label for upper, label in TIME_BANDS if years < upper), TIME_TOP)


def _study_codes(n: int) -> list[str]:
    """Fresh random codes, not derived from anything about the patient."""
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("S" + secrets.token_hex(5))
    return list(codes)


def _merged_courses(exposures: pd.DataFrame, today: pd.Timestamp) -> pd.DataFrame:
    """LDN exposures merged into continuous courses (touching or overlapping periods join,
    as in ``domain.definitions.exposure.courses``); ongoing ones run to ``today``."""
    rows: list[tuple[str, pd.Timestamp, pd.Timestamp, float]] = []
    if not exposures.empty:
        ldn = exposures[ldn_mask(exposures)].sort_values(["patient_id", "start_date"])
        for pid, start, stop, dose in ldn[
            ["patient_id", "start_date", "stop_date", "dose_mg"]
        ].itertuples(index=False):
            stop = today if pd.isna(stop) else stop
            if rows and rows[-1][0] == pid and start <= rows[-1][2] + pd.Timedelta(days=1):
                rows[-1] = (pid, rows[-1][1], max(rows[-1][2], stop), rows[-1][3])
            else:
                rows.append((pid, start, stop, dose))
    return pd.DataFrame(rows, columns=["patient_id", "start", "stop", "dose"])


def _relapse_columns(
    out: pd.DataFrame, relapses: pd.DataFrame, courses: pd.DataFrame, index: pd.Series
) -> None:
    names = [
        "relapses_365d_before_index",
        "relapses_after_index",
        "relapses_on_ldn",
        "relapses_off_ldn",
    ]
    if relapses.empty:
        for name in names:
            out[name] = 0
        return
    r = relapses[["patient_id", "onset_date"]].reset_index(drop=True)
    r["rid"] = np.arange(len(r))
    r["index"] = r["patient_id"].map(index)
    r["before"] = (r["onset_date"] < r["index"]) & (
        r["onset_date"] >= r["index"] - pd.Timedelta(days=365)
    )
    r["after"] = r["onset_date"] >= r["index"]
    r["on"] = False
    if not courses.empty:
        joined = r[["rid", "patient_id", "onset_date"]].merge(courses, on="patient_id")
        inside = joined.loc[
            (joined["start"] <= joined["onset_date"]) & (joined["onset_date"] <= joined["stop"]),
            "rid",
        ]
        r["on"] = r["rid"].isin(inside)
    grouped = r.groupby("patient_id")
    totals = grouped.size()
    out["relapses_365d_before_index"] = grouped["before"].sum().reindex(out.index).fillna(0)
    out["relapses_after_index"] = grouped["after"].sum().reindex(out.index).fillna(0)
    out["relapses_on_ldn"] = grouped["on"].sum().reindex(out.index).fillna(0)
    out["relapses_off_ldn"] = totals.reindex(out.index).fillna(0) - out["relapses_on_ldn"]
    for name in names:
        out[name] = out[name].astype(int)


def _edss_columns(out: pd.DataFrame, edss: pd.DataFrame, index: pd.Series) -> None:
    out["edss_at_index"] = np.nan
    out["edss_last"] = np.nan
    out["edss_last_month"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if edss.empty:
        return
    ordered = edss.sort_values(["patient_id", "date"])
    last = ordered.groupby("patient_id").last()
    out["edss_last"] = last["score"].reindex(out.index)
    days = (last["date"] - index.reindex(last.index)).dt.days.reindex(out.index)
    out["edss_last_month"] = (days / DAYS_PER_MONTH).round().astype("Int64")
    before = ordered[ordered["date"] <= ordered["patient_id"].map(index)]
    out["edss_at_index"] = before.groupby("patient_id")["score"].last().reindex(out.index)


def _diary_columns(out: pd.DataFrame, diary: pd.DataFrame, index: pd.Series) -> None:
    names = [f"{n}_mean_180d_{s}" for n in ("fatigue", "spasm") for s in ("before", "after")]
    checkins = diary[diary["instrument_id"] == CHECKIN_ID] if not diary.empty else diary
    out["checkins"] = (
        checkins.groupby("patient_id").size().reindex(out.index).fillna(0).astype(int)
        if not checkins.empty
        else 0
    )
    for name in names:
        out[name] = np.nan
    if checkins.empty:
        return
    c = checkins[["patient_id", "date"]].copy()
    if "fatigue" in checkins:  # read out by the database (research_frames)
        c["fatigue"], c["spasm"] = checkins["fatigue"], checkins["spasm"]
    else:
        answers = checkins["answers"].tolist()
        c["fatigue"] = [a[FATIGUE_ITEM] if len(a) > FATIGUE_ITEM else None for a in answers]
        c["spasm"] = [a[SPASM_ITEM] if len(a) > SPASM_ITEM else None for a in answers]
    c["offset"] = (c["date"] - c["patient_id"].map(index)).dt.days
    window = WINDOW_DAYS
    for side, mask in (
        ("before", (c["offset"] >= -window) & (c["offset"] < 0)),
        ("after", (c["offset"] >= 0) & (c["offset"] < window)),
    ):
        chosen = c[mask]
        for name in ("fatigue", "spasm"):
            means = (
                pd.to_numeric(chosen[name], errors="coerce").groupby(chosen["patient_id"]).mean()
            )
            out[f"{name}_mean_180d_{side}"] = means.reindex(out.index).round(2)


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
    problems: list[str] = []
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
        days = data.days_on_ldn if data.days_on_ldn is not None else pd.Series(0, frame.index)
        on_years = days[users.index].sum() / 365.25
        rates = {
            "ldn_users": shown_count(len(users), k),
            "relapses_on_ldn": shown_count(int(users["relapses_on_ldn"].sum()), k),
            "years_on_ldn": round(float(on_years), 1),
            "relapses_per_year_on_ldn": round(float(users["relapses_on_ldn"].sum() / on_years), 3)
            if on_years > 0
            else None,
            "relapses_per_year_before": round(
                float(users["relapses_365d_before_index"].sum() / len(users)), 3
            ),
            "fatigue_before": _mean(users["fatigue_mean_180d_before"], k),
            "fatigue_after": _mean(users["fatigue_mean_180d_after"], k),
            "spasm_before": _mean(users["spasm_mean_180d_before"], k),
            "spasm_after": _mean(users["spasm_mean_180d_after"], k),
        }
        if int(users["relapses_on_ldn"].sum()) < k:  # a rate times the years gives the count
            rates["relapses_per_year_on_ldn"] = None
        if int(users["relapses_365d_before_index"].sum()) < k:
            rates["relapses_per_year_before"] = None
        if len(users) < k:
            rates = {"ldn_users": None}
    return {
        "rows": shown_count(len(frame), k),
        "consented": shown_count(data.consented, k),
        "dropped": shown_count(data.dropped, k),
        "min_cell_size": k,
        "tables": tables,
        "ldn": rates,
        "left_out_note": data.left_out_note,
    }


def _mean(values: pd.Series, k: int) -> float | None:
    """The mean of the values present, or None when fewer than ``k`` people have one (a mean
    of one person is that person's value: the disclosure rule's estimate on too few)."""
    present = pd.to_numeric(values, errors="coerce").dropna()
    return round(float(present.mean()), 2) if len(present) >= k else None


def registry_figures(
    engine: Engine, *, min_cell_size: int, on: dt.date | None = None
) -> dict[str, object]:
    """Registry-wide counts for the public page: research-consented patients only, every
    count under the one disclosure rule (:mod:`.disclosure`)."""
    day = on or dt.date.today()
    k = min_cell_size
    counts = research_counts(engine, day)
    phenotype = suppress_counts(counts.by_phenotype, k)
    sex = suppress_counts(counts.by_sex, k)

    def one(n: int) -> int | None:
        return shown_count(n, k)

    return {
        "min_cell_size": k,
        "on": day.isoformat(),
        "patients": one(counts.patients),
        "ldn_users": one(counts.ldn_users),
        "with_relapses": one(counts.with_relapses),
        "keeping_a_diary": one(counts.keeping_a_diary),
        "by_phenotype": phenotype,
        "by_sex": sex,
    }
