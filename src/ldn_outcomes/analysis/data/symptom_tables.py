"""The symptom series of the analyses: per instrument, one row per (patient, day) with a total.

Two sources: the planned instruments' scores (a stored total, or the instrument's own scoring
rule where the total is missing) and the daily check-in, whose items 1 (fatigue) and 2
(spasms) are 0-10 numeric rating scales of the planned ``nrs-fatigue`` and ``nrs-spasticity``.
Daily ratings are averaged per patient and calendar week (a blank item stays out of the mean,
never read as 0) and dated mid-week; standalone ratings and check-in means share one series
per instrument.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...domain.instruments.scoring import score
from ...errors import LdnError
from ..plan import AnalysisPlan
from .coding import empty_frame, patient_codes, to_days
from .load import CHECKIN_COLUMNS, CHECKIN_ITEMS, scored_instruments

COLUMNS = {"code": "int64", "instrument": "object", "day": "float64", "total": "float64"}
SERIES_COLUMNS = {"code": "int64", "day": "float64", "total": "float64"}
#: (code, instrument names, each row's index into them, day, total) of one source.
Part = tuple[np.ndarray, list[str], np.ndarray, np.ndarray, np.ndarray]
#: Week keys: code * WEEK_SPAN + week + WEEK_OFFSET (weeks since 1970, may be negative).
WEEK_SPAN = 1 << 24
WEEK_OFFSET = 1 << 23


def symptom_table(
    questionnaires: pd.DataFrame | None,
    checkins: pd.DataFrame | None,
    lookup: pd.Series,
    plan: AnalysisPlan,
) -> dict[str, pd.DataFrame]:
    """Per planned instrument with scores: columns code/day/total, sorted by patient and day
    (stable: same-day scores keep their order).

    ``questionnaires``: rows of any instruments, with ``total`` and ``answers`` (full or as
    ``load_frames`` reads them); check-in rows among them are used unless ``checkins`` (one
    row per check-in with ``item_<p>`` columns, as ``load_frames`` reads them) is given."""
    wanted = scored_instruments(plan)
    parts: list[Part] = []
    q_in = questionnaires if questionnaires is not None else pd.DataFrame()
    if not q_in.empty:
        scored = q_in[_is_instrument(q_in["instrument_id"], wanted)]
        if not scored.empty:
            ids = pd.Categorical(scored["instrument_id"])
            parts.append(
                (
                    patient_codes(scored, lookup),
                    [str(c) for c in ids.categories],
                    ids.codes,
                    to_days(scored["date"]),
                    _totals(scored),
                )
            )
        if checkins is None:
            checkins = q_in.loc[
                _is_instrument(q_in["instrument_id"], {"checkin"}),
                [c for c in ("patient_id", "date", "answers", *CHECKIN_COLUMNS) if c in q_in],
            ]
    if checkins is not None and not checkins.empty and wanted & set(CHECKIN_ITEMS.values()):
        parts += [part for part in _checkin_weeks(checkins, lookup) if part[1][0] in wanted]
    series: dict[str, pd.DataFrame] = {}
    for name in sorted({name for part in parts for name in part[1]}):
        pieces = []
        for code, names, index, day, total in parts:
            if name not in names:
                continue
            rows = index == names.index(name)
            rows &= ~np.isnan(total) & ~np.isnan(day)
            pieces.append((code[rows], day[rows], total[rows]))
        code, day, total = (np.concatenate([piece[j] for piece in pieces]) for j in range(3))
        if not len(code):
            continue
        order = _order(code, day)
        series[name] = pd.DataFrame(
            {"code": code[order].astype(np.int64), "day": day[order], "total": total[order]}
        )
    return series


def combined(series: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All instruments in one frame (code, instrument, day, total), sorted by instrument,
    patient and day."""
    if not series:
        return empty_frame(COLUMNS)
    return pd.concat(
        [series[name].assign(instrument=name)[list(COLUMNS)] for name in sorted(series)],
        ignore_index=True,
    )


def _order(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Stable sort order by (code, day), as ``sort_values(kind="stable")``: one integer key
    sorted by radix when the days are whole numbers (they are: dates and mid-week days), else
    a lexsort. Rows already in order (check-in weeks) are left as they are."""
    low = float(day.min())
    span = int(float(day.max()) - low) + 1
    whole = bool(np.all(day == np.floor(day)))
    if not whole or span.bit_length() + (int(code.max()) + 1).bit_length() > 62:
        return np.lexsort((day, code))
    key = code.astype(np.int64) * span + (day - low).astype(np.int64)
    if bool(np.all(key[1:] >= key[:-1])):
        return np.arange(len(key))
    return np.argsort(key, kind="stable")


def _is_instrument(ids: pd.Series, names: set[str]) -> np.ndarray:
    """Rows whose instrument is one of ``names`` (a categorical is matched on its categories,
    not turned into millions of strings first)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        hits = np.append(ids.cat.categories.astype(str).isin(list(names)), False)
        return hits[ids.cat.codes.to_numpy()]  # code −1 (missing) picks the trailing False
    return ids.astype(str).isin(names).to_numpy()


def _totals(frame: pd.DataFrame) -> np.ndarray:
    """Stored totals; a missing total is scored with the instrument's own rule (or left NaN)."""
    totals = pd.to_numeric(frame["total"], errors="coerce").to_numpy(dtype=float, copy=True)
    for i in np.flatnonzero(np.isnan(totals)):
        try:
            value = score(frame["instrument_id"].iat[i], frame["answers"].iat[i]).total
        except (LdnError, ValueError, TypeError):
            value = None
        totals[i] = np.nan if value is None else value
    return totals


def _item(frame: pd.DataFrame, position: int) -> np.ndarray:
    """Check-in item ``position`` as numbers: from its column, else from the answer lists."""
    column = f"item_{position}"
    if column in frame:
        return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return np.array(
        [
            a[position]
            if a is not None and len(a) > position and a[position] is not None
            else np.nan
            for a in frame["answers"]
        ],
        dtype=float,
    )


def _checkin_weeks(frame: pd.DataFrame, lookup: pd.Series) -> list[Part]:
    """Per check-in item: (code, instrument, mid-week day, weekly mean), sorted by patient
    and week; a blank item stays out of the mean."""
    codes = patient_codes(frame, lookup)
    days = to_days(frame["date"])
    parts = []
    for position, instrument in CHECKIN_ITEMS.items():
        if f"item_{position}" not in frame and "answers" not in frame:
            continue
        values = _item(frame, position)
        keep = np.isfinite(values) & np.isfinite(days)
        if not keep.any():
            continue
        week = np.floor(days[keep] / 7).astype(np.int64)
        key = codes[keep] * WEEK_SPAN + week + WEEK_OFFSET
        weeks, means = _means(key, values[keep])
        parts.append(
            (
                weeks // WEEK_SPAN,
                [instrument],
                np.zeros(len(weeks), dtype=np.int64),
                ((weeks % WEEK_SPAN) - WEEK_OFFSET) * 7.0 + 3,
                means,
            )
        )
    return parts


def _means(key: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per distinct ``key``, keys sorted. Summed in row order, as pandas'
    groupby does but without its compensated summation: the same numbers for whole-number
    ratings (sums of small integers are exact), equal to rounding otherwise."""
    if len(key) > 1 and bool(np.all(key[1:] >= key[:-1])):  # rows in patient and date order
        new = np.r_[True, key[1:] != key[:-1]]
        keys, inverse = key[new], np.cumsum(new) - 1
    else:
        keys, inverse = np.unique(key, return_inverse=True)
    return keys, np.bincount(inverse, weights=values) / np.bincount(inverse)
