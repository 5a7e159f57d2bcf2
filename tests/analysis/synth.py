"""A small, fast synthetic registry for analysis tests (record frames as the store returns
them), with known truth: relapse rate ratio, fatigue shift and progression effect of LDN, and
self-selection (people start LDN, or the negative-control supplement, after a relapse).

Month-level simulation, vectorised over patients. Not the project simulator: a test helper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

START = np.datetime64("2014-01-01")
MONTHS = 120
MONTH_DAYS = 30.4375
PHENOTYPES = np.array(["RRMS", "SPMS", "PPMS", "CIS"])


@dataclass(frozen=True)
class Truth:
    relapse_rate_ratio: float = 1.0
    fatigue_shift: float = 0.0
    progression_ratio: float = 1.0
    selection: float = 6.0
    start_rate: float = 0.006
    supplement_rate: float = 0.006
    ae_ratio: float = 1.0
    wait_months: int = 0


def _dates(day_numbers: np.ndarray) -> pd.Series:
    return pd.Series(START + np.round(day_numbers).astype("timedelta64[D]"))


def simulate(
    n: int, truth: Truth = Truth(), seed: int = 1, with_labs: bool = True
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n)])
    phen = PHENOTYPES[rng.choice(4, size=n, p=[0.6, 0.2, 0.15, 0.05])]
    progressive = np.isin(phen, ["SPMS", "PPMS"])
    frailty = rng.normal(size=n)
    enter = rng.integers(0, 36, size=n)
    leave = np.where(rng.random(n) < 0.2, rng.integers(60, MONTHS, size=n), MONTHS)
    base_rate = np.where(progressive, 0.15, 0.45) * np.exp(0.4 * frailty) / 12
    month = np.arange(MONTHS)
    in_reg = (month[None, :] >= enter[:, None]) & (month[None, :] < leave[:, None])
    # history relapses (before entry too, so windows before start are populated)
    ldn_month = np.full(n, -1)
    supp_month = np.full(n, -1)
    relapse = np.zeros((n, MONTHS), dtype=bool)
    recent = np.zeros(n, dtype=int)  # months since last relapse
    recent[:] = 99
    fatigue_level = 30 + 8 * rng.normal(size=n) + 4 * progressive
    on = np.zeros(n, dtype=bool)
    for t in range(MONTHS):
        rate = base_rate * np.where(on, truth.relapse_rate_ratio, 1.0)
        hit = rng.random(n) < rate
        relapse[:, t] = hit
        recent = np.where(hit, 0, recent + 1)
        can = in_reg[:, t] & (t >= enter + truth.wait_months)
        boost = np.where(recent <= 2, truth.selection, 1.0) * np.exp(0.03 * (fatigue_level - 30))
        start_ldn = can & (ldn_month < 0) & (rng.random(n) < truth.start_rate * boost)
        start_supp = can & (supp_month < 0) & (rng.random(n) < truth.supplement_rate * boost)
        ldn_month[start_ldn] = t
        supp_month[start_supp] = t
        on |= start_ldn
    # EDSS: baseline by phenotype, monthly worsening steps, 6-monthly visits
    edss0 = np.where(
        progressive,
        rng.choice([3.5, 4.0, 4.5, 5.0, 6.0], size=n),
        rng.choice([1.0, 1.5, 2.0, 2.5, 3.0], size=n),
    )
    step_rate = np.where(progressive, 0.02, 0.006)
    on_month = (ldn_month[:, None] >= 0) & (month[None, :] >= ldn_month[:, None])
    step_p = step_rate[:, None] * np.where(on_month, truth.progression_ratio, 1.0)
    steps = (rng.random((n, MONTHS)) < step_p) | (relapse & (rng.random((n, MONTHS)) < 0.15))
    edss_path = np.minimum(edss0[:, None] + 0.5 * np.cumsum(steps, axis=1), 9.5)
    edss_path = np.where(edss_path == 0.5, 1.0, edss_path)
    visit = in_reg & (((month[None, :] - enter[:, None]) % 6) == 0)
    pi, mi = np.nonzero(visit)
    edss_days = mi * MONTH_DAYS + rng.integers(0, 20, size=mi.size)
    edss = pd.DataFrame(
        {
            "patient_id": ids[pi],
            "date": _dates(edss_days),
            "score": edss_path[pi, mi],
            "functional_systems": [{}] * mi.size,
            "rater": None,
        }
    )
    # fatigue (MFIS total 0-84), quarterly
    qvisit = in_reg & (((month[None, :] - enter[:, None]) % 3) == 0)
    qi, qm = np.nonzero(qvisit)
    after = (ldn_month[:, None] >= 0) & (month[None, :] > ldn_month[:, None])
    shift = np.where(after[qi, qm], truth.fatigue_shift, 0.0)
    mfis = np.clip(np.round(fatigue_level[qi] + shift + rng.normal(0, 6, qi.size)), 0, 84)
    questionnaires = pd.DataFrame(
        {
            "patient_id": ids[qi],
            "instrument_id": "mfis",
            "instrument_version": "1",
            "date": _dates(qm * MONTH_DAYS + rng.integers(0, 10, qi.size)),
            "answers": [[0.0]] * qi.size,
            "total": mfis,
        }
    )
    ri, rm = np.nonzero(relapse & in_reg)
    onset = rm * MONTH_DAYS + rng.integers(0, 14, size=ri.size)  # before a start that month
    recover_days = rng.gamma(2.0, 25.0, size=ri.size) + 5
    recovered = rng.random(ri.size) < 0.85
    relapses = pd.DataFrame(
        {
            "patient_id": ids[ri],
            "onset_date": _dates(onset),
            "recovery_date": _dates(onset + recover_days).where(recovered, pd.NaT),
            "severity": "moderate",
            "functional_systems": [[]] * ri.size,
            "steroid_treated": None,
            "confirmed_by": "clinician",
            "lasted_24h": True,
            "fever_or_infection": False,
        }
    )
    exposures = []
    for cls, months, name in (
        ("ldn", ldn_month, "naltrexone"),
        ("supplement", supp_month, "vitamin D"),
    ):
        who = np.flatnonzero(months >= 0)
        start = months[who] * MONTH_DAYS + rng.integers(15, 29, who.size)
        stop_after = rng.exponential(60, who.size) * MONTH_DAYS
        stop = start + stop_after
        end_day = leave[who] * MONTH_DAYS
        stop_date = _dates(stop).where(stop < end_day - 1, pd.NaT)
        exposures.append(
            pd.DataFrame(
                {
                    "patient_id": ids[who],
                    "drug_name": name,
                    "rxnorm_cui": None,
                    "drug_class": cls,
                    "dose_mg": 4.5 if cls == "ldn" else 0.025,
                    "frequency": "daily",
                    "time_of_day": "bedtime",
                    "formulation": "capsule",
                    "start_date": _dates(start),
                    "stop_date": stop_date,
                    "stop_reason": None,
                }
            )
        )
    exposures = pd.concat(exposures, ignore_index=True)
    exposures.insert(0, "id", np.arange(1, len(exposures) + 1))
    # adverse events: background rate, LDN multiplies it
    ae_p = np.where(on_month, 0.01 * truth.ae_ratio, 0.01)
    ai, am = np.nonzero(in_reg & (rng.random((n, MONTHS)) < ae_p))
    aes = pd.DataFrame(
        {
            "patient_id": ids[ai],
            "onset_date": _dates(am * MONTH_DAYS + 3),
            "term": np.where(rng.random(ai.size) < 0.5, "vivid_dreams", "headache"),
            "term_code": None,
            "free_text": None,
            "severity": "mild",
            "relationship": "possible",
            "outcome": "recovered",
        }
    )
    labs = pd.DataFrame(columns=["patient_id", "date", "loinc_code", "name", "value", "unit"])
    if with_labs:
        who = np.flatnonzero(ldn_month >= 6)
        before = (ldn_month[who] - 2) * MONTH_DAYS
        after = (ldn_month[who] + 3) * MONTH_DAYS
        value = rng.normal(1.8, 0.5, who.size)
        labs = pd.DataFrame(
            {
                "patient_id": np.r_[ids[who], ids[who]],
                "date": _dates(np.r_[before, after]),
                "loinc_code": "731-0",
                "name": "Lymphocytes",
                "unit": "10*3/uL",
                "value": np.r_[value, value + rng.normal(0, 0.3, who.size)],
            }
        )
    yob = rng.integers(1955, 1995, size=n)
    onset_years = rng.integers(1, 15, size=n)
    first_symptoms = _dates(np.full(n, 0.0) - onset_years * 365.25)
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "year_of_birth": yob,
            "sex": np.where(rng.random(n) < 0.7, "female", "male"),
            "phenotype": phen,
            "first_symptoms_date": first_symptoms,
            "diagnosis_date": first_symptoms,
            "clinician_id": None,
            "site_id": None,
        }
    )
    return {
        "patients": patients,
        "exposures": exposures,
        "relapses": relapses,
        "edss": edss,
        "questionnaires": questionnaires,
        "adverse_events": aes,
        "labs": labs,
    }
