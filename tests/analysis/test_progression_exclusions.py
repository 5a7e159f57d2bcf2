"""Each LDN user left out of the progression analysis is left out for its true reason."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ldn_outcomes.analysis.outcomes.progression import (
    NO_BASELINE,
    NO_EDSS_AFTER,
    NO_EDSS_AFTER_REFERENCE,
    NO_REFERENCE_AFTER,
    WORSENED_BEFORE_START,
    endpoints,
)
from ldn_outcomes.analysis.plan import AnalysisPlan


def _example() -> tuple[SimpleNamespace, pd.DataFrame]:
    edss = pd.DataFrame(
        {
            "code": [0, 0, 0, 0, 1, 2, 2, 3, 3, 3],
            "day": [0.0, 100, 250, 400, 0, 200, 900, 0, 300, 600],
            "score": [2.0, 3.5, 3.5, 3.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
        }
    )
    relapses = pd.DataFrame({"code": [0], "onset": [90.0], "recovery": [np.nan]})
    cohort = pd.DataFrame(
        {
            "code": [0, 1, 2, 3],
            "index_day": [150.0, 300, 50, 300],
            "end_day": [900.0, 900, 900, 900],
            "group": "ldn",
            "match_id": [0, 1, 2, 3],
            "weight": 1.0,
            "end_reason": "end",
        }
    )
    return SimpleNamespace(edss=edss, relapses=relapses), cohort


def test_reference_after_the_start_and_its_exclusions() -> None:
    """Default reference: the first valid EDSS after the start. Patient 0's is day 250 (no
    worsening after it), patient 1 has none, patient 2's is day 200 (follow-up entered 150
    days after the start), patient 3's is day 600 (the visit on the start day is not after it)
    with no later score."""
    data, cohort = _example()
    ep = endpoints(data, AnalysisPlan(), cohort)  # type: ignore[arg-type]
    assert list(ep["excluded"]) == ["", NO_REFERENCE_AFTER, "", NO_EDSS_AFTER_REFERENCE]
    assert list(ep["usable"]) == [True, False, True, False]
    assert not ep["event"].iloc[0]
    assert np.isclose(ep["entry"].iloc[0], 100 / 365.25)
    assert np.isclose(ep["entry"].iloc[2], 150 / 365.25)
    assert np.isclose(ep["years"].iloc[2], 850 / 365.25)


def test_worsening_between_baseline_and_start_is_named_as_such() -> None:
    # Regression: patient 0's last EDSS before the start (day 100) is within 30 days after a
    # relapse, so the baseline is day 0; the worsening seen on day 100 is confirmed on day
    # 250, after the start on day 150. It was dropped as "lacked an EDSS score".
    edss = pd.DataFrame(
        {
            "code": [0, 0, 0, 0, 1, 2, 2, 3, 3, 3],
            "day": [0.0, 100, 250, 400, 0, 200, 900, 0, 300, 600],
            "score": [2.0, 3.5, 3.5, 3.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
        }
    )
    relapses = pd.DataFrame({"code": [0], "onset": [90.0], "recovery": [np.nan]})
    cohort = pd.DataFrame(
        {
            "code": [0, 1, 2, 3],
            "index_day": [150.0, 300, 50, 300],
            "end_day": [900.0, 900, 900, 900],
            "group": "ldn",
            "match_id": [0, 1, 2, 3],
            "weight": 1.0,
            "end_reason": "end",
        }
    )
    data = SimpleNamespace(edss=edss, relapses=relapses)
    plan = AnalysisPlan(
        cdw_reference="last_before_start", cdw_rebaseline_after_prestart_relapse=False
    )
    ep = endpoints(data, plan, cohort)  # type: ignore[arg-type]
    assert list(ep["excluded"]) == [WORSENED_BEFORE_START, NO_EDSS_AFTER, NO_BASELINE, ""]
    assert list(ep["usable"]) == [False, False, False, True]
    assert np.isfinite(ep["years"].iloc[3])
