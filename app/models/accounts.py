"""Agencies, users, training certifications, sessions and sign-in attempts."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.types import JSONValue, UTCDateTime, str_enum


class Role(enum.StrEnum):
    REQUESTER = "requester"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class CertificationProvider(enum.StrEnum):
    FBI = "FBI"
    LACRIS = "LACRIS"


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # ORI or local code
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The agency's own facial recognition policy ("Local PD Facial Recognition Policy"), on file
    # with the unit: its requesters submit only while one is recorded.
    local_policy_title: Mapped[str | None] = mapped_column(String(200))
    local_policy_adopted_on: Mapped[date | None] = mapped_column(Date)
    local_policy_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    users: Mapped[list[User]] = relationship(back_populates="agency")

    @property
    def local_policy(self) -> str | None:
        if not self.local_policy_title:
            return None
        adopted = f", adopted {self.local_policy_adopted_on:%Y-%m-%d}" if self.local_policy_adopted_on else ""
        return f"{self.local_policy_title}{adopted}"

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role", 16))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_login_count: Mapped[int] = mapped_column(default=0)  # failures in the current window
    first_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failures before this moment no longer count (a completed sign-in, an administrator's unlock).
    failures_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_logon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who asked for this account's administrator rights (created as one, or made one) and
    # when: within the approval window that person's changes need another second admin.
    admin_granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    admin_granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str] = mapped_column(String(255))
    # "local" (LeadDesk's own password: the break-glass administrator) or "directory" (the
    # county directory checks it when DIRECTORY_URL is set; the hash here is then never used)
    sign_in_with: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Fernet token of the base32 TOTP secret; None until the user enrols.
    mfa_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Highest TOTP time step accepted so far: a code is good once.
    mfa_last_step: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="users")
    certifications: Mapped[list[TrainingCertification]] = relationship(
        back_populates="user",
        foreign_keys="TrainingCertification.user_id",
        order_by="TrainingCertification.expires_on",
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot be loaded
        return self.active and not self.locked

    @property
    def mfa_enrolled(self) -> bool:
        return self.mfa_secret_encrypted is not None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class TrainingCertification(db.Model):
    __tablename__ = "training_certification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    provider: Mapped[CertificationProvider] = mapped_column(str_enum(CertificationProvider, "provider", 16))
    certificate_number: Mapped[str] = mapped_column(String(64))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="certifications", foreign_keys=[user_id])

    def is_current(self, on: date) -> bool:
        return self.completed_on <= on <= self.expires_on


class UserSession(db.Model):
    """A server-side sign-in session. The browser cookie holds only a random token."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mfa_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Password and code confirmed again (a fresh sign-in) for a sensitive administrative change.
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A TOTP secret being enrolled, encrypted, until the first code confirms it.
    pending_mfa_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    source_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Every attempt at a factor (password, code, a password confirmed again), for lockout and
    per-address throttling. Written before the factor is checked and marked succeeded after,
    so attempts still in flight count as failures: parallel guesses cannot outrun the count."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_address_at", "source_address", "attempted_at"),
        Index("ix_login_attempt_user_at", "user_id", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    factor: Mapped[str] = mapped_column(String(16), default="password")
    source_address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool | None] = mapped_column()  # None while the factor is being checked


class ThrottleLock(db.Model):
    """One row per counted thing (an account, a source address, a user's uploads). Counting
    starts by writing its row, which holds a row lock (PostgreSQL) or the write lock (SQLite)
    until the transaction ends: counts and the attempts they admit are serialised."""

    __tablename__ = "throttle_lock"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingApproval(db.Model):
    """A change that needs a second administrator: to an administrator's account (creating,
    elevating, deactivating, resetting one), or deactivating an agency an administrator is in.
    Decided once: the decision is a conditional UPDATE of an undecided row."""

    __tablename__ = "pending_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    change: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict] = mapped_column(JSONValue, default=dict)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved: Mapped[bool | None] = mapped_column()

    target: Mapped[User | None] = relationship(foreign_keys=[target_id])
    agency: Mapped[Agency | None] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])

    @property
    def subject(self) -> str:
        return self.target.username if self.target else f"agency {self.agency.code}"


class PolicyAcknowledgement(db.Model):
    """A person's signed acknowledgement of one document (the FR use policy, the CAL-PHOTO user
    agreement) in one version; nobody works in the portal before signing what their role needs."""

    __tablename__ = "policy_acknowledgement"
    __table_args__ = (UniqueConstraint("user_id", "document", "version", name="uq_policy_acknowledgement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    document: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    typed_name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessGrant(db.Model):
    """Staff opening a request outside their work (not in the queue, never assigned): the
    reason they gave, recorded, and for how long it lets them look (need to know)."""

    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_user_request", "user_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
