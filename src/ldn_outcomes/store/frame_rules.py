"""The domain's rules, checked column-wise for bulk loads.

The single-record rules are the same as :mod:`ldn_outcomes.domain.models` (a test feeds both
the same bad rows); this module only makes them fast enough for millions of rows. The two
rules about a patient's exposures together (no naltrexone overlapping an opioid agonist, never
two ongoing LDN regimens) are found column-wise for the few patients they could concern and
decided and worded by the domain's own checks (:mod:`ldn_outcomes.domain.definitions`), as the
record-by-record write path does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..domain.dates import EARLIEST_DATE
from ..domain.definitions.dose_safety import check_opioid_interaction, match_opioid
from ..domain.definitions.exposure import is_ldn, is_low_dose, is_naltrexone_drug
from ..domain.definitions.regimen import check_one_ongoing_ldn
from ..domain.models import EDSS_VALID_SCORES, RECORD_TYPES, Exposure
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


def _rxcui(value: object) -> str | None:
    """An RxCUI cell as the text a record holds (2670, 2670.0 and "2670" alike)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value).strip() or None


class _Exposures:
    """The exposures frame's columns as the domain's checks read them, normalised once, so
    that the column-wise pre-filter and the records it hands to those checks agree."""

    def __init__(self, frame: pd.DataFrame) -> None:
        n = len(frame)
        self.patient = frame["patient_id"].astype(str).to_numpy()
        self.name = frame["drug_name"].astype(str).to_numpy()
        cuis = frame["rxnorm_cui"] if "rxnorm_cui" in frame else pd.Series([None] * n)
        self.cui = [_rxcui(c) for c in cuis.tolist()]
        self.start = _dates(frame["start_date"]).reset_index(drop=True)
        self.stop = _dates(frame["stop_date"]).reset_index(drop=True)  # unreadable: none
        doses = (
            pd.to_numeric(frame["dose_mg"], errors="coerce").to_numpy(float)
            if "dose_mg" in frame
            else np.full(n, np.nan)
        )
        self.dose = [None if np.isnan(d) else d for d in doses.tolist()]
        dated = self.start.notna().to_numpy(bool)  # without a start there is nothing to compare
        naltrexone_of = {name: is_naltrexone_drug(name) for name in set(self.name)}
        self.naltrexone = np.array([naltrexone_of[x] for x in self.name], dtype=bool) & dated
        pairs = list(zip(self.name, self.cui, strict=True))
        opioid_of = {pair: match_opioid(*pair) is not None for pair in set(pairs)}
        self.opioid = (
            np.array([opioid_of[pair] for pair in pairs], dtype=bool) & dated & ~self.naltrexone
        )
        low = np.array([is_low_dose(d) for d in self.dose], dtype=bool)
        self.ongoing_ldn = self.naltrexone & low & self.stop.isna().to_numpy(bool)

    def records(self, rows: np.ndarray) -> list[Exposure]:
        """Rows as (unvalidated) records with only the fields the checks read."""
        return [
            Exposure.model_construct(
                patient_id=self.patient[row],
                drug_name=self.name[row],
                rxnorm_cui=self.cui[row],
                dose_mg=self.dose[row],
                start_date=self.start[row].date(),
                stop_date=None if pd.isna(self.stop[row]) else self.stop[row].date(),
            )
            for row in rows
        ]


def exposure_rule_problems(frame: pd.DataFrame) -> list[Problem]:
    """A naltrexone exposure overlapping an opioid agonist's, or a patient's second ongoing LDN
    regimen, in the exposures frame (every row is new: a bulk load's patients are its own).
    Each is named once, with the row the file import names: the opioid's, the last ongoing
    regimen's; at most ``MAX_REPORTED`` patients' problems, then a count of the rest."""
    if frame.empty or not {"patient_id", "drug_name", "start_date", "stop_date"} <= set(frame):
        return []
    columns = _Exposures(frame)
    patient = columns.patient
    with_opioid = set(patient[columns.naltrexone]) & set(patient[columns.opioid])
    counts = pd.Series(patient[columns.ongoing_ldn]).value_counts()
    concerned = sorted(with_opioid | set(counts.index[counts >= 2]))
    rows_of = pd.Series(np.arange(len(patient))).groupby(patient).indices
    problems: list[Problem] = []
    for done, patient_id in enumerate(concerned):
        if done == MAX_REPORTED:
            problems.append(
                Problem(
                    "exposure",
                    "drug_name",
                    f"naltrexone-opioid overlaps or second ongoing LDN regimens of "
                    f"{len(concerned) - done} more patients",
                    None,
                )
            )
            break
        rows = np.asarray(rows_of[patient_id])
        rows = rows[columns.start.iloc[rows].notna().to_numpy(bool)]
        records = columns.records(rows)
        try:
            check_opioid_interaction(records)
        except ValidationFailed as failure:
            seen: set[str] = set()  # one problem per overlap, as the record path reports it
            for found in failure.problems:
                if found.rule in seen:
                    continue
                seen.add(found.rule)
                row = rows[found.row] if found.row is not None else rows[0]
                problems.append(
                    Problem(
                        "exposure",
                        "drug_name",
                        found.rule,
                        int(row) + 1,
                        found.value,
                        "exposures frame",
                    )
                )
        try:
            check_one_ongoing_ldn([], records)
        except ValidationFailed as failure:
            last = max(i for i, r in enumerate(records) if is_ldn(r) and r.stop_date is None)
            for found in failure.problems:
                problems.append(
                    Problem(
                        "exposure",
                        found.field,
                        found.rule,
                        int(rows[last]) + 1,
                        None,
                        "exposures frame",
                    )
                )
    return problems


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
        problems.extend(exposure_rule_problems(frame))
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
