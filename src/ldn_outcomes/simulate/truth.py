"""The ground-truth manifest: seed, every parameter, and each patient's latent values.

Written as JSON with per-patient values column-wise (one list per field, in patient order), so
an analysis can be scored against what really happened: the effect each patient really had,
their true relapse and worsening counts, time at risk and on LDN, dropout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .history import History

FORMAT = "ldn-outcomes-simulation-truth/1"


def _day_text(days: np.ndarray, limit: int) -> list[str | None]:
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()
    return [t if d < limit else None for t, d in zip(text, days.tolist(), strict=True)]


def _rounded(values: np.ndarray, digits: int = 6) -> list[float]:
    return np.round(values.astype(float), digits).tolist()


def build_truth(h: History, patient_ids: list[str]) -> dict[str, Any]:
    c = h.cohort
    never = int(h.bounds[-1])
    drugs = list(h.params.dmt.drugs)
    ldn_pid, ldn_start, _ = h.ldn
    supp_pid, _, _ = h.supplement
    patients = {
        "patient_id": patient_ids,
        "female": c.female.tolist(),
        "relapsing_onset": (~c.ppms).tolist(),
        "onset_age": _rounded(c.onset_age, 2),
        "onset_date": _day_text(c.onset_day, never),
        "entry_date": _day_text(c.entry_day, never),
        "exit_date": _day_text(h.exit_day, never + 1),
        "dropped_out": h.dropped.tolist(),
        "spms_date": _day_text(np.minimum(c.sp_day, never), never),
        "edss_latent_entry": c.edss_entry.tolist(),
        "edss_latent_exit": h.edss_exit.tolist(),
        "relapse_frailty": _rounded(c.frailty),
        "fatigue_usual_level_sd": _rounded(c.fatigue_trait),
        "responder_score": _rounded(c.responder_z),
        "effect_relapse_rate_ratio": _rounded(c.effect_rr),
        "effect_progression_hazard_ratio": _rounded(c.effect_hr),
        "effect_fatigue_mfis_points": _rounded(c.effect_fatigue_points),
        "effect_relapse_recovery_ratio": _rounded(c.effect_recovery),
        "adherence": _rounded(c.adherence),
        "checkin_user": c.checkin_user.tolist(),
        "pro_reporter": c.pro_reporter.tolist(),
        "dmt": [drugs[d] if d >= 0 else None for d in c.dmt_drug.tolist()],
        "years_at_risk": _rounded(h.years_at_risk),
        "years_on_ldn": _rounded(h.years_on_ldn),
        "true_relapses": h.relapses_true.tolist(),
        "true_relapses_on_ldn": h.relapses_on_ldn.tolist(),
        "pira_events": h.pira_events.tolist(),
        "pira_events_on_ldn": h.pira_events_on_ldn.tolist(),
        "ldn_courses": np.bincount(ldn_pid, minlength=c.n).tolist(),
        "supplement_courses": np.bincount(supp_pid, minlength=c.n).tolist(),
    }
    started = np.zeros(c.n, dtype=bool)
    started[ldn_pid] = True
    summary = {
        "patients": c.n,
        "ever_on_ldn": int(started.sum()),
        "ldn_courses": int(ldn_start.size),
        "mean_effect_relapse_rate_ratio_ldn_users": _mean(c.effect_rr[started]),
        "mean_effect_progression_hazard_ratio_ldn_users": _mean(c.effect_hr[started]),
        "mean_effect_fatigue_points_ldn_users": _mean(c.effect_fatigue_points[started]),
        "true_relapses": int(h.relapses_true.sum()),
        "pira_events": int(h.pira_events.sum()),
        "dropped_out": int(h.dropped.sum()),
    }
    return {
        "format": FORMAT,
        "seed": h.params.seed,
        "end_date": h.params.end_date.isoformat(),
        "parameters": h.params.to_dict(),
        "summary": summary,
        "patients": patients,
    }


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 6) if values.size else None


def write_truth(truth: dict[str, Any], path: Path | str) -> Path:
    """Deterministic JSON (sorted keys, fixed separators)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(truth, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    return path


def read_truth(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
