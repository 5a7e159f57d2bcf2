"""How the analyses code record frames: dates as day numbers, patients as row numbers.

Dates become day numbers (days since 1970-01-01, float with NaN for "none") so every later step
is plain numpy; a record's patient becomes the row number of that patient in the patients
table (``code``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...errors import LdnError

DAYS_PER_YEAR = 365.25


def to_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime-like → float day numbers, NaT → NaN."""
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype != np.dtype("datetime64[ns]"):  # dates as objects or strings: parse first
        array = pd.to_datetime(pd.Series(array), errors="coerce").to_numpy(dtype="datetime64[ns]")
    days = array.astype("datetime64[D]").astype("int64").astype(float)
    days[np.isnat(array)] = np.nan
    return days


def day_to_iso(day: float) -> str | None:
    if not np.isfinite(day):
        return None
    return str(np.datetime64(int(day), "D"))


def known_patients(frame: pd.DataFrame | None, lookup: pd.Series) -> pd.DataFrame | None:
    """The rows whose patient is in ``lookup``. Each table is read in its own transaction, so
    a patient registered while the registry was being read can have records but no patient
    row in this read; those records wait for the next run instead of being mis-coded."""
    if frame is None or frame.empty or "patient_id" not in frame:
        return frame
    ids = frame["patient_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        known = np.append(pd.Index(ids.cat.categories).isin(lookup.index), False)
        keep = known[ids.cat.codes.to_numpy()]
    else:
        keep = ids.isin(lookup.index).to_numpy()
    return frame if keep.all() else frame[keep]


def patient_codes(frame: pd.DataFrame, lookup: pd.Series) -> np.ndarray:
    """Row number of each record's patient; every patient must be in ``lookup``
    (:func:`known_patients` makes it so)."""
    ids = frame["patient_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        # one NaN appended, so a missing value's code -1 picks NaN, not the last patient
        per_category = np.append(lookup.reindex(ids.cat.categories).to_numpy(dtype=float), np.nan)
        codes = per_category[ids.cat.codes.to_numpy()]
    else:
        codes = ids.map(lookup).to_numpy(dtype=float)
    if not np.isfinite(codes).all():
        raise LdnError("a record names a patient missing from the patients table")
    return codes.astype(np.int64)


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
