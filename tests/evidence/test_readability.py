"""Reading age of the plain-language summaries (Flesch-Kincaid grade, Kincaid et al. 1975)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldn_outcomes.evidence.catalogue import load_catalogue
from ldn_outcomes.evidence.readability import measure, syllables

#: A reading age of about 12 (US grade 7) is the aim for every plain summary.
MAX_GRADE = 7.0


def test_the_published_platypus_example() -> None:
    """Wikipedia's Flesch-Kincaid article (copy: https://wikisum.wiki/wiki/
    Flesch%E2%80%93Kincaid_Readability_Test): 13 words, 24 syllables, grade 11.3."""
    r = measure("The Australian platypus is seemingly a hybrid of a mammal and reptilian creature.")
    assert (r.words, r.sentences, r.syllables) == (13, 1, 24)
    assert round(r.grade, 1) == 11.3


def test_the_formula_from_counts() -> None:
    """0.39 x words/sentences + 11.8 x syllables/words - 15.59, checked by hand: 100 words,
    10 sentences, 150 syllables give 3.9 + 17.7 - 15.59 = 6.01."""
    from ldn_outcomes.evidence.readability import Readability

    assert Readability(words=100, sentences=10, syllables=150).grade == pytest.approx(6.01)


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("the", 1),
        ("pill", 1),
        ("naltrexone", 3),
        ("multiple", 3),
        ("creature", 2),
        ("tired", 1),
        ("started", 2),
        ("people", 2),
        ("dummy", 2),
        ("sclerosis", 3),
    ],
)
def test_syllables(word: str, count: int) -> None:
    assert syllables(word) == count


def test_decimals_do_not_split_sentences() -> None:
    assert measure("Pain fell 1.3 points. It was small.").sentences == 2


@given(st.text(max_size=300))
def test_any_text_is_measured_without_error(text: str) -> None:
    r = measure(text)
    assert r.words >= 0 and r.syllables >= r.words and r.sentences <= max(r.words, 1) + 300


def test_every_plain_summary_is_at_or_below_a_reading_age_of_twelve() -> None:
    for study in load_catalogue().studies:
        text = (study.model_extra or {}).get("plain_summary")
        assert text, f"{study.id} has no plain summary"
        assert measure(text).grade <= MAX_GRADE, (study.id, round(measure(text).grade, 1))
