"""Loads the shipped instrument definitions (package data, read once) and looks them up."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from ldn_outcomes.domain.instruments.model import InstrumentDefinition
from ldn_outcomes.errors import NotFound


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def _load_all() -> dict[str, dict[str, InstrumentDefinition]]:
    """Parse every ``data/*.json`` file; a malformed file fails loudly, never silently."""
    catalogue: dict[str, dict[str, InstrumentDefinition]] = {}
    data_dir = resources.files("ldn_outcomes.domain.instruments").joinpath("data")
    for entry in sorted(data_dir.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        definition = InstrumentDefinition.model_validate(json.loads(entry.read_text("utf-8")))
        expected = f"{definition.id}-{definition.version}.json"
        if entry.name != expected:
            raise ValueError(f"instrument file {entry.name} should be named {expected}")
        catalogue.setdefault(definition.id, {})[definition.version] = definition
    return catalogue


def list_instruments() -> list[InstrumentDefinition]:
    """The latest version of every instrument, ordered by id."""
    catalogue = _load_all()
    return [versions[max(versions, key=_version_key)] for _, versions in sorted(catalogue.items())]


def instrument_versions(instrument_id: str) -> list[InstrumentDefinition]:
    """Every shipped version of one instrument, oldest first."""
    versions = _load_all().get(instrument_id.strip().lower(), {})
    return [versions[v] for v in sorted(versions, key=_version_key)]


def get_instrument(instrument_id: str, version: str | None = None) -> InstrumentDefinition:
    """One definition; the latest version unless ``version`` pins an older one."""
    catalogue = _load_all()
    versions = catalogue.get(instrument_id.strip().lower())
    if not versions:
        known = ", ".join(sorted(catalogue))
        raise NotFound(f"unknown instrument {instrument_id!r}; known: {known}")
    if version is None:
        return versions[max(versions, key=_version_key)]
    if version not in versions:
        raise NotFound(
            f"instrument {instrument_id!r} has no version {version!r}; "
            f"available: {', '.join(sorted(versions, key=_version_key))}"
        )
    return versions[version]
