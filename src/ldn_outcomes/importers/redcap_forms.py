"""The registry's REDCap forms and their fields, pure data: the patient form, one repeating
form per kind of record, and one form per questionnaire instrument and version. The project
that puts them in dictionary order is :mod:`.redcap_project`.

Field labels are the project's own words; questionnaire items use the item labels the
instrument definitions ship (``domain/instruments/data``), which for licensed instruments are
neutral ("FSS item 1"), so no copyrighted wording is exported.
"""

from __future__ import annotations

from ..domain.codes import FUNCTIONAL_SYSTEM_MAX, FunctionalSystem
from ..domain.instruments.model import InstrumentDefinition
from .redcap_codes import CODES, PATIENT_FORM, RECORD_ID, Field, choice_label


def _choices(codes: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), choice_label(v)) for n, v in enumerate(CODES[codes], start=1))


def _text(form: str, attr: str, label: str, **kw: object) -> Field:
    return Field(f"{form}_{attr}", form, "text", label, attr=attr, **kw)  # type: ignore[arg-type]


def _date(form: str, attr: str, label: str, **kw: object) -> Field:
    return _text(form, attr, label, validation="date_ymd", **kw)


def _choice(
    form: str, attr: str, label: str, codes: str, kind: str = "radio", **kw: object
) -> Field:
    return Field(
        f"{form}_{attr}",
        form,
        kind,
        label,
        choices=_choices(codes),
        attr=attr,
        codes=codes,
        **kw,  # type: ignore[arg-type]
    )


def _yesno(form: str, attr: str, label: str, **kw: object) -> Field:
    return Field(f"{form}_{attr}", form, "yesno", label, attr=attr, **kw)  # type: ignore[arg-type]


def _id(form: str) -> Field:
    return Field(
        f"{form}_id",
        form,
        "text",
        "Registry id of this record",
        note="Filled by LDN Outcomes; leave blank for a new record",
        validation="integer",
        minimum="1",
        annotation="@READONLY",
        attr="id",
    )


def _patient_form() -> tuple[Field, ...]:
    f = PATIENT_FORM
    ident = "Letters, digits, _ . : - (at most 64)"
    return (
        Field(RECORD_ID, f, "text", "Patient id (pseudonym)", required=True, attr="patient_id"),
        Field(
            "year_of_birth",
            f,
            "text",
            "Year of birth",
            validation="integer",
            minimum="1900",
            required=True,
            attr="year_of_birth",
        ),
        Field("sex", f, "radio", "Sex", _choices("sex"), attr="sex", codes="sex", required=True),
        Field(
            "phenotype",
            f,
            "radio",
            "MS phenotype (Lublin 2014)",
            _choices("phenotype"),
            required=True,
            attr="phenotype",
            codes="phenotype",
        ),
        Field(
            "first_symptoms_date",
            f,
            "text",
            "Date of first symptoms",
            validation="date_ymd",
            maximum="today",
            attr="first_symptoms_date",
        ),
        Field(
            "diagnosis_date",
            f,
            "text",
            "Date of diagnosis",
            validation="date_ymd",
            maximum="today",
            attr="diagnosis_date",
        ),
        Field(
            "site_id",
            f,
            "text",
            "Site id",
            section="Site and clinician",
            attr="site_id",
            note=ident,
        ),
        Field(
            "site_name",
            f,
            "text",
            "Site name",
            note="Needed when the site is new to the registry",
            branching='[site_id] <> ""',
            attr="site.name",
        ),
        Field(
            "site_country",
            f,
            "text",
            "Site country (ISO 3166 two-letter code)",
            branching='[site_id] <> ""',
            attr="site.country",
        ),
        Field("clinician_id", f, "text", "Clinician id", attr="clinician_id", note=ident),
        Field(
            "clinician_name",
            f,
            "text",
            "Clinician display name",
            note="Needed when the clinician is new to the registry",
            branching='[clinician_id] <> ""',
            attr="clinician.display_name",
        ),
        Field(
            "clinician_site_id",
            f,
            "text",
            "Clinician's site id",
            branching='[clinician_id] <> ""',
            attr="clinician.site_id",
        ),
        Field(
            "clinician_site_name",
            f,
            "text",
            "Clinician's site name",
            note="Needed when that site is new to the registry",
            branching='[clinician_site_id] <> ""',
            attr="clinician_site.name",
        ),
        Field(
            "clinician_site_country",
            f,
            "text",
            "Clinician's site country (ISO 3166 two-letter code)",
            branching='[clinician_site_id] <> ""',
            attr="clinician_site.country",
        ),
    )


def _exposure() -> tuple[Field, ...]:
    f = "exposure"
    return (
        _id(f),
        _text(f, "drug_name", "Drug name", required=True),
        _text(f, "rxnorm_cui", "RxNorm code (as recorded)", validation="integer"),
        _choice(f, "drug_class", "Drug class", "drug_class", required=True),
        _text(
            f,
            "dose_mg",
            "Daily dose (mg)",
            validation="number",
            note="Required for LDN; a dose change is a new exposure",
        ),
        _text(f, "frequency", "Frequency", note="For example: daily", required=True),
        _choice(f, "time_of_day", "Time of day", "time_of_day", required=True),
        _choice(f, "formulation", "Formulation", "formulation", kind="dropdown"),
        _date(f, "start_date", "Start date", maximum="today", required=True),
        _date(f, "stop_date", "Stop date", maximum="today", note="Blank while ongoing"),
        _text(f, "stop_reason", "Reason for stopping", branching='[exposure_stop_date] <> ""'),
    )


def _dose_log() -> tuple[Field, ...]:
    f = "dose_log"
    return (
        _id(f),
        _date(f, "date", "Date", maximum="today", required=True),
        _yesno(f, "taken", "Dose taken", required=True),
        _text(f, "clock_time", "Time taken (HH:MM)", validation="time"),
    )


def _relapse() -> tuple[Field, ...]:
    f = "relapse"
    return (
        _id(f),
        _date(f, "onset_date", "Onset date", maximum="today", required=True),
        _date(f, "recovery_date", "Recovery date", maximum="today"),
        _choice(f, "severity", "Severity", "severity"),
        Field(
            "relapse_fs",
            f,
            "checkbox",
            "Functional systems affected (Kurtzke)",
            _choices("functional_system"),
            attr="functional_systems",
            codes="functional_system",
        ),
        _yesno(f, "steroid_treated", "Treated with steroids"),
        _choice(f, "confirmed_by", "Confirmed by", "confirmation", required=True),
        _yesno(f, "lasted_24h", "Symptoms lasted at least 24 hours"),
        _yesno(f, "fever_or_infection", "Fever or infection at onset"),
    )


def _edss() -> tuple[Field, ...]:
    f = "edss"
    systems = tuple(
        Field(
            f"edss_fs_{system.value}",
            f,
            "text",
            f"Functional system: {choice_label(system.value).lower()}",
            validation="integer",
            minimum="0",
            maximum=str(FUNCTIONAL_SYSTEM_MAX[system]),
            attr=f"fs.{system.value}",
        )
        for system in FunctionalSystem
    )
    return (
        _id(f),
        _date(f, "date", "Assessment date", maximum="today", required=True),
        _text(
            f,
            "score",
            "EDSS step",
            validation="number",
            minimum="0",
            maximum="10",
            note="0, 1.0, 1.5, ... 9.5 or 10 (no 0.5)",
            required=True,
        ),
        *systems,
        _text(f, "rater", "Rater"),
    )


def _adverse_event() -> tuple[Field, ...]:
    f = "adverse_event"
    return (
        _id(f),
        _date(f, "onset_date", "Onset date", maximum="today", required=True),
        _choice(f, "term", "Event", "ae_term", kind="dropdown", required=True),
        _text(f, "term_code", "Term code (for example a MedDRA code, as recorded)"),
        Field(f"{f}_free_text", f, "notes", "Description", attr="free_text"),
        _choice(f, "severity", "Severity", "severity", required=True),
        _choice(f, "relationship", "Relationship to LDN (WHO-UMC)", "causality", required=True),
        _choice(f, "outcome", "Outcome", "ae_outcome", required=True),
    )


def _lab() -> tuple[Field, ...]:
    f = "lab"
    return (
        _id(f),
        _date(f, "date", "Date", maximum="today", required=True),
        _text(f, "loinc_code", "LOINC code", note="For example 1742-6", required=True),
        _text(f, "name", "Test name"),
        _text(f, "value", "Result", validation="number", required=True),
        _text(f, "unit", "Unit", required=True),
    )


def _consent() -> tuple[Field, ...]:
    f = "consent"
    return (
        _id(f),
        _choice(f, "scope", "Scope", "consent_scope", required=True),
        _date(f, "given_date", "Date given", maximum="today", required=True),
        _date(f, "withdrawn_date", "Date withdrawn", maximum="today"),
    )


def questionnaire_form(definition: InstrumentDefinition) -> str:
    """The form of one instrument version: ``nrs-fatigue`` version 1 -> ``nrs_fatigue_v1``."""
    name = f"{definition.id}_v{definition.version}"
    return name.replace("-", "_").replace(".", "_").lower()


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def questionnaire_fields(definition: InstrumentDefinition) -> tuple[Field, ...]:
    """The form of one instrument version: its id, date, items and (if scored) total."""
    f = questionnaire_form(definition)
    items = []
    for item in definition.items:
        whole = item.step == int(item.step) and item.min == int(item.min)
        if item.kind == "boolean":
            items.append(
                Field(f"{f}_{item.key}", f, "yesno", item.label, attr=f"item.{item.number}")
            )
            continue
        items.append(
            Field(
                f"{f}_{item.key}",
                f,
                "text",
                item.label,
                validation="integer" if whole else "number",
                minimum=_number(item.min),
                maximum=_number(item.max),
                required=item.required,
                attr=f"item.{item.number}",
            )
        )
    total: tuple[Field, ...] = ()
    if definition.scoring != "record":
        total = (
            Field(
                f"{f}_total",
                f,
                "text",
                "Total (computed by LDN Outcomes)",
                validation="number",
                annotation="@READONLY",
                attr="total",
            ),
        )
    return (
        _id(f),
        _date(f, "date", "Date", maximum="today", required=True),
        *items,
        *total,
    )


def record_forms() -> tuple[Field, ...]:
    """The fixed forms in dictionary order: the patient, then one per kind of record."""
    return (
        *_patient_form(),
        *_exposure(),
        *_dose_log(),
        *_relapse(),
        *_edss(),
        *_adverse_event(),
        *_lab(),
        *_consent(),
    )
