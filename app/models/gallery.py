"""The gallery (Digital Mugshot System): subjects, bookings, face templates, index builds."""

from __future__ import annotations

import enum
from datetime import date, datetime

import numpy as np
from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.types import JSONValue, UTCDateTime, str_enum


class Subject(db.Model):
    """A person with a criminal history record; one subject has one or more bookings."""

    __tablename__ = "subject"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    cdl: Mapped[str | None] = mapped_column(String(40))  # California driver licence number
    main_number: Mapped[str | None] = mapped_column(String(40), index=True)
    sid: Mapped[str | None] = mapped_column(String(40), index=True)  # state identification number
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bookings: Mapped[list[Booking]] = relationship(back_populates="subject", order_by="Booking.booking_date")


class Booking(db.Model):
    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_number: Mapped[str] = mapped_column(String(40), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    booking_date: Mapped[date | None] = mapped_column(Date)
    photo_path: Mapped[str] = mapped_column(String(300))  # relative to the instance folder
    photo_sha256: Mapped[str] = mapped_column(String(64), index=True)
    photo_format: Mapped[str] = mapped_column(String(10))
    sealed: Mapped[bool] = mapped_column(default=False, index=True)
    # indexed: a search filters only what was sealed since the index's build (a short range)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    seal_reference: Mapped[str | None] = mapped_column(String(100))
    # None: this unit's own gallery; else the interconnect peer whose repository holds it
    # (app/models/interconnect.py RemoteCandidate), never enrolled or searched here.
    repository: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subject: Mapped[Subject] = relationship(back_populates="bookings")
    templates: Mapped[list[FaceTemplate]] = relationship(back_populates="booking")


class FaceTemplate(db.Model):
    __tablename__ = "face_template"
    __table_args__ = (UniqueConstraint("booking_id", "model_id", name="uq_face_template_booking_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    descriptor: Mapped[bytes] = mapped_column(LargeBinary)  # 128 little-endian float32
    model_id: Mapped[str] = mapped_column(String(64))
    detector: Mapped[str] = mapped_column(String(8))  # hog or cnn
    quality: Mapped[dict] = mapped_column(JSONValue)  # FaceQuality as a mapping
    face_box: Mapped[list] = mapped_column(JSONValue)  # [left, top, right, bottom]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="templates")

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.descriptor, dtype="<f4")


class BuildOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IndexBuild(db.Model):
    __tablename__ = "index_build"
    __table_args__ = (Index("ix_index_build_outcome_finished", "outcome", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    template_count: Mapped[int | None] = mapped_column()
    max_template_id: Mapped[int | None] = mapped_column()
    parameters: Mapped[dict] = mapped_column(JSONValue, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column()
    file: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[BuildOutcome] = mapped_column(
        str_enum(BuildOutcome, "build_outcome", 10),
        default=BuildOutcome.RUNNING,
    )
    error: Mapped[str | None] = mapped_column(Text)
    triggered_by: Mapped[str | None] = mapped_column(String(64))
    tuning: Mapped[dict | None] = mapped_column(JSONValue)  # the recall measured, the setting chosen
