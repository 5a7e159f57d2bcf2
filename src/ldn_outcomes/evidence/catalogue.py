"""Typed loader of the shipped catalogue (``data/studies.json``) and claims (``data/claims.json``).

The data are curated by hand; this module only reads and checks them. Anything that does not
fit the types is reported as a :class:`ValidationFailed` naming the entry and the field, so a
bad edit fails loudly in the tests instead of silently vanishing from the published pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..domain.evidence import Catalogue, Claim, ClaimsRegister, Study
from ..errors import NotFound, Problem, ValidationFailed

DATA_PACKAGE = "ldn_outcomes.evidence.data"

#: Short names people type for a condition, mapped to the words the catalogue uses.
CONDITION_ALIASES = {
    "ms": "multiple sclerosis",
    "fm": "fibromyalgia",
    "crohn": "crohn",
    "crohns": "crohn",
}


def _read(name: str, path: Path | None) -> Any:
    try:
        if path is not None:
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"the evidence data file {name} is missing from the package") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            Problem(name, "file", f"not valid JSON: {error.msg}", row=error.lineno, source=name)
        ) from None


def _problems(name: str, error: ValidationError, data: Any, key: str, kind: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = list(item["loc"])
        record = name
        if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
            entry = data[key][loc[1]] if isinstance(data.get(key), list) else None
            ident = entry.get("id") if isinstance(entry, dict) else None
            record = f"{kind} {ident or '#' + str(loc[1])}"
            loc = loc[2:]
        problems.append(
            Problem(record, ".".join(str(p) for p in loc) or "(entry)", item["msg"], source=name)
        )
    return problems


def parse_catalogue(data: Any, *, name: str = "studies.json") -> Catalogue:
    if not isinstance(data, dict):
        raise ValidationFailed(Problem(name, "file", "must be a JSON object", source=name))
    try:
        catalogue = Catalogue.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(_problems(name, error, data, "studies", "study")) from None
    _unique(name, "study", [s.id for s in catalogue.studies])
    return catalogue


def parse_claims(data: Any, *, name: str = "claims.json") -> ClaimsRegister:
    if not isinstance(data, dict):
        raise ValidationFailed(Problem(name, "file", "must be a JSON object", source=name))
    try:
        register = ClaimsRegister.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(_problems(name, error, data, "claims", "claim")) from None
    _unique(name, "claim", [c.id for c in register.claims])
    return register


def _unique(name: str, kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    problems = []
    for ident in ids:
        if ident in seen:
            problems.append(Problem(f"{kind} {ident}", "id", "duplicate id", source=name))
        seen.add(ident)
    if problems:
        raise ValidationFailed(problems)


@lru_cache(maxsize=1)
def _shipped_catalogue() -> Catalogue:
    return parse_catalogue(_read("studies.json", None))


@lru_cache(maxsize=1)
def _shipped_claims() -> ClaimsRegister:
    return parse_claims(_read("claims.json", None))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The shipped catalogue (cached), or the one at ``path``."""
    if path is None:
        return _shipped_catalogue()
    return parse_catalogue(_read(path.name, path), name=path.name)


def load_claims(path: Path | None = None) -> ClaimsRegister:
    if path is None:
        return _shipped_claims()
    return parse_claims(_read(path.name, path), name=path.name)


def find_study(catalogue: Catalogue, ident: str) -> Study:
    """A study by catalogue id, NCT id, registry id or PMID."""
    wanted = ident.strip()
    for study in catalogue.studies:
        if study.id == wanted:
            return study
    for study in catalogue.studies:
        if wanted.upper() in (i.upper() for i in study.all_registry_ids) or study.pmid == wanted:
            return study
    raise NotFound(f"no study {ident!r} in the evidence catalogue")


def find_claim(register: ClaimsRegister, ident: str) -> Claim:
    for claim in register.claims:
        if claim.id == ident:
            return claim
    raise NotFound(f"no claim {ident!r} in the claims register")


def condition_matches(study: Study, condition: str | None) -> bool:
    if not condition:
        return True
    wanted = condition.strip().lower()
    wanted = CONDITION_ALIASES.get(wanted.replace("'", "").replace(" ", ""), wanted)
    return any(wanted in c.lower().replace("'", "") for c in study.conditions)


def filter_studies(
    studies: Iterable[Study],
    *,
    condition: str | None = None,
    design: str | None = None,
    evidence_level: str | None = None,
    year: int | None = None,
) -> list[Study]:
    chosen = []
    for study in studies:
        if not condition_matches(study, condition):
            continue
        if design and (study.design or "").lower() != design.lower():
            continue
        if evidence_level and str(study.evidence_level or "").lower() != evidence_level.lower():
            continue
        if year and study.year != year:
            continue
        chosen.append(study)
    return chosen


def sort_by_date(studies: Iterable[Study], *, newest_first: bool = True) -> list[Study]:
    """By year (unknown years last either way), then by id for a stable order."""
    known = sorted(
        (s for s in studies if s.year is not None),
        key=lambda s: (s.year, s.id),
        reverse=newest_first,
    )
    unknown = sorted((s for s in studies if s.year is None), key=lambda s: s.id)
    return known + unknown


def outcome_ids(catalogue: Catalogue) -> list[str]:
    """Every outcome id that at least one study offers for pooling."""
    ids = {m.outcome_id for s in catalogue.studies for m in s.meta_inputs if m.outcome_id}
    return sorted(ids)


def evidence_level_labels(catalogue: Catalogue) -> dict[str, str]:
    levels = catalogue.evidence_levels
    if isinstance(levels, dict) and isinstance(levels.get("levels"), dict):
        return {str(k): str(v) for k, v in levels["levels"].items()}
    if isinstance(levels, dict):
        return {str(k): str(v) for k, v in levels.items() if isinstance(v, str)}
    return {}
