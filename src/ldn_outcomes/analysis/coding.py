"""How the analyses code record frames: dates as day numbers, patients as row numbers.

Dates become day numbers (days since 1970-01-01, float with NaN for "none") so every later step
is plain numpy; a record's patient becomes the row number of that patient in the patients
table (``code``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def to_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """datetime-like → float day numbers, NaT → NaN."""
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype != np.dtype("datetime64[ns]"):  # dates as objects or strings: parse first
        array = pd.to_datetime(pd.Series(array), errors="coerce").to_numpy(
            dtype="datetime64[ns]")
    days = array.astype("datetime64[D]").astype("int64").astype(float)
    days[np.isnat(array)] = np.nan
    return days


def day_to_iso(day: float) -> str | None:
    if not np.isfinite(day):
        return None
    return str(np.datetime64(int(day), "D"))


def patient_codes(frame: pd.DataFrame, lookup: pd.Series) -> np.ndarray:
    """Row number of each record's patient (the store guarantees the patient exists)."""
    ids = frame["patient_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        per_category = lookup.reindex(ids.cat.categories).to_numpy()
        return per_category[ids.cat.codes.to_numpy()].astype(np.int64)
    return np.asarray(ids.map(lookup), dtype=np.int64)


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
