"""The registry's tables. Columns mirror the domain records; the audit log records every write.

Clinical tables hold no names or contact details: those live in ``patient_contacts`` only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Removable:
    """A record that is never deleted: removal marks it, with when and why (who: the audit log).

    Removed rows stay for the record's history and leave every read of live data."""

    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    removed_reason: Mapped[str | None] = mapped_column(String(500), default=None)


def patient_fk() -> Mapped[str]:
    return mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="RESTRICT"), index=True
    )


class SiteRow(Base):
    __tablename__ = "sites"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))


class ClinicianRow(Base):
    __tablename__ = "clinicians"
    clinician_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))


class PatientRow(Removable, Base):
    __tablename__ = "patients"
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year_of_birth: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(16))
    phenotype: Mapped[str] = mapped_column(String(8))
    first_symptoms_date: Mapped[dt.date | None] = mapped_column(Date)
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    clinician_id: Mapped[str | None] = mapped_column(ForeignKey("clinicians.clinician_id"))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))


class PatientContactRow(Base):
    """The ``patient_contacts`` table of the schema (migration 0001). Nothing reads or writes
    it yet; it stays mapped so that the tables declared here match the migrations."""

    __tablename__ = "patient_contacts"
    patient_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="CASCADE"), primary_key=True
    )
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))


class ExposureRow(Removable, Base):
    __tablename__ = "exposures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    drug_name: Mapped[str] = mapped_column(String(120))
    rxnorm_cui: Mapped[str | None] = mapped_column(String(9))
    drug_class: Mapped[str] = mapped_column(String(16))
    dose_mg: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    frequency: Mapped[str] = mapped_column(String(40))
    time_of_day: Mapped[str] = mapped_column(String(16))
    formulation: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(200))


class DoseLogRow(Removable, Base):
    __tablename__ = "dose_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    taken: Mapped[bool] = mapped_column(Boolean)
    clock_time: Mapped[dt.time | None] = mapped_column(Time)


class QuestionnaireRow(Removable, Base):
    __tablename__ = "questionnaires"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    #: Answers in item order as a JSON list; null stays null (a blank is never "no").
    answers: Mapped[list] = mapped_column(JSON)
    total: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        # removed_at too, so the live-rows count per patient and instrument is read from
        # the index alone (store.questionnaire_read)
        Index("ix_questionnaires_patient_instrument", "patient_id", "instrument_id", "removed_at"),
        # One daily check-in per patient per day (a second one corrects the first).
        Index(
            "uq_questionnaires_daily_checkin",
            "patient_id",
            "date",
            unique=True,
            sqlite_where=text("instrument_id = 'checkin' AND removed_at IS NULL"),
            postgresql_where=text("instrument_id = 'checkin' AND removed_at IS NULL"),
        ),
    )


class RelapseRow(Removable, Base):
    __tablename__ = "relapses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    onset_date: Mapped[dt.date] = mapped_column(Date)
    recovery_date: Mapped[dt.date | None] = mapped_column(Date)
    severity: Mapped[str | None] = mapped_column(String(16))
    functional_systems: Mapped[list] = mapped_column(JSON)
    steroid_treated: Mapped[bool | None] = mapped_column(Boolean)
    confirmed_by: Mapped[str] = mapped_column(String(16))
    lasted_24h: Mapped[bool | None] = mapped_column(Boolean)
    fever_or_infection: Mapped[bool | None] = mapped_column(Boolean)


class EdssRow(Removable, Base):
    __tablename__ = "edss"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    functional_systems: Mapped[dict] = mapped_column(JSON)
    rater: Mapped[str | None] = mapped_column(String(120))


class AdverseEventRow(Removable, Base):
    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    onset_date: Mapped[dt.date] = mapped_column(Date)
    term: Mapped[str] = mapped_column(String(60))
    term_code: Mapped[str | None] = mapped_column(String(40))
    free_text: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    relationship: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))


class LabRow(Removable, Base):
    __tablename__ = "labs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    loinc_code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))


class ConsentRow(Removable, Base):
    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = patient_fk()
    scope: Mapped[str] = mapped_column(String(16))
    given_date: Mapped[dt.date] = mapped_column(Date)
    withdrawn_date: Mapped[dt.date | None] = mapped_column(Date)


class AuditRow(Base):
    """Who changed what, when, with the record before and after (JSON)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(24))
    table_name: Mapped[str] = mapped_column(String(60))
    record_key: Mapped[str] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The hash chain (store/audit_chain.py): place in the chain, link, and this row's hash.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    #: Why a record was corrected or removed (required for both).
    reason: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (Index("ix_audit_log_table_key", "table_name", "record_key"),)


class AuditChainHeadRow(Base):
    """One row: the last ``seq`` of the audit chain and its hash. Appending locks it."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class IdempotencyKeyRow(Base):
    """The first response to an API write sent with an ``Idempotency-Key`` header.

    A retry with the same key and the same request gets this response back and writes nothing;
    the same key with a different request is refused."""

    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


#: Table class for each record kind of the domain (same names as the CSV files).
ROW_TYPES: dict[str, type[Base]] = {
    "sites": SiteRow,
    "clinicians": ClinicianRow,
    "patients": PatientRow,
    "exposures": ExposureRow,
    "dose_logs": DoseLogRow,
    "questionnaires": QuestionnaireRow,
    "relapses": RelapseRow,
    "edss": EdssRow,
    "adverse_events": AdverseEventRow,
    "labs": LabRow,
    "consents": ConsentRow,
}
