"""The one rule for a database id from outside: ASCII digits, 1 to the INTEGER maximum.

Every route, form, CLI option and importer reads ids through ``parse_database_id`` or the
``DatabaseId`` type; both must say the same about every string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ldn_outcomes.domain.identifiers import MAX_DATABASE_ID, parse_database_id
from ldn_outcomes.domain.models import DatabaseId

TYPED = TypeAdapter(DatabaseId)


def _allowed(text: str) -> bool:
    """The rule as written: only ASCII digits (after trimming blanks), value 1 to 2^31-1."""
    text = text.strip()
    return (
        text != ""
        and all("0" <= c <= "9" for c in text)
        and len(text) <= 10
        and 1 <= int(text) <= MAX_DATABASE_ID
    )


def test_the_maximum_is_sql_integer() -> None:
    """The id columns are INTEGER: 4 bytes on PostgreSQL, whose driver refuses more."""
    assert MAX_DATABASE_ID == 2_147_483_647


@pytest.mark.parametrize(
    "raw",
    ["0", "-1", "+1", "²", "١", "1.0", "1e3", "", " ", "2147483648", "99999999999999999999"],
)
def test_impossible_ids_are_refused_with_the_rule(raw: str) -> None:
    with pytest.raises(ValueError, match="whole number from 1 to 2147483647"):
        parse_database_id(raw)


@pytest.mark.parametrize("raw", ["1", " 42 ", "0000000007", "2147483647"])
def test_possible_ids_are_read(raw: str) -> None:
    assert parse_database_id(raw) == int(raw)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.integers().map(str))
def test_parser_follows_the_rule_for_any_text(raw: str) -> None:
    if _allowed(raw):
        assert parse_database_id(raw) == int(raw.strip())
    else:
        with pytest.raises(ValueError):
            parse_database_id(raw)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_the_typed_id_and_the_parser_agree_on_numbers(value: int) -> None:
    ok = 1 <= value <= MAX_DATABASE_ID
    if ok:
        assert TYPED.validate_python(value) == value == parse_database_id(str(value))
    else:
        with pytest.raises(ValidationError):
            TYPED.validate_python(value)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.integers().map(str))
def test_the_typed_id_reads_text_as_the_parser_does(raw: str) -> None:
    """A path parameter arrives as text: the typed id takes and refuses exactly what the
    parser does, and refuses in the same words as a form field."""
    if _allowed(raw):
        assert TYPED.validate_python(raw) == parse_database_id(raw)
    else:
        with pytest.raises(ValidationError, match="whole number from 1 to 2147483647"):
            TYPED.validate_python(raw)


@pytest.mark.parametrize("value", [True, 3.0, None, [1]])
def test_the_typed_id_refuses_what_is_not_a_whole_number(value: object) -> None:
    with pytest.raises(ValidationError, match="whole number from 1 to 2147483647"):
        TYPED.validate_python(value)
