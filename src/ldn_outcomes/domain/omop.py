"""OMOP CDM v5.4 vocabulary facts the registry's OMOP export and the OMOP analysis share.

Concept ids come only from ``data/omop_concepts.json``, where each one names the public OHDSI
source it was read in; ids that could not be verified are listed there as not verified, and
what they would have coded is written with concept 0 ("no matching concept") and a source
value of this registry's own layout (the ``*_SOURCE`` names below). A database written by
``ldn export --format omop`` can therefore be read back in full; a database from elsewhere
holds those facts under concepts this module cannot name, and the OMOP analysis says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CONCEPTS_FILE = "omop_concepts.json"

#: Source values of this registry's OMOP layout (for facts without a verified concept id).
EDSS_SOURCE = "edss"
RELAPSE_SOURCE = "ms-relapse"
ADVERSE_EVENT_STATUS = "adverse-event"
FIRST_SYMPTOMS_SOURCE = "ms-first-symptoms"
#: Where follow-up starts as the analyses count it: enrolment (the first consent, of any
#: scope) or, without one, the first clinical record. The observation period cannot carry it:
#: it starts at the earliest record (diagnosis and first symptoms included), as the CDM wants.
FOLLOW_UP_START_SOURCE = "follow-up-start"
#: Daily check-in items are written as ``checkin:<instrument>`` (e.g. ``checkin:nrs-fatigue``).
CHECKIN_SOURCE_PREFIX = "checkin:"
#: A drug's class and name in ``drug_source_value``: ``<class>|<name>``.
DRUG_SOURCE_SEPARATOR = "|"
#: The unit of ``quantity`` in this layout (``dose_unit_source_value``).
MILLIGRAM = "mg"


@dataclass(frozen=True)
class OmopConcept:
    key: str
    concept_id: int
    name: str
    vocabulary: str
    domain: str
    sources: tuple[str, ...]
    code: str | None = None


@cache
def _data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", CONCEPTS_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def concepts() -> dict[str, OmopConcept]:
    """Every verified concept by key (``multiple_sclerosis``, ``naltrexone``, ``female``...)."""
    return {
        key: OmopConcept(
            key=key,
            concept_id=int(entry["concept_id"]),
            name=str(entry["name"]),
            vocabulary=str(entry["vocabulary"]),
            domain=str(entry["domain"]),
            sources=tuple(entry["source"]),
            code=entry.get("code"),
        )
        for key, entry in _data()["concepts"].items()
    }


def concept_id(key: str) -> int:
    return concepts()[key].concept_id


def source_citations() -> dict[str, str]:
    """Source key -> citation (repository, file, commit, address)."""
    return dict(_data()["sources"])


def not_verified() -> dict[str, str]:
    """What has no verified concept id, and how the export writes it instead."""
    return dict(_data()["not_verified"])


def multiple_sclerosis_concepts() -> frozenset[int]:
    """The OHDSI Phenotype Library's MS concept set (each with descendants there)."""
    return frozenset(concept_id(key) for key in _data()["multiple_sclerosis_concept_set"])


def steroid_concepts() -> frozenset[int]:
    """Methylprednisolone and prednisone ingredients (for counting steroid courses)."""
    return frozenset({concept_id("methylprednisolone"), concept_id("prednisone")})


def drug_source_value(drug_class: str, drug_name: str) -> str:
    """``<class>|<name>`` cut to the 50 characters of ``drug_source_value``."""
    return f"{drug_class}{DRUG_SOURCE_SEPARATOR}{drug_name}"[:50]


def split_drug_source(value: str | None, classes: frozenset[str]) -> tuple[str | None, str]:
    """(class or None, name) from a ``drug_source_value``; a value of another layout is all
    name."""
    text = value or ""
    head, separator, tail = text.partition(DRUG_SOURCE_SEPARATOR)
    if separator and head in classes:
        return head, tail
    return None, text
