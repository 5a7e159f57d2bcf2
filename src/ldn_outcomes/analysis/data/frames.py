"""Analysis tables derived from the record frames: every later step is plain numpy.

``load_frames`` (``analysis.data.load``) reads the record frames from the store; ``prepare``
turns them into ``AnalysisData``: dates as day numbers, patients as row numbers
(``analysis.data.coding``), and per patient the phenotype, birth and onset days, the observed
follow-up span, the first continuous LDN course and the first negative-control exposure; symptom
scores per instrument (``analysis.data.symptom_tables``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...domain.codes import Phenotype
from ..plan import AnalysisPlan
from ..results import REGISTRY_SOURCE
from .coding import (
    DAYS_PER_YEAR,
    day_to_iso,
    empty_frame,
    known_patients,
    patient_codes,
    to_days,
)
from .load import CHECKIN_COLUMNS, CHECKIN_ITEMS, COLUMNS, KINDS, exposure_classes, load_frames
from .qualify import QUALIFYING, UNCONFIRMED, qualify
from .symptom_tables import SERIES_COLUMNS, combined, symptom_table

__all__ = [
    "CHECKIN_COLUMNS",
    "CHECKIN_ITEMS",
    "COLUMNS",
    "DAYS_PER_YEAR",
    "KINDS",
    "PROGRESSIVE",
    "AnalysisData",
    "day_to_iso",
    "load_frames",
    "prepare",
    "to_days",
]

PROGRESSIVE = {Phenotype.SPMS.value, Phenotype.PPMS.value}


@dataclass
class AnalysisData:
    """Analysis-ready tables; ``code`` is the row number in ``patients``."""

    patients: pd.DataFrame
    edss: pd.DataFrame
    relapses: pd.DataFrame
    #: Symptom scores per instrument (code, day, total), sorted by code and day.
    series: dict[str, pd.DataFrame]
    adverse_events: pd.DataFrame
    labs: pd.DataFrame
    exposures: pd.DataFrame
    cutoff_day: float
    #: Every relapse report with its qualification status (``relapses`` holds the counted ones).
    relapse_reports: pd.DataFrame | None = None
    #: The data's source as the messages name it (``results.REGISTRY_SOURCE`` unless told so).
    source: str = REGISTRY_SOURCE

    @property
    def symptoms(self) -> pd.DataFrame:
        """Every instrument's scores in one frame, sorted by instrument, code and day."""
        return combined(self.series)

    def symptom_series(self, instrument: str) -> pd.DataFrame:
        """One instrument's scores (code, day, total), sorted by code and day."""
        found = self.series.get(instrument)
        return found if found is not None else empty_frame(SERIES_COLUMNS)

    @property
    def ldn_users(self) -> pd.DataFrame:
        return self.patients[self.patients["ever_ldn"]]

    @property
    def non_users(self) -> pd.DataFrame:
        return self.patients[~self.patients["ever_ldn"]]


def _frame(frames: Mapping[str, pd.DataFrame], kind: str) -> pd.DataFrame:
    frame = frames.get(kind)
    return frame if frame is not None else pd.DataFrame()


def _column(frame: pd.DataFrame, name: str, missing: object) -> pd.Series:
    """A column that older record frames may lack (then every row is ``missing``)."""
    if name in frame:
        return frame[name].where(frame[name].notna(), missing)
    return pd.Series(missing, index=frame.index)


def _first_course(
    exposures: pd.DataFrame, drug_class: str, gap_days: int, n_patients: int
) -> tuple[np.ndarray, np.ndarray]:
    """First start and end of the first continuous course (NaN end = still on it)."""
    start = np.full(n_patients, np.nan)
    stop = np.full(n_patients, np.nan)
    rows = exposures[exposures["drug_class"] == drug_class]
    if rows.empty:
        return start, stop
    rows = rows.sort_values(["code", "start", "stop"])
    codes = rows["code"].to_numpy()
    s = rows["start"].to_numpy()
    e = np.where(np.isnan(rows["stop"].to_numpy()), np.inf, rows["stop"].to_numpy())
    reach = pd.Series(e).groupby(codes).cummax().to_numpy()
    previous = np.r_[-np.inf, reach[:-1]]
    same = np.r_[False, codes[1:] == codes[:-1]]
    new_course = ~same | (s > previous + gap_days)
    course = pd.Series(new_course.astype(int)).groupby(codes).cumsum().to_numpy()
    first = course == 1
    first_start = pd.Series(s[first]).groupby(codes[first]).min()
    first_stop = pd.Series(e[first]).groupby(codes[first]).max()
    start[first_start.index.to_numpy()] = first_start.to_numpy()
    end = first_stop.to_numpy()
    stop[first_stop.index.to_numpy()] = np.where(np.isinf(end), np.nan, end)
    return start, stop


def _group_extreme(pairs: list[tuple[np.ndarray, np.ndarray]], n: int, how: str) -> np.ndarray:
    """Per-patient min or max day over several (codes, days) arrays; NaN where none."""
    out = np.full(n, np.inf if how == "min" else -np.inf)
    if not n:
        return np.full(n, np.nan)
    for codes, days in pairs:
        days = np.asarray(days, dtype=float)
        keep = np.isfinite(days)
        (np.minimum if how == "min" else np.maximum).at(
            out, np.asarray(codes, dtype=np.int64)[keep], days[keep]
        )
    out[np.isinf(out)] = np.nan
    return out


def prepare(
    frames: Mapping[str, pd.DataFrame],
    plan: AnalysisPlan | None = None,
    source: str = REGISTRY_SOURCE,
) -> AnalysisData:
    """Derive the analysis tables from record frames (as returned by ``load_frames``);
    ``source`` names where they came from in the analyses' messages."""
    plan = plan or AnalysisPlan()
    patients_in = _frame(frames, "patients")
    if patients_in.empty:
        patients_in = pd.DataFrame(columns=list(COLUMNS["patients"]))
    patients_in = patients_in.reset_index(drop=True)
    n = len(patients_in)
    lookup = pd.Series(np.arange(n), index=patients_in["patient_id"].to_numpy())
    frames = {
        kind: frame if kind == "patients" else known_patients(frame, lookup)
        for kind, frame in frames.items()
    }

    exposures = _frame(frames, "exposures")
    if exposures.empty:
        exp = empty_frame(
            {
                "code": "int64",
                "drug_class": "object",
                "start": "float64",
                "stop": "float64",
                "dose_mg": "float64",
                "time_of_day": "object",
            }
        )
    else:
        exp = pd.DataFrame(
            {
                "code": patient_codes(exposures, lookup),
                # "ldn" by the domain rule (naltrexone at a low dose), else the entered class
                "drug_class": exposure_classes(exposures),
                "start": to_days(exposures["start_date"]),
                "stop": to_days(exposures["stop_date"]),
                "dose_mg": pd.to_numeric(_column(exposures, "dose_mg", np.nan), errors="coerce")
                .astype(float)
                .to_numpy(),
                "time_of_day": _column(exposures, "time_of_day", "unknown").astype(str).to_numpy(),
            }
        )
    edss_in = _frame(frames, "edss")
    if edss_in.empty:
        edss = empty_frame({"code": "int64", "day": "float64", "score": "float64"})
    else:
        edss = pd.DataFrame(
            {
                "code": patient_codes(edss_in, lookup),
                "day": to_days(edss_in["date"]),
                "score": edss_in["score"].astype(float).to_numpy(),
            }
        )
        # Same day twice: keep the last recorded (as the domain CDW rule does).
        edss = edss.drop_duplicates(["code", "day"], keep="last")
        edss = edss.sort_values(["code", "day"], kind="stable").reset_index(drop=True)
    rel_in = _frame(frames, "relapses")
    if rel_in.empty:
        relapses = empty_frame({"code": "int64", "onset": "float64", "recovery": "float64"})
        relapse_reports = relapses.assign(status=pd.Series(dtype="object"))
    else:
        relapses = pd.DataFrame(
            {
                "code": patient_codes(rel_in, lookup),
                "onset": to_days(rel_in["onset_date"]),
                "recovery": to_days(rel_in["recovery_date"]),
                "lasted_24h": rel_in.get("lasted_24h"),
                "fever": rel_in.get("fever_or_infection"),
            }
        )
        relapses = relapses.dropna(subset=["onset"])
        relapses = relapses.sort_values(["code", "onset"], kind="stable").reset_index(drop=True)
        relapses["status"] = qualify(
            relapses["code"].to_numpy(),
            relapses["onset"].to_numpy(),
            relapses["lasted_24h"],
            relapses["fever"],
            count_unconfirmed=plan.count_unconfirmed_relapses,
        )
        counted = {QUALIFYING, UNCONFIRMED} if plan.count_unconfirmed_relapses else {QUALIFYING}
        relapse_reports = relapses
        relapses = relapses[relapses["status"].isin(counted)].reset_index(drop=True)
    series = symptom_table(frames.get("questionnaires"), frames.get("checkins"), lookup, plan)
    ae_in = _frame(frames, "adverse_events")
    if ae_in.empty:
        aes = empty_frame({"code": "int64", "day": "float64", "term": "object"})
    else:
        aes = pd.DataFrame(
            {
                "code": patient_codes(ae_in, lookup),
                "day": to_days(ae_in["onset_date"]),
                "term": ae_in["term"].astype(str).to_numpy(),
            }
        )
    lab_in = _frame(frames, "labs")
    if lab_in.empty:
        labs = empty_frame(
            {
                "code": "int64",
                "day": "float64",
                "loinc": "object",
                "name": "object",
                "value": "float64",
                "unit": "object",
            }
        )
    else:
        labs = pd.DataFrame(
            {
                "code": patient_codes(lab_in, lookup),
                "day": to_days(lab_in["date"]),
                "loinc": lab_in["loinc_code"].astype(str).to_numpy(),
                "name": lab_in["name"].to_numpy(),
                "value": lab_in["value"].astype(float).to_numpy(),
                "unit": lab_in["unit"].astype(str).to_numpy(),
            }
        )

    # Follow-up starts at enrolment (first consent) or, without one, the first clinical record;
    # exposure start dates are history (a DMT begun years before joining) and do not count.
    observed = [
        (edss["code"].to_numpy(), edss["day"].to_numpy()),
        *[(part["code"].to_numpy(), part["day"].to_numpy()) for part in series.values()],
        (relapses["code"].to_numpy(), relapses["onset"].to_numpy()),
        (aes["code"].to_numpy(), aes["day"].to_numpy()),
        (labs["code"].to_numpy(), labs["day"].to_numpy()),
    ]
    first = _group_extreme(observed, n, "min")
    consents = _frame(frames, "consents")
    if not consents.empty:
        enrol = _group_extreme(
            [(patient_codes(consents, lookup), to_days(consents["given_date"]))], n, "min"
        )
        first = np.where(np.isfinite(enrol), enrol, first)
    later = observed + [
        (relapses["code"].to_numpy(), relapses["recovery"].to_numpy()),
        (exp["code"].to_numpy(), exp["start"].to_numpy()),
        (exp["code"].to_numpy(), exp["stop"].to_numpy()),
    ]
    last = _group_extreme(later, n, "max")
    cutoff = float(np.nanmax(last)) if np.isfinite(last).any() else np.nan

    ldn_start, ldn_stop = _first_course(exp, "ldn", plan.ldn_course_gap_days, n)
    nc_start, _ = _first_course(exp, plan.negative_control_class, plan.ldn_course_gap_days, n)
    onset = to_days(patients_in["first_symptoms_date"])
    diagnosis = to_days(patients_in["diagnosis_date"])
    onset = np.where(np.isnan(onset), diagnosis, onset)
    yob = pd.to_numeric(patients_in["year_of_birth"], errors="coerce").to_numpy(dtype=float)
    birth = to_days(
        pd.to_datetime(
            pd.Series(np.where(np.isnan(yob), 1970, yob).astype(int)).astype(str) + "-07-01"
        )
    )
    birth[np.isnan(yob)] = np.nan
    phenotype = patients_in["phenotype"].astype(str).to_numpy()
    patients = pd.DataFrame(
        {
            "patient_id": patients_in["patient_id"].astype(str).to_numpy(),
            "phenotype": phenotype,
            "progressive": np.isin(phenotype, list(PROGRESSIVE)),
            "female": (patients_in["sex"].astype(str) == "female").to_numpy(),
            "birth_day": birth,
            "onset_day": onset,
            "follow_start": first,
            "follow_end": last,
            "ldn_start": ldn_start,
            "ldn_stop": ldn_stop,
            "ever_ldn": np.isfinite(ldn_start),
            "nc_start": nc_start,
        }
    )
    return AnalysisData(
        patients=patients,
        edss=edss,
        relapses=relapses,
        series=series,
        adverse_events=aes,
        labs=labs,
        exposures=exp,
        cutoff_day=cutoff,
        relapse_reports=relapse_reports,
        source=source,
    )
