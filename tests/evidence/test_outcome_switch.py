"""COMPare-style flags for registered vs published primary outcomes."""

from __future__ import annotations

from ldn_outcomes.domain.evidence import Study, TrialRecord
from ldn_outcomes.evidence.outcome_switch import (
    OutcomeText,
    SwitchFlag,
    assess_study,
    compare_outcomes,
    time_points,
)

QOL = OutcomeText("MSQLI quality of life composite score", "8 weeks")
FATIGUE = OutcomeText("Modified Fatigue Impact Scale total", "8 weeks")
SAFETY = OutcomeText("number of adverse events and tolerability", "6 months")


def test_same_outcome_same_time_is_no_switch() -> None:
    assert compare_outcomes(
        [QOL], [OutcomeText("quality of life MSQLI composite", "week 8")]
    ).flags == [SwitchFlag.NONE]


def test_demoted_dropped_added_and_promoted() -> None:
    demoted = compare_outcomes([QOL], [SAFETY], published_secondary=[QOL])
    assert SwitchFlag.DEMOTED in demoted.flags and SwitchFlag.ADDED in demoted.flags
    dropped = compare_outcomes([QOL], [SAFETY])
    assert SwitchFlag.DROPPED in dropped.flags
    promoted = compare_outcomes([QOL], [QOL, SAFETY], registered_secondary=[SAFETY])
    assert promoted.flags == [SwitchFlag.PROMOTED]
    assert any("registered as secondary" in f for f in promoted.findings)


def test_changed_time_point() -> None:
    result = compare_outcomes(
        [OutcomeText("MFIS fatigue", "12 weeks")], [OutcomeText("fatigue MFIS", "6 months")]
    )
    assert result.flags == [SwitchFlag.CHANGED_TIMEPOINT]
    assert time_points("12 weeks and 6 months") == {84.0, 182.6}


def test_nothing_to_compare() -> None:
    assert compare_outcomes([], [QOL]).flags == [SwitchFlag.NOT_ASSESSABLE]


def test_curated_verdict_takes_precedence() -> None:
    study = Study(
        id="s",
        outcome_switch={
            "flag": "demoted",
            "explanation": "why",
            "sources": ["https://example.org/registry"],
        },
    )
    verdict = assess_study(study)
    assert verdict.flags == [SwitchFlag.DEMOTED] and verdict.method.startswith("curated")
    assert verdict.findings == ["why"]


def test_automatic_check_from_registry_record() -> None:
    trial = TrialRecord(
        nct_id="NCT00000000",
        title="t",
        primary_outcomes=[
            {"measure": "MSQLI quality of life composite score", "time_frame": "8 weeks"}
        ],
    )
    study = Study(
        id="s",
        outcomes=[
            {"name": "SF-36 mental component", "primary": True},
            {"name": "MSQLI quality of life composite", "primary": False},
        ],
    )
    verdict = assess_study(study, trial)
    assert verdict.method == "automatic"
    assert set(verdict.flags) == {SwitchFlag.DEMOTED, SwitchFlag.ADDED}
    assert assess_study(Study(id="t")).flags == [SwitchFlag.NOT_ASSESSABLE]


def test_shipped_curated_flags_are_known() -> None:
    from ldn_outcomes.evidence.catalogue import load_catalogue

    for study in load_catalogue().studies:
        if study.outcome_switch and study.outcome_switch.flag:
            assert assess_study(study).flags, study.id
