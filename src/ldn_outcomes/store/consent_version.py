"""The consents table's version: a fingerprint that changes whenever a consent is given,
withdrawn, changed or removed, which caches of aggregates compare to drop a patient at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from .tables import ConsentRow


def consent_version(engine: Engine) -> tuple[Any, ...]:
    """A fingerprint of the consents table that changes whenever a consent is given,
    withdrawn, changed or removed: caches of aggregates compare it to drop a patient at once.

    Read from the database, so every worker process sees the same value."""
    query = select(
        func.count(),
        func.count(ConsentRow.withdrawn_date),
        func.max(ConsentRow.id),
        func.max(ConsentRow.withdrawn_date),
        func.max(ConsentRow.given_date),
        func.count(ConsentRow.removed_at),
    ).select_from(ConsentRow)
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return tuple(str(value) for value in row)
