"""Daily outcome values and adherence for one trial, laid out day by day on its schedule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ...domain.nof1 import Allocation, NOf1Design, OutcomeSpec, outcome_spec, schedule
from ...store.frames import read_frame

COLUMNS = ["date", "day", "period", "pair", "position", "treatment", "washout", "value"]


def daily_values(questionnaires: pd.DataFrame, spec: OutcomeSpec) -> pd.Series:
    """One value per date from the check-in item (several check-ins on a day are averaged).

    A blank answer stays missing; it is never read as 0.
    """
    if questionnaires.empty:  # still indexed by date, so date comparisons work on it
        return pd.Series(dtype=float, index=pd.DatetimeIndex([]), name=spec.outcome_id)
    rows = questionnaires[questionnaires["instrument_id"] == spec.instrument_id]
    values = [
        float(a[spec.item_index])
        if isinstance(a, (list, tuple))
        and len(a) > spec.item_index
        and a[spec.item_index] is not None
        else np.nan
        for a in rows["answers"]
    ]
    series = pd.Series(values, index=pd.to_datetime(rows["date"]).dt.normalize(), dtype=float)
    series = series.dropna()
    return series.groupby(level=0).mean().rename(spec.outcome_id)


def load_daily_outcome(engine: Engine, patient_id: str, outcome: str) -> pd.Series:
    """Every recorded daily value of ``outcome`` for the patient, indexed by date."""
    frame = read_frame(engine, "questionnaires", [patient_id])
    return daily_values(frame, outcome_spec(outcome))


def load_dose_log(engine: Engine, patient_id: str) -> pd.Series:
    """Taken (1.0) / not taken (0.0) per date from the dose log (last entry of a day wins)."""
    frame = read_frame(engine, "dose_logs", [patient_id])
    if frame.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    taken = pd.Series(frame["taken"].astype(float).to_numpy(), index=frame["date"].dt.normalize())
    return taken.groupby(level=0).last()


def lay_out(
    design: NOf1Design,
    allocation: Allocation,
    values: pd.Series,
    last_day: dt.date | None = None,
) -> pd.DataFrame:
    """One row per trial day: its period, pair, position in the pair, treatment and value.
    Days after ``last_day`` (a trial stopped early: ``domain.nof1_stop``) keep their row, so
    the schedule and the chart stay whole, but no value: they are not part of the trial."""
    periods = schedule(design, allocation)
    rows = []
    lookup = {pd.Timestamp(k).date(): float(v) for k, v in values.items()}
    if last_day is not None:
        lookup = {day: v for day, v in lookup.items() if day <= last_day}
    for period in periods:
        day = period.start
        while day <= period.end:
            rows.append(
                (
                    day,
                    (day - design.start_date).days,
                    period.number,
                    period.pair,
                    (period.number - 1) % 2,
                    period.treatment.value if period.treatment else None,
                    day < period.analysis_start,
                    lookup.get(day, np.nan),
                )
            )
            day += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=COLUMNS)


def adherence_by_period(design: NOf1Design, doses: pd.Series) -> pd.DataFrame:
    """Share of days with a dose logged as taken, per period (missing days count as unknown)."""
    lookup = {pd.Timestamp(k).date(): float(v) for k, v in doses.items()}
    rows = []
    for period in schedule(design):
        days = [period.start + dt.timedelta(days=i) for i in range(design.period_days)]
        logged = [lookup[d] for d in days if d in lookup]
        rows.append(
            {
                "period": period.number,
                "days": len(days),
                "days_logged": len(logged),
                "days_taken": int(sum(logged)),
                "adherence": (sum(logged) / len(days)) if days else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def period_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of the analysed (post-washout, non-missing) days of every period."""
    used = frame[~frame["washout"] & frame["value"].notna()]
    grouped = used.groupby("period")["value"].agg(["mean", "count"])
    base = frame.groupby("period")[["pair", "position", "treatment"]].first()
    out = base.join(grouped, how="left")
    out["count"] = out["count"].fillna(0).astype(int)
    return out.reset_index()


def pair_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair period means as an array (pairs x 2 positions) and the actual ldn-first flags."""
    means = period_means(frame)
    pairs = int(means["pair"].max())
    matrix = np.full((pairs, 2), np.nan)
    ldn_first = np.zeros(pairs, dtype=bool)
    for row in means.itertuples():
        matrix[row.pair - 1, row.position] = row.mean
        if row.position == 0:
            ldn_first[row.pair - 1] = row.treatment == "ldn"
    return matrix, ldn_first
