"""Types of the evidence hub: catalogue studies, claims, registry records and change events.

Two kinds of record live here. *Catalogue* entries (:class:`Study`, :class:`Claim`) are curated
by hand and shipped with the package; every field is sourced, and a field nobody could verify
is left empty, so every field is optional and ``null`` is always accepted. *Registry* entries
(:class:`TrialRecord`, :class:`Publication`) are parsed from ClinicalTrials.gov and PubMed
responses; their keys are the NCT id and the PMID.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .access import public_actor
from .certainty import CertaintyAssessment

NCT_PATTERN = re.compile(r"\bNCT\d{8}\b")
PMID_PATTERN = re.compile(r"^\d{1,9}$")


class _Loose(BaseModel):
    """Curated data: unknown extra fields are kept, ``null`` lists become empty lists."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


#: An entry not checked against its sources for longer than this is flagged on its page. A
#: project choice, not from a source: every entry is to be re-checked at least once a year;
#: trial registrations and papers change more often, so a page older than that may miss news.
STALE_AFTER_DAYS = 365


class LastChecked(_Loose):
    """When an entry was last checked against its sources, and by whom (a person or role)."""

    on: dt.date
    by: str

    def is_stale(self, today: dt.date, *, after_days: int = STALE_AFTER_DAYS) -> bool:
        return (today - self.on).days > after_days


class OutcomeSpec(_Loose):
    name: str | None = None
    instrument: str | None = None
    primary: bool | None = None


class ReportedResult(_Loose):
    outcome: str | None = None
    result: str | None = None


class CuratedSwitch(_Loose):
    """The curated verdict on registered vs published primary outcomes (COMPare style)."""

    flag: str | None = None
    explanation: str | None = None
    sources: list[Any] = Field(default_factory=list)

    _lists = field_validator("sources", mode="before")(_none_to_list)


class MetaInput(_Loose):
    """Numbers a study contributes to one pooled outcome; ``arm_stats`` as reported."""

    outcome_id: str | None = None
    measure: str | None = None
    arm_stats: Any = None


class Study(_Loose):
    """One catalogue entry: a trial, observational study, case series, survey or anecdote."""

    id: str
    title: str | None = None
    authors: Any = None
    year: int | None = None
    journal: str | None = None
    pmid: str | None = None
    doi: str | None = None
    nct_id: str | None = None
    registry_ids: list[str] = Field(default_factory=list)
    condition: Any = None
    design: str | None = None
    blinding: str | None = None
    n_enrolled: int | str | None = None
    n_analysed: int | str | None = None
    population: Any = None
    dose: Any = None
    timing: Any = None
    duration: Any = None
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    results_as_reported: list[ReportedResult] = Field(default_factory=list)
    adverse_events: Any = None
    funding: Any = None
    evidence_level: str | int | None = None
    capsule: str | None = None
    sources: list[Any] = Field(default_factory=list)
    registered_primary_outcome: Any = None
    published_primary_outcome: Any = None
    outcome_switch: CuratedSwitch | None = None
    meta_inputs: list[MetaInput] = Field(default_factory=list)
    last_checked: LastChecked | None = None

    _lists = field_validator(
        "registry_ids", "outcomes", "results_as_reported", "sources", "meta_inputs", mode="before"
    )(_none_to_list)

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("year", mode="before")
    @classmethod
    def _year_from_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value

    @property
    def conditions(self) -> list[str]:
        """The condition field as a list, whatever shape the curator used."""
        return _as_text_list(self.condition)

    @property
    def author_text(self) -> str:
        return ", ".join(_as_text_list(self.authors))

    @property
    def all_registry_ids(self) -> list[str]:
        ids = [self.nct_id] if self.nct_id else []
        return ids + [i for i in self.registry_ids if i and i not in ids]


class Claim(_Loose):
    """A claim that circulates about LDN, with the statistic that would decide it."""

    id: str
    claim: str | None = None
    where_it_circulates: Any = None
    what_would_decide_it: Any = None
    statistic: Any = None
    verdict: str | None = None
    verdict_summary: str | None = None
    citations: list[Any] = Field(default_factory=list)
    registry_audit: Any = None
    #: Why no registry audit is linked, and what data would test the claim.
    registry_audit_note: str | None = None
    certainty: list[CertaintyAssessment] = Field(default_factory=list)
    last_checked: LastChecked | None = None

    _lists = field_validator("citations", "certainty", mode="before")(_none_to_list)


class Catalogue(_Loose):
    schema_version: Any = None
    catalogue_version: Any = None
    evidence_levels: Any = None
    studies: list[Study] = Field(default_factory=list)

    _lists = field_validator("studies", mode="before")(_none_to_list)

    def by_id(self) -> dict[str, Study]:
        return {study.id: study for study in self.studies}


class KnownStatement(_Loose):
    """One plain sentence of what is known, tied to the claim and outcome whose certainty it has."""

    sentence: str
    claim_id: str
    outcome: str


class ClaimsRegister(_Loose):
    schema_version: Any = None
    claims: list[Claim] = Field(default_factory=list)
    what_is_known: list[KnownStatement] = Field(default_factory=list)

    _lists = field_validator("claims", "what_is_known", mode="before")(_none_to_list)


def _as_text_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


# ---------------------------------------------------------------------------------------------
# Registry records parsed from ClinicalTrials.gov and PubMed
# ---------------------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisteredOutcome(_Record):
    measure: str
    description: str | None = None
    time_frame: str | None = None


class ArmGroup(_Record):
    label: str
    type: str | None = None
    description: str | None = None
    interventions: tuple[str, ...] = ()


class PostedValue(_Record):
    """One group's posted number, kept as the text ClinicalTrials.gov gives ("30.4", "NA",
    "<0.001") so nothing is rounded or guessed; ``lower``/``upper`` hold an interval, ``spread``
    an SD, SE or range width, as the measure's ``dispersion_type`` says."""

    group_id: str
    value: str | None = None
    spread: str | None = None
    lower: str | None = None
    upper: str | None = None
    comment: str | None = None


class PostedRow(_Record):
    """One line of a posted outcome table: a class (e.g. a time point) and/or a category, the
    class's own denominators when it has them, and one value per group."""

    class_title: str | None = None
    category: str | None = None
    analysed: tuple[PostedValue, ...] = ()
    values: tuple[PostedValue, ...] = ()


class PostedAnalysis(_Record):
    """One statistical analysis posted with an outcome measure (a between-group comparison)."""

    group_ids: tuple[str, ...] = ()
    method: str | None = None
    p_value: str | None = None
    param_type: str | None = None
    param_value: str | None = None
    ci_percent: str | None = None
    ci_sides: str | None = None
    ci_lower: str | None = None
    ci_upper: str | None = None
    non_inferiority: str | None = None


class PostedOutcome(_Record):
    """One outcome measure from a posted results section, with its table and analyses.

    ``groups`` are the group titles and ``group_ids`` their ids (``OG000``…), in the same
    order; ``analysed`` is the number analysed per group (in ``analysed_units``)."""

    type: str | None = None
    title: str
    time_frame: str | None = None
    param_type: str | None = None
    unit: str | None = None
    groups: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    description: str | None = None
    population: str | None = None
    reporting_status: str | None = None
    dispersion_type: str | None = None
    analysed_units: str | None = None
    analysed: tuple[PostedValue, ...] = ()
    rows: tuple[PostedRow, ...] = ()
    analyses: tuple[PostedAnalysis, ...] = ()


class TrialRecord(_Record):
    """One ClinicalTrials.gov record, as far as the evidence hub needs it."""

    nct_id: str
    title: str
    official_title: str | None = None
    status: str | None = None
    study_type: str | None = None
    phases: tuple[str, ...] = ()
    allocation: str | None = None
    intervention_model: str | None = None
    masking: str | None = None
    conditions: tuple[str, ...] = ()
    interventions: tuple[str, ...] = ()
    sponsor: str | None = None
    #: Dates as ClinicalTrials.gov gives them: ``YYYY-MM-DD`` or ``YYYY-MM``.
    start_date: str | None = None
    primary_completion_date: str | None = None
    completion_date: str | None = None
    first_posted: str | None = None
    last_update_posted: str | None = None
    results_first_posted: str | None = None
    enrollment: int | None = None
    enrollment_type: str | None = None
    arms: tuple[ArmGroup, ...] = ()
    primary_outcomes: tuple[RegisteredOutcome, ...] = ()
    secondary_outcomes: tuple[RegisteredOutcome, ...] = ()
    has_results: bool = False
    posted_outcomes: tuple[PostedOutcome, ...] = ()
    reference_pmids: tuple[str, ...] = ()

    @field_validator("nct_id")
    @classmethod
    def _nct(cls, value: str) -> str:
        if not re.fullmatch(r"NCT\d{8}", value):
            raise ValueError("must look like NCT followed by 8 digits")
        return value

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"


class Publication(_Record):
    """One PubMed record, with the trial registrations it names."""

    pmid: str
    title: str
    journal: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    doi: str | None = None
    abstract: str | None = None
    publication_types: tuple[str, ...] = ()
    nct_ids: tuple[str, ...] = ()

    @field_validator("pmid")
    @classmethod
    def _pmid(cls, value: str) -> str:
        if not PMID_PATTERN.fullmatch(value):
            raise ValueError("must be 1 to 9 digits")
        return value

    @property
    def url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"


class ChangeKind(StrEnum):
    NEW_STUDY = "new_study"
    NEW_PUBLICATION = "new_publication"
    STATUS_CHANGE = "status_change"
    RESULTS_POSTED = "results_posted"
    PUBLICATION_LINKED = "publication_linked"
    UPDATED = "updated"
    #: An editor's decision on a trial the sync found and the catalogue does not hold.
    REVIEWED = "reviewed"
    #: An editor checked a catalogue entry or claim against its sources (key ``study:<id>``
    #: or ``claim:<id>``); the page's "last checked" date follows it.
    CHECKED = "checked"
    #: An editor changed a catalogue entry's or claim's text (key ``study:<id>`` or
    #: ``claim:<id>``; detail: field, before, after, reason, by); pages show the latest edit.
    EDITED = "edited"


class ChangeEvent(_Record):
    """One logged change to the registry mirror, e.g. a trial's status moving on."""

    id: int | None = None
    at: dt.datetime
    kind: ChangeKind
    key: str
    summary: str
    detail: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None

    def public(self) -> ChangeEvent:
        """The event as public pages and feeds show it: the account that acted (``by``)
        named by its role only (:func:`~ldn_outcomes.domain.access.public_actor`)."""
        if "by" not in self.detail:
            return self
        detail = {**self.detail, "by": public_actor(str(self.detail["by"]))}
        return self.model_copy(update={"detail": detail})
