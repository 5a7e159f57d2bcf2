"""Tables of personal (n-of-1) trials: the design in the clear, the allocation sealed apart.

The seed is sealed with the allocation: anyone who knew it could recompute the order.
A trial is assigned to one pharmacy account, the only account that may print its bottle
sheet; a patient's request for a trial waits in ``nof1_requests`` until their clinician designs it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from . import account_tables as _account_tables  # noqa: F401  (the accounts table referred to)
from . import tables as _registry_tables  # noqa: F401  (the patients table referred to)
from .base import Base


class NOf1TrialRow(Base):
    __tablename__ = "nof1_trials"
    trial_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="RESTRICT"), index=True
    )
    pairs: Mapped[int] = mapped_column(Integer)
    period_days: Mapped[int] = mapped_column(Integer)
    washout_days: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(40))
    mcid: Mapped[float] = mapped_column(Float)
    dose_mg: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    capsules_per_day: Mapped[int] = mapped_column(Integer)
    spare_capsules: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(120))
    #: "blinded" until unblinded after the last period, then "unblinded".
    status: Mapped[str] = mapped_column(String(16))
    #: Set when the trial was stopped before its last day (``domain.nof1_stop``): the last
    #: day that belongs to it, why, who said so and when; the design stays as it was.
    stopped_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    stopped_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unblinded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    unblinded_by: Mapped[str | None] = mapped_column(String(120))
    #: The pharmacy account that fills the bottles (None: only the command line prints it).
    pharmacy_account_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )


class NOf1RequestRow(Base):
    """A patient's request for a personal trial; "open" until a trial is designed for it."""

    __tablename__ = "nof1_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="RESTRICT"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(120))
    #: "open"; then "designed" (a trial was designed for it), "withdrawn" (by the patient) or
    #: "declined" (by the clinician), the last two with the reason, who and when.
    status: Mapped[str] = mapped_column(String(16))
    closed_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    trial_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("nof1_trials.trial_id", ondelete="RESTRICT")
    )


class NOf1AllocationRow(Base):
    """The sealed seed and allocation: an authenticated ciphertext, never plain text."""

    __tablename__ = "nof1_allocations"
    trial_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("nof1_trials.trial_id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[str] = mapped_column(Text)
    scheme: Mapped[str] = mapped_column(String(40))
