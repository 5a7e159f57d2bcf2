"""What a registry id (patient, clinician, site) may look like, without the record models.

``domain.models`` builds its ``Identifier`` type from these; the store's plain SQLite read of
the patient list checks stored ids against them without building those models.
"""

from __future__ import annotations

#: Letters, digits and ``_ . : -`` only: pseudonymous keys, never names.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:-]+$"
IDENTIFIER_MAX_LENGTH = 64
