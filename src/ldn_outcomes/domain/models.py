"""The registry's records as validated, immutable types.

Every rule that must hold for a record on its own (no dates in the future, stop not before
start, EDSS on its 0.5-step scale without 0.5, dose > 0) lives here, so the CLI, the importers,
the web forms and the simulator all refuse the same things with the same words. Rules that need
other records (a referenced patient exists, ids are unique) are checked by the store.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .codes import (
    ADVERSE_EVENT_TERMS,
    AeOutcome,
    Causality,
    Confirmation,
    ConsentScope,
    DrugClass,
    Formulation,
    FunctionalSystem,
    Phenotype,
    Severity,
    Sex,
    TimeOfDay,
)
from .dates import EARLIEST_DATE, date_problem
from .identifiers import (
    DATABASE_ID_RULE,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    MAX_DATABASE_ID,
    parse_database_id,
)
from .record_kinds import PATIENT_KINDS as PATIENT_KINDS
from .text import text_problem

Identifier = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=IDENTIFIER_MAX_LENGTH,
        pattern=IDENTIFIER_PATTERN,
    ),
]


def _database_id(value: object) -> int:
    """A path's, body's or form's id read by the same rule, and refused in the same words,
    as every other id from outside (``parse_database_id``): a whole number, never a bool
    or a float, from 1 to the INTEGER maximum."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= MAX_DATABASE_ID:
            return value
    elif isinstance(value, str):
        try:
            return parse_database_id(value)
        except ValueError:
            pass
    raise PydanticCustomError("database_id", DATABASE_ID_RULE)


#: A database id from outside (a path, a body, a form): 1 to 2^31-1 (SQL INTEGER), see
#: ``domain.identifiers.MAX_DATABASE_ID``. The one id type of the web's paths and bodies.
DatabaseId = Annotated[
    int,
    BeforeValidator(_database_id),
    WithJsonSchema(
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DATABASE_ID,
            "description": "A database id (1 to 2^31-1).",
        }
    ),
]

#: Kurtzke's EDSS takes 0, then 1.0 to 9.5 in half steps, then 10; there is no 0.5.
EDSS_VALID_SCORES: tuple[float, ...] = (0.0,) + tuple(x / 2 for x in range(2, 20)) + (10.0,)


def is_valid_edss(score: float) -> bool:
    return any(abs(score - valid) < 1e-9 for valid in EDSS_VALID_SCORES)


def today_from(info: ValidationInfo) -> dt.date:
    """The 'today' used for 'not in the future' rules; injectable so tests are deterministic."""
    context = info.context or {}
    value = context.get("today")
    return value if isinstance(value, dt.date) else dt.date.today()


class Record(BaseModel):
    """Base of every registry record: frozen, strict about unknown fields."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )
    record_name: ClassVar[str] = "record"
    #: Fields that must not lie after today (every other date is a planned date).
    past_dates: ClassVar[tuple[str, ...]] = ()
    #: Free-text fields where tab and line breaks are allowed.
    multiline_text: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _plausible_dates(self, info: ValidationInfo) -> Record:
        """Every date in the plausible range of :mod:`.dates` (shared by every input path)."""
        today = today_from(info)
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                problem = date_problem(value, today, planned=name not in self.past_dates)
                if problem is not None:
                    raise ValueError(f"{name}: {problem}")
        return self

    @model_validator(mode="after")
    def _clean_text(self) -> Record:
        """No NUL or control characters in any text (the rule of :mod:`.text`)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            texts = value if isinstance(value, tuple) else (value,)
            for text in texts:
                if isinstance(text, str):
                    problem = text_problem(text, multiline=name in self.multiline_text)
                    if problem is not None:
                        raise ValueError(f"{name}: {problem}")
        return self


class Site(Record):
    record_name: ClassVar[str] = "site"
    site_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(default=None, max_length=2, min_length=2)


class Clinician(Record):
    record_name: ClassVar[str] = "clinician"
    clinician_id: Identifier
    display_name: str = Field(min_length=1, max_length=200)
    site_id: Identifier | None = None


class Patient(Record):
    """A pseudonymous patient: no name; contact details live apart from clinical data."""

    record_name: ClassVar[str] = "patient"
    past_dates: ClassVar[tuple[str, ...]] = ("first_symptoms_date", "diagnosis_date")
    patient_id: Identifier
    year_of_birth: int = Field(ge=EARLIEST_DATE.year)
    sex: Sex = Sex.UNKNOWN
    phenotype: Phenotype
    first_symptoms_date: dt.date | None = None
    diagnosis_date: dt.date | None = None
    clinician_id: Identifier | None = None
    site_id: Identifier | None = None

    @model_validator(mode="after")
    def _dates_after_birth(self, info: ValidationInfo) -> Patient:
        if self.year_of_birth > today_from(info).year:
            raise ValueError(f"year_of_birth: {self.year_of_birth} is in the future")
        for name in ("first_symptoms_date", "diagnosis_date"):
            value = getattr(self, name)
            if value is not None and value.year < self.year_of_birth:
                raise ValueError(f"{name}: {value.isoformat()} is before the year of birth")
        return self


class Exposure(Record):
    """A period on one drug at one regimen. A dose change is a new exposure."""

    record_name: ClassVar[str] = "exposure"
    past_dates: ClassVar[tuple[str, ...]] = ("start_date", "stop_date")
    id: int | None = None
    patient_id: Identifier
    drug_name: str = Field(min_length=1, max_length=120)
    rxnorm_cui: str | None = Field(default=None, pattern=r"^\d{1,9}$")
    drug_class: DrugClass = DrugClass.OTHER
    dose_mg: Decimal | None = Field(default=None, max_digits=12, decimal_places=4)
    frequency: str = Field(default="daily", max_length=40)
    time_of_day: TimeOfDay = TimeOfDay.UNKNOWN
    formulation: Formulation | None = None
    start_date: dt.date
    stop_date: dt.date | None = None
    stop_reason: str | None = Field(default=None, max_length=200)

    @field_validator("dose_mg")
    @classmethod
    def _positive_dose(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("dose must be greater than 0 mg")
        return value

    @model_validator(mode="after")
    def _stop_not_before_start(self) -> Exposure:
        if self.stop_date is not None and self.stop_date < self.start_date:
            raise ValueError(
                f"stop_date: {self.stop_date.isoformat()} is before start_date "
                f"{self.start_date.isoformat()}"
            )
        if self.drug_class is DrugClass.LDN and self.dose_mg is None:
            raise ValueError("dose_mg: an LDN exposure needs its dose")
        return self


class DoseLog(Record):
    record_name: ClassVar[str] = "dose_log"
    past_dates: ClassVar[tuple[str, ...]] = ("date",)
    id: int | None = None
    patient_id: Identifier
    date: dt.date
    taken: bool
    clock_time: dt.time | None = None


class QuestionnaireResponse(Record):
    """Answers to one instrument on one date; a blank answer stays None, never 0."""

    record_name: ClassVar[str] = "questionnaire"
    past_dates: ClassVar[tuple[str, ...]] = ("date",)
    id: int | None = None
    patient_id: Identifier
    instrument_id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    instrument_version: str = Field(min_length=1, max_length=20)
    date: dt.date
    answers: tuple[float | None, ...] = Field(min_length=1)
    total: float | None = None

    @model_validator(mode="after")
    def _scored_by_its_instrument(self) -> QuestionnaireResponse:
        """Answers must fit the instrument; the stored total is the instrument's own score."""
        if all(a is None for a in self.answers):
            raise ValueError("answers: every answer is blank")
        total = score_or_none(self.instrument_id, self.instrument_version, self.answers)
        if self.total is not None and (total is None or abs(self.total - total) > 1e-6):
            raise ValueError(
                f"total: {self.total:g} does not match the score computed from the answers "
                f"({'not scorable' if total is None else f'{total:g}'})"
            )
        object.__setattr__(self, "total", total)
        return self


def score_or_none(
    instrument_id: str, version: str, answers: tuple[float | None, ...]
) -> float | None:
    """The instrument's total for these answers; None when blanks make it refuse to score.

    Wrong item counts, out-of-range answers and unknown instruments are errors.
    """
    from ..errors import NotFound, ValidationFailed
    from .instruments.scoring import score

    try:
        return score(instrument_id, list(answers), version).total
    except NotFound as error:
        raise ValueError(f"instrument_id: {error}") from None
    except ValidationFailed as failure:
        if all("refusing to score" in p.rule for p in failure.problems):
            return None
        detail = "; ".join(f"{p.field}: {p.rule}" for p in failure.problems)
        raise ValueError(f"answers: {detail}") from None


class Relapse(Record):
    record_name: ClassVar[str] = "relapse"
    past_dates: ClassVar[tuple[str, ...]] = ("onset_date", "recovery_date")
    id: int | None = None
    patient_id: Identifier
    onset_date: dt.date
    recovery_date: dt.date | None = None
    severity: Severity | None = None
    functional_systems: tuple[FunctionalSystem, ...] = ()
    steroid_treated: bool | None = None
    confirmed_by: Confirmation = Confirmation.PATIENT
    #: Whether symptoms lasted at least 24 hours; None = not recorded.
    lasted_24h: bool | None = None
    #: Fever or infection at onset (a pseudo-relapse); None = not recorded.
    fever_or_infection: bool | None = None

    @model_validator(mode="after")
    def _recovery_not_before_onset(self) -> Relapse:
        if self.recovery_date is not None and self.recovery_date < self.onset_date:
            raise ValueError(
                f"recovery_date: {self.recovery_date.isoformat()} is before onset_date "
                f"{self.onset_date.isoformat()}"
            )
        return self


class EdssAssessment(Record):
    record_name: ClassVar[str] = "edss"
    past_dates: ClassVar[tuple[str, ...]] = ("date",)
    id: int | None = None
    patient_id: Identifier
    date: dt.date
    score: float
    functional_systems: dict[FunctionalSystem, int] = Field(default_factory=dict)
    rater: str | None = Field(default=None, max_length=120)

    @field_validator("score")
    @classmethod
    def _edss_scale(cls, value: float) -> float:
        if not is_valid_edss(value):
            raise ValueError(
                "EDSS must be 0, 1.0, 1.5, ... 9.5 or 10 (half steps from 1.0; there is no 0.5)"
            )
        return float(value)

    @field_validator("functional_systems")
    @classmethod
    def _fs_ranges(cls, value: dict[FunctionalSystem, int]) -> dict[FunctionalSystem, int]:
        from .codes import FUNCTIONAL_SYSTEM_MAX

        for system, grade in value.items():
            top = FUNCTIONAL_SYSTEM_MAX[system]
            if not 0 <= grade <= top:
                raise ValueError(f"{system.value} functional system score must be 0-{top}")
        return value


class AdverseEvent(Record):
    record_name: ClassVar[str] = "adverse_event"
    past_dates: ClassVar[tuple[str, ...]] = ("onset_date",)
    multiline_text: ClassVar[tuple[str, ...]] = ("free_text",)
    id: int | None = None
    patient_id: Identifier
    onset_date: dt.date
    term: str
    term_code: str | None = Field(default=None, max_length=40)
    free_text: str | None = Field(default=None, max_length=2000)
    severity: Severity
    relationship: Causality = Causality.UNASSESSABLE
    outcome: AeOutcome = AeOutcome.UNKNOWN

    @field_validator("term")
    @classmethod
    def _controlled_term(cls, value: str) -> str:
        if value not in ADVERSE_EVENT_TERMS:
            raise ValueError(f"term must be one of {', '.join(ADVERSE_EVENT_TERMS)}")
        return value


class LabObservation(Record):
    record_name: ClassVar[str] = "lab"
    past_dates: ClassVar[tuple[str, ...]] = ("date",)
    id: int | None = None
    patient_id: Identifier
    date: dt.date
    loinc_code: str = Field(pattern=r"^\d{1,7}-\d$")
    name: str | None = Field(default=None, max_length=200)
    value: float
    unit: str = Field(min_length=1, max_length=40)


class Consent(Record):
    record_name: ClassVar[str] = "consent"
    past_dates: ClassVar[tuple[str, ...]] = ("given_date", "withdrawn_date")
    id: int | None = None
    patient_id: Identifier
    scope: ConsentScope
    given_date: dt.date
    withdrawn_date: dt.date | None = None

    @model_validator(mode="after")
    def _withdrawn_after_given(self) -> Consent:
        if self.withdrawn_date is not None and self.withdrawn_date < self.given_date:
            raise ValueError("withdrawn_date: consent cannot be withdrawn before it was given")
        return self

    def active_on(self, day: dt.date) -> bool:
        return self.given_date <= day and (self.withdrawn_date is None or day < self.withdrawn_date)


#: Record kinds by name, in dependency order (a record's references come before it).
RECORD_TYPES: dict[str, type[Record]] = {
    "sites": Site,
    "clinicians": Clinician,
    "patients": Patient,
    "exposures": Exposure,
    "dose_logs": DoseLog,
    "questionnaires": QuestionnaireResponse,
    "relapses": Relapse,
    "edss": EdssAssessment,
    "adverse_events": AdverseEvent,
    "labs": LabObservation,
    "consents": Consent,
}


def record_kind(record: Record) -> str:
    for kind, cls in RECORD_TYPES.items():
        if isinstance(record, cls):
            return kind
    raise KeyError(type(record).__name__)
