"""Instrument definitions as data: the schema every ``data/*.json`` file must satisfy.

Definitions live in versioned JSON files (one per instrument and version) so that a score can
always be traced back to the exact rule set, licence note and sources it was computed with.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Source(BaseModel):
    """A verifiable reference: at least one of PMID, DOI or URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    citation: str
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    supports: str = Field(description="Which part of the definition this source backs.")

    @model_validator(mode="after")
    def _has_locator(self) -> Source:
        if not (self.pmid or self.doi or self.url):
            raise ValueError(f"source {self.citation!r} needs a PMID, DOI or URL")
        return self


class Item(BaseModel):
    """One question. ``allowed`` lists the permitted answers when they are not a plain range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    key: str
    label: str
    min: float
    max: float
    step: float = 1.0
    allowed: tuple[float, ...] | None = None
    required: bool = True
    kind: Literal["scale", "boolean"] = "scale"


class Band(BaseModel):
    """An interpretation band on the total: ``low <= total < below`` (no upper end if None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: float
    below: float | None = None
    label: str

    def contains(self, total: float) -> bool:
        return total >= self.low and (self.below is None or total < self.below)


class Mcid(BaseModel):
    """Minimal (clinically) important difference, with its unit and source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    unit: Literal["points", "percent"]
    note: str
    source: Source


class MissingRule(BaseModel):
    """How blanks are handled. ``max_missing`` = 0 means the instrument refuses to score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_missing: int = Field(ge=0)
    rule: str


class Licence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    holder: str
    terms: str
    ship_wording: bool
    source: Source | None = None


class InstrumentDefinition(BaseModel):
    """Everything needed to validate, score and explain one instrument version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: str
    name: str
    measures: str
    recall_period: str | None = None
    higher_is_worse: bool | None
    scoring: Literal["sum", "mean", "single", "edss", "record"]
    items: tuple[Item, ...]
    subscales: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    total_range: tuple[float, float] | None = None
    decimals: int = 2
    bands: tuple[Band, ...] = ()
    bands_source: Source | None = None
    missing: MissingRule
    mcid: Mcid | None = None
    loinc: str | None = None
    loinc_note: str
    licence: Licence
    sources: tuple[Source, ...]

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentDefinition:
        numbers = [i.number for i in self.items]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.id}: items must be numbered 1..n in order")
        for name, members in self.subscales.items():
            unknown = [m for m in members if m not in numbers]
            if unknown:
                raise ValueError(f"{self.id}: subscale {name} names unknown items {unknown}")
        if not self.sources:
            raise ValueError(f"{self.id}: at least one source is required")
        if self.scoring in ("sum", "mean", "single") and self.missing.max_missing:
            # no prorating rule is implemented: a sum or mean over blanks would read them as 0
            raise ValueError(f"{self.id}: {self.scoring} scoring cannot allow blank items")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}-{self.version}"
