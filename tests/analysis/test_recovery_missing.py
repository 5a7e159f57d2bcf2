"""Relapses without a recovery date (docs/analysis.md, section 4): on the synthetic registry of
``synth.py`` LDN has no effect on recovery and 15% of recovery dates are missing at random, so
a missing date says nothing about how long the attack lasted."""

from __future__ import annotations

import pytest

from ldn_outcomes.analysis.data.cohorts import exposure_cohort
from ldn_outcomes.analysis.matching.match import MatchResult, match_users
from ldn_outcomes.analysis.outcomes.recovery import (
    CONTROLS,
    EARLIER,
    TREATED,
    analyse_recovery,
    relapse_episodes,
)
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.analysis.results import AnalysisResult

VS_CONTROLS = f"hazard ratio of recovery, LDN during attack vs {CONTROLS}"
VS_EARLIER = f"hazard ratio of recovery, LDN during attack vs {EARLIER}"


@pytest.fixture(scope="module")
def matched(null_data) -> MatchResult:
    plan = AnalysisPlan()
    return match_users(null_data, plan, exposure_cohort(null_data, plan))


def _run(null_data, matched: MatchResult, handling: str) -> AnalysisResult:
    plan = AnalysisPlan(attack_unrecorded_recovery=handling)
    return analyse_recovery(null_data, plan, matched)


def test_the_registry_has_missing_recovery_dates(null_frames):
    missing = null_frames["relapses"]["recovery_date"].isna().mean()
    assert 0.13 < missing < 0.17


def test_complete_case_covers_no_effect_where_ongoing_does_not(null_data, matched):
    """Default (complete case): both hazard ratios cover 1. Reading a missing date as "not
    recovered by the last contact" puts every such relapse with an LDN start within 90 days
    into the treated group and finds slower recovery on LDN that is not there."""
    default = analyse_recovery(null_data, AnalysisPlan(), matched)
    assert AnalysisPlan().attack_unrecorded_recovery == "complete_case"
    for label in (VS_CONTROLS, VS_EARLIER):
        hr = default.estimate(label)
        assert hr.ci_low <= 1.0 <= hr.ci_high, (label, hr)
    ongoing = _run(null_data, matched, "ongoing").estimate(VS_CONTROLS)
    assert ongoing.ci_high < 1.0, ongoing


def test_left_out_relapses_are_counted_per_group(null_data, matched):
    plan = AnalysisPlan()
    episodes = relapse_episodes(null_data, plan, matched)
    unrecorded = episodes[~episodes["recorded"]].drop_duplicates("relapse")
    result = analyse_recovery(null_data, plan, matched)
    by_group = result.details["without_recovery_date"]["by_group"]
    assert by_group == {
        name: int((unrecorded["group"] == name).sum()) for name in (TREATED, EARLIER, CONTROLS)
    }
    assert min(by_group.values()) > 0
    total = result.population["relapses_without_recovery_date"]
    assert total == len(unrecorded) == sum(by_group.values())
    treated = episodes[episodes["group"] == TREATED]
    assert result.population["relapses_treated"] == int(treated["recorded"].sum())
    caveat = next(c for c in result.caveats if "complete-case" in c)
    assert f"{total} relapses without a recorded recovery date" in caveat
    assert "missing independently of how long recovery took" in caveat


def test_ongoing_keeps_every_relapse_and_says_so(null_data, matched):
    default = analyse_recovery(null_data, AnalysisPlan(), matched)
    ongoing = _run(null_data, matched, "ongoing")
    left_out = default.details["without_recovery_date"]["by_group"]
    assert (
        ongoing.population["relapses_treated"]
        == default.population["relapses_treated"] + left_out[TREATED]
    )
    assert ongoing.details["without_recovery_date"]["handling"] == "ongoing"
    assert any("read as not recovered" in c for c in ongoing.caveats)


def test_recovery_curves_are_compared_by_a_log_rank_test(null_data, matched):
    result = analyse_recovery(null_data, AnalysisPlan(), matched)
    tests = result.details["logrank"]
    assert tests and all(t["df"] == 1 and 0 <= t["p_value"] <= 1 for t in tests)
    assert {t["label"].split(" vs ")[1] for t in tests} <= {CONTROLS, EARLIER}


def test_recovery_curves_count_people_not_attacks(null_data, matched):
    """A curve's counts are what the disclosure rule cuts on: the people behind each group's
    attacks, never more, though their attacks are more (numerics/people_at_risk.py)."""
    plan = AnalysisPlan()
    result = analyse_recovery(null_data, plan, matched)
    episodes = relapse_episodes(null_data, plan, matched)
    for name, points in result.details["curves"].items():
        group = episodes[episodes["group"] == name]
        people, attacks = group["code"].nunique(), len(group)
        assert max(p[4] for p in points) <= people
        assert sum(p[5] for p in points) <= people
        assert attacks > people or name == TREATED


def test_each_hazard_ratio_counts_people_and_names_its_relapses(null_data, matched):
    """A row per attack: the estimate's n is the people behind it (disclosure reads n as
    people), the note the relapses."""
    plan = AnalysisPlan()
    episodes = relapse_episodes(null_data, plan, matched)
    episodes = episodes[episodes["recorded"]]
    result = analyse_recovery(null_data, plan, matched)
    for label, other in ((VS_CONTROLS, CONTROLS), (VS_EARLIER, EARLIER)):
        part = episodes[episodes["group"].isin([TREATED, other])]
        hr = result.estimate(label)
        assert hr.n == part["code"].nunique() < len(part)
        assert f"events in {len(part)} relapses" in hr.note


def test_intervals_rest_on_the_patients_of_the_treated_relapses(null_data, matched):
    """The default reads the recovery hazard ratios on Student's t with (patients of the
    treated relapses - 1) degrees of freedom: the same estimate and SE as the normal
    reference, the interval wider by t/z (AnalysisPlan.recovery_reference)."""
    from math import log

    from scipy.stats import norm, t

    assert AnalysisPlan().recovery_reference == "t"
    default = analyse_recovery(null_data, AnalysisPlan(), matched)
    normal = analyse_recovery(null_data, AnalysisPlan(recovery_reference="normal"), matched)
    episodes = relapse_episodes(null_data, AnalysisPlan(), matched)
    episodes = episodes[episodes["recorded"]]
    people = episodes.loc[episodes["group"] == TREATED, "code"].nunique()
    for label in (VS_CONTROLS, VS_EARLIER):
        wide, plain = default.estimate(label), normal.estimate(label)
        assert wide.value == plain.value
        widening = (log(wide.ci_high) - log(wide.ci_low)) / (log(plain.ci_high) - log(plain.ci_low))
        assert widening == pytest.approx(t.ppf(0.975, people - 1) / norm.ppf(0.975), rel=1e-9)
        assert f"{people - 1} degrees of freedom" in wide.note
    assert "Student's t" in default.method and "Student's t" not in normal.method
