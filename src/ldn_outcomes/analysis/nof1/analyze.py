"""One trial's full analysis: estimate, randomisation test, Bayesian model and conclusion."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ...domain.nof1 import Allocation, NOf1Design
from .bayes import DEFAULT_PRIOR, Posterior, Prior, fit
from .conclusion import Conclusion, conclude
from .data import adherence_by_period, lay_out, pair_matrix, period_means
from .estimate import PairedEstimate, pair_differences, paired_estimate
from .randomisation import RandomisationTest, randomisation_test


@dataclass(frozen=True)
class TrialAnalysis:
    design: NOf1Design
    allocation: Allocation
    days: pd.DataFrame
    periods: pd.DataFrame
    adherence: pd.DataFrame
    estimate: PairedEstimate
    randomisation: RandomisationTest
    posterior: Posterior
    conclusion: Conclusion
    #: (last day, reason) of a trial stopped before its planned end, else None.
    stopped: tuple[dt.date, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        spec = self.design.outcome_spec
        low, high = self.posterior.interval(0.95)
        periods = self.periods.merge(self.adherence, on="period", how="left")
        return {
            "trial_id": self.design.trial_id,
            "patient_id": self.design.patient_id,
            "outcome": self.design.outcome,
            "outcome_label": spec.label,
            "direction": spec.direction_word,
            "mcid": self.design.mcid,
            "allocation": ["ldn first" if a else "placebo first" for a in self.allocation],
            "stopped_on": self.stopped[0].isoformat() if self.stopped else None,
            "stop_reason": self.stopped[1] if self.stopped else None,
            "periods": [
                {
                    "period": int(r.period),
                    "pair": int(r.pair),
                    "treatment": r.treatment,
                    "mean": None if pd.isna(r.mean) else float(r.mean),
                    "days_analysed": int(r.count),
                    "adherence": None if pd.isna(r.adherence) else float(r.adherence),
                    "days_dose_logged": int(r.days_logged),
                }
                for r in periods.itertuples()
            ],
            "estimate": self.estimate.as_dict(),
            "randomisation_test": self.randomisation.as_dict(),
            "bayes": {
                "model": "y = b0 + b1*trend + delta*LDN + period shift + AR(1) error (gaps exact)",
                "prior": self.posterior.prior.describe(),
                "effect_mean": self.posterior.mean,
                "effect_interval_95": [low, high],
                "rho_mean": self.posterior.rho_mean,
                "days_analysed": self.posterior.n_days,
            },
            "conclusion": self.conclusion.as_dict(),
        }


def analyse_layout(
    design: NOf1Design,
    allocation: Allocation,
    days: pd.DataFrame,
    doses: pd.Series | None = None,
    prior: Prior = DEFAULT_PRIOR,
) -> TrialAnalysis:
    matrix, ldn_first = pair_matrix(days)
    estimate = paired_estimate(pair_differences(matrix, ldn_first))
    test = randomisation_test(matrix, ldn_first)
    used = days[~days["washout"] & days["value"].notna()]
    posterior = fit(
        used["day"].to_numpy(),
        (used["treatment"] == "ldn").to_numpy(dtype=float),
        used["value"].to_numpy(dtype=float),
        prior,
        period=used["period"].to_numpy(),
    )
    conclusion = conclude(posterior, design.outcome_spec, design.mcid)
    adherence = adherence_by_period(design, doses if doses is not None else pd.Series(dtype=float))
    return TrialAnalysis(
        design,
        allocation,
        days,
        period_means(days),
        adherence,
        estimate,
        test,
        posterior,
        conclusion,
    )


def analyse(
    design: NOf1Design,
    allocation: Allocation,
    values: pd.Series,
    doses: pd.Series | None = None,
    prior: Prior = DEFAULT_PRIOR,
    stopped: tuple[dt.date, str] | None = None,
) -> TrialAnalysis:
    """Analyse one unblinded trial from its daily outcome values (indexed by date); a trial
    ``stopped`` early (last day, reason) only on the days up to its last day."""
    days = lay_out(design, allocation, values, stopped[0] if stopped else None)
    analysis = analyse_layout(design, allocation, days, doses, prior)
    return replace(analysis, stopped=stopped)


def chart_points(analysis: TrialAnalysis) -> list[dict[str, Any]]:
    """Daily values with their period and treatment, for a chart coloured by period."""
    out = []
    for row in analysis.days.itertuples():
        out.append(
            {
                "date": row.date.isoformat(),
                "day": int(row.day),
                "period": int(row.period),
                "treatment": row.treatment,
                "washout": bool(row.washout),
                "value": None if np.isnan(row.value) else float(row.value),
            }
        )
    return out
