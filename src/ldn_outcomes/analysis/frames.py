"""The one analysis module that touches the store: load record frames, derive analysis tables.

Dates become integer day numbers (days since 1970-01-01, float with NaN for "none") so every
later step is plain numpy. Derived per patient: phenotype, birth and onset days, the observed
follow-up span, the first continuous LDN course, and the first negative-control exposure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..domain.codes import Phenotype
from ..domain.instruments.scoring import score
from ..errors import LdnError
from ..store.frames import read_frames
from .plan import AnalysisPlan

KINDS: tuple[str, ...] = (
    "patients", "exposures", "relapses", "edss", "questionnaires", "adverse_events", "labs",
)
DAYS_PER_YEAR = 365.25
PROGRESSIVE = {Phenotype.SPMS.value, Phenotype.PPMS.value}


def load_frames(engine: Engine, kinds: Iterable[str] = KINDS) -> dict[str, pd.DataFrame]:
    """Read the kinds the analyses need (dose logs and consents are not read)."""
    return read_frames(engine, tuple(kinds))


def to_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime-like → float day numbers, NaT → NaN."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce")
    days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
    out = days.astype(float)
    out[stamps.isna().to_numpy()] = np.nan
    return out


def day_to_iso(day: float) -> str | None:
    if not np.isfinite(day):
        return None
    return str(np.datetime64(int(day), "D"))


@dataclass
class AnalysisData:
    """Analysis-ready tables; ``code`` is the row number in ``patients``."""

    patients: pd.DataFrame
    edss: pd.DataFrame
    relapses: pd.DataFrame
    symptoms: pd.DataFrame
    adverse_events: pd.DataFrame
    labs: pd.DataFrame
    exposures: pd.DataFrame
    cutoff_day: float

    @property
    def ldn_users(self) -> pd.DataFrame:
        return self.patients[self.patients["ever_ldn"]]

    @property
    def non_users(self) -> pd.DataFrame:
        return self.patients[~self.patients["ever_ldn"]]


def _empty(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def _frame(frames: Mapping[str, pd.DataFrame], kind: str) -> pd.DataFrame:
    frame = frames.get(kind)
    return frame if frame is not None else pd.DataFrame()


def _codes(frame: pd.DataFrame, lookup: pd.Series) -> np.ndarray:
    return frame["patient_id"].map(lookup).to_numpy()


def _first_course(exposures: pd.DataFrame, drug_class: str, gap_days: int,
                  n_patients: int) -> tuple[np.ndarray, np.ndarray]:
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


def _symptom_totals(frame: pd.DataFrame) -> np.ndarray:
    """Stored totals; a missing total is scored with the instrument's own rule (or left NaN)."""
    totals = pd.to_numeric(frame["total"], errors="coerce").to_numpy(dtype=float)
    missing = np.flatnonzero(np.isnan(totals))
    for i in missing:
        try:
            value = score(frame["instrument_id"].iat[i], frame["answers"].iat[i]).total
        except (LdnError, ValueError, TypeError):
            value = None
        totals[i] = np.nan if value is None else value
    return totals


def prepare(frames: Mapping[str, pd.DataFrame], plan: AnalysisPlan | None = None) -> AnalysisData:
    """Derive the analysis tables from record frames (as returned by ``load_frames``)."""
    plan = plan or AnalysisPlan()
    patients_in = _frame(frames, "patients")
    if patients_in.empty:
        patients_in = pd.DataFrame(columns=["patient_id", "year_of_birth", "sex", "phenotype",
                                            "first_symptoms_date", "diagnosis_date"])
    patients_in = patients_in.reset_index(drop=True)
    n = len(patients_in)
    lookup = pd.Series(np.arange(n), index=patients_in["patient_id"].to_numpy())

    exposures = _frame(frames, "exposures")
    if exposures.empty:
        exp = _empty({"code": "int64", "drug_class": "object", "start": "float64",
                      "stop": "float64"})
    else:
        exp = pd.DataFrame({
            "code": _codes(exposures, lookup),
            "drug_class": exposures["drug_class"].astype(str).to_numpy(),
            "start": to_days(exposures["start_date"]),
            "stop": to_days(exposures["stop_date"]),
        })
    edss_in = _frame(frames, "edss")
    if edss_in.empty:
        edss = _empty({"code": "int64", "day": "float64", "score": "float64"})
    else:
        edss = pd.DataFrame({"code": _codes(edss_in, lookup), "day": to_days(edss_in["date"]),
                             "score": edss_in["score"].astype(float).to_numpy()})
        # Same day twice: keep the last recorded (as the domain CDW rule does).
        edss = edss.drop_duplicates(["code", "day"], keep="last")
        edss = edss.sort_values(["code", "day"], kind="stable").reset_index(drop=True)
    rel_in = _frame(frames, "relapses")
    if rel_in.empty:
        relapses = _empty({"code": "int64", "onset": "float64", "recovery": "float64"})
    else:
        relapses = pd.DataFrame({"code": _codes(rel_in, lookup),
                                 "onset": to_days(rel_in["onset_date"]),
                                 "recovery": to_days(rel_in["recovery_date"])})
        relapses = relapses.sort_values(["code", "onset"], kind="stable").reset_index(drop=True)
    q_in = _frame(frames, "questionnaires")
    if q_in.empty:
        symptoms = _empty({"code": "int64", "instrument": "object", "day": "float64",
                           "total": "float64"})
    else:
        symptoms = pd.DataFrame({"code": _codes(q_in, lookup),
                                 "instrument": q_in["instrument_id"].astype(str).to_numpy(),
                                 "day": to_days(q_in["date"]), "total": _symptom_totals(q_in)})
        symptoms = symptoms.dropna(subset=["total"])
        symptoms = symptoms.sort_values(["instrument", "code", "day"], kind="stable")
        symptoms = symptoms.reset_index(drop=True)
    ae_in = _frame(frames, "adverse_events")
    if ae_in.empty:
        aes = _empty({"code": "int64", "day": "float64", "term": "object"})
    else:
        aes = pd.DataFrame({"code": _codes(ae_in, lookup), "day": to_days(ae_in["onset_date"]),
                            "term": ae_in["term"].astype(str).to_numpy()})
    lab_in = _frame(frames, "labs")
    if lab_in.empty:
        labs = _empty({"code": "int64", "day": "float64", "loinc": "object", "name": "object",
                       "value": "float64", "unit": "object"})
    else:
        labs = pd.DataFrame({"code": _codes(lab_in, lookup), "day": to_days(lab_in["date"]),
                             "loinc": lab_in["loinc_code"].astype(str).to_numpy(),
                             "name": lab_in["name"].to_numpy(),
                             "value": lab_in["value"].astype(float).to_numpy(),
                             "unit": lab_in["unit"].astype(str).to_numpy()})

    observed = [
        (edss["code"].to_numpy(), edss["day"].to_numpy()),
        (symptoms["code"].to_numpy(), symptoms["day"].to_numpy()),
        (relapses["code"].to_numpy(), relapses["onset"].to_numpy()),
        (relapses["code"].to_numpy(), relapses["recovery"].to_numpy()),
        (aes["code"].to_numpy(), aes["day"].to_numpy()),
        (labs["code"].to_numpy(), labs["day"].to_numpy()),
        (exp["code"].to_numpy(), exp["start"].to_numpy()),
        (exp["code"].to_numpy(), exp["stop"].to_numpy()),
    ]
    codes = np.concatenate([c for c, _ in observed]).astype(np.int64) if n else np.array([], int)
    days = np.concatenate([d for _, d in observed]) if n else np.array([], float)
    keep = np.isfinite(days)
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    if keep.any():
        grouped = pd.Series(days[keep]).groupby(codes[keep])
        lo, hi = grouped.min(), grouped.max()
        first[lo.index.to_numpy()] = lo.to_numpy()
        last[hi.index.to_numpy()] = hi.to_numpy()
    cutoff = float(np.nanmax(last)) if np.isfinite(last).any() else np.nan

    ldn_start, ldn_stop = _first_course(exp, "ldn", plan.ldn_course_gap_days, n)
    nc_start, _ = _first_course(exp, plan.negative_control_class, plan.ldn_course_gap_days, n)
    onset = to_days(patients_in["first_symptoms_date"])
    diagnosis = to_days(patients_in["diagnosis_date"])
    onset = np.where(np.isnan(onset), diagnosis, onset)
    yob = pd.to_numeric(patients_in["year_of_birth"], errors="coerce").to_numpy(dtype=float)
    birth = to_days(pd.to_datetime(
        pd.Series(np.where(np.isnan(yob), 1970, yob).astype(int)).astype(str) + "-07-01"))
    birth[np.isnan(yob)] = np.nan
    phenotype = patients_in["phenotype"].astype(str).to_numpy()
    patients = pd.DataFrame({
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
    })
    return AnalysisData(patients=patients, edss=edss, relapses=relapses, symptoms=symptoms,
                        adverse_events=aes, labs=labs, exposures=exp, cutoff_day=cutoff)
