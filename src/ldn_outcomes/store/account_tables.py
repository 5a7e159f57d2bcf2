"""Tables for web accounts: accounts, sessions, API tokens, login failures, care links.

Secrets are never stored in the clear: passwords as argon2id hashes, session ids and API
tokens as SHA-256 digests of high-entropy random values (a stolen table cannot be replayed).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from . import tables as _registry_tables  # noqa: F401  (the patients table referred to)
from .base import Base


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: The registry patient whose records this (patient) account owns.
    patient_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="SET NULL"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: A record this account asks to own; no access until the patient's side accepts.
    pending_patient_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("patients.patient_id", ondelete="SET NULL")
    )
    pending_requested_by: Mapped[str | None] = mapped_column(String(100))


class WebSessionRow(Base):
    __tablename__ = "web_sessions"
    #: SHA-256 hex digest of the cookie value.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 hex digest of the token; the token itself is shown once, at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, shown in lists so owners can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailureRow(Base):
    """One failed login, keyed by account e-mail and by client address, for throttling."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CareLinkRow(Base):
    """A clinician account caring for a registry patient."""

    __tablename__ = "care_links"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("patients.patient_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: None while the link waits for the patient (or their clinician) to accept it.
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    requested_by: Mapped[str | None] = mapped_column(String(100))


class LoginAttemptRow(Base):
    """Attempts per throttling key (an e-mail or a client address) in the current window,
    counted with one atomic upsert so concurrent requests cannot all read a low count."""

    __tablename__ = "login_attempts"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)
