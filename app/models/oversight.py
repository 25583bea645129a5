"""Monthly audits (kept five years), their flags, and signed checkpoints of the audit chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.accounts import User
from app.models.types import JSONValue, UTCDateTime


class MonthlyAudit(db.Model):
    __tablename__ = "monthly_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(64))
    pdf_path: Mapped[str] = mapped_column(String(300))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    csv_path: Mapped[str] = mapped_column(String(300))
    csv_sha256: Mapped[str] = mapped_column(String(64))
    # The chain's head when the audit was generated, signed with a key kept outside the
    # database: a truncated or rewritten log no longer contains this event with this hash.
    chain_head_seq: Mapped[int] = mapped_column()
    chain_head_hash: Mapped[str] = mapped_column(String(64))
    checkpoint_hmac: Mapped[str] = mapped_column(String(64))
    figures: Mapped[list] = mapped_column(JSONValue)  # the per-user rows, for the screen
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_off_note: Mapped[str | None] = mapped_column(Text)

    flags: Mapped[list[AuditFlag]] = relationship(
        back_populates="audit", order_by="AuditFlag.id", cascade="all, delete-orphan"
    )
    signed_off_by: Mapped[User | None] = relationship()


class AuditFlag(db.Model):
    __tablename__ = "audit_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("monthly_audit.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clear_note: Mapped[str | None] = mapped_column(Text)

    audit: Mapped[MonthlyAudit] = relationship(back_populates="flags")
    cleared_by: Mapped[User | None] = relationship()
