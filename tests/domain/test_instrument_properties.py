"""Properties of scoring: bounds, monotonicity of fatigue scores, blanks never read as 0."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldn_outcomes.domain.instruments import get_instrument, score
from ldn_outcomes.errors import ValidationFailed

FATIGUE = ["mfis", "mfis5", "fss", "nrs-fatigue"]


def answers_for(instrument_id: str) -> st.SearchStrategy[list[int]]:
    items = get_instrument(instrument_id).items
    return st.tuples(*(st.integers(int(i.min), int(i.max)) for i in items)).map(list)


@pytest.mark.parametrize("instrument_id", FATIGUE + ["pdds"])
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_total_within_published_range(instrument_id: str, data: st.DataObject) -> None:
    definition = get_instrument(instrument_id)
    result = score(instrument_id, data.draw(answers_for(instrument_id)))
    assert definition.total_range is not None and result.total is not None
    low, high = definition.total_range
    assert low <= result.total <= high
    if definition.subscales:
        assert sum(result.subscales.values()) == result.total


@pytest.mark.parametrize("instrument_id", FATIGUE)
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_raising_one_answer_never_lowers_fatigue(instrument_id: str, data: st.DataObject) -> None:
    definition = get_instrument(instrument_id)
    answers = data.draw(answers_for(instrument_id))
    index = data.draw(st.integers(0, len(answers) - 1))
    ceiling = int(definition.items[index].max)
    raised = list(answers)
    raised[index] = data.draw(st.integers(answers[index], ceiling))
    before, after = score(instrument_id, answers), score(instrument_id, raised)
    assert after.total is not None and before.total is not None
    assert after.total >= before.total
    for name in before.subscales:
        assert after.subscales[name] >= before.subscales[name]


@pytest.mark.parametrize("instrument_id", ["mfis", "mfis5", "fss"])
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_a_blank_is_never_scored_as_zero(instrument_id: str, data: st.DataObject) -> None:
    answers: list[int | None] = list(data.draw(answers_for(instrument_id)))
    answers[data.draw(st.integers(0, len(answers) - 1))] = None
    with pytest.raises(ValidationFailed, match="blank"):
        score(instrument_id, answers)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=2, max_size=2),
)
def test_checkin_records_exactly_the_answered_items(
    ratings: list[int | None], flags: list[bool | None]
) -> None:
    answers: list[int | float | None] = [*ratings, *flags]
    result = score("checkin", answers)
    keys = ["fatigue", "spasms", "sleep", "vivid_dreams", "dose_taken"]
    assert set(result.subscales) == {k for k, v in zip(keys, answers, strict=True) if v is not None}
