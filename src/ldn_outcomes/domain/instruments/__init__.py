"""Validated instruments as versioned data files, a registry and scoring."""

from ldn_outcomes.domain.instruments.model import InstrumentDefinition, Item, Source
from ldn_outcomes.domain.instruments.registry import get_instrument, list_instruments
from ldn_outcomes.domain.instruments.scoring import Score, describe_range, score

__all__ = [
    "InstrumentDefinition",
    "Item",
    "Score",
    "Source",
    "describe_range",
    "get_instrument",
    "list_instruments",
    "score",
]
