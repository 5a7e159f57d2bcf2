"""Each LDN user left out of the progression analysis is left out for its true reason."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis.outcomes.progression import (
    ENDED_BEFORE_REFERENCE,
    NO_BASELINE,
    NO_BASELINE_AFTER_RELAPSE,
    NO_EDSS_AFTER,
    NO_EDSS_AFTER_REFERENCE,
    NO_REFERENCE_AFTER,
    WORSENED_BEFORE_START,
    _worst_case,
    endpoints,
)
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.errors import ValidationFailed


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
    data, cohort = _example()
    plan = AnalysisPlan(
        cdw_reference="last_before_start", cdw_rebaseline_after_prestart_relapse=False
    )
    ep = endpoints(data, plan, cohort)  # type: ignore[arg-type]
    assert list(ep["excluded"]) == [WORSENED_BEFORE_START, NO_EDSS_AFTER, NO_BASELINE, ""]
    assert list(ep["usable"]) == [False, False, False, True]
    assert np.isfinite(ep["years"].iloc[3])


def test_reference_before_the_start_moved_past_a_relapse() -> None:
    """With the reference before the start and the re-baseline on: patient 0's relapse on day
    90 (after its day-0 score, before its day-150 start) moves the reference to day 250,
    after the start, so follow-up enters there and the step seen from day 100 on is not an
    outcome. A relapse with no valid score after it within follow-up leaves no reference."""
    data, cohort = _example()
    plan = AnalysisPlan(cdw_reference="last_before_start")
    ep = endpoints(data, plan, cohort)  # type: ignore[arg-type]
    assert ep["usable"].iloc[0] and not ep["event"].iloc[0]
    assert np.isclose(ep["entry"].iloc[0], 100 / 365.25)
    short = cohort.assign(end_day=[200.0, 900, 900, 900])
    ep = endpoints(data, plan, short)  # type: ignore[arg-type]
    assert ep["excluded"].iloc[0] == NO_BASELINE_AFTER_RELAPSE


def test_follow_up_that_ended_early_is_named_and_counts_in_the_worst_case() -> None:
    """Users who stopped LDN before an EDSS after the start have no reference: the reason
    says that follow-up ended, and the worst case counts them as progressed when they
    stopped."""
    data, cohort = _example()
    stopped = cohort.assign(
        end_day=[200.0, 400, 900, 900], end_reason=["stopped", "lost", "end", "end"]
    )
    ep = endpoints(data, AnalysisPlan(), stopped)  # type: ignore[arg-type]
    assert ep["excluded"].iloc[0] == ENDED_BEFORE_REFERENCE
    assert ep["excluded"].iloc[1] == ENDED_BEFORE_REFERENCE
    ok = ep[ep["usable"]]
    years, event, entry = _worst_case(ok, ep)
    assert len(years) == len(ok) + 2
    assert event[-2:].all() and (entry[-2:] == 0).all()
    assert np.allclose(sorted(years[-2:]), [50 / 365.25, 100 / 365.25])


def test_plan_refuses_a_reference_rule_it_cannot_run() -> None:
    with pytest.raises(ValidationFailed, match="cdw_reference"):
        AnalysisPlan(cdw_reference="bogus")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="cdw_baseline_lookback_days"):
        AnalysisPlan(cdw_baseline_lookback_days=0)
    AnalysisPlan(cdw_reference="last_before_start", cdw_baseline_lookback_days=0)
