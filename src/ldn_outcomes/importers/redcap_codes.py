"""REDCap building blocks: the dictionary header, the frozen choice codes, one field.

Choice codes are numbers fixed here, never derived from the order of an enum: a REDCap
project keeps its codes for life, so a new value is appended to its tuple, never inserted or
reordered (``tests/importers/test_redcap.py`` checks every vocabulary value has a code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..domain.codes import (
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

#: The data dictionary's header, exactly as REDCap writes it.
HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

RECORD_ID = "record_id"
PATIENT_FORM = "patient"

#: Frozen choice codes: code = position + 1. Append new values; never reorder or remove.
CODES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male", "other", "unknown"),
    "phenotype": ("CIS", "RRMS", "SPMS", "PPMS"),
    "drug_class": ("ldn", "dmt", "opioid", "supplement", "other"),
    "time_of_day": ("morning", "midday", "evening", "bedtime", "unknown"),
    "formulation": (
        "capsule",
        "tablet",
        "compounded_liquid",
        "sublingual_drops",
        "cream",
        "injection",
        "infusion",
        "other",
    ),
    "severity": ("mild", "moderate", "severe"),
    "confirmation": ("clinician", "patient"),
    "functional_system": (
        "pyramidal",
        "cerebellar",
        "brainstem",
        "sensory",
        "bowel_bladder",
        "visual",
        "cerebral",
    ),
    "causality": ("certain", "probable", "possible", "unlikely", "conditional", "unassessable"),
    "ae_outcome": (
        "recovered",
        "recovering",
        "not_recovered",
        "recovered_with_sequelae",
        "fatal",
        "unknown",
    ),
    "consent_scope": ("care", "research"),
    "ae_term": (
        "vivid_dreams",
        "insomnia",
        "headache",
        "nausea",
        "fatigue_worsening",
        "spasticity_worsening",
        "anxiety",
        "dizziness",
        "thrombocytopenia",
        "rash",
        "liver_enzyme_increase",
        "other",
    ),
}

#: The vocabulary each code list stands for (checked complete by the tests).
VOCABULARIES: dict[str, Sequence[str]] = {
    "sex": list(Sex),
    "phenotype": list(Phenotype),
    "drug_class": list(DrugClass),
    "time_of_day": list(TimeOfDay),
    "formulation": list(Formulation),
    "severity": list(Severity),
    "confirmation": list(Confirmation),
    "functional_system": list(FunctionalSystem),
    "causality": list(Causality),
    "ae_outcome": list(AeOutcome),
    "consent_scope": list(ConsentScope),
    "ae_term": ADVERSE_EVENT_TERMS,
}


#: Labels that are not simply the value in words.
LABELS = {
    "ldn": "LDN (low-dose naltrexone)",
    "dmt": "Disease-modifying therapy",
    "bowel_bladder": "Bowel and bladder",
}


def choice_label(value: str) -> str:
    """A code's label: the registry's value in words (``not_recovered`` -> Not recovered)."""
    if value in LABELS:
        return LABELS[value]
    if value.isupper():
        return value
    return value.replace("_", " ").capitalize()


def code_of(codes: str, value: str | StrEnum) -> str:
    return str(CODES[codes].index(str(value)) + 1)


def value_of(codes: str, code: str) -> str | None:
    """The registry value of a choice code, or None for a code the list does not have."""
    if not (code.isascii() and code.isdigit()) or not 1 <= int(code) <= len(CODES[codes]):
        return None
    return CODES[codes][int(code) - 1]


@dataclass(frozen=True)
class Field:
    """One row of a data dictionary (the columns this project uses, plus where it maps)."""

    name: str
    form: str
    field_type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    required: bool = False
    branching: str = ""
    annotation: str = ""
    section: str = ""
    identifier: bool = False
    #: What the field holds in the registry: the record field, a choice list, an item.
    attr: str = ""
    codes: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def row(self) -> dict[str, str]:
        """The field as a dictionary row, keyed by :data:`HEADER`."""
        choices = " | ".join(f"{code}, {label}" for code, label in self.choices)
        cells = (
            self.name,
            self.form,
            self.section,
            self.field_type,
            self.label,
            choices,
            self.note,
            self.validation,
            self.minimum,
            self.maximum,
            "y" if self.identifier else "",
            self.branching,
            "y" if self.required else "",
            "",
            "",
            "",
            "",
            self.annotation,
        )
        return dict(zip(HEADER, cells, strict=True))

    @property
    def data_columns(self) -> tuple[str, ...]:
        """The columns this field takes in a data export (a checkbox: one per choice)."""
        if self.field_type == "checkbox":
            return tuple(f"{self.name}___{code}" for code, _ in self.choices)
        if self.field_type == "descriptive":
            return ()
        return (self.name,)
