"""Check-in items are looked up by key, from the instrument definition."""

from __future__ import annotations

import pytest

from ldn_outcomes.domain.checkin import (
    CHECKIN_SCALES,
    checkin_answer,
    checkin_keys,
    checkin_position,
    scale_positions,
)
from ldn_outcomes.domain.instruments import get_instrument
from ldn_outcomes.domain.nof1 import OUTCOMES
from ldn_outcomes.errors import NotFound


def test_positions_follow_the_definition() -> None:
    items = get_instrument("checkin").items
    assert checkin_keys() == tuple(i.key for i in items)
    for position, item in enumerate(items):
        assert checkin_position(item.key) == position
        assert item.number == position + 1


def test_answer_by_key_keeps_blanks_blank() -> None:
    answers = [7.0, None, 4.0]
    assert checkin_answer(answers, "fatigue") == 7.0
    assert checkin_answer(answers, "spasms") is None
    assert checkin_answer(answers, "dose_taken") is None  # absent: not 0
    assert checkin_answer(None, "fatigue") is None


def test_unknown_key_is_named() -> None:
    with pytest.raises(NotFound, match="no item 'pain'"):
        checkin_position("pain")


def test_scales_and_trial_outcomes_use_keys() -> None:
    assert set(scale_positions().values()) == set(CHECKIN_SCALES.values())
    for spec in OUTCOMES.values():
        assert checkin_keys()[spec.item_index] == spec.item_key
