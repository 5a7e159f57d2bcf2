"""'LDN started during the attack': the analysis rule against the domain's
``started_during_attack`` on a grid of small cases (docs/analysis.md, section 4)."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.analysis.outcomes.recovery import (
    EARLIER,
    TREATED,
    attack_status,
    course_starts,
    relapse_episodes,
)
from ldn_outcomes.analysis.plan import AnalysisPlan
from ldn_outcomes.domain.definitions.exposure import (
    ExposurePeriod,
    courses,
    started_during_attack,
)
from ldn_outcomes.domain.definitions.relapse import RelapseReport

EPOCH = dt.date(1970, 1, 1)
DAY0 = 19_000  # relapse onsets are DAY0 + 0 and DAY0 + 50
#: LDN exposures as (start, stop or None) in days after DAY0.
PATTERNS: list[list[tuple[int, int | None]]] = [
    [],
    [(-30, None)],  # on LDN before the onset
    [(-60, -10)],  # stopped before the onset
    [(0, None)],  # started on the onset day
    [(10, 40)],
    [(10, 40), (41, None)],  # touching: one course for both rules
    [(10, 40), (52, None)],  # 11-day gap: two courses for the domain, one with a 30-day gap
    [(-60, -20), (20, None)],  # a second course after the onset
    [(-60, -40), (-35, None)],
    [(-10, 5), (60, None)],
    [(10, 100), (20, 30)],  # overlapping
    [(100, 120), (45, 60)],  # listed out of order
    [(45, None)],
    [(100, None)],
    [(150, 200)],
]
RECOVERY = [None, 0, 10, 20, 45, 60, 100, 200]  # days after the onset
ONSETS = [0, 50]
DOMAIN_RULE = {"attack_course": "any", "ldn_course_gap_days": 1, "attack_max_days": None}


def _date(day: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def _cases() -> list[tuple[list[tuple[int, int | None]], int, int | None]]:
    return list(itertools.product(PATTERNS, ONSETS, RECOVERY))


def _frames(cases) -> dict[str, pd.DataFrame]:
    n = len(cases)
    ids = [f"p{i:04d}" for i in range(n)]
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "year_of_birth": 1980,
            "sex": "female",
            "phenotype": "RRMS",
            "first_symptoms_date": _date(DAY0 - 2000),
            "diagnosis_date": _date(DAY0 - 1900),
        }
    )
    exposures = [
        (pid, "naltrexone", "ldn", 4.5, _date(DAY0 + a), None if b is None else _date(DAY0 + b))
        for pid, (pattern, _, _) in zip(ids, cases, strict=True)
        for a, b in pattern
    ]
    relapses = [
        (
            pid,
            _date(DAY0 + onset),
            None if recovery is None else _date(DAY0 + onset + recovery),
            True,
            False,
        )
        for pid, (_, onset, recovery) in zip(ids, cases, strict=True)
    ]
    return {
        "patients": patients,
        "exposures": pd.DataFrame(
            exposures,
            columns=["patient_id", "drug_name", "drug_class", "dose_mg", "start_date", "stop_date"],
        ),
        "relapses": pd.DataFrame(
            relapses,
            columns=[
                "patient_id",
                "onset_date",
                "recovery_date",
                "lasted_24h",
                "fever_or_infection",
            ],
        ),
    }


def _domain(cases) -> list[bool | None]:
    out = []
    for pattern, onset, recovery in cases:
        exposures = [
            ExposurePeriod("naltrexone", _date(DAY0 + a), None if b is None else _date(DAY0 + b))
            for a, b in pattern
        ]
        report = RelapseReport(
            _date(DAY0 + onset), None if recovery is None else _date(DAY0 + onset + recovery)
        )
        (verdict,) = started_during_attack([report], exposures)
        out.append(verdict.started_during_attack)
    return out


def _analysis(cases, plan: AnalysisPlan) -> pd.DataFrame:
    data = prepare(_frames(cases), plan)
    assert len(data.relapses) == len(cases)  # one qualifying relapse per patient, in order
    assert (data.relapses["code"].to_numpy() == np.arange(len(cases))).all()
    return attack_status(data.relapses, data.exposures, data.patients["ldn_start"].to_numpy(), plan)


@pytest.mark.parametrize("unrecorded", ["ongoing", "complete_case"])
def test_domain_options_reproduce_the_domain_rule(unrecorded):
    """With any course, touching exposures joined and no bound, the analysis gives the domain's
    True/False everywhere; where the domain says None it decides by
    ``attack_unrecorded_recovery`` ("complete_case" also leaves it out of every group:
    ``test_recovery_missing.py``)."""
    cases = _cases()
    expected = _domain(cases)
    got = _analysis(cases, AnalysisPlan(**DOMAIN_RULE, attack_unrecorded_recovery=unrecorded))
    status = {True: "during", False: "not", None: "unknown"}
    assert list(got["status"]) == [status[v] for v in expected]
    decided = [v for v in expected if v is not None]
    assert list(got["treated"][[v is not None for v in expected]]) == decided
    unknown = got["treated"][[v is None for v in expected]]
    assert len(unknown) > 0 and (unknown == (unrecorded == "ongoing")).all()
    assert True in decided and False in decided


@pytest.mark.parametrize("unrecorded", ["complete_case", "ongoing"])
def test_default_plan_differs_only_as_documented(unrecorded):
    """Default plan (first course, 90-day bound) with either handling of an unrecorded
    recovery: where the domain's course is the first one and started within 90 days of the
    onset, the analysis agrees with every True/False and counts a None as treated only under
    "ongoing"; otherwise (a later course, or a start more than 90 days after the onset) the
    relapse is not treated."""
    cases = _cases()
    expected = _domain(cases)
    plan = AnalysisPlan(attack_unrecorded_recovery=unrecorded)
    got = _analysis(cases, plan)
    kinds = {"same": 0, "later course": 0, "late start": 0}
    for (pattern, onset, recovery), verdict, treated in zip(
        cases, expected, got["treated"], strict=True
    ):
        exposures = [
            ExposurePeriod("naltrexone", _date(DAY0 + a), None if b is None else _date(DAY0 + b))
            for a, b in pattern
        ]
        starts = [(s - _date(DAY0 + onset)).days for s, _ in courses(exposures)]
        after = [s for s in starts if s >= 0]
        case = (pattern, onset, recovery, verdict)
        if not after:
            assert verdict is False and not treated, case
        elif after[0] != starts[0]:
            kinds["later course"] += 1
            assert not treated, case
        elif after[0] > plan.attack_max_days:
            kinds["late start"] += 1
            assert not treated, case
        else:
            kinds["same"] += 1
            assert treated == (unrecorded == "ongoing" if verdict is None else verdict), case
    assert min(kinds.values()) > 0, kinds


def test_course_starts_equal_domain_courses_with_a_one_day_gap():
    cases = _cases()
    data = prepare(_frames(cases), AnalysisPlan())
    starts = course_starts(data.exposures, "ldn", 1)
    for code, (pattern, _, _) in enumerate(cases):
        exposures = [
            ExposurePeriod("naltrexone", _date(DAY0 + a), None if b is None else _date(DAY0 + b))
            for a, b in pattern
        ]
        ours = [_date(d) for d in starts.loc[starts["code"] == code, "start"]]
        assert ours == [s for s, _ in courses(exposures)], pattern


def test_recovery_on_the_start_day_is_during_the_attack():
    """onset <= start <= recovery, inclusive at both ends, as in the domain."""
    cases = [([(0, None)], 0, 0), ([(20, None)], 0, 20), ([(21, None)], 0, 20)]
    assert _domain(cases) == [True, True, False]
    assert list(_analysis(cases, AnalysisPlan())["treated"]) == [True, True, False]


def test_days_before_the_start_count_off_ldn():
    """A treated attack that began before the first start adds its days up to the start to the
    "before LDN" group, censored there (time-dependent exposure); one that recovered on the
    start day has no time on LDN and counts as a recovery off LDN on that day."""
    cases = [([(20, None)], 0, 60), ([(20, None)], 0, 20), ([(0, None)], 0, 30)]
    plan = AnalysisPlan()
    data = prepare(_frames(cases), plan)
    got = relapse_episodes(data, plan, None).sort_values(["code", "group"])
    rows = [
        tuple(r)
        for r in got[["code", "group", "days", "event", "entry", "before_start"]].itertuples(
            index=False
        )
    ]
    assert rows == [
        (0, TREATED, 60.0, True, 20.0, False),
        (0, EARLIER, 20.0, False, 0.0, True),
        (1, EARLIER, 20.0, True, 0.0, True),
        (2, TREATED, 30.0, True, 0.0, False),
    ]
