"""Hold a patient still while a rule over their other records is checked and then written.

Some rules compare a new record with the patient's other records (one ongoing LDN regimen;
no naltrexone over an opioid; one open request for a personal trial) and are checked by reading
and then inserting. Two transactions doing that at once would both read "nothing there" and
both insert. So, inside the writing transaction and before the read:

* PostgreSQL: the patient rows are locked ``FOR NO KEY UPDATE`` (in key order, so two writers
  never wait on each other in a circle). A second writer for the same patient waits until the
  first commits, and its reads (read committed) then see what the first wrote. Inserts of other
  records of the patient (a check-in) only share the key and do not wait.
* SQLite: the database's write lock is taken now rather than at the first insert (SQLite has
  one writer at a time; the reads that follow see every committed write). Without this, reads
  run before the write transaction begins, and a writer in another process could slip in
  between the check and the insert.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .tables import PatientRow

# A write that changes nothing: it makes SQLite begin the write transaction (take its lock).
_SQLITE_TAKE_WRITE_LOCK = text("UPDATE patients SET patient_id = patient_id WHERE 1 = 0")


def lock_patients(session: Session, patient_ids: Iterable[str | None]) -> None:
    """Serialise, until this transaction ends, every writer that checks a rule over these
    patients' records. Call it before reading the records the rule compares with."""
    wanted = sorted({p for p in patient_ids if p is not None})
    if not wanted:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(_SQLITE_TAKE_WRITE_LOCK)
        return
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        session.execute(
            select(PatientRow.patient_id)
            .where(PatientRow.patient_id.in_(chunk))
            .order_by(PatientRow.patient_id)
            .with_for_update(key_share=True)
        )
