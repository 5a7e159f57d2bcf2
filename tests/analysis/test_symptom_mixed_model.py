"""The symptom mixed model, ``score ~ C(month) * ldn + (1 | person)``, has one random intercept
per person: with matching with replacement a control (or a user who was an earlier user's
control) is several cohort rows of one person, and those rows are not independent people."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from ldn_outcomes.analysis.outcomes import symptoms
from ldn_outcomes.analysis.plan import AnalysisPlan


def _cohort_rows(seed: int = 5) -> pd.DataFrame:
    """40 users and 30 controls, 10 of whom were matched twice (two rows, same person); scores
    at 0, 3, 6 and 12 months with a person effect."""
    rng = np.random.default_rng(seed)
    people = [f"u{i}" for i in range(40)] + [f"c{i}" for i in range(30)]
    rows = people + [f"c{i}" for i in range(10)]  # the reused controls
    person_effect = {p: rng.normal(0, 8) for p in people}
    frame = pd.DataFrame({"code": rows, "ldn": [1 if r.startswith("u") else 0 for r in rows]})
    for month in (0, 3, 6, 12):
        frame[f"m{month}"] = [
            40 + person_effect[r] - 2.0 * (month == 12) * (r.startswith("u")) + rng.normal(0, 4)
            for r in rows
        ]
    return frame


def test_one_random_intercept_per_person(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _cohort_rows()
    seen: list[int] = []
    fit_model = smf.mixedlm

    def spy(formula, data, groups):
        seen.append(int(pd.Series(groups).nunique()))
        return fit_model(formula, data, groups=groups)

    monkeypatch.setattr(symptoms.smf, "mixedlm", spy)
    estimate = symptoms._mixed_model(frame, AnalysisPlan(), 12)
    assert seen == [frame["code"].nunique()] == [70]  # not the 80 cohort rows
    assert estimate.n == len(frame)  # the rows compared
    assert estimate.ci_low < estimate.value < estimate.ci_high
