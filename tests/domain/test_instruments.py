"""Reference vectors for every shipped instrument; expected numbers cite their source."""

from __future__ import annotations

import math

import pytest

from ldn_outcomes.domain.instruments import get_instrument, list_instruments, score
from ldn_outcomes.errors import NotFound, ValidationFailed

# Item -> subscale mapping as published by the NINDS CDE MFIS page (after the MSQLI manual):
# https://www.commondataelements.ninds.nih.gov/report-viewer/25235/ - an independent copy of
# the table so that a typo in the data file cannot also hide in the test.
MFIS_PHYSICAL = {4, 6, 7, 10, 13, 14, 17, 20, 21}
MFIS_COGNITIVE = {1, 2, 3, 5, 11, 12, 15, 16, 18, 19}
MFIS_PSYCHOSOCIAL = {8, 9}


def test_mfis_all_twos() -> None:
    # 21 items x 2 = 42; physical 9 items, cognitive 10, psychosocial 2 (NINDS CDE table).
    result = score("mfis", [2] * 21)
    assert result.total == 42
    assert result.subscales == {"physical": 18, "cognitive": 20, "psychosocial": 4}


def test_mfis_mixed_vector() -> None:
    answers = [i % 5 for i in range(1, 22)]  # 1,2,3,4,0,1,2,...
    result = score("mfis", answers)
    assert result.subscales == {"physical": 17, "cognitive": 17, "psychosocial": 7}
    assert result.total == 41


@pytest.mark.parametrize("item", range(1, 22))
def test_mfis_each_item_lands_in_its_published_subscale(item: int) -> None:
    answers = [0] * 21
    answers[item - 1] = 4
    subscales = score("mfis", answers).subscales
    expected = {
        "physical": 4 if item in MFIS_PHYSICAL else 0,
        "cognitive": 4 if item in MFIS_COGNITIVE else 0,
        "psychosocial": 4 if item in MFIS_PSYCHOSOCIAL else 0,
    }
    assert subscales == expected


def test_mfis_ranges_and_cutoff() -> None:
    # Ranges 0-84 / 0-36 / 0-40 / 0-8 (NINDS CDE F1026); >=38 cut-off (BMC Neurol 2021 review).
    top = score("mfis", [4] * 21)
    assert (top.total, top.subscales["physical"], top.subscales["cognitive"]) == (84, 36, 40)
    assert top.subscales["psychosocial"] == 8
    assert score("mfis", [0] * 21).total == 0
    just_below = [2] * 18 + [1, 0, 0]  # 37
    assert score("mfis", just_below).total == 37
    assert "below" in score("mfis", just_below).interpretation
    assert "at or above" in score("mfis", [2] * 19 + [0, 0]).interpretation  # 38
    assert score("mfis", [0] * 21).mcid == 4  # Rooney 2019, PMID 31400557


def test_mfis5_uses_items_1_9_10_17_19() -> None:
    # MFIS-5 = MFIS items 1, 9, 10, 17, 19 (NINDS CDE; Meca-Lallana 2019, PMID 31741743).
    definition = get_instrument("mfis5")
    assert [i.key for i in definition.items] == [
        "mfis_item1",
        "mfis_item9",
        "mfis_item10",
        "mfis_item17",
        "mfis_item19",
    ]
    assert score("mfis5", [1, 2, 3, 4, 0]).total == 10
    assert score("mfis5", [4] * 5).total == 20


def test_fss_mean_and_cutoff() -> None:
    # Mean of 9 answers 1-7 (NINDS CDE FSS); >=4 = substantial fatigue (Learmonth 2013).
    result = score("fss", [4, 5, 5, 4, 4, 4, 5, 4, 5])  # 40 / 9
    assert result.total == pytest.approx(4.44)
    assert result.interpretation.startswith("at or above")
    low = score("fss", [4, 4, 4, 4, 4, 4, 4, 4, 3])  # 35 / 9 = 3.89
    assert low.total == pytest.approx(3.89)
    assert low.interpretation.startswith("below")
    assert score("fss", [4] * 9).interpretation.startswith("at or above")  # exactly 4.0
    assert score("fss", [1] * 9).total == 1 and score("fss", [7] * 9).total == 7
    assert score("fss", [1] * 9).mcid == 0.45  # Rooney 2019


@pytest.mark.parametrize(
    ("level", "band"),
    [(0, "mild"), (2, "mild"), (3, "moderate"), (5, "moderate"), (6, "severe"), (8, "severe")],
)
def test_pdds_bands(level: int, band: str) -> None:
    # 0-2 mild, 3-5 moderate, 6-8 severe (NINDS CDE PDDS).
    assert score("pdds", [level]).interpretation.startswith(band)


@pytest.mark.parametrize("value", [0, 1.0, 1.5, 4.5, 6.0, 9.5, 10])
def test_edss_valid_steps(value: float) -> None:
    # Kurtzke 1983: 0, then 1.0, 1.5 ... 9.5, and 10.
    assert score("edss", [value] + [None] * 7).total == value


@pytest.mark.parametrize("value", [0.5, 3.25, 10.5, -1])
def test_edss_invalid_steps(value: float) -> None:
    with pytest.raises(ValidationFailed, match="item 1: answer"):
        score("edss", [value] + [None] * 7)


def test_edss_functional_systems_optional_and_bounded() -> None:
    result = score("edss", [3.5, 2, None, None, 1, None, None, None])
    assert result.subscales == {"pyramidal": 2, "sensory": 1}
    assert result.missing_items == (3, 4, 6, 7, 8)
    with pytest.raises(ValidationFailed, match="item 3: answer 6 is outside 0–5"):
        score("edss", [3.5, None, 6, None, None, None, None, None])  # cerebellar max 5
    with pytest.raises(ValidationFailed, match="refusing to score"):
        score("edss", [None, 1, 1, 1, 1, 1, 1, 1])


@pytest.mark.parametrize("instrument", ["nrs-pain", "nrs-spasticity", "nrs-sleep", "nrs-fatigue"])
def test_nrs(instrument: str) -> None:
    assert score(instrument, [7]).total == 7
    with pytest.raises(ValidationFailed, match="item 1: answer 11 is outside 0–10"):
        score(instrument, [11])
    with pytest.raises(ValidationFailed, match="not a step of 1"):
        score(instrument, [2.5])
    with pytest.raises(ValidationFailed, match="blank"):
        score(instrument, [None])


def test_pain_mcid_is_two_points() -> None:
    assert score("nrs-pain", [5]).mcid == 2  # Farrar 2001, PMID 11690728


def test_checkin_blanks_stay_blank() -> None:
    result = score("checkin", [3, None, 7, 0, None])
    assert result.total is None
    assert result.subscales == {"fatigue": 3, "sleep": 7, "vivid_dreams": 0}
    assert "dose_taken" not in result.subscales  # blank is not "no"
    assert result.missing_items == (2, 5)
    empty = score("checkin", [None] * 5)
    assert empty.subscales == {} and empty.missing_items == (1, 2, 3, 4, 5)
    assert score("checkin", [None, None, None, True, False]).subscales == {
        "vivid_dreams": 1,
        "dose_taken": 0,
    }
    with pytest.raises(ValidationFailed, match="item 4: answer 2 is outside 0 \\(no\\) or 1"):
        score("checkin", [None, None, None, 2, None])


def test_error_names_item_and_rule() -> None:
    answers: list[int | float | None] = [2] * 21
    answers[6] = 5
    with pytest.raises(ValidationFailed) as caught:
        score("mfis", answers)
    assert "item 7: answer 5 is outside 0–4" in str(caught.value)
    assert caught.value.problems[0].field == "item 7"


def test_every_bad_answer_is_reported() -> None:
    with pytest.raises(ValidationFailed) as caught:
        score("fss", [0, 8, 4, 4, 4, 4, 4, 4, 4])
    assert [p.field for p in caught.value.problems] == ["item 1", "item 2"]


@pytest.mark.parametrize("bad", ["3", math.nan, math.inf])
def test_non_numbers_rejected(bad: object) -> None:
    with pytest.raises(ValidationFailed, match="item 1"):
        score("mfis5", [bad, 1, 1, 1, 1])  # type: ignore[list-item]


def test_wrong_length_and_blank_refusal() -> None:
    with pytest.raises(ValidationFailed, match="expected 21 answers"):
        score("mfis", [1] * 20)
    with pytest.raises(ValidationFailed, match="item\\(s\\) 3 blank; refusing"):
        score("mfis", [1, 1, None] + [1] * 18)


def test_registry() -> None:
    ids = [d.id for d in list_instruments()]
    assert {"mfis", "mfis5", "fss", "pdds", "edss", "checkin", "nrs-pain"} <= set(ids)
    assert get_instrument("MFIS").key == "mfis-1"
    assert get_instrument("mfis", "1").version == "1"
    with pytest.raises(NotFound, match="unknown instrument"):
        get_instrument("msrs-r")
    with pytest.raises(NotFound, match="no version"):
        get_instrument("mfis", "9")


@pytest.mark.parametrize("definition", list_instruments(), ids=lambda d: d.key)
def test_definitions_are_sourced_and_licensed(definition) -> None:  # type: ignore[no-untyped-def]
    assert definition.sources
    assert all(s.pmid or s.doi or s.url for s in definition.sources)
    assert definition.licence.holder
    if not definition.licence.ship_wording:
        # copyrighted wording: labels are placeholders naming the item number only
        assert all("item" in i.label or "level" in i.label for i in definition.items)
    if definition.mcid is not None:
        assert definition.mcid.source.pmid or definition.mcid.source.doi
    assert definition.loinc is None or definition.loinc_note


def test_sum_definitions_cannot_allow_blanks() -> None:
    from ldn_outcomes.domain.instruments.model import InstrumentDefinition

    data = get_instrument("mfis5").model_dump()
    data["missing"] = {"max_missing": 1, "rule": "prorate"}
    with pytest.raises(ValueError, match="cannot allow blank items"):
        InstrumentDefinition.model_validate(data)


def test_trailing_optional_items_may_be_omitted() -> None:
    assert score("edss", [3.5]).missing_items == (2, 3, 4, 5, 6, 7, 8)
    assert score("checkin", [4]).subscales == {"fatigue": 4}
    with pytest.raises(ValidationFailed, match="expected 21 answers"):
        score("mfis", [1])  # required items cannot be omitted
