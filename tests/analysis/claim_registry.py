"""A small simulated registry with known truth for the within-person claim analyses.

Built directly as ``AnalysisData`` (day numbers, patient codes), not as record frames: every
person is an LDN user observed for 1,000 days, with two LDN dose steps (days 100-399 and
400-699) whose time of day (morning / bedtime) and dose (3 / 4.5 mg) are each in a random
order, independently; half stop at day 700, the others keep taking it. Weekly MFIS and
spasticity scores carry the planted effects; adverse events are Poisson with a planted rate
ratio on LDN plus a DMT (half the people take one from day 0 to 550) and after stopping; CD3,
CD4 and CD8 counts before and after the start carry a planted fold-change, and a lymphocyte
count (another LOINC code) is recorded before them on the same days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ldn_outcomes.analysis.data.frames import AnalysisData

FOLLOW_END = 1000.0
STEP_DAYS = ((100.0, 399.0), (400.0, 699.0))
STOP_DAY = 699.0
DMT_END = 550.0


@dataclass(frozen=True)
class ClaimTruth:
    night_minus_morning: float = 0.0  # MFIS points
    high_minus_low_dose: float = 0.0  # spasticity points (4.5 minus 3 mg)
    dmt_rate_ratio: float = 1.0
    after_stop_rate_ratio: float = 1.0
    after_stop_fatigue: float = 0.0
    t_cell_fold: float = 1.0
    ae_per_year: float = 2.0


def claim_registry(n: int, truth: ClaimTruth = ClaimTruth(), seed: int = 5) -> AnalysisData:
    rng = np.random.default_rng(seed)
    code = np.arange(n)
    night_first = rng.random(n) < 0.5
    high_first = rng.random(n) < 0.5
    stops = rng.random(n) < 0.5
    on_dmt = rng.random(n) < 0.5
    rows = []
    for step, (start, end) in enumerate(STEP_DAYS):
        night = night_first if step == 0 else ~night_first
        high = high_first if step == 0 else ~high_first
        rows.append(
            pd.DataFrame(
                {
                    "code": code,
                    "drug_class": "ldn",
                    "start": start,
                    "stop": end if step == 0 else np.where(stops, end, np.nan),
                    "dose_mg": np.where(high, 4.5, 3.0),
                    "time_of_day": np.where(night, "bedtime", "morning"),
                }
            )
        )
    rows.append(
        pd.DataFrame(
            {
                "code": code[on_dmt],
                "drug_class": "dmt",
                "start": 0.0,
                "stop": DMT_END,
                "dose_mg": np.nan,
                "time_of_day": "unknown",
            }
        )
    )
    exposures = pd.concat(rows, ignore_index=True)
    days = np.arange(0.0, FOLLOW_END, 7.0)
    grid_code, grid_day = np.repeat(code, days.size), np.tile(days, n)
    step2 = grid_day >= STEP_DAYS[1][0]
    night = np.where(step2, ~night_first[grid_code], night_first[grid_code])
    high = np.where(step2, ~high_first[grid_code], high_first[grid_code])
    on_ldn = (grid_day >= 100) & ((grid_day <= STOP_DAY) | ~stops[grid_code])
    after_stop = stops[grid_code] & (grid_day > STOP_DAY) & (grid_day <= STOP_DAY + 14)
    level = rng.normal(40, 8, n)[grid_code]
    mfis = (
        level
        + rng.normal(0, 4, grid_code.size)
        + truth.night_minus_morning * (on_ldn & night)
        + truth.after_stop_fatigue * after_stop
    )
    spasm = (
        rng.normal(5, 1.5, n)[grid_code]
        + rng.normal(0, 1, grid_code.size)
        + truth.high_minus_low_dose * (on_ldn & high)
    )
    series = {
        "mfis": pd.DataFrame({"code": grid_code, "day": grid_day, "total": mfis}),
        "nrs-spasticity": pd.DataFrame({"code": grid_code, "day": grid_day, "total": spasm}),
    }
    return AnalysisData(
        patients=pd.DataFrame(
            {
                "follow_start": np.zeros(n),
                "follow_end": np.full(n, FOLLOW_END),
                "ldn_start": np.full(n, 100.0),
                "ldn_stop": np.where(stops, STOP_DAY, np.nan),
                "ever_ldn": np.ones(n, bool),
            }
        ),
        edss=pd.DataFrame({"code": [], "day": [], "score": []}),
        relapses=pd.DataFrame({"code": [], "onset": [], "recovery": []}),
        series=series,
        adverse_events=_adverse_events(rng, truth, stops, on_dmt),
        labs=_labs(rng, truth, n),
        exposures=exposures,
        cutoff_day=FOLLOW_END,
    )


def _events(rng, codes: np.ndarray, start: float, end: float, per_year: float) -> pd.DataFrame:
    count = rng.poisson(per_year * (end - start) / 365.25, codes.size)
    who = np.repeat(codes, count)
    return pd.DataFrame(
        {"code": who, "day": np.floor(rng.uniform(start, end, who.size)), "term": "headache"}
    )


def _adverse_events(rng, truth: ClaimTruth, stops, on_dmt) -> pd.DataFrame:
    code = np.arange(stops.size)
    rate = truth.ae_per_year
    parts = [
        _events(rng, code[on_dmt], 100, DMT_END, rate * truth.dmt_rate_ratio),
        _events(rng, code[on_dmt], DMT_END, STOP_DAY, rate),
        _events(rng, code[~on_dmt], 100, STOP_DAY, rate),
        _events(rng, code[~stops], STOP_DAY, FOLLOW_END, rate),
        _events(rng, code[stops], STOP_DAY + 1, STOP_DAY + 15, rate * truth.after_stop_rate_ratio),
    ]
    return pd.concat(parts, ignore_index=True).sort_values(["code", "day"], ignore_index=True)


def _labs(rng, truth: ClaimTruth, n: int) -> pd.DataFrame:
    frames = []
    for loinc, base in (
        ("26474-7", 1.8),
        ("8122-4", 1400.0),
        ("24467-3", 900.0),
        ("14135-8", 450.0),
    ):
        fold = 1.0 if loinc == "26474-7" else truth.t_cell_fold
        before = base * np.exp(rng.normal(0, 0.25, n))
        after = before * fold * np.exp(rng.normal(0, 0.2, n))
        frames.append(
            pd.DataFrame(
                {
                    "code": np.r_[np.arange(n), np.arange(n)],
                    "day": np.r_[np.full(n, 60.0), np.full(n, 200.0)],
                    "loinc": loinc,
                    "name": loinc,
                    "value": np.r_[before, after],
                    "unit": "/uL",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
