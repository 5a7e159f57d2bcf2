"""What a registry id (patient, clinician, site) and a database id may look like, without the
record models.

``domain.models`` builds its ``Identifier`` and ``DatabaseId`` types from these; the store's
plain SQLite read of the patient list checks stored ids against them without building those
models (nor importing pydantic: ``ldn patient list`` starts without it).
"""

from __future__ import annotations

import re

#: Letters, digits and ``_ . : -`` only: pseudonymous keys, never names.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:-]+$"
IDENTIFIER_MAX_LENGTH = 64

#: Database ids (records, accounts, API tokens, trial requests) are integers the database
#: hands out from 1, in columns of SQL type INTEGER (``store.tables``): 4 bytes on PostgreSQL,
#: whose driver refuses a larger value ("integer out of range"), and SQLite's driver raises
#: OverflowError beyond 8 bytes; either was a server error. So every id that comes from
#: outside is checked against the INTEGER range first and refused, naming its field, like
#: any other impossible value, whichever database is behind.
MAX_DATABASE_ID = 2**31 - 1
DATABASE_ID_RULE = f"must be a whole number from 1 to {MAX_DATABASE_ID}"
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_database_id(raw: str) -> int:
    """A typed id (ASCII digits only: ``"²"`` passes ``str.isdigit`` but not ``int``), or
    ValueError with :data:`DATABASE_ID_RULE`."""
    text = raw.strip()
    if _DIGITS.fullmatch(text) is None or not 1 <= int(text) <= MAX_DATABASE_ID:
        raise ValueError(DATABASE_ID_RULE)
    return int(text)
