"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, str_enum


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEvent(db.Model):
    """One audited action. Rows are only ever inserted, by ``services.oversight.audit.record_event``.

    Actor fields are snapshots (username, agency code) so the record still reads true after
    an account is renamed or moved.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_actor_id", "actor_id"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column()  # no FK: the trail outlives accounts
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_agency: Mapped[str | None] = mapped_column(String(20))
    source_address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "outcome", 10))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(db.Model):
    """Single row holding the chain's last sequence number and hash.

    Appending first UPDATEs this row, which serialises concurrent writers (a row lock on
    PostgreSQL, the write lock on SQLite), so two transactions can never fork the chain.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(db.Model):
    """The chain's head, signed daily with a key kept outside the database: rewriting or
    truncating the log past a checkpoint is detected even if the head row was doctored. The
    checkpoints are a chain too (numbered, each signing its predecessor's signature) and the
    table is append-only, like the events."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    scheme: Mapped[int] = mapped_column(default=1)  # 1: signed alone (before the chain); 2: chained
    prev_signature: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    head_seq: Mapped[int] = mapped_column()
    head_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
