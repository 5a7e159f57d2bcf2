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
from ..store.frames import read_frame, read_questionnaire_scores
from .plan import AnalysisPlan
from .qualify import QUALIFYING, UNCONFIRMED, qualify

KINDS: tuple[str, ...] = (
    "patients", "exposures", "relapses", "edss", "questionnaires", "adverse_events", "labs",
    "consents",
)
DAYS_PER_YEAR = 365.25
#: Daily check-in answer positions that are 0-10 numeric rating scales of a planned instrument.
CHECKIN_ITEMS = {0: "nrs-fatigue", 1: "nrs-spasticity"}
CHECKIN_COLUMNS = [f"item_{position}" for position in CHECKIN_ITEMS]
PROGRESSIVE = {Phenotype.SPMS.value, Phenotype.PPMS.value}


#: The columns each kind's analysis tables are derived from (``prepare``); nothing else is read.
COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "year_of_birth", "sex", "phenotype", "first_symptoms_date",
                 "diagnosis_date"),
    "exposures": ("patient_id", "drug_class", "start_date", "stop_date"),
    "relapses": ("patient_id", "onset_date", "recovery_date", "lasted_24h",
                 "fever_or_infection"),
    "edss": ("patient_id", "date", "score"),
    "adverse_events": ("patient_id", "onset_date", "term"),
    "labs": ("patient_id", "date", "loinc_code", "name", "value", "unit"),
    "consents": ("patient_id", "given_date"),
}


def load_frames(engine: Engine, kinds: Iterable[str] = KINDS,
                plan: AnalysisPlan | None = None,
                chunk_patients: int | None = None) -> dict[str, pd.DataFrame]:
    """Read the kinds the analyses need, only the columns ``prepare`` uses (dose logs are not
    read), through the store's typed read path.

    Patient ids of every other kind share one categorical coding (the patients frame's order).
    Questionnaires, by far the largest table, come back already compact: the planned
    instruments' totals (answers only where the total is missing) and the daily check-in's
    two rating items as numeric columns ``item_0``, ``item_1``, extracted by the database, so
    no answer list of the millions of daily check-ins is ever built. ``chunk_patients`` is
    accepted for compatibility and no longer needed (the read streams in row batches)."""
    del chunk_patients
    plan = plan or AnalysisPlan()
    kinds = tuple(kinds)
    frames: dict[str, pd.DataFrame] = {}
    if "patients" in kinds:
        frames["patients"] = read_frame(engine, "patients", columns=COLUMNS["patients"])
    ids = frames["patients"]["patient_id"].tolist() if "patients" in frames else None
    shared = {"patient_id": ids} if ids is not None else {}
    for kind in kinds:
        if kind in ("patients", "questionnaires"):
            continue
        columns = COLUMNS.get(kind)
        frames[kind] = (read_frame(engine, kind, columns=columns, categories=shared)
                        if columns is not None else read_frame(engine, kind))
    if "questionnaires" in kinds:
        frames["questionnaires"] = read_questionnaires(engine, plan)
    return frames


def read_questionnaires(engine: Engine, plan: AnalysisPlan) -> pd.DataFrame:
    """The compact questionnaire frame of ``compact_questionnaires``, read without answer lists:
    check-in rows carry only their items (total NaN), planned instruments their totals."""
    wanted = set(plan.symptom_instruments) | {plan.fatigue_instrument}
    frame = read_questionnaire_scores(engine, wanted, {"checkin": tuple(CHECKIN_ITEMS)})
    checkin = (frame["instrument_id"] == "checkin").to_numpy()
    if "checkin" not in wanted and checkin.any():
        total = frame["total"].to_numpy(dtype=float, copy=True)
        total[checkin] = np.nan
        frame["total"] = total
    return frame


def compact_questionnaires(frame: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Keep only what the analyses use: planned instruments (answers only where the total is
    missing) and the daily check-in's rating items as numeric columns ``item_0``, ``item_1``."""
    columns = ["patient_id", "instrument_id", "date", "total", "answers", *CHECKIN_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    wanted = set(plan.symptom_instruments) | {plan.fatigue_instrument}
    ids = frame["instrument_id"].astype(str)
    scored = frame[ids.isin(wanted).to_numpy()].copy()
    scored.loc[scored["total"].notna(), "answers"] = None
    checkins = frame[(ids == "checkin").to_numpy()]
    items = {}
    answers = checkins["answers"].tolist()
    for position in CHECKIN_ITEMS:
        items[f"item_{position}"] = np.array(
            [a[position] if a is not None and len(a) > position and a[position] is not None
             else np.nan for a in answers], dtype=float)
    compact = pd.DataFrame({"patient_id": checkins["patient_id"].to_numpy(),
                            "instrument_id": "checkin", "date": checkins["date"].to_numpy(),
                            "total": np.nan, "answers": None, **items})
    return pd.concat([scored.reindex(columns=columns), compact.reindex(columns=columns)],
                     ignore_index=True)


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
    #: Every relapse report with its qualification status (``relapses`` holds the counted ones).
    relapse_reports: pd.DataFrame | None = None
    _series: dict[str, pd.DataFrame] | None = None

    def symptom_series(self, instrument: str) -> pd.DataFrame:
        """One instrument's scores (code, day, total), sorted; split once, then cached."""
        if self._series is None:
            self._series = {str(name): part.reset_index(drop=True)
                            for name, part in self.symptoms.groupby("instrument", sort=False)}
        empty = self.symptoms.iloc[0:0]
        return self._series.get(instrument, empty)

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
    """Row number of each record's patient (the store guarantees the patient exists)."""
    ids = frame["patient_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        per_category = lookup.reindex(ids.cat.categories).to_numpy()
        return per_category[ids.cat.codes.to_numpy()].astype(np.int64)
    return np.asarray(ids.map(lookup), dtype=np.int64)


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


def _checkin_items(frame: pd.DataFrame, lookup: pd.Series) -> pd.DataFrame:
    """Daily check-in items 1 (fatigue NRS) and 2 (spasms NRS) as weekly means per patient.

    A blank item stays out of the mean (never read as 0)."""
    parts = []
    codes = _codes(frame, lookup)
    days = to_days(frame["date"])
    compacted = all(c in frame for c in CHECKIN_COLUMNS)
    answers = [] if compacted else frame["answers"].tolist()
    for position, instrument in CHECKIN_ITEMS.items():
        if compacted:
            values = pd.to_numeric(frame[f"item_{position}"], errors="coerce").to_numpy(float)
        else:
            values = np.array([a[position] if a is not None and len(a) > position
                               and a[position] is not None else np.nan for a in answers],
                              dtype=float)
        keep = np.isfinite(values) & np.isfinite(days)
        if not keep.any():
            continue
        week = np.floor(days[keep] / 7)
        weekly = pd.DataFrame({"code": codes[keep], "week": week, "value": values[keep]})
        weekly = weekly.groupby(["code", "week"], sort=True)["value"].mean().reset_index()
        parts.append(pd.DataFrame({"code": weekly["code"].to_numpy(), "instrument": instrument,
                                   "day": weekly["week"].to_numpy() * 7 + 3,
                                   "total": weekly["value"].to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _is_instrument(ids: pd.Series, names: set[str]) -> np.ndarray:
    """Rows whose instrument is one of ``names`` (a categorical is matched on its categories,
    not turned into millions of strings first)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        hits = np.append(ids.cat.categories.astype(str).isin(list(names)), False)
        return hits[ids.cat.codes.to_numpy()]  # code −1 (missing) picks the trailing False
    return ids.astype(str).isin(names).to_numpy()


def _symptoms(q_in: pd.DataFrame, lookup: pd.Series, plan: AnalysisPlan) -> pd.DataFrame:
    """Scores of the planned instruments (plus check-in NRS items) as code/instrument/day/total."""
    columns = {"code": "int64", "instrument": "object", "day": "float64", "total": "float64"}
    if q_in.empty:
        return _empty(columns)
    wanted = set(plan.symptom_instruments) | {plan.fatigue_instrument}
    scored = q_in[_is_instrument(q_in["instrument_id"], wanted)]
    parts = []
    if not scored.empty:
        parts.append(pd.DataFrame({"code": _codes(scored, lookup),
                                   "instrument": scored["instrument_id"].astype(str).to_numpy(),
                                   "day": to_days(scored["date"]),
                                   "total": _symptom_totals(scored)}))
    # only the columns the check-in items need: copying millions of rows is the cost here
    needed = ["patient_id", "date", *CHECKIN_COLUMNS]
    if not all(c in q_in for c in CHECKIN_COLUMNS):
        needed = ["patient_id", "date", "answers"]
    checkins = q_in.loc[_is_instrument(q_in["instrument_id"], {"checkin"}), needed]
    if not checkins.empty and wanted & set(CHECKIN_ITEMS.values()):
        daily = _checkin_items(checkins, lookup)
        if not daily.empty:
            parts.append(daily[daily["instrument"].isin(wanted)])
    if not parts:
        return _empty(columns)
    symptoms = pd.concat(parts, ignore_index=True).dropna(subset=["total", "day"])
    # standalone NRS answers and check-in weekly means share one series per instrument
    symptoms = symptoms.sort_values(["instrument", "code", "day"], kind="stable")
    return symptoms.reset_index(drop=True)


def _group_extreme(pairs: list[tuple[np.ndarray, np.ndarray]], n: int, how: str) -> np.ndarray:
    """Per-patient min or max day over several (codes, days) arrays; NaN where none."""
    out = np.full(n, np.nan)
    if not n:
        return out
    codes = np.concatenate([c for c, _ in pairs]).astype(np.int64)
    days = np.concatenate([d for _, d in pairs]).astype(float)
    keep = np.isfinite(days)
    if keep.any():
        grouped = pd.Series(days[keep]).groupby(codes[keep]).agg(how)
        out[grouped.index.to_numpy()] = grouped.to_numpy()
    return out


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
        relapse_reports = relapses.assign(status=pd.Series(dtype="object"))
    else:
        relapses = pd.DataFrame({
            "code": _codes(rel_in, lookup), "onset": to_days(rel_in["onset_date"]),
            "recovery": to_days(rel_in["recovery_date"]),
            "lasted_24h": rel_in.get("lasted_24h"),
            "fever": rel_in.get("fever_or_infection")})
        relapses = relapses.dropna(subset=["onset"])
        relapses = relapses.sort_values(["code", "onset"], kind="stable").reset_index(drop=True)
        relapses["status"] = qualify(relapses["code"].to_numpy(), relapses["onset"].to_numpy(),
                                     relapses["lasted_24h"], relapses["fever"])
        counted = {QUALIFYING, UNCONFIRMED} if plan.count_unconfirmed_relapses else {QUALIFYING}
        relapse_reports = relapses
        relapses = relapses[relapses["status"].isin(counted)].reset_index(drop=True)
    symptoms = _symptoms(_frame(frames, "questionnaires"), lookup, plan)
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

    # Follow-up starts at enrolment (first consent) or, without one, the first clinical record;
    # exposure start dates are history (a DMT begun years before joining) and do not count.
    observed = [
        (edss["code"].to_numpy(), edss["day"].to_numpy()),
        (symptoms["code"].to_numpy(), symptoms["day"].to_numpy()),
        (relapses["code"].to_numpy(), relapses["onset"].to_numpy()),
        (aes["code"].to_numpy(), aes["day"].to_numpy()),
        (labs["code"].to_numpy(), labs["day"].to_numpy()),
    ]
    first = _group_extreme(observed, n, "min")
    consents = _frame(frames, "consents")
    if not consents.empty:
        enrol = _group_extreme([(_codes(consents, lookup), to_days(consents["given_date"]))],
                               n, "min")
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
                        adverse_events=aes, labs=labs, exposures=exp, cutoff_day=cutoff,
                        relapse_reports=relapse_reports)
