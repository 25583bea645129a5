"""Signed checkpoints of the audit chain, with a key kept outside the database.

The chain's head is signed every day (and with each monthly audit). Someone who can rewrite
the database can recompute every hash and the head row, but not the signatures: a log
truncated or rewritten before the last checkpoint no longer holds the checkpointed event with
its hash. Production refuses to start with the key inside the instance folder, beside the
database it protects (``app.config_checks``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import AuditChainHead, AuditCheckpoint, AuditEvent, MonthlyAudit
from app.services.oversight.audit import ObjectType, record_event

DEFAULT_KEY_FILE = "audit-checkpoint.key"  # development and tests only


def key_file() -> Path:
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path, DEFAULT_KEY_FILE)


def checkpoint_key() -> bytes:
    """LEADDESK_AUDIT_CHECKPOINT_KEY, else the key file (created once, mode 600)."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if configured:
        return str(configured).encode()
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign(seq: int, chain_hash: str) -> str:
    return hmac.new(checkpoint_key(), f"{seq}:{chain_hash}".encode(), hashlib.sha256).hexdigest()


def sign_daily_checkpoint() -> AuditCheckpoint:
    """Sign the chain's head as it is now (the scheduler does it every day; audited)."""
    head = db.session.get(AuditChainHead, 1)
    seq, head_hash = (head.last_seq, head.last_hash) if head else (0, "0" * 64)
    checkpoint = AuditCheckpoint(
        created_at=utcnow(), head_seq=seq, head_hash=head_hash, signature=sign(seq, head_hash)
    )
    db.session.add(checkpoint)
    db.session.flush()
    record_event("audit.checkpoint", actor=None, object_type=ObjectType.AUDIT, detail={"head_seq": seq})
    return checkpoint


def last_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


@dataclass(frozen=True)
class CheckpointProblem:
    month: str  # the month of a monthly audit's checkpoint, or the day of a daily one
    problem: str


def _check(label: str, seq: int, chain_hash: str, signature: str) -> CheckpointProblem | None:
    if not hmac.compare_digest(sign(seq, chain_hash), signature):
        return CheckpointProblem(label, "the checkpoint's signature does not match")
    if seq == 0:
        return None
    event = db.session.get(AuditEvent, seq)
    if event is None:
        return CheckpointProblem(
            label, f"event {seq} recorded at the checkpoint is gone: the log was truncated"
        )
    if event.hash != chain_hash:
        return CheckpointProblem(
            label, f"event {seq} no longer has the checkpointed hash: the log was rewritten"
        )
    return None


def verify_checkpoints() -> list[CheckpointProblem]:
    """Every stored checkpoint must be genuine and its event still in the chain, unchanged."""
    problems = []
    for audit in db.session.scalars(select(MonthlyAudit).order_by(MonthlyAudit.month)):
        problem = _check(audit.month, audit.chain_head_seq, audit.chain_head_hash, audit.checkpoint_hmac)
        if problem:
            problems.append(problem)
    for checkpoint in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        label = f"{checkpoint.created_at:%Y-%m-%d} (daily)"
        problem = _check(label, checkpoint.head_seq, checkpoint.head_hash, checkpoint.signature)
        if problem:
            problems.append(problem)
    return problems
