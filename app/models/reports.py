"""Issued Manual Search Reports: immutable files with their hash, versions, the lead's
reported outcome, and the sealed-record procedure."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.accounts import User
from app.models.gallery import Booking
from app.models.requests import SearchRequest
from app.models.types import UTCDateTime, str_enum


class LeadOutcome(enum.StrEnum):
    OPEN = "open"
    CORROBORATED = "corroborated"
    EXCLUDED = "excluded"

    @property
    def label(self) -> str:
        return {"open": "Still open", "corroborated": "Corroborated", "excluded": "Excluded"}[self.value]


class Report(db.Model):
    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_number: Mapped[str] = mapped_column(String(40), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("search_request.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(10))  # lead | no_match
    decision_id: Mapped[int] = mapped_column(ForeignKey("review_decision.id"))
    lead_booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"), index=True)
    file_path: Mapped[str] = mapped_column(String(300))  # relative to the instance folder
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column()
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comments: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    # Sealed-record procedure: the lead's booking was sealed after issue.
    seal_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seal_reference: Mapped[str | None] = mapped_column(String(100))
    destroy_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroy_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # What the agency later reports about the lead (transparency figures).
    lead_outcome: Mapped[LeadOutcome | None] = mapped_column(str_enum(LeadOutcome, "lead_outcome"))
    lead_outcome_note: Mapped[str | None] = mapped_column(Text)
    lead_outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[SearchRequest] = relationship()
    lead_booking: Mapped[Booking | None] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    destroy_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[destroy_confirmed_by_id])

    @property
    def superseded(self) -> bool:
        return self.superseded_at is not None

    @property
    def withheld(self) -> bool:
        """Once a booking it printed is sealed, the file is not served again: the agency
        destroys the copy it holds and confirms."""
        return self.seal_notice_at is not None


class ReportBooking(db.Model):
    """Every booking an issued report prints (the lead, and the person's recent booking): a
    seal of any of them puts the destroy notice on the report."""

    __tablename__ = "report_booking"
    __table_args__ = (UniqueConstraint("report_id", "booking_id", "role", name="uq_report_booking"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | recent
