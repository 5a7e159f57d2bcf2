"""Many validated questionnaire responses written in one transaction, each with its audit row.

Daily check-ins arrive from many patients at once. Writing those that are waiting together
(one multi-row INSERT for the responses, one for their audit rows, one commit) costs a fraction
of a transaction each. The statements are built once and executed with plain parameter lists
(SQLAlchemy Core, no ORM objects). The batch is all-or-nothing; callers that must isolate one
bad record from the others (see :func:`ldn_outcomes.web.writes.write_questionnaires`) retry
each record on its own when a batch fails.

The records come already validated as domain records (instrument, answers, score, dates); the
patient reference is enforced by the foreign key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Table, insert

from ..domain.models import QuestionnaireResponse
from . import audit_chain
from .audit import audit_values
from .convert import record_to_values
from .tables import QuestionnaireRow

_QUESTIONNAIRES: Table = QuestionnaireRow.__table__  # type: ignore[assignment]
_INSERT_RESPONSES = insert(_QUESTIONNAIRES).returning(
    _QUESTIONNAIRES.c.id, sort_by_parameter_order=True
)


def insert_questionnaires(
    connection: Connection, items: Sequence[tuple[str, QuestionnaireResponse]]
) -> list[QuestionnaireResponse]:
    """Insert ``(actor, record)`` pairs in the caller's transaction; each audit row names its
    own actor. Returns the stored records (with their new ids) in the order given."""
    if not items:
        return []
    values = [record_to_values("questionnaires", record) for _, record in items]
    ids = list(connection.execute(_INSERT_RESPONSES, values).scalars())
    if len(ids) != len(values):
        raise RuntimeError(f"inserted {len(values)} questionnaires but got {len(ids)} ids")
    at = dt.datetime.now(dt.UTC)
    audit_chain.append(
        connection,
        [
            audit_values(
                actor=actor,
                action="create",
                table="questionnaires",
                key=str(new_id),
                before=None,
                after={**row, "id": new_id},
                at=at,
            )
            for (actor, _), row, new_id in zip(items, values, ids, strict=True)
        ],
    )
    return [
        record.model_copy(update={"id": new_id})
        for (_, record), new_id in zip(items, ids, strict=True)
    ]
