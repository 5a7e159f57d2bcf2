"""Records that several files of one import may each carry a copy of: sites and clinicians.

A FHIR Bundle per patient carries the patient's Organization and Practitioner; a REDCap row
carries the patient's site and clinician. The one rule for them, checked inside the bulk load's
transaction (:func:`ldn_outcomes.store.bulk.load_records`), so that what is compared is what
the write sees:

* every copy in the import must agree (the first is kept, a differing one is a problem);
* one already in the registry is kept (not written again) if equal, refused if not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..domain.models import RECORD_TYPES, Record
from ..errors import NotFound, Problem
from .convert import key_column
from .registry import Registry

#: Kinds an import may carry several copies of, each copy naming the same id.
SHARED_KINDS = ("sites", "clinicians")
Batch = Sequence[tuple[int | None, Record]]


def merge_shared(
    registry: Registry,
    kind: str,
    batch: Batch,
    source: str,
    place: Callable[[int | None], str] | None = None,
) -> tuple[list[tuple[int | None, Record]], list[Problem]]:
    """The copies of ``kind`` still to write (one per id, none the registry already holds) and
    a problem for every copy that differs from the first or from the registry's record.
    ``place`` names where a row number is (a file, a row) for the message."""
    key = key_column(kind)
    name = RECORD_TYPES[kind].record_name
    first: dict[str, tuple[int | None, Record]] = {}
    problems: list[Problem] = []
    for row, record in batch:
        ident = getattr(record, key)
        if ident not in first:
            first[ident] = (row, record)
            continue
        if first[ident][1] != record:
            where = place(first[ident][0]) if place else f"row {first[ident][0]}"
            rule = f"differs from the copy in {where}; every copy must agree"
            problems.append(Problem(name, key, rule, row, ident, source))
    kept = []
    for ident, (row, record) in first.items():
        try:
            existing = registry.get(kind, ident)
        except NotFound:
            kept.append((row, record))
            continue
        if existing != record:
            rule = "differs from the registry's record with this id"
            problems.append(Problem(name, key, rule, row, ident, source))
    return kept, problems
